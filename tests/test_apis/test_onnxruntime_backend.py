# Copyright (c) OpenMMLab. All rights reserved.
"""run_network_in_onnxruntime: the network of an estimator runs from the file
that tools/deployment/export_onnx.py writes, the rest (preprocessing, flip
test, the head's predict, the codecs) stays PyTorch's; people and keypoints
equal PyTorch's on the sample images for HSR-MSNet, MLPE, MLN and SMPR, and a
file of another network is refused with what differs."""
import copy
import json
import time
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
import torch.nn as nn
from mmpose.apis import inference_bottomup, inference_topdown, init_model

from custom_modules.apis.network_patch import NetworkInput
from custom_modules.apis.onnx_export import export_network
from custom_modules.apis.onnxruntime_backend import (
    OnnxModelMismatchError, flatten_tensors, output_structure,
    run_network_in_onnxruntime, unflatten_tensors)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / 'configs/demo'
SAMPLE = REPO_ROOT / 'tests/data/coco'
HSR_CONFIG = DEMO / 'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py'


def sample_images():
    """``(image path, (N, 4) xyxy ground-truth person boxes)`` of the bundled
    COCO sample."""
    annotations = json.loads((SAMPLE / 'test_coco.json').read_text())
    boxes = {image['id']: [] for image in annotations['images']}
    for ann in annotations['annotations']:
        x, y, w, h = ann['bbox']
        boxes[ann['image_id']].append([x, y, x + w, y + h])
    return [(str(SAMPLE / image['file_name']),
             np.array(boxes[image['id']], np.float32))
            for image in annotations['images']]


def random_model(config: Path,
                 map_scale: float = 1.0,
                 **cfg_options) -> nn.Module:
    """The config's model with seeded random weights (PyTorch's default init),
    the outputs of the PAF heads' map convs scaled by ``map_scale``."""
    torch.manual_seed(0)
    model = init_model(
        str(config), None, device='cpu', cfg_options=cfg_options or None)
    with torch.no_grad():
        for module in model.head.modules():
            if type(module).__name__ == 'MapOutput':
                module.weight *= map_scale
                module.bias *= map_scale
    return model


# So that the decoders find people in random weights' outputs: top-down models
# decode one per box, and SMPR's random person scores pass its threshold; MLN's
# random maps (|x| about 0.1, as its transfer blocks average their convs) are
# scaled to about 10 and its decoder keeps every peak above 0, every limb pair
# whatever its field, and people of 2 keypoints or more at any score.
MLN_OPTIONS = {
    'map_scale': 100.0,
    'model.head.decoder.peak_thr': 0.0,
    'model.head.decoder.paf_thr': -1e9,
    'model.head.decoder.min_parts': 2,
    'model.head.decoder.min_mean_score': -1e9
}


def people(model: nn.Module, image: str, boxes: np.ndarray,
           top_down: bool) -> dict:
    """The people ``model`` finds: keypoints, keypoint scores, person scores
    and boxes (bottom-up)."""
    if top_down:
        samples = inference_topdown(model, image, boxes, bbox_format='xyxy')
        instances = [sample.pred_instances for sample in samples]
        return {
            key: np.concatenate([getattr(i, key) for i in instances])
            for key in ('keypoints', 'keypoint_scores')
        }
    instances = inference_bottomup(model, image)[0].pred_instances
    return {
        key: np.asarray(getattr(instances, key))
        for key in ('keypoints', 'keypoint_scores', 'bbox_scores', 'bboxes')
    }


@pytest.mark.e2e
@pytest.mark.parametrize(
    'config, options, export_shape, top_down', [
        (HSR_CONFIG, {}, None, True),
        (DEMO / 'td-hm_mlpe-resnest50-w16_1xb4-300e_coco-sample-128x96.py', {},
         None, True),
        (DEMO / 'paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
         MLN_OPTIONS, (1, 3, 128, 128), False),
        (DEMO / 'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py', {},
         (1, 3, 128, 128), False),
    ],
    ids=['hsr-msnet', 'mlpe', 'mln', 'smpr'])
