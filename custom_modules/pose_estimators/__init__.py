from .pyramid_bottomup import PyramidBottomupPoseEstimator

__all__ = ['PyramidBottomupPoseEstimator']
