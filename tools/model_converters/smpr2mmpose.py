# Copyright (c) OpenMMLab. All rights reserved.
"""Convert the SMPR authors' COCO checkpoints for this project.

The checkpoints are those of github cmdi-dlut/SMPR (mmdetection 1.x), the
configs this project's ``configs/smpr/smpr_*_authors-coco-800x800.py``::

    python tools/model_converters/smpr2mmpose.py r50.pth \\
        checkpoints/smpr_r50_authors.pth
    python tools/model_converters/smpr2mmpose.py hrnet_w32.pth \\
        checkpoints/smpr_hrnet_authors.pth

The authors' detector holds ``backbone`` (mmdet 1.x ``ResNet`` or ``HRNet``),
``neck`` (``PAFPN`` or ``HRFPN``) and ``bbox_head`` (their ``SMPR`` head,
``mmdet/models/anchor_heads/SMPR.py``). Backbone and neck keys are mmpose's /
mmdet 3.x's, name for name and shape for shape; the head's 53 tensors are
renamed (:data:`HEAD_RENAMES`) and none is reshaped or permuted:

- the 34 pose offsets are ``(dx_0, dy_0, dx_1, ...)`` in COCO's keypoint order
  and in strides in both heads (the authors' ``fcos_reg`` /
  ``fcos_refine_out``, ``SMPRHead``'s ``init_out`` / ``refine_out``), with one
  ``Scale`` per level for each (``scales_1`` / ``scales_2``);
- the 72 sampling offsets of the deformable convolutions come from a 1x1 conv
  without bias of the 34 initial offsets (``feature_adaption.conv_offset`` /
  ``dcn_offset``), 4 offset groups of 9 ``(dy, dx)`` taps in the same layout in
  their CUDA kernel and in mmcv's; both deformable convs have no bias.

What differs is behaviour, set by the ``_authors`` configs rather than by the
weights: caffe-style ResNet (the stride on the 1x1 conv), a ReLU after every
PAFPN conv, BGR input minus Caffe's means with no division, frozen batch-norm
statistics for HRNet (``projects/smpr/README.md``).

The model is built from the config (``--config``; by default the ``_authors``
config of the checkpoint's backbone) and the converted weights are checked
against it before anything is written
(:func:`custom_modules.apis.check_checkpoint_matches`): every tensor of the
model, in its shape, and nothing else. A checkpoint of another width (an
HRNet-W48 one has the names of the W32 config it is routed to) is refused,
naming the tensors of another shape. The output is an mmengine checkpoint
(``{'state_dict': ..., 'meta': ...}``) of that model's weights, all of them:
``tools/test.py``, ``init_model`` and ``inference_bottomup`` load it with that
config, none missing, left over or of another shape.
"""
import argparse
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Iterable, Optional

import torch

# the authors' head modules -> SMPRHead's
HEAD_RENAMES = OrderedDict([
    ('bbox_head.cls_convs.', 'head.cls_convs.'),
    ('bbox_head.reg_convs.', 'head.reg_convs.'),
    ('bbox_head.fcos_reg.', 'head.init_out.'),
    ('bbox_head.scales_1.', 'head.init_scales.'),
    ('bbox_head.feature_adaption.conv_offset.', 'head.dcn_offset.'),
    ('bbox_head.feature_adaption.conv_adaption_reg.', 'head.dcn_reg.'),
    ('bbox_head.feature_adaption.conv_adaption_cls.', 'head.dcn_cls.'),
    ('bbox_head.fcos_cls.', 'head.cls_out.'),
    ('bbox_head.fcos_rescore.', 'head.pose_score_out.'),
    ('bbox_head.fcos_refine_out.', 'head.refine_out.'),
    ('bbox_head.scales_2.', 'head.refine_scales.'),
    ('bbox_head.hm_convs.', 'head.heatmap_convs.'),
    ('bbox_head.hm_out.', 'head.heatmap_out.'),
])
REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {
    'resnet': 'configs/smpr/smpr_r50-pafpn_authors-coco-800x800.py',
    'hrnet': 'configs/smpr/smpr_hrnet-w32-hrfpn_authors-coco-800x800.py',
}


