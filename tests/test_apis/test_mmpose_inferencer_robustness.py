# Copyright (c) OpenMMLab. All rights reserved.
"""What mmpose 1.3.2's MMPoseInferencer does, with this project's configs,
given a checkpoint of another model, a folder with an unreadable image and an
empty folder (what README states; this project's MultilevelInferencer and
tools/inferencer_demo.py over it do better, see
tests/test_tools/test_inference_robustness.py)."""
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from custom_modules.apis import (CheckpointMismatchError,
                                 check_checkpoint_matches)

REPO_ROOT = Path(__file__).resolve().parents[2]
MLN_SAMPLE_CONFIG = REPO_ROOT / (
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py')


def save_random_checkpoint(config: Path, path: Path) -> Path:
    """``{'state_dict', 'meta'}`` of a model built from ``config`` with random
    weights."""
    from mmpose.apis import init_model
    model = init_model(str(config), None, device='cpu')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def mln_inferencer(weights: Path):
    from mmpose.apis import MMPoseInferencer
    return MMPoseInferencer(
        pose2d=str(MLN_SAMPLE_CONFIG),
        pose2d_weights=str(weights),
        device='cpu',
        show_progress=False)


def test_it_takes_a_checkpoint_of_another_model_and_runs(
        demo_config, tmp_path):
    """mmengine loads what fits (it logs every other name as a warning) and the
    model runs with random weights; ``check_checkpoint_matches`` on the
    inferencer's model finds the mismatch."""
    hsr_checkpoint = save_random_checkpoint(demo_config, tmp_path / 'hsr.pth')
    inferencer = mln_inferencer(hsr_checkpoint)  # no error
    model = inferencer.inferencer.model
    assert type(model).__name__ == 'PyramidBottomupPoseEstimator'
    image = np.zeros((64, 64, 3), np.uint8)
    assert 'predictions' in next(inferencer(image))  # and it runs
    with pytest.raises(
            CheckpointMismatchError,
            match=rf'^{re.escape(str(hsr_checkpoint))}: not a checkpoint of '
            rf'{re.escape(str(MLN_SAMPLE_CONFIG))} '
            r'\(PyramidBottomupPoseEstimator\)'):
        check_checkpoint_matches(model, hsr_checkpoint)


def test_it_stops_at_the_first_unreadable_image_of_a_folder(tmp_path):
    """It yields the images before the bad one, then raises and never does
    those after; a file of no known type (no suffix) in the folder stops it
    before the first image; an empty folder gives nothing, without a word."""
    checkpoint = save_random_checkpoint(MLN_SAMPLE_CONFIG,
                                        tmp_path / 'mln.pth')
    inferencer = mln_inferencer(checkpoint)
    # the right one passes
    check_checkpoint_matches(inferencer.inferencer.model, checkpoint)
    folder = tmp_path / 'images'
    folder.mkdir()
    for name in ('0.jpg', '2.jpg'):
        cv2.imwrite(str(folder / name), np.zeros((64, 64, 3), np.uint8))
    (folder / '1.jpg').write_text('not an image\n')
    done = []
    with pytest.raises(
            AssertionError, match=r'failed to load image: .*1\.jpg'):
        for result in inferencer(str(folder)):
            done.append(result)
    assert len(done) == 1  # 0.jpg; 2.jpg is never done

    (folder / '1.jpg').unlink()
    (folder / 'LICENSE').write_text('a file without a suffix\n')
    with pytest.raises(
            AttributeError,
            match="'NoneType' object has no attribute 'split'"):
        next(inferencer(str(folder)))

    (tmp_path / 'empty').mkdir()
    assert list(inferencer(str(tmp_path / 'empty'))) == []