def test_onnxruntime_network_gives_pytorch_people(config, options,
                                                  export_shape, top_down,
                                                  tmp_path, record_property):
    """Exported at batch 1 (bottom-up: at 128x128), run at the sample's batches
    of boxes and image sizes; the flip test is on in the top-down and MLN
    sample configs, off in SMPR's."""
    model = random_model(config, **options)
    if hasattr(model.head, 'deform_conv'):
        # the reference: mmcv's kernel (on a CPU SMPR's head would sample)
        model.head.deform_conv = 'mmcv'
    onnx_file = tmp_path / 'network.onnx'
    # a copy: the export swaps SMPR's mmcv deformable convolutions for
    # GridSample ones, and the reference keeps mmcv's
    export_network(copy.deepcopy(model), onnx_file, export_shape)
    in_onnxruntime = copy.deepcopy(model)
    run_network_in_onnxruntime(in_onnxruntime, onnx_file)

    seconds = {'pytorch': 0.0, 'onnxruntime': 0.0}
    for image, boxes in sample_images():
        start = time.perf_counter()
        expected = people(model, image, boxes, top_down)
        seconds['pytorch'] += time.perf_counter() - start
        start = time.perf_counter()
        found = people(in_onnxruntime, image, boxes, top_down)
        seconds['onnxruntime'] += time.perf_counter() - start

        assert len(
            expected['keypoints']) >= 1, f'PyTorch finds nobody on {image}'
        assert found['keypoints'].shape == expected['keypoints'].shape, image
        for key in expected:
            # positions (pixels) to 1e-3, scores to 1e-4
            tolerance = 1e-3 if key in ('keypoints', 'bboxes') else 1e-4
            assert np.abs(found[key] -
                          expected[key]).max() <= tolerance, (image, key)
    # reported, not asserted: whole inference (preprocessing, network,
    # decoding) on 4 images
    record_property('seconds_pytorch_onnxruntime', seconds)
    print(f'{config.stem}: inference on the 4 sample images: PyTorch '
          f'{seconds["pytorch"]:.2f} s, '
          f'network in onnxruntime {seconds["onnxruntime"]:.2f} s')


# ------------------------------------------------- small files, no real export
class FakeNetwork(nn.Module):
    """A 4x4 conv of stride 4: (B, 3, 128, 96) -> ``channels`` maps of 32x24,
    the shape of the HSR-MSNet sample model's heatmaps; ``num_outputs``
    copies."""

    def __init__(self, channels: int = 17, num_outputs: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 4, stride=4)
        self.num_outputs = num_outputs

    def forward(self, x):
        out = self.conv(x)
        return tuple(out + i for i in range(self.num_outputs))


def export_fake(path: Path,
                names=('heatmaps', ),
                channels: int = 17,
                input_hw=(128, 96)) -> Path:
    network = FakeNetwork(channels, len(names)).eval()
    batch_axis = {name: {0: 'batch'} for name in ('input', *names)}
    with torch.no_grad():
        torch.onnx.export(
            network, (torch.zeros(1, 3, *input_hw), ),
            str(path),
            dynamo=False,
            input_names=['input'],
            output_names=list(names),
            dynamic_axes=batch_axis)
    return path


@pytest.fixture(scope='module')
def hsr_model():
    return random_model(HSR_CONFIG)


def test_flatten_and_unflatten_keep_the_nesting():
    a, b, c, d = (torch.full((1, ), float(i)) for i in range(4))
    outputs = ([a, b], (c, [d]))
    structure = output_structure(outputs)
    flat = flatten_tensors(outputs)
    assert [t.item() for t in flat] == [0, 1, 2, 3]
    rebuilt = unflatten_tensors(structure, flat)
    assert isinstance(rebuilt, tuple) and isinstance(rebuilt[0], list)
    assert isinstance(rebuilt[1], tuple) and isinstance(rebuilt[1][1], list)
    assert (output_structure(rebuilt) == structure
            and flatten_tensors(rebuilt) == flat)
    with pytest.raises(ValueError):
        unflatten_tensors(structure, flat[:3])


