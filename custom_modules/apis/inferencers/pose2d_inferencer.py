# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's ``Pose2DInferencer`` with what the project's front end adds to it.

:class:`MultilevelPose2DInferencer` is a ``Pose2DInferencer``: it takes
mmpose's arguments and call options (``vis_out_dir``, ``pred_out_dir``,
``show``, ``draw_heatmap``, ``kpt_thr``, ...) and writes mmpose's output
(``predictions/<name>.json``, one JSON per video). What it adds:

* **Inputs** (:func:`~..demo_io.open_source`): an image, a folder, a video
  file, a camera index (``'0'``), a stream URL (``rtsp://...``) or
  ``'webcam[:N]'``. An image that cannot be read is reported (named in
  :attr:`failed`) and the others are still done; a video that gives fewer
  frames than it announces, or a camera or stream that stops, is named in
  :attr:`lost`.
* **Model names**: the ``Name`` or an ``Alias`` of this project's
  ``model-index.yml`` (:mod:`.model_index`), which mmpose's own lookup cannot
  find for an external scope.
* **Checkpoints**: one of another model is refused before it loads
  (:class:`~..checkpoint_check.CheckpointMismatchError`); mmengine would load
  what fits and run.
* **Backends**: onnxruntime on an ONNX export, or the PyTorch fast path (fp16 /
  bf16, channels-last, CUDA graphs), see :func:`~..backends.apply_backend`;
  bottom-up frames prepared on the model's device (``device_preprocess``,
  :class:`~..frame_preprocessor.BottomupFramePreprocessor`).
* **Tracking** (``tracking=dict(...)``, :class:`~..pose_tracker.PoseTracker`):
  a ``track_id`` per person in the predictions, one colour per id in the
  drawings, optional One-Euro smoothing on the frames' real times.
* **Timing** (:attr:`timer`, a :class:`~..stage_timer.StageTimer`): reading,
  detector, preprocess, network, decoding, tracking, drawing and writing per
  frame; ``overlay`` draws the FPS and this frame's stage times on the frames
  that are shown or go into ``output_video``.
* **Output video** (``output_video``, :class:`~..video_sink.VideoSink`): the
  drawn frames of any input in one video, at the source's rate, or a camera's
  measured rate, or ``output_fps``.

