# Copyright (c) OpenMMLab. All rights reserved.
"""mmpose's ``CocoMetric`` that checks its annotation file before the first
image is inferred."""
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.logging import MessageHub, print_log
from mmpose.evaluation.metrics import CocoMetric
from mmpose.registry import METRICS
from xtcocotools.coco import COCO

from ...datasets.coco_file_checks import (duplicated_ids, is_number, load_json,
                                          value_problems)

#: Fields that can be derived without changing what COCO's keypoint evaluation
#: computes.
DERIVABLE = ('area', 'num_keypoints', 'iscrowd')
#: The fraction of a person's box that xtcocotools' keypoint evaluation takes
#: as its area without ``use_area`` (``computeOks``, ``evaluateImg``).
BOX_AREA_FRACTION = 0.53
LISTED_IDS = 5  # annotation ids named per problem


class AnnotationFileError(ValueError):
    """An annotation file that the evaluation cannot use; the message names
    file and fields."""


def _ids(annotations: List[dict]) -> str:
    shown = ', '.join(str(a.get('id', '?')) for a in annotations[:LISTED_IDS])
    return f'ids {shown}' + (', ...' if len(annotations) > LISTED_IDS else '')


def annotation_problems(coco: dict,
                        num_keypoints: Optional[int] = None,
                        use_area: bool = True,
                        iou_type: str = 'keypoints') -> List[str]:
    """What xtcocotools' keypoint evaluation (``COCOeval``, as ``CocoMetric``
    runs it with ``use_area`` and ``iou_type``) would fail on in the loaded
    annotation file ``coco``, one line per problem with the number of
    annotations and a few ids; empty if nothing.

    It reads, per ground-truth annotation: ``id``, ``image_id`` (of an image in
    ``images``), ``category_id`` (of an entry of ``categories``), ``keypoints``
    (``3 * num_keypoints`` numbers, where ``num_keypoints`` is given),
    ``bbox`` (``computeOks`` reads it for every person of an image with
    detections: the OKS of a person without a labelled keypoint is a distance
    to it, and without ``use_area`` its ``0.53 w h`` is the OKS scale and the
    size for the area ranges), ``area`` with ``use_area`` (the OKS scale and
    the area ranges), and ``num_keypoints`` for ``iou_type='keypoints_crowd'``
    only (the others count the labelled keypoints), each of the right kind
    (:func:`~custom_modules.datasets.coco_file_checks.value_problems`); ids
    that occur twice in ``images`` or ``annotations`` (xtcocotools keeps one
    of them: a person silently missed); ``crowdIndex`` on every image for
    ``keypoints_crowd`` (its AP per crowd level). A missing ``iscrowd`` is no
    problem: xtcocotools' ``COCO`` sets it to 0 when it reads a file, as
    :class:`CheckedCocoMetric` does.
    """
    if not isinstance(coco, dict):
        return [
            'not a JSON object with "images", "annotations" and "categories"'
        ]
    problems = [
        f'has no "{key}" list'
        for key in ('images', 'annotations', 'categories')
        if not isinstance(coco.get(key), list)
    ]
    if problems:
        return problems
    problems = [
        problem for problem in (duplicated_ids(coco[key], key)
                                for key in ('images', 'annotations'))
        if problem
    ]
    if iou_type == 'keypoints_crowd':
        without = [
            image.get('id', '?') for image in coco['images'] if not (
                isinstance(image, dict) and is_number(image.get('crowdIndex')))
        ]
        if without:
            problems.append(
                f'{len(without)} of {len(coco["images"])} images have no '
                f'numeric "crowdIndex" (keypoints_crowd), e.g. id {without[0]}'
            )
    image_ids = {
        image.get('id')
        for image in coco['images'] if isinstance(image, dict)
    }
    category_ids = {
        cat.get('id')
        for cat in coco['categories'] if isinstance(cat, dict)
    }
    bad: Dict[str, List[dict]] = defaultdict(list)
    for ann in coco['annotations']:
        if not isinstance(ann, dict):
            bad['an entry that is not an object'].append({})
            continue
        required = ['id', 'image_id', 'category_id', 'keypoints', 'bbox']
        if use_area:
            required.append('area')
        if iou_type == 'keypoints_crowd':
            required.append('num_keypoints')
        for field in required:
            if field not in ann:
                bad[f'no "{field}"'].append(ann)
        if 'image_id' in ann and ann['image_id'] not in image_ids:
            bad['an "image_id" that no entry of "images" has'].append(ann)
        if 'category_id' in ann and ann['category_id'] not in category_ids:
            bad['a "category_id" that no entry of "categories" has'].append(
                ann)
        for problem in value_problems(ann, num_keypoints):
            bad[problem].append(ann)
    total = len(coco['annotations'])
    return problems + [
        f'{len(anns)} of {total} annotations have {what} ({_ids(anns)})'
        for what, anns in bad.items()
    ]


