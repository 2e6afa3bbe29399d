# Copyright (c) OpenMMLab. All rights reserved.
"""Convert CMU OpenPose's COCO body model for this project.

The config is ``configs/mln/paf_openpose-vgg19_cmu-coco-368x368.py``; in the
lines below, ``OUT=checkpoints/openpose_coco_cmu.pth``::

    python tools/model_converters/openpose2mmpose.py body_pose_model.pth $OUT
    python tools/model_converters/openpose2mmpose.py \\
        pose_iter_440000.caffemodel $OUT

The input is either CMU's Caffe weights (``pose_iter_440000.caffemodel``, read
here without Caffe) or the PyTorch port most projects use
(``body_pose_model.pth`` of Hzzone/pytorch-openpose: a state dict keyed by
Caffe's layer names, ``conv1_1.weight`` ... ``Mconv7_stage6_L2.bias``). Both
follow CMU's ``pose_deploy_linevec.prototxt``: the VGG-19 front ``conv1_1`` ...
``conv4_2``, ``conv4_3_CPM``, ``conv4_4_CPM``; stage 1
``conv5_{1..5}_CPM_L{1,2}``; stages 2-6 ``Mconv{1..7}_stage{t}_L{1,2}``; branch
L1 the 38 limb fields, L2 the 19 joint maps.

Channel orders (the only thing that differs from this project's
``OpenPoseHead`` besides names):

- joint maps: CMU's order (``POSE_COCO_BODY_PARTS`` of OpenPose's
  ``poseParameters.cpp``: nose, neck, right shoulder/elbow/wrist, left
  shoulder/elbow/wrist, right hip/knee/ankle, left hip/knee/ankle, right eye,
  left eye, right ear, left ear, background) is this project's
  (``OPENPOSE_COCO_KEYPOINTS`` of :mod:`custom_modules.codecs.paf_skeleton`):
  kept as they are;
- limb fields: CMU stores limb ``k`` of its ``limbSeq`` (the same 19 limbs in
  the same order as ``OPENPOSE_COCO_LIMBS``) in the channels ``mapIdx[k] - 19``
  (x, then y; ``mapIdx`` of CMU's demo code, as in Hzzone/pytorch-openpose
  ``src/body.py``: limb 0, neck -> right shoulder, is in channels 12 and 13);
  ``PartAffinityField`` stores limb ``j`` in channels ``2j, 2j + 1``. The
  fields' output convs (``conv5_5_CPM_L1``, ``Mconv7_stage{t}_L1``) have their
  rows permuted, and the convs that read them (``Mconv1_stage{t}_L{1,2}``,
  input ``cat(L1, L2, F)``) their first 38 input channels.

CMU's other body models have the same layer names and other widths (MPI: 28
fields, 16 maps): the convs whose channels are permuted must have the COCO
model's field channels (:func:`convert` names the layer otherwise), and the
converted weights are checked against the model of the config above before
anything is written (:func:`custom_modules.apis.check_checkpoint_matches`):
every tensor of that model, in its shape, and nothing else.

The output is an mmengine checkpoint (``{'state_dict': ..., 'meta': ...}``)
that ``tools/test.py``, ``init_model``, ``inference_bottomup``, the demos and
``MMPoseInferencer(pose2d=CONFIG, pose2d_weights=OUT)`` load with the config
above, no weight missing, left over or of another shape.
"""
import argparse
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch

from custom_modules.utils.protobuf_wire import iter_fields, packed_varints

# CMU's `mapIdx` (its demo code), minus the 19 joint maps before the fields in
# its output blob: limb k's (x, y) field is in CMU's channels
# CMU_LIMB_FIELDS[k].
CMU_LIMB_FIELDS = ((12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25),
                   (0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11), (28, 29),
                   (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27))
# FIELDS_FROM_CMU[c]: the CMU channel that becomes field channel c of this
# project (2j: x of limb j, 2j + 1: its y).
FIELDS_FROM_CMU = np.array(
    [channel for pair in CMU_LIMB_FIELDS for channel in pair])
NUM_FIELDS = 38
NUM_STAGES = 6
CONFIG = 'configs/mln/paf_openpose-vgg19_cmu-coco-368x368.py'
REPO_ROOT = Path(__file__).resolve().parents[2]