Call :meth:`finish` when a run ends early (Ctrl-C): it closes the input and the
videos and writes the predictions of the frames done; a run that ends normally
finishes itself.
"""
import logging
from pathlib import Path
from typing import (Callable, Dict, List, NamedTuple, Optional, Sequence,
                    Tuple, Union)

import mmengine
import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.registry import MODELS
from mmengine.structures import InstanceData
from mmpose.apis.inferencers import Pose2DInferencer
from mmpose.registry import INFERENCERS
from mmpose.structures import PoseDataSample, split_instances
from torch import Tensor

from ...datasets.image_file import read_image_file
from ...post_processing import found_keypoint_boxes
from ..backends import apply_backend
from ..checkpoint_check import check_checkpoint_matches, load_checkpoint_file
from ..demo_io import Source, open_source, write_atomically
from ..fast_network import FastPath
from ..frame_pipeline import (FILE_READ_AHEAD, LIVE_READ_AHEAD, OrderedWriter,
                              ReadAhead, read_frames, run_now)
from ..frame_preprocessor import (BottomupFramePreprocessor,
                                  UnsupportedPipelineError)
from ..network_patch import model_device
from ..pose_drawing import draw_text_overlay, draw_tracked_people
from ..pose_tracker import PoseTracker
from ..stage_timer import StageTimer
from ..video_sink import DEFAULT_FPS, VideoSink, video_fps
from .model_index import find_model


class PoseInput(NamedTuple):
    """One image of a run: its ``name`` (file name, or ``<video
    stem>_<index:06d>.jpg``), the ``(H, W, 3)`` BGR ``image`` and ``time``,
    seconds (:meth:`~..demo_io.Source.frame_time`)."""
    name: str
    image: np.ndarray
    time: float


class PreparedFrame(NamedTuple):
    """A bottom-up frame prepared on the model's device, the arguments of
    ``model.predict(inputs, data_samples)``."""
    inputs: Tensor
    data_samples: List[PoseDataSample]


class InputFrames:
    """The images of a :class:`~..demo_io.Source`, for
    :meth:`MultilevelPose2DInferencer.preprocess` to read (``len`` is the
    source's count, 0 where unknown)."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def __len__(self) -> int:
        return self.source.count or 0


def _array_source(inputs: Sequence[Union[str, np.ndarray]]) -> Source:
    """A :class:`~..demo_io.Source` of images given as paths or BGR arrays
    (named ``<index:06d>.jpg`` as mmpose names them)."""

    def frame(index: int, item: Union[str, np.ndarray]) -> tuple:
        if isinstance(item, np.ndarray):
            return f'{index:06d}.jpg', lambda: item
        return Path(item).name, lambda: read_image_file(str(item))

    return Source('folder', 'inputs', len(inputs),
                  iter([frame(i, item) for i, item in enumerate(inputs)]))


def _boxes_in_the_image(detect: Callable[..., dict]) -> Callable[..., dict]:
    """mmdet's ``DetInferencer`` call, its boxes clipped to the image and those
    with a non-finite coordinate dropped (an untrained or diverged detector
    gives ``inf`` boxes, from which mmpose's top-down pipeline makes NaN
    keypoints)."""

    def detect_in_the_image(inputs: np.ndarray, **kwargs) -> dict:
        results = detect(inputs, **kwargs)
        height, width = inputs.shape[:2]
        for sample in results['predictions']:
            instances = sample.pred_instances
            boxes = instances.bboxes
            keep = torch.isfinite(boxes).all(dim=1)
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
            keep &= (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
            sample.pred_instances = instances[keep]
        return results

    return detect_in_the_image


@INFERENCERS.register_module(name='multilevel-pose2d')
@INFERENCERS.register_module()
class MultilevelPose2DInferencer(Pose2DInferencer):
    """mmpose's 2D pose inferencer with this project's inputs, backends,
    tracking, timing and output video (module docstring).

    Args:
        model, weights, device, scope: As ``Pose2DInferencer``; ``model``
            may also be a name or alias of this project's model index.
        det_model, det_weights, det_cat_ids, show_progress: As
            ``Pose2DInferencer``.
        backend (str): ``'pytorch'`` or ``'onnxruntime'``.
        onnx (str, optional): The network exported to ONNX, for
            ``'onnxruntime'``.
        fast_path (FastPath, optional): The PyTorch fast path.
        device_preprocess (bool): Prepare bottom-up frames in torch ops on the
            model's device.
        tracking (dict, optional): Arguments of
            :class:`~..pose_tracker.PoseTracker` (``metric``, ``threshold``,
            ``ttl``, ``smoothing``, ``one_euro``) and ``kpt_thr``, the score
            under which a keypoint counts as unseen (0.3); the dataset's OKS
            sigmas are added. None: no tracking.
        pipelined (bool): Read the next frames and write the last ones
            (drawings, JSONs, video frames) in threads while the model runs
            (:mod:`~..frame_pipeline`), drawing them there too when they go
            to files only; the same frames, order and files.

    Raises:
        CheckpointMismatchError: ``weights`` holds another model, or
            ``det_weights`` another detector than ``det_model``'s.
        CheckpointFileError: ``weights`` cannot be loaded (missing, not a
            PyTorch checkpoint, truncated, a URL that cannot be fetched).
        BackendError: The backend or fast path cannot run here.
        UnsupportedPipelineError: ``device_preprocess`` with a top-down model,
            a multi-scale test or a pipeline the frame preprocessor does not
            reproduce.
    """

    preprocess_kwargs: set = (
        Pose2DInferencer.preprocess_kwargs
        | {'person_boxes', 'skip_existing'})
    visualize_kwargs: set = (
        Pose2DInferencer.visualize_kwargs
        | {'output_video', 'output_fps', 'overlay'})

    def __init__(self,
                 model: Union[str, dict],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmpose',
                 det_model: Optional[Union[str, dict]] = None,
                 det_weights: Optional[str] = None,
                 det_cat_ids: Optional[Union[int, Tuple]] = None,
                 show_progress: bool = False,
                 backend: str = 'pytorch',
                 onnx: Optional[str] = None,
                 fast_path: Optional[FastPath] = None,
                 device_preprocess: bool = False,
                 tracking: Optional[dict] = None,
                 pipelined: bool = False) -> None:
        self._weights_name = weights
        super().__init__(model, weights, device, scope, det_model, det_weights,
                         det_cat_ids, show_progress)
        apply_backend(self.model, backend, onnx, fast_path)
        self.timer = StageTimer.for_device(str(model_device(self.model)))
        self.timer.instrument(self.model)
        if getattr(self, 'detector', None) is not None:
            self.detector = _boxes_in_the_image(self.detector)
            self.timer.wrap(self, 'detector', 'detector')
        self.frame_preprocessor = None
        if device_preprocess:
            self._prepare_on_device()
        self.pipelined = pipelined
        self.tracking = dict(tracking) if tracking is not None else None
        if self.tracking is not None:
            self._new_tracker()  # refuse bad arguments now
        self.tracker: Optional[PoseTracker] = None
        self.source: Optional[Source] = None
        self.sink: Optional[VideoSink] = None
        self.failed: List[str] = []
        self.lost: Optional[str] = None
        self.read = self.skipped = 0
        self._reader: Optional[ReadAhead] = None
        self._writer: Optional[OrderedWriter] = None
        self._write = run_now
        self._current: Optional[PoseInput] = None
        self._finished, self._pred_out_dir = True, ''

    # ------------------------------------------------------------------- model
    def _load_model_from_metafile(self, model: str
                                  ) -> Tuple[mmengine.Config, Optional[str]]:
        """This project's model index first (:func:`~.model_index.find_model`),
        then mmpose's."""
        found = find_model(model)
        if found is not None:
            return found
        return super()._load_model_from_metafile(model)

    def _init_model(self,
                    cfg: mmengine.Config,
                    weights: Optional[str],
                    device: str = 'cpu') -> torch.nn.Module:
        """mmengine's, with the checkpoint loaded by
        :func:`~..checkpoint_check.load_checkpoint_file` (one line naming the
        file where torch would raise from deep inside its unpickler)."""
        checkpoint = (None
                      if weights is None else load_checkpoint_file(weights))
        if cfg.model.get('pretrained') is not None:
            del cfg.model.pretrained  # the checkpoint holds the weights
        model = MODELS.build(cfg.model)
        model.cfg = cfg
        self._load_weights_to_model(model, checkpoint, cfg)
        model.to(device)
        model.eval()
        return model

    def _load_weights_to_model(self, model: torch.nn.Module,
                               checkpoint: Optional[dict],
                               cfg: Optional[mmengine.Config]) -> None:
        """mmpose's loading, after refusing a checkpoint of another model."""
        if checkpoint is not None:
            model.cfg = cfg  # named in the message
            check_checkpoint_matches(
                model, checkpoint, name=str(self._weights_name))
        super()._load_weights_to_model(model, checkpoint, cfg)

    def _init_detector(self,
                       det_model: Optional[Union[str, dict]] = None,
                       det_weights: Optional[str] = None,
                       det_cat_ids: Optional[Union[int, Tuple]] = None,
                       device: Optional[str] = None) -> None:
        """mmpose's, refusing ``det_weights`` of which no weight fits the
        detector (mmdet's inferencer loads what fits, with a warning, and
        detects with random weights) before the first frame; see
        :func:`~..topdown_pipeline.build_person_detector`."""
        super()._init_detector(det_model, det_weights, det_cat_ids, device)
        # without det_model mmpose takes its default detector with that
        # detector's own weights, not det_weights
        if (det_model is not None and det_weights is not None
                and self.detector is not None):
            check_checkpoint_matches(
                self.detector.model, det_weights, partial=True)

    def _prepare_on_device(self) -> None:
        """Have ``model.test_step`` take a :class:`PreparedFrame` from the
        :class:`~..frame_preprocessor.BottomupFramePreprocessor`."""
        if self.cfg.data_mode != 'bottomup':
            raise UnsupportedPipelineError(
                'frames are prepared on the device for bottom-up models only')
        if self.model.test_cfg.get('multiscale_test', False):
            raise UnsupportedPipelineError(
                'test_cfg.multiscale_test: the frame preprocessor '
                'makes one scale')
        self.frame_preprocessor = BottomupFramePreprocessor(self.model)
        test_step = self.model.test_step

        def prepared_test_step(data: Union[dict, PreparedFrame]
                               ) -> List[PoseDataSample]:
            if isinstance(data, PreparedFrame):
                return self.model.predict(data.inputs, data.data_samples)
            return test_step(data)

        self.model.test_step = prepared_test_step

    def _new_tracker(self) -> PoseTracker:
        arguments = {k: v for k, v in self.tracking.items() if k != 'kpt_thr'}
        if arguments.get('metric', 'oks') == 'oks':
            arguments['sigmas'] = self.model.dataset_meta['sigmas']
        return PoseTracker(**arguments)

    def check_call_options(self,
                           skeleton_style: str = 'mmpose',
                           draw_heatmap: bool = False,
                           merge_results: bool = True,
                           **kwargs) -> None:
        """Refuse call options that cannot work with this inferencer's
        settings; each run checks them before its inputs are opened (through
        :meth:`update_model_visualizer_settings`), and a front end can call it
        first.

        Raises:
            ValueError: When tracking, ``skeleton_style='openpose'`` (mmpose's
                drawing in that style, which the tracked drawing, one colour
                per id, replaces) or ``merge_results=False`` (a top-down
                frame's people as one result each, which the tracker must see
                together). ``draw_heatmap`` with a head that draws its maps
                from its features (``maps_need_features``; SMPR) on a network
                run elsewhere (onnxruntime, the fast path), which gives the
                head's outputs only.
        """
        if self.tracking is not None and skeleton_style == 'openpose':
            raise ValueError(
                "skeleton_style='openpose' is mmpose's drawing, which "
                'tracking replaces by one colour per id: give one of them')
        if self.tracking is not None and not merge_results:
            raise ValueError(
                'merge_results=False gives each person of a frame as a result '
                'of its own; tracking matches a frame\'s people together')
        patch = getattr(self.model, 'network_patch', None)
        if (draw_heatmap and patch
                and getattr(self.model.head, 'maps_need_features', False)):
            raise ValueError(
                f'draw_heatmap: {type(self.model.head).__name__} computes the '
                'maps it draws from its features, which its network run '
                f'{patch} does not give: draw without them, or run the model '
                'in PyTorch without the fast path')

    def update_model_visualizer_settings(self, **kwargs) -> None:
        """mmpose's, called by each run before its inputs are opened, after
        :meth:`check_call_options`."""
        self.check_call_options(**kwargs)
        super().update_model_visualizer_settings(**kwargs)

    # ------------------------------------------------------------------ inputs
    def _start(self, source: Source) -> InputFrames:
        """Begin a run over ``source``: mmpose's video state for a video,
        camera or stream."""
        self.finish()
        self.source, self.sink, self.failed, self.lost = source, None, [], None
        self.read = self.skipped = 0
        self._reader = None
        self._writer = OrderedWriter() if self.pipelined else None
        self._write = run_now if self._writer is None else self._writer.submit
        self.tracker = (None if self.tracking is None else self._new_tracker())
        self.timer.reset()
        self._finished, self._pred_out_dir = False, ''
        self._video_input = source.kind in ('video', 'camera', 'stream')
        if self._video_input:
            self.video_info = dict(
                fps=source.fps or DEFAULT_FPS,
                name=f'{source.stem}.mp4',
                writer=None,
                width=0,
                height=0,
                predictions=[])
        return InputFrames(source)

    def _inputs_to_list(self, inputs: Union[str, np.ndarray,
                                            Sequence]) -> InputFrames:
        """An image, folder, video, camera index or stream URL
        (:func:`~..demo_io.open_source`, which raises
        :class:`~..demo_io.InputError` for one it cannot open), a source it
        opened, an array, or a list of paths and arrays."""
        if isinstance(inputs, Source):
            return self._start(inputs)
        if isinstance(inputs, (str, Path)):
            return self._start(open_source(str(inputs)))
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        return self._start(_array_source(list(inputs)))

    def _get_webcam_inputs(self, inputs: str) -> InputFrames:
        """``'webcam'`` or ``'webcam:N'``: camera N (0 by default), as mmpose
        reads it (:func:`~..demo_io.open_source`)."""
        return self._start(open_source(inputs))

    # -------------------------------------------------------------- preprocess
    def preprocess(self,
                   inputs: InputFrames,
                   batch_size: int = 1,
                   bboxes: Optional[List] = None,
                   bbox_thr: float = 0.3,
                   nms_thr: float = 0.3,
                   person_boxes: Optional[Dict[str, np.ndarray]] = None,
                   skip_existing: str = ''):
        """Read each frame and prepare it as mmpose does (batch size 1, as
        mmpose's); yields ``(data, [PoseInput])``.

        An image that cannot be read is logged, named in :attr:`failed` and
        left out. When the input ends, :attr:`lost` says whether the source
        gave fewer frames than it should have, and the run is finished
        (:meth:`finish`; a video's by mmpose's call, which knows its
        ``pred_out_dir``).

        Args:
            bboxes: Per input, person boxes ``(N, 4 or 5)`` for a top-down
                model, used instead of the detector (mmpose 1.3.2 takes the
                argument but ignores it).
            bbox_thr, nms_thr: mmpose's, for the detector's boxes, and for
                mmpose's one-stage models (:meth:`_one_stage_thresholds`).
            person_boxes: The same as ``bboxes``, keyed by image name
                (:func:`~..topdown_pipeline.load_person_boxes`).
            skip_existing: A folder: inputs whose ``<stem>.json`` is in it are
                left out unread (a run that was stopped is resumed); counted in
                :attr:`skipped`.

        Raises:
            ValueError: ``bboxes`` or ``person_boxes`` for a model that is not
                top-down, ``bboxes`` for the frames of a video, camera or
                stream or not one per input.
        """
        source = inputs.source
        self._one_stage_thresholds(bbox_thr, nms_thr)
        if bboxes is not None and not len(bboxes):
            bboxes = None  # an empty list or array: none given
        try:
            self._check_boxes(source, bboxes, person_boxes)
        except ValueError:
            self.finish()  # the source is open (a camera, a stream)
            raise
        unmatched: List[str] = []  # inputs without a box in person_boxes

        def done(name: str) -> bool:
            return (bool(skip_existing) and
                    (Path(skip_existing) / f'{Path(name).stem}.json').exists())

        items = read_frames(iter(source.frames), done, self.timer.clock)
        if self.pipelined:
            items = self._reader = ReadAhead(
                items, LIVE_READ_AHEAD if source.live else FILE_READ_AHEAD)
        index = 0
        while True:
            self.timer.start_frame()
            # pipelined: the wait for the reader thread
            with self.timer.stage('reading'):
                item = next(items, None)
            if item is None:
                break
            self.read += 1
            if item.kind == 'skipped':
                self.skipped += 1
                continue
            if item.kind == 'failed':
                print_log(
                    str(item.error), logger='current', level=logging.ERROR)
                self.failed.append(item.name)
                continue
            frame = PoseInput(item.name, item.image,
                              source.frame_time(self.read, item.read_at))
            # by input, also past the failed and skipped ones
            boxes = bboxes[self.read - 1] if bboxes is not None else None
            if person_boxes is not None:
                if frame.name not in person_boxes:
                    unmatched.append(frame.name)
                boxes = person_boxes.get(frame.name,
                                         np.zeros((0, 5), np.float32))
            with self.timer.stage('preprocess'):
                if self.frame_preprocessor is not None:
                    data = PreparedFrame(*self.frame_preprocessor(frame.image))
                    data.data_samples[0].set_metainfo(
                        dict(img_path=frame.name))
                else:
                    data = self.collate_fn(
                        self.preprocess_single(frame, index, bbox_thr, nms_thr,
                                               boxes))
            self._current = frame
            index += 1
            yield data, [frame]
        self.lost = source.shortfall(self.read)
        if unmatched:
            self._warn_unmatched(source, index, unmatched, bool(person_boxes))
        # (mmpose's call finishes a video with its pred_out_dir)
        if not self._video_input:
            self.finish()  # the last image is done: the output video closed

    def _one_stage_thresholds(self, bbox_thr: float, nms_thr: float) -> None:
        """As mmpose's preprocess does for its one-stage models (a plain
        ``BottomupPoseEstimator`` whose head filters its people itself, e.g.
        RTMO): ``score_thr`` and ``nms_thr`` of the ``test_cfg`` the model
        gives its head, where it has them, are the run's ``bbox_thr`` and
        ``nms_thr``; its other settings (``output_heatmaps``) stay. This
        project's models (SMPR's ``score_thr`` picks candidates before its
        pose NMS) keep their configs' values."""
        if self.cfg.model.type != 'BottomupPoseEstimator':
            return
        for key, value in (('score_thr', bbox_thr), ('nms_thr', nms_thr)):
            if key in self.model.test_cfg:
                self.model.test_cfg[key] = value

    @staticmethod
    def _warn_unmatched(source: Source, count: int, unmatched: List[str],
                        any_boxes: bool) -> None:
        """Say which of the ``count`` inputs of ``source`` had no box in the
        person boxes (--bbox-file) and were posed as one person, the whole
        image."""
        # (a video's frames are named <stem>_<index:06d>.jpg)
        what = 'images' if source.kind in ('image', 'folder') else 'frames'
        if not any_boxes:
            message = (
                'the person boxes (--bbox-file) hold no box (none at or '
                f'above --bbox-thr?): each of the {count} {what} of '
                f'{source.name} was posed as one person, the whole '
                'image')
        elif len(unmatched) == count:
            message = (f'none of the {count} {what} of {source.name} is named '
                       'in the person boxes (--bbox-file): each was posed as '
                       'one person, the whole image; the file names its '
                       'images otherwise')
        else:
            names = ', '.join(
                unmatched[:5]) + (f' and {len(unmatched) - 5} more'
                                  if len(unmatched) > 5 else '')
            message = (f'{len(unmatched)} of the {count} {what} of '
                       f'{source.name} have no box in the person boxes '
                       '(--bbox-file; none at or above --bbox-thr?) and were '
                       f'each posed as one person, the whole image: {names}')
        print_log(message, logger='current', level=logging.WARNING)

    def _check_boxes(self, source: Source, bboxes: Optional[List],
                     person_boxes: Optional[Dict[str, np.ndarray]]) -> None:
        """Refuse boxes that would be ignored, go to the wrong images or pose
        nobody (:meth:`preprocess`)."""
        if bboxes is None and person_boxes is None:
            return
        given = ('bboxes'
                 if bboxes is not None else 'person_boxes (--bbox-file)')
        if self.cfg.data_mode != 'topdown':
            raise ValueError(
                f'{given}: person boxes are for top-down models; this '
                f'{self.cfg.data_mode} model finds the people itself')
        if bboxes is None:
            return
        if source.kind not in ('image', 'folder'):
            # a video's frame count may be OpenCV's estimate
            raise ValueError(
                f'bboxes: one per image, not for the frames of the '
                f'{source.kind} {source.name}; give person_boxes '
                '(--bbox-file) by frame name, <stem>_<index:06d>.jpg')
        if len(bboxes) != source.count:
            raise ValueError(
                f'bboxes: {len(bboxes)} entries for the {source.count} '
                f'inputs of {source.name}: one per input')
        for index, boxes in enumerate(bboxes):
            boxes = np.asarray(boxes if boxes is not None else [], np.float64)
            if boxes.size == 0:
                continue
            if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
                raise ValueError(
                    f'bboxes[{index}]: shape {boxes.shape}; an image\'s boxes '
                    'are (N, 4 or 5), x1, y1, x2, y2[, score]')
            if not (np.isfinite(boxes).all() and
                    (boxes[:, 2:4] > boxes[:, :2]).all()):
                raise ValueError(
                    f'bboxes[{index}]: {boxes.tolist()} has a box that is not '
                    'finite or has no area (x2 > x1 and y2 > y1 needed)')

    def preprocess_single(self,
                          input: PoseInput,
                          index: int,
                          bbox_thr: float = 0.3,
                          nms_thr: float = 0.3,
                          bboxes: Optional[np.ndarray] = None) -> List[dict]:
        """mmpose's, on the frame's image, keeping its name as ``img_path``;
        top-down with ``bboxes`` (``(N, 4 or 5)``, pixels) poses in those boxes
        instead of the detector's (none given: the whole image, as mmpose does
        when the detector finds nobody)."""
        if self.cfg.data_mode == 'topdown' and bboxes is not None:
            data_infos = self._topdown_data(input,
                                            np.asarray(bboxes, np.float32))
        else:
            data_infos = super().preprocess_single(input.image, index,
                                                   bbox_thr, nms_thr)
        for data in data_infos:
            data['data_samples'].set_metainfo(dict(img_path=input.name))
        return data_infos

    def _topdown_data(self, frame: PoseInput, boxes: np.ndarray) -> List[dict]:
        height, width = frame.image.shape[:2]
        if not len(boxes):
            boxes = np.array([[0, 0, width, height, 1]], dtype=np.float32)
        data_infos = []
        for box in boxes:
            info = dict(
                img=frame.image,
                img_path=frame.name,
                **self.model.dataset_meta)
            info['bbox'] = box[None, :4]
            info['bbox_score'] = box[4:5] if len(box) > 4 else np.ones(
                1, np.float32)
            data_infos.append(self.pipeline(info))
        return data_infos

    # ----------------------------------------------------------------- forward
    def forward(self, inputs: Union[dict, PreparedFrame],
                **kwargs) -> List[PoseDataSample]:
        """mmpose's forward (the data preprocessor counted as ``preprocess``,
        the model's stages as ``network`` and ``decoding``), then the tracker's
        ids."""
        with self.timer.stage('preprocess'):
            data_samples = super().forward(inputs, **kwargs)
        if self.tracker is not None:
            with self.timer.stage('tracking'):
                for sample in data_samples:
                    self._track(sample.pred_instances)
        return data_samples

    def _track(self, instances: InstanceData) -> None:
        """``track_id`` for each person; smoothed ``keypoints`` with the
        tracker's smoothing."""
        time, thr = self._current.time, self.tracking.get('kpt_thr', 0.3)
        boxes = instances.bboxes if self.cfg.data_mode == 'topdown' else None
        ids, keypoints = self.tracker.update(
            instances.keypoints,
            instances.keypoint_scores,
            boxes,
            score_thr=thr,
            timestamp=time)
        instances.track_id = ids
        if self.tracker.smoothing:
            instances.keypoints = keypoints
            if boxes is None:  # bottom-up: its boxes span its keypoints
                instances.bboxes = found_keypoint_boxes(
                    keypoints, instances.keypoint_scores)

    # --------------------------------------------------------------- visualize
    def visualize(self,
                  inputs: List[PoseInput],
                  preds: List[PoseDataSample],
                  return_vis: bool = False,
                  show: bool = False,
                  wait_time: float = 0,
                  vis_out_dir: str = '',
                  window_name: str = '',
                  output_video: Optional[str] = None,
                  output_fps: Optional[float] = None,
                  overlay: bool = True,
                  **kwargs) -> List[np.ndarray]:
        """mmpose's drawing (one colour per ``track_id`` when tracking), saved
        to ``vis_out_dir`` as mmpose saves it; then, with the timing
        ``overlay``, shown and written into ``output_video``.

        When pipelined and the drawings only go to files (no ``show``, no
        ``return_vis``), they are drawn in the writer thread too, off the
        frame's critical path (the ``drawing`` stage is then part of no
        frame's time).

        Returns the drawings (RGB) with ``return_vis``.
        """
        if not (return_vis or show or vis_out_dir or output_video):
            return []
        images = [frame.image for frame in inputs]
        lines = self.timer.overlay_lines() if overlay else []
        sink = (
            self._video_sink(output_video, output_fps)
            if output_video else None)
        if self._writer is not None and not (return_vis or show):
            with self.timer.stage('writing'):
                self._write(self._draw_and_save, images, preds, vis_out_dir,
                            sink, lines, kwargs)
            return []
        with self.timer.stage('drawing'):
            drawn = self._draw(images, preds, **kwargs)
        if vis_out_dir:
            with self.timer.stage('writing'):
                for vis, pred in zip(drawn, preds):
                    self._write(self.save_visualization, vis, vis_out_dir,
                                Path(pred.img_path).name)
        if show or output_video:
            for vis, frame in zip(drawn, inputs):
                bgr = self._video_frame(vis, lines)
                if output_video:
                    with self.timer.stage('writing'):
                        self._write(sink.write, bgr)
                if show:
                    with self.timer.stage('display'):
                        self.visualizer.show(
                            bgr[..., ::-1],
                            win_name=window_name or frame.name,
                            wait_time=1e-5 if self._video_input else wait_time)
        return drawn if return_vis else []

    def _draw(self, images: List[np.ndarray], preds: List[PoseDataSample],
              **kwargs) -> List[np.ndarray]:
        """The drawings (RGB) of ``preds`` on ``images`` (BGR): tracked people
        in their ids' colours, else mmpose's drawing."""
        if self.tracker is not None:
            return [
                self._draw_tracked(image, pred, **kwargs)
                for image, pred in zip(images, preds)
            ]
        return super().visualize(images, preds, return_vis=True, **kwargs)

    @staticmethod
    def _video_frame(vis: np.ndarray, lines: List[str]) -> np.ndarray:
        """A drawing (RGB) as a video frame (BGR), a copy with the overlay
        ``lines`` (a tracked drawing is a view of a BGR canvas: the overlay
        stays off the drawing saved, written behind or returned)."""
        bgr = vis[..., ::-1].copy()
        if lines:
            draw_text_overlay(bgr, lines)
        return bgr

    def _draw_and_save(self, images: List[np.ndarray],
                       preds: List[PoseDataSample], vis_out_dir: str,
                       sink: Optional[VideoSink], lines: List[str],
                       kwargs: dict) -> None:
        """:meth:`visualize`'s drawing and files, as one job of the writer
        thread."""
        for vis, pred in zip(self._draw(images, preds, **kwargs), preds):
            if vis_out_dir:
                self.save_visualization(vis, vis_out_dir,
                                        Path(pred.img_path).name)
            if sink is not None:
                sink.write(self._video_frame(vis, lines))

    def _draw_tracked(self,
                      image: np.ndarray,
                      pred: PoseDataSample,
                      kpt_thr: float = 0.3,
                      draw_bbox: bool = False,
                      radius: int = 3,
                      thickness: int = 1,
                      black_background: bool = False,
                      draw_heatmap: bool = False,
                      **kwargs) -> np.ndarray:
        """The people of ``pred`` on ``image`` (BGR) in the colours of their
        ``track_id``, with mmpose's options; ``draw_heatmap`` puts the
        visualizer's panel of the predicted maps below, as mmpose's drawing
        does.

        Returns RGB.
        """
        links = [
            tuple(link)
            for link in self.model.dataset_meta.get('skeleton_links', [])
        ]
        people = self._people(pred)
        for person in people:
            # split_instances gives a box as a 1-tuple of its [x1, y1, x2, y2];
            # the box drawn is the one written to the JSON, as untracked
            if 'bbox' in person:
                person['bbox'] = person['bbox'][0]
        canvas = image * 0 if black_background else image
        drawn = draw_tracked_people(canvas, people, links, kpt_thr, draw_bbox,
                                    radius, thickness)[..., ::-1]
        if draw_heatmap and 'pred_fields' in pred:
            # mmpose's panel, on the image it draws on (black with
            # black_background); SimCC's x/y maps as mmpose draws them
            draw_maps = (
                self.visualizer._draw_instance_xy_heatmap
                if 'keypoint_x_labels' in pred.pred_instances else
                self.visualizer._draw_instance_heatmap)
            panel = draw_maps(pred.pred_fields, canvas[..., ::-1])
            if panel is not None:
                drawn = np.concatenate([drawn, panel], axis=0)
        return drawn

    def _video_sink(self, path: str, output_fps: Optional[float]) -> VideoSink:
        if self.sink is None:
            fps, how = video_fps(output_fps, self.source)
            self.sink = VideoSink(Path(path), fps, how, clock=self.timer.clock)
        return self.sink

    # ------------------------------------------------------------- postprocess
    @staticmethod
    def _people(pred: PoseDataSample) -> List[dict]:
        """mmpose's ``split_instances`` of the prediction, with each person's
        ``track_id``."""
        people = split_instances(pred.pred_instances)
        track_ids = pred.pred_instances.get('track_id')
        if track_ids is not None:
            for person, track_id in zip(people, track_ids):
                person['track_id'] = int(track_id)
        return people

    def postprocess(self,
                    preds: List[PoseDataSample],
                    visualization: List[np.ndarray],
                    return_datasample: Optional[bool] = None,
                    return_datasamples: bool = False,
                    pred_out_dir: str = '') -> dict:
        """mmpose's results and files (``pred_out_dir/<image stem>.json``, or
        one JSON per video at the end), each person with its ``track_id`` when
        tracking; an image's JSON is written whole (a temporary file, then a
        rename).

        Ends the frame's timing.
        """
        with self.timer.stage('writing'):
            # mmpose's dict (and its warning on ``return_datasample``), without
            # its split of the instances, which would leave out ``track_id``:
            # each is split once, below
            results = super().postprocess(
                preds, visualization, return_datasample, True, pred_out_dir='')
            as_samples = (
                return_datasamples
                if return_datasample is None else return_datasample)
            people_of = ([self._people(pred) for pred in preds]
                         if pred_out_dir or not as_samples else [])
            if not as_samples:
                results['predictions'] = people_of
            if pred_out_dir:
                for pred, people in zip(preds, people_of):
                    if self._video_input:
                        self.video_info['predictions'].append(people)
                    else:
                        stem = Path(pred.img_path).stem
                        path = Path(pred_out_dir) / f'{stem}.json'
                        text = mmengine.dump(
                            people, file_format='json', indent='  ')
                        self._write(write_atomically, path, text.encode())
        self.timer.end_frame()
        self._pred_out_dir = pred_out_dir
        return results

    def _finalize_video_processing(self, pred_out_dir: str = '') -> None:
        """mmpose's (its video released, the video's predictions written) and
        the run closed (:meth:`finish`)."""
        self.finish(pred_out_dir)

    def _close_input(self) -> None:
        """Stop the reader thread and close the source, unless the thread is
        still waiting for a frame (a stalled stream): closing the source under
        it would fail or release a capture it is reading; that one is left to
        end with the program."""
        if self._reader is not None and not self._reader.close():
            print_log(
                f'{self.source.name}: still waiting for a frame; the input is '
                'left open (it closes when the program ends)',
                logger='current',
                level=logging.WARNING)
            return
        if self.source is not None:
            self.source.close()

    def finish(self, pred_out_dir: Optional[str] = None) -> None:
        """End the current run, also one stopped part-way: close the input and
        the videos and write a video's predictions so far to ``pred_out_dir``
        (by default the last one the run was given).

        Does nothing the second time.
        """
        if self._finished:
            return
        self._finished = True
        if pred_out_dir is None:
            pred_out_dir = self._pred_out_dir
        try:
            try:
                self._close_input()
            finally:
                if self._writer is not None:
                    # its jobs done (or the first error raised) before the end,
                    # within the run's time: its FPS is that of frames written
                    with self.timer.tail('writing'):
                        self._writer.close()
        finally:
            try:
                if self._video_input:
                    super()._finalize_video_processing(pred_out_dir)
            finally:
                if self.sink is not None:
                    self.sink.close()
