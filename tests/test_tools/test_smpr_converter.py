# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/model_converters/smpr2mmpose.py``: the SMPR authors' checkpoints
(cmdi-dlut/SMPR, mmdetection 1.x) into
``configs/smpr/smpr_*_authors-coco-800x800.py``.

The authors' names, shapes and computations are restated here from their code,
independently of the converter and of ``SMPRHead``: the head from
``mmdet/models/anchor_heads/SMPR.py`` (towers of conv + GN(32) + ReLU,
``fcos_reg`` x ``scales_1``, ``feature_adaption`` = a 1x1 conv without bias of
the detached initial offsets driving two deformable 3x3 convs without bias and
with 4 offset groups, ``fcos_cls``, ``fcos_rescore``, ``fcos_refine_out`` x
``scales_2`` added to the initial offsets, the training-only ``hm_convs`` /
``hm_out``); the R50 backbone from mmdetection 1.x's caffe-style ``ResNet``
(the stride on a block's 1x1 conv); the neck from its ``PAFPN`` (a ReLU after
every conv). Their deformable convolution runs through
``torchvision.ops.deform_conv2d`` (the same offset layout as their CUDA kernel:
per group, per tap, ``(dy, dx)``); the converted model's through mmcv's."""
import functools
import sys
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules
from torchvision.ops import deform_conv2d

from conftest import REPO_ROOT, run_command

sys.path.insert(0, str(REPO_ROOT / 'tools/model_converters'))
from smpr2mmpose import convert  # noqa: E402

R50_CONFIG = REPO_ROOT / 'configs/smpr/smpr_r50-pafpn_authors-coco-800x800.py'
HRNET_CONFIG = REPO_ROOT / (
    'configs/smpr/smpr_hrnet-w32-hrfpn_authors-coco-800x800.py')
STRIDES = (8, 16, 32, 64, 128)
# norm scales of the publishers' layers: started near 1 by random_state
SCALE_KEYS = ('gn.weight', 'bn1.weight', 'bn2.weight', 'bn3.weight',
              '.1.weight', '.scale')


def authors_head_shapes() -> 'OrderedDict[str, tuple]':
    """``bbox_head.*`` of the authors' SMPR head: 53 tensors."""
    shapes = OrderedDict()
    for tower in ('cls_convs', 'reg_convs'):
        for i in range(4):
            shapes[f'bbox_head.{tower}.{i}.conv.weight'] = (256, 256, 3, 3)
            shapes[f'bbox_head.{tower}.{i}.gn.weight'] = (256, )
            shapes[f'bbox_head.{tower}.{i}.gn.bias'] = (256, )
    for i, c_in in enumerate((256, 128)):
        shapes[f'bbox_head.hm_convs.{i}.conv.weight'] = (128, c_in, 3, 3)
        shapes[f'bbox_head.hm_convs.{i}.gn.weight'] = (128, )
        shapes[f'bbox_head.hm_convs.{i}.gn.bias'] = (128, )
    for name, out, c_in in (('hm_out', 17, 128), ('fcos_cls', 1, 256),
                            ('fcos_reg', 34, 256), ('fcos_rescore', 1, 256),
                            ('fcos_refine_out', 34, 256)):
        shapes[f'bbox_head.{name}.weight'] = (out, c_in, 3, 3)
        shapes[f'bbox_head.{name}.bias'] = (out, )
    for level in range(5):
        shapes[f'bbox_head.scales_1.{level}.scale'] = ()
        shapes[f'bbox_head.scales_2.{level}.scale'] = ()
    shapes['bbox_head.feature_adaption.conv_offset.weight'] = (72, 34, 1, 1)
    shapes['bbox_head.feature_adaption.conv_adaption_reg.weight'] = (256, 256,
                                                                     3, 3)
    shapes['bbox_head.feature_adaption.conv_adaption_cls.weight'] = (256, 256,
                                                                     3, 3)
    return shapes


