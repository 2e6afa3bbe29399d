from .topdown_pipeline import detect_persons, estimate_poses, load_person_boxes

__all__ = ['detect_persons', 'estimate_poses', 'load_person_boxes']
