# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's ``PoseVisualizationHook`` (``--show`` / ``--show-dir`` of
``tools/train.py`` and ``tools/test.py``) doing what its options say."""
import os.path as osp
from collections import Counter
from typing import Optional, Sequence

import mmcv
import mmengine
import mmengine.fileio as fileio
from mmengine.runner import Runner
from mmpose.engine.hooks import PoseVisualizationHook
from mmpose.registry import HOOKS
from mmpose.structures import PoseDataSample, merge_data_samples

from ...pose_estimators.pyramid_bottomup import IMAGE_FRAME


def sample_to_draw(sample: PoseDataSample) -> PoseDataSample:
    """One prediction as mmpose's hook draws it: its maps moved into the
    original image by mmpose's ``merge_data_samples`` (top-down and mmpose's
    bottom-up models give them in the input's frame), unless the model already
    did (fields' metainfo ``frame='image'``,
    :class:`~custom_modules.pose_estimators.PyramidBottomupPoseEstimator`):
    those are drawn as they are, every field kept (the PAFs too, which
    ``merge_data_samples`` drops)."""
    fields = sample.get('pred_fields')
    if fields is not None and fields.metainfo.get('frame') == IMAGE_FRAME:
        return sample
    return merge_data_samples([sample])


@HOOKS.register_module()
class MultilevelPoseVisualizationHook(PoseVisualizationHook):
    """mmpose's ``PoseVisualizationHook`` (same arguments) with three
    differences, where mmpose's does not do what its options say:

    - maps a model already moved into the image are drawn in place
      (:func:`sample_to_draw`), where mmpose's maps them a second time (a
      misplaced panel on any image that is not square) and drops the PAFs;
    - ``out_dir`` (``--show-dir``) takes the drawings of validation too, not
      only of testing: ``<stem>_<step>.<ext>`` (mmpose's step: the training
      iteration plus the validation batch's index) for the first image of
      every ``interval``-th validation batch, which still go to the
      visualizer's backends as well; in testing ``<stem>_<n>.<ext>`` as mmpose
      names them, instead of the backends as mmpose's. The folder is
      ``<work_dir>/<timestamp>/<out_dir>`` as mmpose's (an absolute
      ``out_dir`` as it is), logged once;
    - ``interval`` counts in testing too: every ``interval``-th test image is
      drawn (mmpose's draws each).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._folder: Optional[str] = None  # out_dir resolved
        self._written: Counter = Counter()  # test drawings by image stem

    def _out_dir(self, runner: Runner) -> Optional[str]:
        """The drawings' folder (made and logged at first use), or None."""
        if self.out_dir is not None and self._folder is None:
            self._folder = osp.join(runner.work_dir, runner.timestamp,
                                    self.out_dir)
            mmengine.mkdir_or_exist(self._folder)
            runner.logger.info(f'drawings in {self._folder}')
        return self._folder

    def _draw(self, runner: Runner, name: str, sample: PoseDataSample,
              step: int, out_name: Optional[str], to_backends: bool) -> None:
        """Draw ``sample`` on its image as mmpose's hook does: to the
        visualizer's backends (``vis_data/``, TensorBoard, ...) with
        ``to_backends``, and into ``out_name`` (a file name) in
        :meth:`_out_dir` if both are given (mmpose's visualizer writes the file
        instead of the backends; here both, where asked)."""
        img_path = sample.get('img_path')
        img = mmcv.imfrombytes(
            fileio.get(img_path, backend_args=self.backend_args),
            channel_order='rgb')
        folder = self._out_dir(runner)
        out_file = osp.join(folder, out_name) if folder and out_name else None
        drawn = self._visualizer.add_datasample(
            osp.basename(img_path) if self.show else name,
            img,
            data_sample=sample_to_draw(sample),
            draw_gt=False,
            draw_bbox=True,
            draw_heatmap=True,
            show=self.show,
            wait_time=self.wait_time,
            kpt_thr=self.kpt_thr,
            out_file=None if to_backends else out_file,
            step=step)
        if to_backends and out_file:
            mmcv.imwrite(drawn[..., ::-1], out_file)

    def after_val_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence[PoseDataSample]) -> None:
        if not self.enable:
            return
        self._visualizer.set_dataset_meta(runner.val_evaluator.dataset_meta)
        # mmpose's step: the training iteration plus the batch's index
        step = runner.iter + batch_idx
        if step % self.interval:
            return
        stem, ext = osp.splitext(osp.basename(outputs[0].get('img_path')))
        self._draw(
            runner,
            'val_img',
            outputs[0],
            step,
            f'{stem}_{step}{ext}',
            to_backends=True)

    def after_test_iter(self, runner: Runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[PoseDataSample]) -> None:
        if not self.enable:
            return
        self._visualizer.set_dataset_meta(runner.test_evaluator.dataset_meta)
        for sample in outputs:
            self._test_index += 1
            if (self._test_index - 1) % self.interval:
                continue
            out_name = None
            if self._out_dir(runner) is not None:
                stem, ext = osp.splitext(osp.basename(sample.get('img_path')))
                out_name = f'{stem}_{self._written[stem]}{ext}'
                self._written[stem] += 1
            self._draw(
                runner,
                'test_img',
                sample,
                self._test_index,
                out_name,
                to_backends=out_name is None)