# VGGFront.features holds ConvModules and pools: the positions of conv1_1 ...
# conv4_2
_FRONT = (('conv1_1', 0), ('conv1_2', 1), ('conv2_1', 3), ('conv2_2', 4),
          ('conv3_1', 6), ('conv3_2', 7), ('conv3_3', 8), ('conv3_4', 9),
          ('conv4_1', 11), ('conv4_2', 12))


def layer_map() -> List[Tuple[str, str]]:
    """``(CMU layer, this project's module)`` for the 92 convs of the COCO body
    model, in CMU's order.

    Output convs (``MapOutput``) have no ``.conv``.
    """
    pairs = [(cmu, f'backbone.features.{index}.conv') for cmu, index in _FRONT]
    pairs += [('conv4_3_CPM', 'backbone.cpm.0.conv'),
              ('conv4_4_CPM', 'backbone.cpm.1.conv')]
    for branch, head in (('L1', 'paf_stages'), ('L2', 'heatmap_stages')):
        pairs += [(f'conv5_{i + 1}_CPM_{branch}', f'head.{head}.0.{i}.conv')
                  for i in range(4)]
        pairs.append((f'conv5_5_CPM_{branch}', f'head.{head}.0.4'))
        for stage in range(2, NUM_STAGES + 1):
            pairs += [(f'Mconv{i + 1}_stage{stage}_{branch}',
                       f'head.{head}.{stage - 1}.{i}.conv') for i in range(6)]
            pairs.append((f'Mconv7_stage{stage}_{branch}',
                          f'head.{head}.{stage - 1}.6'))
    return pairs