def keypoint_count_problems(coco: dict, num_keypoints: int) -> List[str]:
    """Annotations whose ``keypoints`` are not ``3 * num_keypoints`` long.

    One line per length, as :func:`annotation_problems` names them; the
    dataset's ``num_keypoints`` is known later than the file.
    """
    by_length: Dict[int, List[dict]] = defaultdict(list)
    for ann in coco['annotations']:
        keypoints = ann.get('keypoints') if isinstance(ann, dict) else None
        if isinstance(keypoints, list) and len(keypoints) != 3 * num_keypoints:
            by_length[len(keypoints)].append(ann)
    total = len(coco['annotations'])
    return [
        f'{len(anns)} of {total} annotations have "keypoints" of {length} '
        f'numbers, not {3 * num_keypoints} (3 x the {num_keypoints} keypoints '
        f'of the dataset) ({_ids(anns)})'
        for length, anns in by_length.items()
    ]


def derive_fields(coco: dict,
                  fields: Sequence[str],
                  area_from: str = 'bbox') -> Dict[str, int]:
    """Fill the ``fields`` (of :data:`DERIVABLE`) that annotations of ``coco``
    lack, in place.

    It fills ``area`` from the box as ``0.53 w h``, the size that xtcocotools'
    evaluation gives a person without ``use_area`` (and mmpose's datasets a
    person without ``area``), so that the metric is the one of
    ``use_area=False``; or, with ``area_from='keypoints'``, as the area of the
    box of the labelled keypoints (another metric); ``num_keypoints`` as the
    count of labelled keypoints (visibility > 0, COCO's definition);
    ``iscrowd`` as 0. Returns how many annotations got each field.
    """
    unknown = set(fields) - set(DERIVABLE)
    if unknown:
        raise ValueError(
            f'derive_missing: {sorted(unknown)} cannot be derived; only '
            f'{DERIVABLE}')
    if area_from not in ('bbox', 'keypoints'):
        raise ValueError(
            f"area_from must be 'bbox' or 'keypoints', got {area_from!r}")
    filled = defaultdict(int)
    for ann in coco.get('annotations', []):
        if not isinstance(ann, dict) or all(field in ann for field in fields):
            continue
        if value_problems(ann):  # left for the check to name
            continue
        keypoints = np.asarray(
            ann.get('keypoints', []), dtype=np.float64).reshape(-1, 3)
        labelled = keypoints[keypoints[:, 2] > 0, :2]
        if ('num_keypoints' in fields and 'num_keypoints' not in ann
                and 'keypoints' in ann):
            ann['num_keypoints'] = int(len(labelled))
            filled['num_keypoints'] += 1
        if 'iscrowd' in fields and 'iscrowd' not in ann:
            ann['iscrowd'] = 0
            filled['iscrowd'] += 1
        if 'area' in fields and 'area' not in ann:
            if area_from == 'bbox' and 'bbox' in ann:
                ann['area'] = float(BOX_AREA_FRACTION * ann['bbox'][2] *
                                    ann['bbox'][3])
            elif area_from == 'keypoints' and len(labelled):
                extent = labelled.max(axis=0) - labelled.min(axis=0)
                ann['area'] = float(extent[0] * extent[1])
            else:
                continue  # left for the check to name
            filled['area'] += 1
    return dict(filled)