def authors_r50_pafpn_shapes() -> 'OrderedDict[str, tuple]':
    """``backbone.*`` (ResNet-50, torchvision's names) and ``neck.*`` (PAFPN,
    256 channels from C3-C5, two extra levels) of the authors' R50 model."""
    shapes = OrderedDict()

    def bn(prefix, channels):
        for kind in ('weight', 'bias', 'running_mean', 'running_var'):
            shapes[f'{prefix}.{kind}'] = (channels, )
        shapes[f'{prefix}.num_batches_tracked'] = ()

    shapes['backbone.conv1.weight'] = (64, 3, 7, 7)
    bn('backbone.bn1', 64)
    c_in = 64
    for stage, (planes, blocks) in enumerate(
            zip((64, 128, 256, 512), (3, 4, 6, 3)), 1):
        for block in range(blocks):
            prefix = f'backbone.layer{stage}.{block}'
            shapes[f'{prefix}.conv1.weight'] = (planes, c_in, 1, 1)
            bn(f'{prefix}.bn1', planes)
            shapes[f'{prefix}.conv2.weight'] = (planes, planes, 3, 3)
            bn(f'{prefix}.bn2', planes)
            shapes[f'{prefix}.conv3.weight'] = (4 * planes, planes, 1, 1)
            bn(f'{prefix}.bn3', 4 * planes)
            if block == 0:
                shapes[f'{prefix}.downsample.0.weight'] = (4 * planes, c_in, 1,
                                                           1)
                bn(f'{prefix}.downsample.1', 4 * planes)
            c_in = 4 * planes
    for name, count, c_in in (('lateral_convs', 3, None),
                              ('fpn_convs', 5, 256), ('downsample_convs', 2,
                                                      256), ('pafpn_convs', 2,
                                                             256)):
        for i in range(count):
            shapes[f'neck.{name}.{i}.conv.weight'] = ((256, (512, 1024,
                                                             2048)[i], 1,
                                                       1) if c_in is None else
                                                      (256, c_in, 3, 3))
            shapes[f'neck.{name}.{i}.conv.bias'] = (256, )
    return shapes


def random_state(shapes: dict,
                 seed: int = 0) -> 'OrderedDict[str, torch.Tensor]':
    """He-scaled conv weights, norm scales near 1, small biases, positive
    variances."""
    generator = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for key, shape in shapes.items():
        noise = torch.randn(shape, generator=generator)
        if key.endswith('num_batches_tracked'):
            value = torch.tensor(7)
        elif len(shape) == 4:
            value = noise * (2 / (shape[1] * shape[2] * shape[3]))**0.5
        elif key.endswith('running_var'):
            value = 0.5 + torch.rand(shape, generator=generator)
        elif key.endswith(SCALE_KEYS):
            value = 1 + 0.1 * noise
        else:
            value = 0.1 * noise
        state[key] = value
    return state


def authors_head_forward(state: dict, feats):
    """Per level: person logits, pose score logits, initial and refined offsets
    (in strides)."""
    p = {
        k[len('bbox_head.'):]: v
        for k, v in state.items() if k.startswith('bbox_head.')
    }

    def tower(x, name):
        for i in range(4):
            x = F.conv2d(x, p[f'{name}.{i}.conv.weight'], padding=1)
            x = F.relu(
                F.group_norm(x, 32, p[f'{name}.{i}.gn.weight'],
                             p[f'{name}.{i}.gn.bias']))
        return x

    def conv3x3(x, name):
        return F.conv2d(x, p[f'{name}.weight'], p[f'{name}.bias'], padding=1)

    outputs = []
    for level, x in enumerate(feats):
        cls, reg = tower(x, 'cls_convs'), tower(x, 'reg_convs')
        init = p[f'scales_1.{level}.scale'] * conv3x3(reg, 'fcos_reg')
        offset = F.conv2d(init, p['feature_adaption.conv_offset.weight'])
        reg = F.relu(
            deform_conv2d(
                reg,
                offset,
                p['feature_adaption.conv_adaption_reg.weight'],
                padding=1))
        cls = F.relu(
            deform_conv2d(
                cls,
                offset,
                p['feature_adaption.conv_adaption_cls.weight'],
                padding=1))
        refined = init + p[f'scales_2.{level}.scale'] * conv3x3(
            reg, 'fcos_refine_out')
        outputs.append(
            (conv3x3(cls, 'fcos_cls'), conv3x3(reg,
                                               'fcos_rescore'), init, refined))
    return outputs


