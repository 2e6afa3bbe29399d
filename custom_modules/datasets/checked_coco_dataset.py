# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's ``CocoDataset`` with its inputs checked: what it cannot use it
names or counts."""
import json
import logging
import os.path as osp
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from mmengine import fileio
from mmengine.logging import print_log
from mmpose.datasets import CocoDataset
from mmpose.registry import DATASETS

from .coco_file_checks import (DETECTION_FIELDS, DatasetFileError,
                               coco_file_problem, field_problem,
                               first_value_problem, is_number, iscrowd_problem,
                               load_json, no_person_problem)
from .crowd_segmentation import segments_for_mask
from .image_file import ImageFileError, check_image_file, read_image_file

LISTED_IMAGES = 20  # unusable test images named in the error; more are counted
# threads checking test images: their reads from disk overlap
CHECK_THREADS = 8


class UnusableImagesError(RuntimeError):
    """Images of a test set that cannot be used, each named with its reason in
    one message."""


class MissingImagesError(FileNotFoundError):
    """Images of a dataset missing on disk: all of a training set's, or those
    of a test set; the message names the annotation file and the images."""


@DATASETS.register_module()
class CheckedCocoDataset(CocoDataset):
    """mmpose's :class:`CocoDataset` that checks its annotation file, boxes and
    images.

    The same arguments and data as ``CocoDataset``; what it adds:

    - an annotation or ``bbox_file`` that is missing, not valid JSON, lacks
      ``images`` / ``annotations`` or has an entry without a required field
      or with one of the wrong kind (``coco_file_checks``), an ``iscrowd``
      other than 0 or 1: :class:`DatasetFileError` (a ``ValueError``) naming
      the file, entry and field; a detection of an image the annotation file
      does not have, or detections none of which is a person
      (``category_id`` 1): the same, with the ids;
    - annotations of an ``image_id`` that no image has (mmpose never reads
      them) are counted and logged;
    - crowd regions given as run-length dicts (COCO's) are masked in bottom-up
      training (:func:`segments_for_mask`: mmpose's mask read polygons only);
    - instances mmpose leaves out without a word (crowd regions, people without
      visible keypoints, boxes of no area after clipping to the image) and
      visible keypoints outside their image (made not visible here) are counted
      and logged once, with an example id;
    - images of the annotation file missing on disk: in training their samples
      are dropped and logged with a count (all of them:
      :class:`MissingImagesError`, a ``FileNotFoundError``, naming the
      folder);
    - an image that cannot be decoded or is cut short
      (:func:`read_image_file`): in training the sample is skipped (mmengine
      then draws another) with a warning naming the file and the count of skips
      so far in this process;
    - at test time (``test_mode=True``: val and test sets) every local image is
      checked when the dataset is built (:func:`check_image_file`: readable,
      JPEG/PNG complete, other formats decoded), so that a bad validation image
      stops training before its first iteration (mmengine's ``Runner.train``
      builds the val loop before it trains), not at the first validation. One
      error lists the missing and unusable images with their reasons (the
      first ``LISTED_IMAGES``, then a count): :class:`MissingImagesError` if
      all of them are missing, else :class:`UnusableImagesError` (a missing or
      bad image would silently lower the AP). ``CHECK_THREADS`` threads read
      the files: 5,000 COCO JPEGs not in the page cache took 1.6-2.2 s with
      one thread, 0.9-1.0 s with 8. Images behind a URI are checked when
      they are read. Test images of another size than the annotation file
      gives them (resized since: the AP would be near 0) are counted and
      logged;
    - images without any detection in ``bbox_file`` are counted and logged
      (their people count as missed by ``CocoMetric``).

    Images are read and decoded here, with the ``color_type``,
    ``imdecode_backend`` and ``backend_args`` of the pipeline's ``LoadImage``;
    ``LoadImage`` then takes the decoded image as it does at inference.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._notes: Dict[Tuple[int, str], List[Any]] = defaultdict(list)
        self._skipped_images = 0
        super().__init__(*args, **kwargs)

    @cached_property
    def _decode_args(self) -> Dict[str, Any]:
        """``color_type``, ``imdecode_backend`` and ``backend_args`` (where the
        files are read from) of the pipeline's ``LoadImage``."""
        load = next((t for t in self.pipeline.transforms
                     if type(t).__name__ == 'LoadImage'), None)
        return dict(
            color_type=getattr(load, 'color_type', 'color'),
            imdecode_backend=getattr(load, 'imdecode_backend', 'cv2'),
            backend_args=getattr(load, 'backend_args', None))

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        """mmpose's loading; a missing or malformed file gets a
        :class:`DatasetFileError` naming it and the faulty field."""
        if not fileio.exists(self.ann_file):
            raise DatasetFileError(
                f'{self.ann_file}: no such annotation file (ann_file)')
        try:
            instances, images = super()._load_annotations()
        except json.JSONDecodeError as err:
            raise DatasetFileError(
                f'{self.ann_file}: not valid JSON ({err})') from err
        except DatasetFileError:  # named by parse_data_info
            raise
        except (AssertionError, KeyError, TypeError, ValueError) as err:
            coco = load_json(self.ann_file, 'annotation file')
            problem = coco_file_problem(
                coco, not self.test_mode) or (first_value_problem(
                    coco, self.metainfo['num_keypoints']))
            if problem is None:
                raise
            raise DatasetFileError(f'{self.ann_file}: {problem}') from err
        # a test set's file may hold images only (COCO's test-dev image info)
        problem = coco_file_problem(self.coco.dataset, not self.test_mode)
        if problem:
            raise DatasetFileError(f'{self.ann_file}: {problem}')
        # mmpose reads the annotations image by image: one of an image id
        # that "images" lacks is never read
        for ann in self.coco.dataset.get('annotations', []):
            if ann['image_id'] not in self.coco.imgs:
                self._note(
                    'annotations of an "image_id" that no entry of "images" '
                    'has (left out)', ann)
        self._log_notes()
        self._remember_image_sizes()
        return instances, images

    def parse_data_info(self, raw_data_info: dict) -> Optional[dict]:
        """mmpose's parsing; notes what training will leave out, hides
        keypoints off the image."""
        ann, img = raw_data_info['raw_ann_info'], raw_data_info['raw_img_info']
        info = super().parse_data_info(raw_data_info)
        if info is None:
            self._note('annotations without "bbox" or "keypoints" (left out)',
                       ann)
            return None
        keypoints, visible = info['keypoints'][0], info['keypoints_visible'][0]
        # not self.metainfo: a deep copy of the whole metainfo at each call
        num_keypoints = self._metainfo['num_keypoints']
        if len(keypoints) != num_keypoints:
            raise DatasetFileError(
                f'{self.ann_file}: annotation id {ann["id"]} has "keypoints" '
                f'of {3 * len(keypoints)} numbers, not {3 * num_keypoints} (3 '
                f'x the {num_keypoints} keypoints of the dataset)')
        if not (np.isfinite(keypoints).all() and np.isfinite(visible).all()):
            # numpy reads a JSON null as NaN
            raise DatasetFileError(
                f'{self.ann_file}: annotation id {ann["id"]} has "keypoints" '
                'that are not all finite numbers (null, NaN or Infinity)')
        if 'num_keypoints' in ann and not is_number(ann['num_keypoints']):
            raise DatasetFileError(
                f'{self.ann_file}: annotation id {ann["id"]} has '
                '"num_keypoints" that is not a finite number')
        problem = iscrowd_problem(ann)
        if problem:
            raise DatasetFileError(
                f'{self.ann_file}: annotation id {ann["id"]} has {problem}')
        labelled = int((visible > 0).sum())
        # COCO counts the labelled keypoints (v > 0), CrowdPose the visible
        # ones (v = 2): a fault for both is 0 with a visible keypoint, or more
        # than 0 without a labelled one. mmpose leaves a person of
        # num_keypoints 0 out of top-down training and keeps the other.
        if ((info['num_keypoints'] == 0 and 2 in ann['keypoints'][2::3])
                or (info['num_keypoints'] > 0 and labelled == 0)):
            info['num_keypoints'] = labelled
            self._note(
                '"num_keypoints" of 0 with visible keypoints or above 0 '
                'without labelled ones (taken as the count of labelled '
                'keypoints)', ann)
        outside = (visible > 0) & ~(
            np.isfinite(keypoints).all(axis=1) & (keypoints[:, 0] >= 0)
            & (keypoints[:, 1] >= 0) & (keypoints[:, 0] <= img['width'])
            & (keypoints[:, 1] <= img['height']))
        if outside.any():
            visible[outside] = 0
            info['num_keypoints'] = int((visible > 0).sum())
            self._note(
                'visible keypoints outside their image (made not visible)',
                ann, int(outside.sum()))
        if info.get('segmentation') is not None:
            try:
                info['segmentation'] = segments_for_mask(
                    info['segmentation'], (img['height'], img['width']))
            except ValueError as error:
                raise DatasetFileError(
                    f'{self.ann_file}: annotation id {ann["id"]} has '
                    f'{error}') from None
        x1, y1, x2, y2 = info['bbox'][0]
        if info['iscrowd']:
            self._note(
                'crowd annotations (not trained on as people)',
                ann,
                level=logging.INFO)
        elif not (np.isfinite(info['bbox']).all() and x2 > x1 and y2 > y1):
            self._note(
                'boxes of no area inside their image (not trained on '
                'top-down)', ann)
        elif info['num_keypoints'] == 0:
            self._note(
                'people without visible keypoints (not trained on top-down)',
                ann,
                level=logging.INFO)
        return info

    def _load_detection_results(self) -> List[dict]:
        """mmpose's loading of ``bbox_file``, with its entries checked and its
        gaps counted."""
        detections = load_json(self.bbox_file, 'bbox_file')
        problem = (
            f'holds a {type(detections).__name__}, not a list of detections'
            if not isinstance(detections, list) else field_problem(
                detections, DETECTION_FIELDS, 'detections'))
        if problem:
            raise DatasetFileError(f'{self.bbox_file}: {problem}')
        problem = no_person_problem(detections, 'detections')
        if problem:
            raise DatasetFileError(f'{self.bbox_file}: {problem}')
        try:
            data_list = super()._load_detection_results()
        except KeyError as err:
            # an image without "file_name", or an image id unknown to the
            # annotation file (mmpose has read it into self.coco)
            problem = coco_file_problem(
                self.coco.dataset, need_annotations=False)
            if problem:
                raise DatasetFileError(f'{self.ann_file}: {problem}') from err
            detected = {d['image_id'] for d in detections}
            unknown = sorted(detected - set(self.coco.getImgIds()))
            if not unknown:
                raise
            raise DatasetFileError(
                f'{self.bbox_file}: detections of {len(unknown)} image ids '
                'that '
                f'{self.ann_file} does not have, e.g. {unknown[:3]}') from err
        image_ids = set(self.coco.getImgIds())
        without = image_ids - {d['img_id'] for d in data_list}
        if without:
            print_log(
                f'{self.bbox_file}: no person box for {len(without)} of '
                f'{len(image_ids)} images (e.g. image id {min(without)}); '
                'CocoMetric counts their people as missed',
                logger='current',
                level=logging.WARNING)
        self._remember_image_sizes()
        return data_list

    def _remember_image_sizes(self) -> None:
        """Keep the ``(width, height)`` the annotation file gives each test
        image (mmpose drops its ``self.coco`` once the data list is made) for
        :meth:`_warn_of_other_sizes`."""
        self._annotated_sizes = {
            osp.join(self.data_prefix['img'], image['file_name']):
            (image.get('width'), image.get('height'))
            for image in self.coco.imgs.values()
        } if self.test_mode else {}

    def load_data_list(self) -> List[dict]:
        """mmpose's data list without (training) or refusing (testing) images
        it cannot use."""
        data_list = super().load_data_list()
        paths = {info['img_path'] for info in data_list}
        local = sorted(p for p in paths if '://' not in p)
        missing = [p for p in local if not osp.isfile(p)]
        if self.test_mode:
            sizes = self._refuse_unusable_images(local, missing, len(paths))
            self._warn_of_other_sizes(sizes)
            return data_list
        if not missing:
            return data_list
        if len(missing) == len(paths):
            raise MissingImagesError(
                f'none of the {len(paths)} images of {self.ann_file} is under '
                f'{self.data_prefix["img"] or self.data_root} (data_root + '
                f'data_prefix.img), e.g. {missing[:3]}')
        print_log(
            f'{len(missing)} of the {len(paths)} images of {self.ann_file} '
            'are missing, '
            f'e.g. {missing[:3]}; their samples are left out of training',
            logger='current',
            level=logging.WARNING)
        missing = set(missing)
        return [info for info in data_list if info['img_path'] not in missing]

    def _refuse_unusable_images(self, local: List[str], missing: List[str],
                                total: int) -> Dict[str, Tuple[int, int]]:
        """Check every local test image with :func:`check_image_file` in
        threads; raise one error listing those missing or unusable (at most
        ``LISTED_IMAGES``, then a count): :class:`MissingImagesError` if all of
        them are missing, else :class:`UnusableImagesError`.

        Returns:
            The ``(width, height)`` of each image whose size is known.
        """
        # each path's line in the message
        problems = {path: f'{path}: missing' for path in missing}
        present = [path for path in local if path not in problems]
        sizes = {}
        with ThreadPoolExecutor(CHECK_THREADS) as pool:
            for path, (problem,
                       size) in zip(present,
                                    pool.map(self._image_problem, present)):
                if problem is not None:
                    problems[path] = problem
                elif size is not None:
                    sizes[path] = size
        if not problems:
            return sizes
        listed = [
            f'  {problems[path]}' for path in sorted(problems)[:LISTED_IMAGES]
        ]
        if len(problems) > LISTED_IMAGES:
            listed.append(f'  ... and {len(problems) - LISTED_IMAGES} more')
        message = (
            f'{len(problems)} of the {total} images of {self.ann_file} are '
            'missing or '
            'unusable; evaluating without them would lower the AP:\n' +
            '\n'.join(listed))
        if len(problems) == len(missing):
            raise MissingImagesError(message)
        raise UnusableImagesError(message)

    def _image_problem(self, path: str
                       ) -> Tuple[Optional[str], Optional[Tuple[int, int]]]:
        """``'<path>: <why it cannot be used>'`` (:func:`check_image_file`) or
        None, and the image's ``(width, height)`` where known."""
        try:
            return None, check_image_file(path, **self._decode_args)
        except ImageFileError as err:
            return str(err), None

    def _warn_of_other_sizes(self, sizes: Dict[str, Tuple[int, int]]) -> None:
        """Log the images whose ``(width, height)`` in ``sizes`` is not the one
        the annotation file gives them (either way round: a decoder may turn a
        JPEG by its EXIF orientation).

        The keypoints and boxes are in the annotation file's pixels: images
        resized since give a wrong AP, without an error.
        """
        annotated = self._annotated_sizes
        other = sorted(
            path for path, size in sizes.items()
            if path in annotated and size not in (annotated[path],
                                                  annotated[path][::-1]))
        if not other:
            return
        example = other[0]
        print_log(
            f'{len(other)} of the {len(sizes)} images of {self.ann_file} are '
            'not the size the file gives them (width x height), e.g. '
            f'{example}: {sizes[example][0]}x{sizes[example][1]}, annotated '
            f'{annotated[example][0]}x{annotated[example][1]}; the keypoints '
            'and boxes are in the annotated pixels, so resized images give a '
            'wrong AP',
            logger='current',
            level=logging.WARNING)

    def prepare_data(self, idx: int) -> Any:
        """The pipeline's output for sample ``idx``, or None (training) for a
        bad image."""
        data_info = self.get_data_info(idx)
        try:
            data_info['img'] = read_image_file(data_info['img_path'],
                                               **self._decode_args)
        except ImageFileError as err:
            if self.test_mode:
                raise
            self._skipped_images += 1
            print_log(
                f'{err}: skipped ({self._skipped_images} skipped so far in '
                'this process)',
                logger='current',
                level=logging.WARNING)
            return None
        data_info['dataset'] = self
        return self.pipeline(data_info)

    def _note(self,
              what: str,
              ann: dict,
              count: int = 1,
              level: int = logging.WARNING) -> None:
        """Count ``count`` cases of ``what`` in annotation ``ann`` for
        :meth:`_log_notes`."""
        self._notes[(level, what)].extend([ann['id']] * count)

    def _log_notes(self) -> None:
        """Log what was counted while parsing, one line per kind, then forget
        it.

        What mmpose leaves out of COCO as a rule (crowds, people without
        keypoints) is logged as INFO, faults of the annotation file as WARNING.
        """
        for (level, what), ids in self._notes.items():
            print_log(
                f'{self.ann_file}: {len(ids)} {what}, e.g. annotation id '
                f'{ids[0]}',
                logger='current',
                level=level)
        self._notes.clear()
