# Copyright (c) OpenMMLab. All rights reserved.
"""tools/deployment/export_onnx.py: the exported networks of HSR-MSNet, MLPE,
MLN and SMPR run in onnxruntime on CPU and give PyTorch's outputs (the
checkpoint's weights, mmcv's deformable convolution for SMPR) to 1e-4 of each
output's scale, at another batch (and size) than traced."""
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from mmpose.apis import init_model

from custom_modules.apis.tensor_forward import TensorForward

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / 'configs/demo'
SMPR_CONFIG = DEMO / 'smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py'


def random_checkpoint(config: Path, path: Path) -> Path:
    """A checkpoint of ``config``'s model with seeded random weights; SMPR's
    offset conv is scaled up so that the deformable convolutions sample several
    pixels away."""
    torch.manual_seed(0)
    model = init_model(str(config), None, device='cpu')
    if hasattr(model.head, 'dcn_offset'):
        torch.nn.init.normal_(model.head.dcn_offset.weight, std=1.0)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def export(run_tool, config: Path, checkpoint: Optional[Path], out: Path,
           *options: str):
    """tools/deployment/export_onnx.py ``config`` ``checkpoint`` (random
    weights without one) to ``out``; the finished process, whatever its
    status."""
    weights = [] if checkpoint is None else [str(checkpoint)]
    return run_tool([
        sys.executable, 'tools/deployment/export_onnx.py',
        str(config), *weights, '--out',
        str(out), *options
    ],
                    check=False)


@pytest.mark.parametrize(
    'config, input_shape', [
        (DEMO / 'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py',
         (3, 3, 128, 96)),
        (DEMO / 'td-hm_mlpe-resnest50-w16_1xb4-300e_coco-sample-128x96.py',
         (3, 3, 128, 96)),
        (DEMO / 'paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py',
         (2, 3, 192, 320)),
        (SMPR_CONFIG, (2, 3, 256, 320)),
    ],
    ids=['hsr-msnet', 'mlpe', 'mln', 'smpr'])