def authors_r50_pafpn_forward(state: dict, image: torch.Tensor):
    """P3-P7 of the authors' caffe-style ResNet-50 (frozen BN) and PAFPN (ReLU
    after every conv)."""

    def bn(x, prefix):
        return F.batch_norm(x, state[f'{prefix}.running_mean'],
                            state[f'{prefix}.running_var'],
                            state[f'{prefix}.weight'], state[f'{prefix}.bias'],
                            False, 0, 1e-5)

    def conv_relu(x, prefix, stride=1, padding=1):
        return F.relu(
            F.conv2d(
                x,
                state[f'{prefix}.conv.weight'],
                state[f'{prefix}.conv.bias'],
                stride=stride,
                padding=padding))

    x = F.relu(
        bn(
            F.conv2d(
                image, state['backbone.conv1.weight'], stride=2, padding=3),
            'backbone.bn1'))
    x = F.max_pool2d(x, 3, 2, 1)
    stages = []
    for stage, blocks in enumerate((3, 4, 6, 3), 1):
        for block in range(blocks):
            prefix = f'backbone.layer{stage}.{block}'
            stride = 2 if block == 0 and stage > 1 else 1
            # caffe style: the stride on the 1x1 conv
            out = F.relu(
                bn(
                    F.conv2d(
                        x, state[f'{prefix}.conv1.weight'], stride=stride),
                    f'{prefix}.bn1'))
            out = F.relu(
                bn(
                    F.conv2d(out, state[f'{prefix}.conv2.weight'], padding=1),
                    f'{prefix}.bn2'))
            out = bn(
                F.conv2d(out, state[f'{prefix}.conv3.weight']),
                f'{prefix}.bn3')
            if block == 0:
                x = bn(
                    F.conv2d(
                        x,
                        state[f'{prefix}.downsample.0.weight'],
                        stride=stride), f'{prefix}.downsample.1')
            x = F.relu(out + x)
        stages.append(x)
    laterals = [
        conv_relu(c, f'neck.lateral_convs.{i}', padding=0)
        for i, c in enumerate(stages[1:])
    ]
    for i in (2, 1):
        laterals[i - 1] = laterals[i - 1] + F.interpolate(
            laterals[i], size=laterals[i - 1].shape[2:])
    inter = [
        conv_relu(lat, f'neck.fpn_convs.{i}') for i, lat in enumerate(laterals)
    ]
    for i in range(2):
        inter[i + 1] = inter[i + 1] + conv_relu(
            inter[i], f'neck.downsample_convs.{i}', stride=2)
    outs = [inter[0]] + [
        conv_relu(inter[i], f'neck.pafpn_convs.{i - 1}') for i in (1, 2)
    ]
    p6 = conv_relu(outs[-1], 'neck.fpn_convs.3', stride=2)
    p7 = conv_relu(F.relu(p6), 'neck.fpn_convs.4', stride=2)
    return outs + [p6, p7]


def build(config):
    register_all_modules()
    return MODELS.build(Config.fromfile(config).model).eval()


@pytest.fixture(scope='module')
def r50_model():
    return build(R50_CONFIG)


@pytest.fixture(scope='module')
def hrnet_model():
    return build(HRNET_CONFIG)


def assert_close_to(actual: torch.Tensor,
                    expected: torch.Tensor,
                    rel: float = 1e-4) -> None:
    torch.testing.assert_close(
        actual, expected, rtol=0, atol=rel * float(expected.abs().max()))