@METRICS.register_module()
class CheckedCocoMetric(CocoMetric):
    """mmpose's :class:`CocoMetric` whose annotation file is checked when the
    metric is built, before any image is inferred (mmengine builds the
    evaluator with the test or validation loop, before it runs).

    - The file is read here and checked for what the keypoint evaluation reads
      (:func:`annotation_problems`); a problem raises
      :class:`AnnotationFileError` naming the file, the field, how many
      annotations and a few ids, instead of a ``KeyError`` inside xtcocotools
      after the whole inference (``KeyError: 'area'`` in ``computeOks``).
    - ``derive_missing`` fills fields that can be derived
      (:func:`derive_fields`: ``area`` from the box as ``use_area=False``
      takes it), and the log says
      how many were filled; a missing ``iscrowd`` is set to 0 as xtcocotools
      does when it reads a file.
    - When the dataset's metainfo arrives (before inference too), the keypoint
      arrays are checked against its number of keypoints (unless a
      ``gt_converter`` maps another dataset's), and the file is compared with
      the dataset's own annotation file: other images or annotations (a
      ``--cfg-options`` that changed one of the two) raise
      :class:`AnnotationFileError`.

    A metric without ``ann_file`` checks the dataset's annotation file, which
    mmpose's ``CocoMetric`` then reads (``<dataset_name>_ann_file`` of
    mmengine's ``MessageHub``, set when the dataset is built); one with
    ``format_only`` is not checked.

    Args:
        derive_missing (sequence of str): Fields of :data:`DERIVABLE` to fill
            where missing.
        area_from (str): ``'bbox'`` (default) or ``'keypoints'``: what a
            derived ``area`` is.
        **kwargs: The arguments of :class:`CocoMetric`.
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 derive_missing: Sequence[str] = (),
                 area_from: str = 'bbox',
                 format_only: bool = False,
                 **kwargs) -> None:
        checked = ann_file is not None and not format_only
        # CocoMetric would load the file with xtcocotools at once; it is
        # checked first
        super().__init__(
            ann_file=None if checked else ann_file,
            format_only=format_only,
            **kwargs)
        self.ann_file = ann_file
        self.derive_missing = tuple(derive_missing)
        self.area_from = area_from
        self._checked = checked
        if checked:
            self._read_checked(ann_file)

    def _read_checked(self, ann_file: str) -> None:
        """Read ``ann_file``, fill ``derive_missing``, check it
        (:func:`annotation_problems`) and index it as ``self.coco``.

        Raises:
            AnnotationFileError: The file or its problems, named.
        """
        coco = self._load(ann_file)
        filled = derive_fields(coco, self.derive_missing, self.area_from)
        # as xtcocotools' COCO does when it reads a file
        derive_fields(coco, ['iscrowd'])
        for field, count in filled.items():
            how = f' from the {self.area_from}' if field == 'area' else ''
            print_log(
                f'{ann_file}: "{field}" derived{how} for {count} '
                'annotations (derive_missing)',
                logger='current')
        problems = annotation_problems(coco, None, self.use_area,
                                       self.iou_type)
        if problems:
            hint = ''
            if any(f'no "{f}"' in p for p in problems for f in DERIVABLE):
                hint = ('; without "area", set the evaluator\'s '
                        '`use_area=False` (0.53 x the box, xtcocotools\' '
                        'rule) or `derive_missing=[\'area\']` (the same '
                        "from the box, or `area_from='keypoints'`); "
                        '"num_keypoints" can be derived with '
                        "`derive_missing=['num_keypoints']`")
            raise AnnotationFileError(f'{ann_file}: ' + '; '.join(problems) +
                                      hint)
        self.coco = COCO()
        self.coco.dataset = coco
        self.coco.createIndex()
        # keypoints_crowd's AP per crowd level reads the file again
        self.coco.anno_file = [ann_file]

    @staticmethod
    def _load(ann_file: str,
              what: str = "evaluator's annotation file") -> dict:
        """The JSON of ``ann_file`` (:func:`load_json`), its faults as
        :class:`AnnotationFileError`."""
        try:
            return load_json(ann_file, what)
        except FileNotFoundError as err:
            raise AnnotationFileError(
                f'{ann_file}: the {what} does not exist') from err
        except ValueError as err:
            raise AnnotationFileError(str(err)) from err

    @CocoMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        dataset_file = MessageHub.get_current_instance().get_info(
            f"{dataset_meta['dataset_name']}_ann_file", None)
        if (self.coco is None and not self.format_only
                and dataset_file is not None):
            # without ann_file, CocoMetric reads the dataset's file unchecked
            self.ann_file = dataset_file
            self._read_checked(dataset_file)
            self._checked = True
        CocoMetric.dataset_meta.fset(self, dataset_meta)
        if not self._checked:
            return
        if self.gt_converter is None:
            # the rest was checked when the file was read
            problems = keypoint_count_problems(self.coco.dataset,
                                               dataset_meta['num_keypoints'])
            if problems:
                raise AnnotationFileError(f'{self.ann_file}: ' +
                                          '; '.join(problems))
        if dataset_file is not None and not _same_file(dataset_file,
                                                       self.ann_file):
            self._compare_with(dataset_file)

    def _compare_with(self, dataset_file: str) -> None:
        """Raise :class:`AnnotationFileError` if ``dataset_file`` holds other
        images or annotations than the evaluator's file."""
        theirs = self._load(dataset_file, "dataset's annotation file")
        differences = []
        for key in ('images', 'annotations'):
            ours = {entry.get('id') for entry in self.coco.dataset[key]}
            other = {
                entry.get('id')
                for entry in theirs.get(key, []) if isinstance(entry, dict)
            }
            if ours != other:
                differences.append(
                    f'{len(other - ours)} of its {len(other)} {key} are not '
                    f"in the evaluator's file and {len(ours - other)} of the "
                    f"evaluator's {len(ours)} not in it")
        if differences:
            raise AnnotationFileError(
                f'the dataset reads {dataset_file} and the evaluator '
                f'{self.ann_file}, which are '
                f'different data: {"; ".join(differences)}. Give both the '
                'same file (the '
                '`ann_file` of the dataloader\'s dataset and of the evaluator)'
            )


def _same_file(first: str, second: str) -> bool:
    if '://' in first or '://' in second:
        return first == second
    return osp.realpath(first) == osp.realpath(second)
