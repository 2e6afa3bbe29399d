# Copyright (c) OpenMMLab. All rights reserved.
"""Checks of a COCO keypoint annotation file that name the faulty list, entry
and field: shared by :class:`~custom_modules.datasets.CheckedCocoDataset` and
:class:`~custom_modules.evaluation.CheckedCocoMetric`."""
import json
import math
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

from mmengine import fileio

LISTED_IDS = 5  # duplicated ids named per list
LISTED_CATEGORIES = 5  # category ids named when boxes hold no person


def is_number(value: Any) -> bool:
    """A finite int or float of JSON (not a bool, which Python counts as an
    int; not NaN or Infinity, which Python's JSON reads)."""
    return type(value) in (int, float) and math.isfinite(value)


def _numbers(value: Any) -> bool:
    """A list of finite numbers; one test of their sum finds NaN and Infinity
    (the sum of finite JSON numbers is finite), fast over COCO's 51 numbers a
    person."""
    return (isinstance(value, list)
            and all(type(v) in (int, float) for v in value)
            and math.isfinite(sum(value)))


#: A field's test of its value and what the value must be (for the message).
Kind = Tuple[Callable[[Any], bool], str]
# 1.0 (a converter's float) is an id as xtcocotools and mmpose use it; "1" is
# not
INTEGER: Kind = (lambda v: is_number(v) and v == int(v), 'an integer')
SIZE: Kind = (lambda v: is_number(v) and v > 0, 'a positive number')
FILE_NAME: Kind = (lambda v: isinstance(v, str) and v != '', 'a file name')
BOX: Kind = (lambda v: isinstance(v, list) and len(v) >= 4 and _numbers(v[:4]),
             '4 finite numbers (x, y, w, h)')
#: The fields every entry must have, with their kinds (what mmpose and
#: xtcocotools compute with: a string ``width`` fails in a subtraction, a
#: string ``id`` in ``CocoMetric``'s file names).
IMAGE_FIELDS: Dict[str, Kind] = {
    'id': INTEGER,
    'file_name': FILE_NAME,
    'width': SIZE,
    'height': SIZE
}
ANNOTATION_FIELDS: Dict[str, Kind] = {
    'id': INTEGER,
    'image_id': INTEGER,
    'category_id': INTEGER
}
#: mmpose's ``bbox_file`` entries (it reads ``bbox[:4]``: x, y, w, h).
DETECTION_FIELDS: Dict[str, Kind] = {
    'image_id': INTEGER,
    'bbox': BOX,
    'score': (is_number, 'a finite number'),
    'category_id': INTEGER
}


class DatasetFileError(ValueError):
    """An annotation or detection file the dataset cannot use: missing, not
    JSON, a list or a field missing, detections of unknown images; the message
    names the file and what is wrong."""


def load_json(path: str, what: str) -> Any:
    """The JSON content of ``path``.

    Raises:
        DatasetFileError: No such file, or it is not valid JSON.
    """
    try:
        return json.loads(fileio.get_text(path))
    except FileNotFoundError as err:
        raise DatasetFileError(f'{path}: no such {what}') from err
    except json.JSONDecodeError as err:
        raise DatasetFileError(
            f'{path}: the {what} is not valid JSON ({err})') from err


def field_problem(entries: list, fields: Dict[str, Kind],
                  kind: str) -> Optional[str]:
    """``'<kind>[i] has no "<field>"'`` for the first entry lacking one of
    ``fields``, or ``'<kind>[i] has "<field>" <value>, not <what it must be>'``
    for the first of the wrong kind; None if all are right."""
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            return (f'{kind}[{index}] is a {type(entry).__name__}, not an '
                    'object')
        for field, (test, what) in fields.items():
            if field not in entry:
                return f'{kind}[{index}] has no "{field}"'
            if not test(entry[field]):
                return (f'{kind}[{index}] has "{field}" '
                        f'{json.dumps(entry[field])[:40]}, not {what}')
    return None


def duplicated_ids(entries: list, kind: str) -> Optional[str]:
    """``'"<kind>" has N ids that occur more than once (...)'``, or None.

    xtcocotools indexes images and annotations by ``id``: of two annotations
    with one id, the later replaces the earlier in its image, and the
    evaluation silently misses a person.
    """
    counts = Counter(
        entry.get('id') for entry in entries
        if isinstance(entry, dict) and 'id' in entry)
    repeated = sorted((i for i, n in counts.items() if n > 1), key=str)
    if not repeated:
        return None
    shown = ', '.join(str(i) for i in repeated[:LISTED_IDS])
    more = ', ...' if len(repeated) > LISTED_IDS else ''
    return (f'"{kind}" has {len(repeated)} ids that occur more than once '
            f'({shown}{more})')