def test_r50_checkpoint_converts_and_the_model_computes_the_authors_network(
        r50_model):
    shapes = OrderedDict(**authors_r50_pafpn_shapes(), **authors_head_shapes())
    assert len(shapes) == 318 + 24 + 53
    state = random_state(shapes)
    r50_model.load_state_dict(
        convert(state,
                r50_model.state_dict().keys()), strict=True)

    image = torch.randn(1, 3, 128, 160)
    with torch.no_grad():
        feats = r50_model.neck(r50_model.backbone(image))
        expected_feats = authors_r50_pafpn_forward(state, image)
        assert [f.shape[2:]
                for f in feats] == [f.shape[2:] for f in expected_feats]
        for feat, expected in zip(feats, expected_feats):
            assert_close_to(feat, expected, rel=1e-5)

        # the head on given pyramid features (moderate values)
        pyramid = [
            torch.randn(1, 256, 16 // 2**i + 1, 20 // 2**i + 1)
            for i in range(5)
        ]
        ours = r50_model.head.forward(pyramid)
        theirs = authors_head_forward(state, pyramid)
    for level in range(5):
        names = ('cls', 'pose score', 'initial', 'refined')
        for name, actual, expected in zip(names, [o[level] for o in ours],
                                          theirs[level]):
            assert actual.shape == expected.shape, name
            assert_close_to(actual, expected)


def test_the_authors_config_is_what_makes_the_networks_equal(r50_model):
    """The same converted weights give other features in the R50-PAFPN training
    config.

    That config has a pytorch-style ResNet and a PAFPN without ReLU.
    """
    state = random_state(authors_r50_pafpn_shapes())
    trained_config = build(
        REPO_ROOT / 'configs/smpr/smpr_r50-pafpn_4xb8-100e_coco-800x800.py')
    weights = {k: v for k, v in state.items()}
    missing = trained_config.load_state_dict(
        weights, strict=False).missing_keys
    assert all(key.startswith('head.') for key in missing)
    image = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        p3 = trained_config.neck(trained_config.backbone(image))[0]
        expected = authors_r50_pafpn_forward(state, image)[0]
    assert not torch.allclose(
        p3, expected, atol=1e-2 * float(expected.abs().max()))


def test_hrnet_checkpoint_head_converts_and_loads_strictly(hrnet_model):
    model = hrnet_model
    ours = model.state_dict()
    # HRNet and HRFPN keep mmdetection 1.x's names in mmpose / mmdet 3.x: the
    # authors' file has the model's own backbone and neck keys
    state = OrderedDict(
        (k, v.clone()) for k, v in ours.items() if not k.startswith('head.'))
    state.update(random_state(authors_head_shapes(), seed=3))
    model.load_state_dict(convert(state, ours.keys()), strict=True)
    pyramid = [
        torch.randn(1, 256, 8 // 2**i + 1, 8 // 2**i + 1) for i in range(5)
    ]
    with torch.no_grad():
        outputs = model.head.forward(pyramid)
    theirs = authors_head_forward(state, pyramid)
    for level in range(5):
        for actual, expected in zip([o[level] for o in outputs],
                                    theirs[level]):
            assert_close_to(actual, expected)


def test_prefixed_keys_convert_and_missing_or_unknown_keys_are_named(
        r50_model):
    state = random_state(
        OrderedDict(**authors_r50_pafpn_shapes(), **authors_head_shapes()))
    model_keys = r50_model.state_dict().keys()
    # a DDP-wrapped save
    prefixed = OrderedDict((f'module.{k}', v) for k, v in state.items())
    assert list(convert(prefixed, model_keys)) == list(model_keys)
    del state['bbox_head.fcos_rescore.bias']
    state['bbox_head.fcos_centerness.weight'] = torch.zeros(1)
    with pytest.raises(
            KeyError,
            match=r"missing \['head.pose_score_out.bias'\]; not of that "
            r"model: \['bbox_head.fcos_centerness.weight'\]"):
        convert(state, model_keys)


def test_cli_refuses_a_checkpoint_of_another_width_naming_the_shapes(
        hrnet_model, tmp_path):
    """The authors' HRNet-W48 file has the names of the W32 config it is routed
    to (``stage2`` in the backbone): its first branch, 48 channels wide where
    the model's is 32, is refused before anything is written, naming the file,
    the config and the tensors of another shape."""
    state = OrderedDict((k, v.clone())
                        for k, v in hrnet_model.state_dict().items()
                        if not k.startswith('head.'))
    state.update(random_state(authors_head_shapes(), seed=4))
    widened = [
        key for key in state
        if key.startswith('backbone.stage2.0.branches.0.') and key.endswith((
            'conv1.weight', 'conv2.weight'))
    ]
    assert len(widened) == 8
    for key in widened:
        state[key] = torch.randn(48, 48, 3, 3)
    src, out = tmp_path / 'SMPR_HRNet_W48.pth', tmp_path / 'converted.pth'
    torch.save(dict(meta=dict(epoch=100), state_dict=state), src)
    proc = run_command([
        sys.executable, 'tools/model_converters/smpr2mmpose.py',
        str(src),
        str(out)
    ],
                       check=False)
    assert proc.returncode == 1 and not out.exists()
    assert 'Traceback' not in proc.stderr
    message = proc.stderr.strip().splitlines()[-1]
    assert message.startswith(f'{src}: not a checkpoint of ')
    assert ('with another shape: 8 (e.g. '
            'backbone.stage2.0.branches.0.0.conv1.weight [48, 48, 3, 3] in '
            'the checkpoint, [32, 32, 3, 3] in the model') in message
    assert message.endswith(
        '(config configs/smpr/smpr_hrnet-w32-hrfpn_authors-coco-800x800.py)')


@pytest.mark.e2e
def test_cli_writes_a_checkpoint_the_mmpose_apis_load_strictly(
        r50_model, tmp_path):
    from mmpose.apis import inference_bottomup, init_model

    from custom_modules.apis import check_checkpoint_matches

    state = random_state(
        OrderedDict(**authors_r50_pafpn_shapes(), **authors_head_shapes()), 5)
    del state['backbone.bn1.num_batches_tracked']  # a counter some files lack
    src = tmp_path / 'SMPR_R50.pth'
    # what mmcv 0.x's save_checkpoint writes
    torch.save(
        dict(
            meta=dict(epoch=100, mmdet_version='1.0.0'),
            state_dict=state,
            optimizer=dict(state={}, param_groups=[])), src)
    out = tmp_path / 'smpr_r50_authors.pth'
    proc = run_command([
        sys.executable, 'tools/model_converters/smpr2mmpose.py',
        str(src),
        str(out)
    ])
    assert (f'395 tensors -> {out} (for '
            'configs/smpr/smpr_r50-pafpn_authors-coco-800x800.py)') \
        in proc.stdout
    model = init_model(str(R50_CONFIG), str(out), device='cpu')
    assert check_checkpoint_matches(model, str(out))
    torch.testing.assert_close(model.state_dict()['head.pose_score_out.bias'],
                               state['bbox_head.fcos_rescore.bias'])
    result = inference_bottomup(
        model, str(REPO_ROOT / 'tests/data/coco/000000196141.jpg'))[0]
    assert result.pred_instances.keypoints.shape[1:] == (17, 2)

    bad = tmp_path / 'bad.pth'
    torch.save(
        dict(state_dict={'bbox_head.fcos_cls.weight': torch.zeros(1)}), bad)
    proc = run_command([
        sys.executable, 'tools/model_converters/smpr2mmpose.py',
        str(bad),
        str(tmp_path / 'bad_out.pth')
    ],
                       check=False)
    assert proc.returncode == 1
    assert (f"{bad}: not an SMPR authors' checkpoint for this model: missing ["
            in proc.stderr)
    assert not (tmp_path / 'bad_out.pth').exists()


@pytest.mark.e2e
def test_cli_runs_from_any_folder_and_refuses_files_it_would_have_to_execute(
        tmp_path):
    """The default config is found from the tool's place, not the working
    directory; a file with objects other than tensors and plain types is
    refused by torch's weights-only unpickler, with a one-line error naming it,
    instead of being run."""
    state = random_state(
        OrderedDict(**authors_r50_pafpn_shapes(), **authors_head_shapes()), 6)
    src = tmp_path / 'SMPR_R50.pth'
    torch.save(
        dict(meta=dict(epoch=100, mmdet_version='1.0.0'), state_dict=state),
        src)
    out = tmp_path / 'converted.pth'
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    proc = run_command([
        sys.executable,
        str(REPO_ROOT / 'tools/model_converters/smpr2mmpose.py'),
        str(src),
        str(out)
    ],
                       cwd=elsewhere)
    assert f'395 tensors -> {out}' in proc.stdout

    unsafe = tmp_path / 'unsafe.pth'
    torch.save(
        dict(
            meta=dict(hook=functools.partial(print, 'ran')), state_dict=state),
        unsafe)
    proc = run_command([
        sys.executable, 'tools/model_converters/smpr2mmpose.py',
        str(unsafe),
        str(tmp_path / 'unsafe_out.pth')
    ],
                       check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f'{unsafe}: not a plain checkpoint')
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1' in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'unsafe_out.pth').exists()