def test_network_runs_from_the_file_with_the_threads_given(
        hsr_model, tmp_path, monkeypatch):
    """The head's forward returns the file's outputs (here a fake network's,
    not the model's); the flip test and decoding still run (in PyTorch), on
    batches of any size."""
    onnx_file = export_fake(tmp_path / 'fake.onnx')
    options = []
    real_session = onnxruntime.InferenceSession

    def session(path, sess_options=None, providers=None):
        options.append((sess_options, providers))
        return real_session(
            path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(onnxruntime, 'InferenceSession', session)
    model = copy.deepcopy(hsr_model)
    run_network_in_onnxruntime(model, onnx_file, num_threads=1)
    assert options[0][0].intra_op_num_threads == 1
    assert options[0][1] == ['CPUExecutionProvider']
    # idle threads sleep (the frame's other stages need the cores), unless
    # asked to spin
    assert options[0][0].get_session_config_entry(
        'session.intra_op.allow_spinning') == '0'
    run_network_in_onnxruntime(
        copy.deepcopy(hsr_model), onnx_file, allow_spinning=True)
    assert options[1][0].get_session_config_entry(
        'session.intra_op.allow_spinning') == '1'

    inputs = torch.randn(3, 3, 128, 96)
    expected = real_session(str(onnx_file)).run(None,
                                                {'input': inputs.numpy()})[0]
    heatmaps = model.head.forward(model.extract_feat(inputs))
    assert isinstance(heatmaps, torch.Tensor)
    np.testing.assert_allclose(heatmaps.numpy(), expected, atol=1e-6)
    with pytest.raises(TypeError, match='onnxruntime'):
        model.head.forward((inputs, ))  # features of a PyTorch backbone
    with pytest.raises(RuntimeError, match='predicts only'):
        model.head.loss(NetworkInput(inputs), [])

    image, boxes = sample_images()[1]
    # a copy stays patched
    found = people(copy.deepcopy(model), image, boxes, top_down=True)
    assert found['keypoints'].shape == (len(boxes), 17, 2)

    # a second call swaps the file, not the file's network for the model's
    run_network_in_onnxruntime(model, export_fake(tmp_path / 'other.onnx'))
    assert not np.allclose(
        model.head.forward(model.extract_feat(inputs)).numpy(), expected)


@pytest.mark.parametrize(
    'kwargs, message', [
        (dict(names=('maps', )),
         "output 0 is 'maps', the model's HeatmapHead names it 'heatmaps'"),
        (dict(names=('heatmaps', 'extra')),
         "2 outputs, the model's HeatmapHead gives 1"),
        (dict(channels=5),
         r"'heatmaps' has shape \[batch, 5, 32, 24\], the model's HeatmapHead "
         r'gives \[B, 17, 32, 24\]'),
        (dict(input_hw=(64, 48)),
         r'takes 64x48 \(H x W\) inputs, the model\'s config 128x96'),
    ],
    ids=['names', 'count', 'channels', 'input-size'])
def test_file_of_another_network_is_refused(hsr_model, tmp_path, kwargs,
                                            message):
    onnx_file = export_fake(tmp_path / 'other.onnx', **kwargs)
    model = copy.deepcopy(hsr_model)
    with pytest.raises(OnnxModelMismatchError, match=message) as error:
        run_network_in_onnxruntime(model, onnx_file)
    assert str(onnx_file) in str(error.value)
    assert 'extract_feat' not in model.__dict__  # left unpatched


def test_missing_file_is_named_and_an_earlier_patch_undone(
        hsr_model, tmp_path):
    model = copy.deepcopy(hsr_model)
    run_network_in_onnxruntime(model, export_fake(tmp_path / 'fake.onnx'))
    assert 'extract_feat' in model.__dict__
    with pytest.raises(FileNotFoundError, match='nothing.onnx'):
        run_network_in_onnxruntime(model, tmp_path / 'nothing.onnx')
    assert 'extract_feat' not in model.__dict__


def test_a_cuda_device_without_onnxruntimes_cuda_provider_warns(tmp_path):
    """The pinned onnxruntime is the CPU package: on a GPU it runs the file on
    the CPU, which the user is told."""
    from custom_modules.apis.onnxruntime_backend import _make_session
    onnx_file = export_fake(tmp_path / 'fake.onnx')
    if 'CUDAExecutionProvider' in onnxruntime.get_available_providers():
        pytest.skip('onnxruntime-gpu with a CUDA provider is installed')
    with pytest.warns(UserWarning, match='on the CPU, not cuda:0'):
        session = _make_session(onnx_file, torch.device('cuda', 0), None,
                                False)
    assert session.get_providers() == ['CPUExecutionProvider']