def value_problems(ann: dict,
                   num_keypoints: Optional[int] = None) -> List[str]:
    """What is wrong with the values of annotation ``ann``'s ``bbox``,
    ``keypoints``, ``area``, ``num_keypoints`` and ``iscrowd`` (those it has),
    one phrase each (``'"bbox" that is not 4 finite numbers'``); empty if
    nothing.

    An ``iscrowd`` other than 0 or 1 (``"0"``, a string) would make a person a
    crowd region, silently: mmpose and xtcocotools test its truth.

    ``keypoints`` are ``3 * num_keypoints`` numbers where ``num_keypoints``
    (the dataset's) is given, else a multiple of 3.
    """
    problems = []
    if 'bbox' in ann and not (_numbers(ann['bbox']) and len(ann['bbox']) == 4):
        problems.append('"bbox" that is not 4 finite numbers')
    keypoints = ann.get('keypoints')
    if 'keypoints' in ann:
        if not _numbers(keypoints):
            problems.append('"keypoints" that are not a list of finite '
                            'numbers')
        elif num_keypoints is not None and len(keypoints) != 3 * num_keypoints:
            problems.append(
                f'"keypoints" of {len(keypoints)} numbers, not '
                f'{3 * num_keypoints} (3 x the {num_keypoints} keypoints of '
                'the dataset)')
        elif len(keypoints) % 3:
            problems.append(f'"keypoints" of {len(keypoints)} numbers, not a '
                            'multiple of 3 (x, y, visibility)')
    for field in ('area', 'num_keypoints'):
        if field in ann and not is_number(ann[field]):
            problems.append(f'"{field}" that is not a finite number')
    problem = iscrowd_problem(ann)
    if problem:
        problems.append(problem)
    return problems


def iscrowd_problem(ann: dict) -> Optional[str]:
    """``'"iscrowd" <value>, not 0 or 1'`` for an ``iscrowd`` mmpose and
    xtcocotools would misread (they test its truth: ``"0"`` would make the
    person a crowd region), or None (also for none, or null: not a crowd to
    both)."""
    if ann.get('iscrowd') in (0, 1, None):
        return None
    return f'"iscrowd" {json.dumps(ann["iscrowd"])[:40]}, not 0 or 1'


def no_person_problem(boxes: list, kind: str) -> Optional[str]:
    """``'N <kind>, none with "category_id" 1 ...'`` where none of ``boxes``
    (dicts; without ``category_id``: a person) is a person, or None.

    mmpose keeps the boxes of COCO's person (``category_id`` 1) only: a file
    written with mmdet's class indices (0 for a person) would leave no box.
    """
    categories = {
        box.get('category_id', 1)
        for box in boxes if isinstance(box, dict)
    }
    if not categories or 1 in categories:
        return None
    # numbers by value, then anything else by its text
    shown = sorted(
        categories,
        key=lambda c: (0, c, '') if is_number(c) else (1, 0, str(c)))
    more = ', ...' if len(shown) > LISTED_CATEGORIES else ''
    return (f'{len(boxes)} {kind}, none with "category_id" 1 (COCO\'s '
            'person); its category ids: '
            f'{", ".join(map(str, shown[:LISTED_CATEGORIES]))}{more} (an '
            'mmdet class index, 0 for a person, is not a COCO category id)')


def coco_file_problem(coco: Any,
                      need_annotations: bool = True) -> Optional[str]:
    """What makes a loaded COCO annotation file unusable (a missing list or
    field, a repeated id), or None.

    Without ``need_annotations`` (a test set) a file without ``annotations`` is
    accepted: COCO's ``image_info_test-dev2017.json`` has images only.
    """
    if not isinstance(coco, dict):
        return 'not a JSON object with "images" and "annotations"'
    for key, fields in (('images', IMAGE_FIELDS), ('annotations',
                                                   ANNOTATION_FIELDS)):
        if key == 'annotations' and not need_annotations and key not in coco:
            continue
        if not isinstance(coco.get(key), list):
            return f'has no "{key}" list'
        problem = field_problem(coco[key], fields, key) or duplicated_ids(
            coco[key], key)
        if problem:
            return problem
    return None


def first_value_problem(coco: dict,
                        num_keypoints: Optional[int] = None) -> Optional[str]:
    """``'annotations[i] (id N) has <problem>'`` (:func:`value_problems`) for
    the first annotation with one, or None."""
    for index, ann in enumerate(coco.get('annotations', [])):
        if isinstance(ann, dict):
            problems = value_problems(ann, num_keypoints)
            if problems:
                return (
                    f'annotations[{index}] (id {ann.get("id", "?")}) has ' +
                    '; '.join(problems))
    return None