def cmu_fields_to_codec(fields: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Limb fields (or anything indexed by them along ``dim``) from CMU's
    channel order to ``PartAffinityField``'s (see the module doc)."""
    return fields.index_select(
        dim, torch.as_tensor(FIELDS_FROM_CMU, device=fields.device))


def convert(cmu_state: Dict[str, torch.Tensor],
            ) -> 'OrderedDict[str, torch.Tensor]':
    """CMU's layer names and channel orders -> ``OpenPoseHead`` on
    ``VGGFront``.

    Args:
        cmu_state: ``{'<layer>.weight': (out, in, k, k), '<layer>.bias':
            (out,)}`` for every conv of the COCO body model (a ``module.``
            prefix is dropped).

    Raises:
        KeyError: Naming the tensors that are missing and those that are not
            CMU's, or a conv whose channels are permuted without the COCO
            model's 38 field channels: the fields' output convs (weight
            ``(38, in, k, k)``, bias ``(38,)``) and the stages' first convs
            (weight ``(out, in >= 38, k, k)``).
    """
    cmu_state = {
        key[len('module.'):] if key.startswith('module.') else key: value
        for key, value in cmu_state.items()
    }
    expected = {
        f'{cmu}.{kind}'
        for cmu, _ in layer_map()
        for kind in ('weight', 'bias')
    }
    missing, unknown = sorted(expected - set(cmu_state)), sorted(
        set(cmu_state) - expected)
    if missing or unknown:
        raise KeyError('not CMU OpenPose\'s COCO body model: missing '
                       f'{missing or "nothing"}; '
                       f'not of that model: {unknown or "nothing"}')
    converted = OrderedDict()
    for cmu, ours in layer_map():
        weight, bias = cmu_state[f'{cmu}.weight'], cmu_state[f'{cmu}.bias']
        if cmu == 'conv5_5_CPM_L1' or (cmu.startswith('Mconv7_')
                                       and cmu.endswith('_L1')):
            if (weight.dim() != 4 or len(weight) != NUM_FIELDS
                    or tuple(bias.shape) != (NUM_FIELDS, )):
                raise KeyError(
                    f'not CMU OpenPose\'s COCO body model: {cmu} has weight '
                    f'{list(weight.shape)} and bias {list(bias.shape)}, not '
                    f'the COCO model\'s {NUM_FIELDS} field outputs')
            weight, bias = cmu_fields_to_codec(weight), cmu_fields_to_codec(
                bias)
        if cmu.startswith('Mconv1_'):  # reads cat(fields, maps, F)
            if weight.dim() != 4 or weight.shape[1] < NUM_FIELDS:
                raise KeyError(
                    f'not CMU OpenPose\'s COCO body model: {cmu} has weight '
                    f'{list(weight.shape)}, not at least the COCO model\'s '
                    f'{NUM_FIELDS} field inputs')
            weight = torch.cat([
                cmu_fields_to_codec(weight[:, :NUM_FIELDS], dim=1),
                weight[:, NUM_FIELDS:]
            ],
                               dim=1)
        converted[f'{ours}.weight'] = weight.contiguous()
        converted[f'{ours}.bias'] = bias.contiguous()
    return converted


# ---- .caffemodel (protobuf wire format), read without Caffe ----


def _blob(buf: bytes) -> np.ndarray:
    """A Caffe ``BlobProto``: ``data`` (5, float32, packed or not) shaped by
    ``shape`` (7, ``BlobShape.dim`` = 1) or the legacy ``num, channels, height,
    width`` (1-4)."""
    data, shape, legacy = [], [], {}
    for number, wire, value in iter_fields(buf):
        if number == 5:
            data.append(np.frombuffer(value, dtype='<f4'))
        elif number == 7:
            for dim_number, dim_wire, dim in iter_fields(value):
                if dim_number == 1:
                    shape += packed_varints(dim) if dim_wire == 2 else [dim]
        elif number in (1, 2, 3, 4) and wire == 0:
            legacy[number] = value
    array = np.concatenate(data) if data else np.zeros(0, np.float32)
    if not shape and legacy:
        shape = [legacy.get(i, 1) for i in (1, 2, 3, 4)]
    return (array.reshape(shape)
            if shape and int(np.prod(shape)) == array.size else array)


def read_caffemodel(path: str) -> Dict[str, torch.Tensor]:
    """``{'<layer>.weight', '<layer>.bias'}`` of the layers with two blobs in a
    ``.caffemodel`` (``NetParameter.layer`` = 100, ``LayerParameter`` name 1,
    blobs 7; or the V1 ``layers`` = 2, name 4, blobs 6). Biases are flattened
    to ``(out,)``."""
    state = {}
    for number, _, layer in iter_fields(Path(path).read_bytes()):
        if number not in (2, 100):
            continue
        name_field, blob_field = (1, 7) if number == 100 else (4, 6)
        name, blobs = None, []
        for field, _, value in iter_fields(layer):
            if field == name_field:
                name = value.decode()
            elif field == blob_field:
                blobs.append(_blob(value))
        if name is not None and len(blobs) == 2:
            state[f'{name}.weight'] = torch.from_numpy(blobs[0].copy())
            state[f'{name}.bias'] = torch.from_numpy(
                blobs[1].reshape(-1).copy())
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'src',
        help='body_pose_model.pth (PyTorch port) or '
        'pose_iter_440000.caffemodel')
    parser.add_argument('dst', help='where to write the mmengine checkpoint')
    args = parser.parse_args()
    from mmengine.config import Config
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      CheckpointMismatchError,
                                                      check_checkpoint_matches,
                                                      load_weights_file)
    if args.src.endswith('.caffemodel'):
        try:
            state = read_caffemodel(args.src)
        except (OSError, ValueError) as err:  # missing, truncated, not Caffe's
            raise SystemExit(
                f'{args.src}: cannot be read as a .caffemodel ({err})')
    else:
        try:
            checkpoint = load_weights_file(args.src)
        except CheckpointFileError as err:
            raise SystemExit(str(err))
        state = checkpoint.get('state_dict', checkpoint)
    try:
        converted = convert(state)
    except KeyError as err:
        raise SystemExit(f'{args.src}: {err.args[0]}')
    # convert() read the shapes of the convs it permutes; the others must
    # be the model's too
    register_all_modules()
    model = MODELS.build(Config.fromfile(str(REPO_ROOT / CONFIG)).model)
    try:
        check_checkpoint_matches(
            model, dict(state_dict=converted), name=args.src)
    except CheckpointMismatchError as err:
        raise SystemExit(f'{err} (config {CONFIG})')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    meta = dict(
        source=Path(args.src).name,
        converter='tools/model_converters/openpose2mmpose.py',
        config=CONFIG)
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'{len(converted)} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