def rename(key: str) -> Optional[str]:
    """This project's name of one of the authors' keys (``module.`` dropped),
    or None for a key that is not the authors' model's."""
    if key.startswith('module.'):
        key = key[len('module.'):]
    if key.startswith(('backbone.', 'neck.')):
        return key
    for theirs, ours in HEAD_RENAMES.items():
        if key.startswith(theirs):
            return ours + key[len(theirs):]
    return None


def convert(authors_state: Dict[str, torch.Tensor],
            model_keys: Iterable[str]) -> 'OrderedDict[str, torch.Tensor]':
    """The authors' state dict under this project's names.

    Args:
        authors_state: Their ``state_dict`` (``backbone.*``, ``neck.*``,
            ``bbox_head.*``).
        model_keys: The keys of the model it is for (``model.state_dict()``): a
            batch-norm ``num_batches_tracked`` counter the file lacks is set to
            0; every other key must come from the file.

    Raises:
        KeyError: Naming the tensors that are missing and those that are not
            the authors'.
    """
    converted, unknown = OrderedDict(), []
    for key, value in authors_state.items():
        ours = rename(key)
        if ours is None:
            unknown.append(key)
        else:
            converted[ours] = value
    model_keys = list(model_keys)
    for key in model_keys:
        if key.endswith('.num_batches_tracked') and key not in converted:
            converted[key] = torch.tensor(0)
    missing = [key for key in model_keys if key not in converted]
    unknown += sorted(set(converted) - set(model_keys))
    if missing or unknown:
        raise KeyError(
            f'not an SMPR authors\' checkpoint for this model: missing '
            f'{missing or "nothing"}; not of that model: '
            f'{unknown or "nothing"}')
    return OrderedDict((key, converted[key]) for key in model_keys)


def default_config(authors_state: Dict[str, torch.Tensor]) -> str:
    """The ``_authors`` config of the checkpoint's backbone (HRNet has
    ``stage2``)."""
    hrnet = any((rename(key) or '').startswith('backbone.stage2.')
                for key in authors_state)
    return CONFIGS['hrnet' if hrnet else 'resnet']


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'src', help='the authors\' checkpoint (mmdetection 1.x)')
    parser.add_argument('dst', help='where to write the mmengine checkpoint')
    parser.add_argument(
        '--config',
        help='the config it is for (default: the _authors config of '
        'its backbone)')
    args = parser.parse_args()
    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      CheckpointMismatchError,
                                                      check_checkpoint_matches,
                                                      load_weights_file)

    # mmcv 0.x writes {'meta', 'state_dict', 'optimizer'} of plain types and
    # tensors, which torch's weights-only unpickler reads; a file holding
    # anything else is refused, not run (the message says how to allow it)
    try:
        checkpoint = load_weights_file(args.src)
    except CheckpointFileError as err:
        raise SystemExit(str(err))
    state = checkpoint.get('state_dict', checkpoint)
    config = args.config or default_config(state)
    # the project's configs are named from the repository root, wherever the
    # tool runs
    config_file = (
        Path(config) if Path(config).is_file() else REPO_ROOT / config)

    from mmengine.config import Config
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules

    import custom_modules  # noqa: F401  (registers the project's modules)
    register_all_modules()
    cfg = Config.fromfile(str(config_file))
    model = MODELS.build(cfg.model)
    try:
        converted = convert(state, model.state_dict().keys())
    except KeyError as err:
        raise SystemExit(f'{args.src}: {err.args[0]} (config {config})')
    # convert() matched the names; the shapes must be the model's too (an
    # HRNet-W48 file has the names of the W32 config)
    try:
        check_checkpoint_matches(
            model, dict(state_dict=converted), name=args.src)
    except CheckpointMismatchError as err:
        raise SystemExit(f'{err} (config {config})')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    meta = dict(
        source=Path(args.src).name,
        converter='tools/model_converters/smpr2mmpose.py',
        config=config)
    torch.save(dict(state_dict=converted, meta=meta), args.dst)
    print(f'{len(converted)} tensors -> {args.dst} (for {config})')


if __name__ == '__main__':
    main()
