# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/model_converters/openpose2mmpose.py``: CMU OpenPose's COCO body
model, as a state dict with Caffe's layer names and as a ``.caffemodel``, into
``configs/mln/paf_openpose-vgg19_cmu-*``.

The publisher's layers and channel layout are restated here from CMU's files,
independently of the converter: ``pose_deploy_linevec.prototxt`` (as ported in
Hzzone/pytorch-openpose ``model.py``: names, widths, kernels, which convs have
no ReLU, the stage input ``cat(L1, L2, F)``) and the demo's ``limbSeq`` /
``mapIdx`` (``src/body.py``)."""
import json
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from custom_modules.codecs import OPENPOSE_COCO_LIMBS, PartAffinityField
from conftest import REPO_ROOT, run_command

sys.path.insert(0, str(REPO_ROOT / 'tools/model_converters'))
from openpose2mmpose import FIELDS_FROM_CMU  # noqa: E402
from openpose2mmpose import cmu_fields_to_codec, convert  # noqa: E402

CONFIG = REPO_ROOT / 'configs/mln/paf_openpose-vgg19_cmu-coco-368x368.py'

# name: (in, out, kernel); 'pool' is a 2x2 max pool of stride 2
CMU_TRUNK = [('conv1_1', 3, 64, 3), ('conv1_2', 64, 64, 3), 'pool',
             ('conv2_1', 64, 128, 3), ('conv2_2', 128, 128, 3), 'pool',
             ('conv3_1', 128, 256, 3), ('conv3_2', 256, 256, 3),
             ('conv3_3', 256, 256, 3), ('conv3_4', 256, 256, 3), 'pool',
             ('conv4_1', 256, 512, 3), ('conv4_2', 512, 512, 3),
             ('conv4_3_CPM', 512, 256, 3), ('conv4_4_CPM', 256, 128, 3)]
# L1: limb fields, L2: joint maps with the background
CMU_OUTPUTS = {'L1': 38, 'L2': 19}
# CMU's MPI body model (pose/mpi/pose_deploy_linevec.prototxt): the COCO
# model's layer names, 14 limbs and 15 joints
CMU_MPI_OUTPUTS = {'L1': 28, 'L2': 16}


def cmu_branch(stage: int, branch: str, outputs: dict = CMU_OUTPUTS) -> list:
    out = outputs[branch]
    if stage == 1:
        return [(f'conv5_1_CPM_{branch}', 128, 128, 3),
                (f'conv5_2_CPM_{branch}', 128, 128, 3),
                (f'conv5_3_CPM_{branch}', 128, 128, 3),
                (f'conv5_4_CPM_{branch}', 128, 512, 1),
                (f'conv5_5_CPM_{branch}', 512, out, 1)]
    # stage t > 1 reads cat(L1, L2, F): 185 channels in the COCO model
    stage_in = sum(outputs.values()) + 128
    return ([(f'Mconv1_stage{stage}_{branch}', stage_in, 128, 7)] +
            [(f'Mconv{i}_stage{stage}_{branch}', 128, 128, 7)
             for i in range(2, 6)] +
            [(f'Mconv6_stage{stage}_{branch}', 128, 128, 1),
             (f'Mconv7_stage{stage}_{branch}', 128, out, 1)])


def cmu_convs(outputs: dict = CMU_OUTPUTS) -> list:
    """``(name, in, out, kernel)`` of every conv of CMU's body model with
    ``outputs`` fields (L1) and maps (L2)."""
    return [layer for layer in CMU_TRUNK if layer != 'pool'] + [
        layer for stage in range(1, 7) for branch in ('L1', 'L2')
        for layer in cmu_branch(stage, branch, outputs)
    ]


CMU_CONVS = cmu_convs()
# 1-based keypoints of each limb, and the 1-based channels of its (x, y) field
# in CMU's output blob, whose first 19 channels are the joint maps
CMU_LIMB_SEQ = [[2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8],
                [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14], [2, 1],
                [1, 15], [15, 17], [1, 16], [16, 18], [3, 17], [6, 18]]
CMU_MAP_IDX = [[31, 32], [39, 40], [33, 34], [35, 36], [41, 42], [43, 44],
               [19, 20], [21, 22], [23, 24], [25, 26], [27, 28], [29, 30],
               [47, 48], [49, 50], [53, 54], [51, 52], [55, 56], [37, 38],
               [45, 46]]


def codec_channels_of_cmu_fields() -> np.ndarray:
    """``[c]``: the CMU field channel holding this project's field channel
    ``c``, found by limb identity (``OPENPOSE_COCO_LIMBS[j]`` is CMU's limb
    whose 0-based ends are the same)."""
    limbs = [tuple(np.array(limb) - 1) for limb in CMU_LIMB_SEQ]
    channels = []
    for a, b in OPENPOSE_COCO_LIMBS:
        k = limbs.index((a, b))
        channels += [CMU_MAP_IDX[k][0] - 19, CMU_MAP_IDX[k][1] - 19]
    return np.array(channels)


def random_cmu_state(seed: int = 0,
                     convs: list = CMU_CONVS
                     ) -> 'OrderedDict[str, torch.Tensor]':
    """The publisher's keys and shapes (of ``convs``: the COCO model's by
    default), He-scaled random values (activations stay O(1))."""
    generator = torch.Generator().manual_seed(seed)
    state = OrderedDict()
    for name, c_in, c_out, k in convs:
        state[f'{name}.weight'] = torch.randn(
            c_out, c_in, k, k, generator=generator) * (2 / (c_in * k * k))**0.5
        state[f'{name}.bias'] = torch.randn(c_out, generator=generator) * 0.1
    return state


def cmu_forward(state: dict, image: torch.Tensor) -> list:
    """CMU's network with plain convolutions: ``(L1 fields (N, 38, H, W), L2
    maps (N, 19, H, W))`` of every stage, in CMU's channel orders."""

    def conv(x, name, relu=True):
        weight = state[f'{name}.weight']
        x = F.conv2d(
            x, weight, state[f'{name}.bias'], padding=weight.shape[-1] // 2)
        return F.relu(x) if relu else x

    x = image
    for layer in CMU_TRUNK:
        x = F.max_pool2d(x, 2, 2) if layer == 'pool' else conv(x, layer[0])
    trunk, stage_in = x, x
    stages = []
    for stage in range(1, 7):
        outputs = []
        for branch in ('L1', 'L2'):
            y = stage_in
            layers = cmu_branch(stage, branch)
            for i, (name, *_) in enumerate(layers):
                y = conv(y, name, relu=i < len(layers) - 1)
            outputs.append(y)
        stages.append(tuple(outputs))
        stage_in = torch.cat([*outputs, trunk], dim=1)
    return stages


@pytest.fixture(scope='module')
def model():
    register_all_modules()
    return MODELS.build(Config.fromfile(CONFIG).model).eval()


def test_the_publishers_layers_are_the_configs_52298816_weights():
    assert len(CMU_CONVS) == 92
    assert sum(c_in * c_out * k * k
               for _, c_in, c_out, k in CMU_CONVS) == 52_298_816
    # the converter's field order is the one found here by limb identity
    np.testing.assert_array_equal(FIELDS_FROM_CMU,
                                  codec_channels_of_cmu_fields())


def test_converted_model_computes_cmus_maps_in_the_codecs_order(model):
    """Every stage's maps and fields, not only the last stage's: a converter
    that permuted the last output conv alone (stage 6 reading CMU's order from
    unpermuted stages) gets the last stage right and the others wrong."""
    state = random_cmu_state()
    model.load_state_dict(convert(state), strict=True)
    image = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        expected = cmu_forward(state, image)
        heatmaps, pafs = model.head.forward(model.backbone(image))
    assert len(heatmaps) == len(pafs) == len(expected) == 6
    order = torch.as_tensor(codec_channels_of_cmu_fields())
    for stage, (fields, maps) in enumerate(expected, 1):
        assert heatmaps[stage - 1].shape == maps.shape == (1, 19, 6, 8)
        torch.testing.assert_close(
            heatmaps[stage - 1],
            maps,
            rtol=0,
            atol=1e-5 * maps.abs().max(),
            msg=lambda msg: f'stage {stage} maps: {msg}')
        torch.testing.assert_close(
            pafs[stage - 1],
            fields[:, order],
            rtol=0,
            atol=1e-5 * fields.abs().max(),
            msg=lambda msg: f'stage {stage} fields: {msg}')
        assert not torch.allclose(
            pafs[stage - 1], fields, atol=1e-3 * fields.abs().max())


def test_missing_and_unknown_keys_are_named():
    state = random_cmu_state()
    del state['Mconv3_stage4_L2.bias']
    state['conv6_1.weight'] = torch.zeros(1)
    with pytest.raises(
            KeyError,
            match=r"missing \['Mconv3_stage4_L2.bias'\]; "
            r"not of that model: \['conv6_1.weight'\]"):
        convert(state)


def test_convs_without_the_coco_fields_are_named():
    """The convs whose channels are permuted: with fewer than 38 field channels
    they are named (they were an IndexError of ``index_select``)."""
    with pytest.raises(
            KeyError,
            match=r'conv5_5_CPM_L1 has weight \[28, 512, 1, 1\] and bias '
            r"\[28\], not the COCO model's 38 field outputs"):
        convert(random_cmu_state(convs=cmu_convs(CMU_MPI_OUTPUTS)))
    state = random_cmu_state()
    state['Mconv1_stage4_L2.weight'] = state['Mconv1_stage4_L2.weight'][:, :20]
    with pytest.raises(
            KeyError,
            match=r'Mconv1_stage4_L2 has weight \[128, 20, 7, 7\], not at '
            r"least the COCO model's 38 field inputs"):
        convert(state)


def _varint(value: int) -> bytes:
    out = b''
    while value >= 0x80:
        out += bytes([value & 0x7F | 0x80])
        value >>= 7
    return out + bytes([value])


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def caffemodel_bytes(state: dict) -> bytes:
    """A ``NetParameter`` as Caffe writes it: ``layer`` entries (field 100)
    with name (1), type (2) and blobs (7: ``BlobShape`` dims in field 7, packed
    float data in field 5); layers without weights (the input, ReLUs, pools,
    concats) have no blobs.

    The biases use the legacy 4-D ``num/channels/height/width`` shape (1, 1, 1,
    out) of older Caffe files.
    """
    layers = [_field(1, b'data') + _field(2, b'Input')]
    for name, *_ in CMU_CONVS:
        weight = state[f'{name}.weight'].numpy()
        bias = state[f'{name}.bias'].numpy()
        shape = _field(1, b''.join(_varint(d) for d in weight.shape))
        weight_blob = _field(7, shape) + _field(5,
                                                weight.astype('<f4').tobytes())
        bias_blob = (b''.join(
            _varint(n << 3) + _varint(v)
            for n, v in ((1, 1), (2, 1), (3, 1), (4, bias.size))) +
                     _field(5,
                            bias.astype('<f4').tobytes()))
        layers.append(
            _field(1, name.encode()) + _field(2, b'Convolution') +
            _field(7, weight_blob) + _field(7, bias_blob))
        layers.append(_field(1, f'relu_{name}'.encode()) + _field(2, b'ReLU'))
    return _field(1, b'OpenPose - BODY_COCO') + b''.join(
        _field(100, layer) for layer in layers)


@pytest.mark.e2e
@pytest.mark.parametrize('source', ['pth', 'caffemodel'])
def test_cli_writes_a_checkpoint_the_mmpose_apis_load_strictly(
        source, tmp_path):
    from mmpose.apis import inference_bottomup, init_model

    from custom_modules.apis import check_checkpoint_matches

    state = random_cmu_state(seed=1)
    src = tmp_path / f'cmu.{source}'
    if source == 'pth':
        torch.save(state, src)
    else:
        src.write_bytes(caffemodel_bytes(state))
    out = tmp_path / 'openpose_coco_cmu.pth'
    proc = run_command([
        sys.executable, 'tools/model_converters/openpose2mmpose.py',
        str(src),
        str(out)
    ])
    assert f'184 tensors -> {out}' in proc.stdout
    written = torch.load(out, map_location='cpu', weights_only=True)
    expected = convert(state)
    assert list(written['state_dict']) == list(expected)
    for key, value in expected.items():
        torch.testing.assert_close(
            written['state_dict'][key], value, rtol=0, atol=0)

    model = init_model(str(CONFIG), str(out), device='cpu')
    assert check_checkpoint_matches(model, str(out))
    image = str(REPO_ROOT / 'tests/data/coco/000000196141.jpg')
    result = inference_bottomup(model, image)[0]
    assert result.pred_instances.keypoints.shape[1:] == (17, 2)
    if source == 'pth':  # and mmpose's inferencer (once is enough)
        from mmpose.apis import MMPoseInferencer
        inferencer = MMPoseInferencer(
            pose2d=str(CONFIG),
            pose2d_weights=str(out),
            device='cpu',
            show_progress=False)
        assert check_checkpoint_matches(inferencer.inferencer.model, str(out))
        assert 'predictions' in next(inferencer(image))


def test_a_bad_source_file_is_named(tmp_path):
    src = tmp_path / 'other.pth'
    torch.save({'conv1_1.weight': torch.zeros(1)}, src)
    proc = run_command([
        sys.executable, 'tools/model_converters/openpose2mmpose.py',
        str(src),
        str(tmp_path / 'out.pth')
    ],
                       check=False)
    assert proc.returncode == 1
    assert (f'{src}: not CMU OpenPose\'s COCO body model: missing ['
            in proc.stderr)
    assert not (tmp_path / 'out.pth').exists()


def run_converter(src, out) -> str:
    """The converter's last line on stderr, for ``src`` that it refuses (exit
    status 1, no traceback, nothing written)."""
    proc = run_command([
        sys.executable, 'tools/model_converters/openpose2mmpose.py',
        str(src),
        str(out)
    ],
                       check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'Traceback' not in proc.stderr and not out.exists()
    return proc.stderr.strip().splitlines()[-1]


def test_a_cut_caffemodel_and_a_web_page_are_named(tmp_path):
    """A download cut short (its last layer runs past the end of the file) and
    an error page saved as the PyTorch port: one line naming the file."""
    caffemodel = tmp_path / 'pose_iter_440000.caffemodel'
    caffemodel.write_bytes(caffemodel_bytes(random_cmu_state())[:1 << 20])
    assert run_converter(caffemodel, tmp_path / 'out.pth') == (
        f'{caffemodel}: cannot be read as a .caffemodel (protobuf: field 100 '
        'runs past the end of its message)')
    page = tmp_path / 'body_pose_model.pth'
    page.write_bytes(b'<!DOCTYPE html><html><body>Not Found</body></html>')
    assert run_converter(page, tmp_path / 'out.pth').startswith(
        f'{page}: cannot be read as a PyTorch checkpoint (neither a zip '
        'archive nor a pickle')


def test_cmus_mpi_model_is_named_not_converted(tmp_path):
    """CMU's MPI body model: the COCO model's layer names, 28 fields and 16
    maps."""
    src = tmp_path / 'pose_iter_160000_mpi.pth'
    torch.save(random_cmu_state(convs=cmu_convs(CMU_MPI_OUTPUTS)), src)
    assert run_converter(src, tmp_path / 'out.pth') == (
        f'{src}: not CMU OpenPose\'s COCO body model: conv5_5_CPM_L1 has '
        'weight [28, 512, 1, 1] and bias [28], not the COCO model\'s 38 '
        'field outputs')


def test_other_shapes_of_the_layers_not_permuted_are_named(tmp_path):
    """Shapes the conversion does not read are checked against the config's
    model before anything is written: here stage 3's joint branch with 3x3
    convs where CMU's has 7x7."""
    state = random_cmu_state()
    for i in range(2, 6):
        key = f'Mconv{i}_stage3_L2.weight'
        state[key] = state[key][..., 2:5, 2:5].contiguous()
    src = tmp_path / 'body_pose_model.pth'
    torch.save(state, src)
    message = run_converter(src, tmp_path / 'out.pth')
    assert message.startswith(f'{src}: not a checkpoint of ')
    assert ('with another shape: 4 (e.g. head.heatmap_stages.2.1.conv.weight '
            '[128, 128, 3, 3] in the checkpoint, [128, 128, 7, 7] in the '
            'model') in message
    assert message.endswith(
        '(config configs/mln/paf_openpose-vgg19_cmu-coco-368x368.py)')


def test_cmu_maps_of_the_samples_people_decode_to_them_in_cocos_order():
    """Maps in CMU's layout for the ground truth of a sample image (joint maps
    from the codec, in CMU's order already; each limb's field put in CMU's
    channels by limb identity) go through the converter's field permutation and
    the project's decoding: the people come back, their keypoints in COCO's
    order.

    Without the permutation, they do not.
    """
    coco = json.loads(
        (REPO_ROOT / 'tests/data/coco/test_coco.json').read_text())
    image = max(
        coco['images'],
        key=lambda im: sum(a['image_id'] == im['id'] and a['num_keypoints'] >=
                           8 for a in coco['annotations']))
    people = np.array([
        a['keypoints'] for a in coco['annotations']
        if a['image_id'] == image['id'] and a['num_keypoints'] >= 8
    ], np.float32).reshape(-1, 17, 3)
    assert len(people) >= 2
    stride = 4
    codec = PartAffinityField(
        input_size=(image['width'], image['height']),
        heatmap_size=(image['width'] // stride, image['height'] // stride))
    encoded = codec.encode(people[..., :2], (people[..., 2]
                                             > 0).astype(np.float32))
    cmu_fields = np.zeros_like(encoded['pafs'])
    cmu_fields[codec_channels_of_cmu_fields()] = encoded['pafs']

    fields = cmu_fields_to_codec(torch.from_numpy(cmu_fields)).numpy()
    keypoints, scores, _ = codec.decode(encoded['heatmaps'], fields)
    assert keypoints.shape == (len(people), 17, 2)
    for person, person_scores in zip(keypoints, scores):
        found = person_scores > 0
        errors = [
            np.abs(person[found] - truth[found, :2]).max() for truth in people
        ]
        # COCO's order: every keypoint where it belongs
        assert min(errors) <= stride, errors
        # and every annotated keypoint of that person found: no limb lost to a
        # wrong field
        np.testing.assert_array_equal(found, people[np.argmin(errors), :, 2]
                                      > 0)
    unpermuted, _, _ = codec.decode(encoded['heatmaps'], cmu_fields)
    assert len(unpermuted) != len(people) or not np.allclose(
        unpermuted, keypoints, atol=stride)