def test_exported_model_matches_pytorch_in_onnxruntime(config, input_shape,
                                                       run_tool, tmp_path):
    checkpoint = random_checkpoint(config, tmp_path / 'model.pth')
    out = tmp_path / 'model.onnx'
    proc = export(run_tool, config, checkpoint, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ('outputs match PyTorch' in proc.stdout
            and 'FAILED' not in proc.stdout)

    estimator = init_model(str(config), str(checkpoint), device='cpu')
    if hasattr(estimator.head, 'deform_conv'):
        # the reference: mmcv's kernel (on a CPU SMPR's head would sample)
        estimator.head.deform_conv = 'mmcv'
    model = TensorForward(estimator).eval()
    inputs = torch.randn(
        input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = [t.numpy() for t in model(inputs)]
    session = onnxruntime.InferenceSession(
        str(out), providers=['CPUExecutionProvider'])
    outputs = session.run(None, {'input': inputs.numpy()})
    assert len(outputs) == len(expected)
    for ours, theirs in zip(outputs, expected):
        assert ours.shape == theirs.shape
        scale = max(1.0, float(np.abs(theirs).max()))
        assert float(np.abs(ours - theirs).max()) <= 1e-4 * scale


def test_smpr_with_mmcv_deform_conv_keeps_the_custom_operator(
        run_tool, tmp_path):
    out = tmp_path / 'smpr.onnx'
    proc = export(run_tool, SMPR_CONFIG, None, out, '--dcn', 'mmcv')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'not checked in onnxruntime' in proc.stdout
    ops = {(node.domain, node.op_type)
           for node in onnx.load(str(out)).graph.node}
    assert ('mmcv', 'MMCVDeformConv2d') in ops
    assert not any(op == 'GridSample' for _, op in ops)


def test_a_file_that_fails_the_check_keeps_its_part_name(run_tool, tmp_path):
    """``--tolerance 0``: onnxruntime's float rounding fails the check; the
    file is left as ``<out>.part``, so nothing takes it for a checked
    export."""
    config = DEMO / 'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py'
    checkpoint = random_checkpoint(config, tmp_path / 'model.pth')
    out = tmp_path / 'model.onnx'
    proc = export(run_tool, config, checkpoint, out, '--tolerance', '0')
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert 'FAILED' in proc.stdout
    assert not out.exists() and (tmp_path / 'model.onnx.part').is_file()
    assert 'model.onnx.part left for inspection' in proc.stderr


def test_the_printed_input_says_the_configs_channel_order_and_padding():
    """The CMU and tf-pose models take OpenCV's BGR image, SMPR pads to 32."""
    import importlib.util

    from mmengine.config import Config
    spec = importlib.util.spec_from_file_location(
        'export_onnx', REPO_ROOT / 'tools/deployment/export_onnx.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def contract(config: str) -> str:
        cfg = Config.fromfile(REPO_ROOT / 'configs' / config)
        return tool.input_contract(cfg.model.data_preprocessor)

    assert contract('mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py'
                    ).startswith("the input is BGR (OpenCV's order, as read)")
    assert 'BGR' in contract('mln/paf_openpose-vgg19_cmu-coco-368x368.py')
    smpr = contract('smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py')
    assert smpr.startswith('the input is RGB')
    assert smpr.endswith('padded with 0 after normalising to a multiple of '
                         '32 (bottom and right)')


def test_an_opset_without_grid_sample_is_refused_for_smpr(run_tool, tmp_path):
    proc = export(run_tool, SMPR_CONFIG, None, tmp_path / 'smpr.onnx',
                  '--opset', '13')
    assert proc.returncode == 2
    assert 'need opset 16 or above (or --dcn mmcv)' in proc.stderr
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize('config', [
    'mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py',
    'smpr/smpr_r50-fpn_4xb8-30e_coco-800x800.py',
])
def test_the_check_input_is_what_the_data_preprocessor_makes(config):
    """The check's input (a real image: on noise a trained model's maps stay
    near 0, where rounding fails a relative tolerance) is the image as the
    model's own ``data_preprocessor`` makes it: BGR for tf-pose, RGB and
    normalised for SMPR; the second copy of a batch flipped."""
    import mmcv
    from mmengine.config import Config
    from mmpose.registry import MODELS
    from mmpose.structures import PoseDataSample

    from custom_modules.apis.onnx_export import contract_inputs
    cfg = Config.fromfile(REPO_ROOT / 'configs' / config)
    image = mmcv.imread(str(REPO_ROOT / 'tests/data/coco/000000196141.jpg'))
    inputs = contract_inputs(image, cfg.model.data_preprocessor,
                             (2, 3, 96, 128))
    preprocessor = MODELS.build(cfg.model.data_preprocessor)
    resized = mmcv.imresize(image, (128, 96))
    expected = preprocessor(
        dict(
            inputs=[torch.from_numpy(resized).permute(2, 0, 1)],
            data_samples=[PoseDataSample()]))['inputs']
    assert inputs.shape == (2, 3, 96, 128)
    torch.testing.assert_close(inputs[:1], expected, rtol=0, atol=1e-5)
    torch.testing.assert_close(inputs[1], expected[0].flip(-1))


def test_the_check_input_without_mean_and_std_is_the_pixels():
    """No mean and std (``None``, as mmengine allows): the pixels unchanged,
    not NaN; ``rgb_to_bgr`` swaps the channels as ``bgr_to_rgb`` does."""
    from custom_modules.apis.onnx_export import contract_inputs
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    plain = contract_inputs(image, dict(mean=None, std=None), (1, 3, 2, 3))
    torch.testing.assert_close(
        plain[0],
        torch.from_numpy(image).permute(2, 0, 1).float())
    swapped = contract_inputs(image, dict(rgb_to_bgr=True), (1, 3, 2, 3))
    torch.testing.assert_close(swapped[0], plain[0].flip(0))


def test_bad_weights_and_options_are_one_line_errors(run_tool, tmp_path):
    """A checkpoint of another model is refused (mmpose's loader would export
    it half loaded, and the check compare the file with that same model); a
    top-down model's size is its config's; counts and the tolerance are checked
    by argparse.

    Nothing is written.
    """
    hsr = DEMO / 'td-hm_hsr-msnet-59-w16_1xb4-300e_coco-sample-128x96.py'
    checkpoint = random_checkpoint(hsr, tmp_path / 'hsr.pth')
    proc = export(run_tool, SMPR_CONFIG, checkpoint, tmp_path / 'smpr.onnx')
    assert proc.returncode == 2
    (line, ) = [
        line for line in proc.stderr.splitlines()
        if line.startswith('export_onnx: ')
    ]
    assert str(checkpoint) in line, proc.stderr[-2000:]
    proc = export(run_tool, hsr, checkpoint, tmp_path / 'hsr.onnx',
                  '--input-size', '256', '192')
    assert proc.returncode == 2
    assert ("a top-down model takes its config's 128x96 (H x W, "
            'codec.input_size)') in proc.stderr
    options = [['--tolerance', 'nan'], ['--tolerance', 'inf'],
               ['--batch-size', '0'], ['--input-size', '256', '32']]
    for option in options:
        proc = export(run_tool, hsr, checkpoint, tmp_path / 'hsr.onnx',
                      *option)
        assert proc.returncode == 2
        assert f'error: argument {option[0]}' in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['hsr.pth']
