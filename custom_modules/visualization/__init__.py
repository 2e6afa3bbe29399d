from .paf_pose_visualizer import PAFPoseLocalVisualizer

__all__ = ['PAFPoseLocalVisualizer']
