# Copyright (c) OpenMMLab. All rights reserved.
"""custom_modules/apis/fast_network.py on a CPU.

Weights in bf16 with channels-last memory give the fp32 network's maps to
bf16's precision, through mmpose's own inference functions; what a CPU cannot
run (fp16, a CUDA graph) and a network that fails in the asked precision are
refused with the model left as it was; the demos' --fp16 / --bf16 /
--cuda-graph. The CUDA graph's protocol runs here on faked graph calls; the
graph itself needs a GPU: ``tools/misc/gpu_check.py`` checks it against fp32
eager.
"""
import contextlib
import copy
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmpose.apis import inference_bottomup, inference_topdown, init_model

from custom_modules.apis.fast_network import (FastPath, FastPathError,
                                              check_fast_path, network_modules,
                                              run_network_fast)
from custom_modules.apis.network_patch import NetworkInput
from custom_modules.apis.onnxruntime_backend import flatten_tensors as flat
from .demo_fakes import HSR_SAMPLE_CONFIG, load_tool, patch_inferencer
from conftest import save_random_checkpoint, write_small_mln_config

REPO_ROOT = Path(__file__).resolve().parents[2]
MLN_SAMPLE_CONFIG = REPO_ROOT / (
    'configs/demo/paf_mln-vgg19-w16_1xb4-700e_coco-sample-256x256.py')
IMAGE = REPO_ROOT / 'tests/data/coco/000000196141.jpg'
BF16 = FastPath(precision='bf16', channels_last=True)


def network_outputs(model, inputs):
    with torch.no_grad():
        return model.head.forward(model.extract_feat(inputs))


@pytest.fixture(scope='module')
def inferencer_demo():
    return load_tool('inferencer_demo')


@pytest.fixture(scope='module')
def small_mln(tmp_path_factory):
    """``(config, checkpoint)``: the sample MLN at 64x64, random weights."""
    folder = tmp_path_factory.mktemp('mln')
    config = write_small_mln_config(folder / 'paf_mln_64x64.py')
    return config, save_random_checkpoint(config, folder / 'mln.pth')


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    return {
        'mln': init_model(str(MLN_SAMPLE_CONFIG), None, device='cpu'),
        'hsr': init_model(str(HSR_SAMPLE_CONFIG), None, device='cpu'),
    }


@pytest.mark.parametrize('name, input_hw', [('mln', (128, 160)),
                                            ('hsr', (128, 96))])
def test_bf16_channels_last_gives_the_fp32_maps_to_bf16_precision(
        models, name, input_hw):
    reference = models[name]
    fast = copy.deepcopy(reference)
    run_network_fast(fast, BF16, probe_hw=input_hw)
    assert fast.network_patch == 'on the fast path (bf16 + channels_last)'
    for module in network_modules(fast):
        assert {p.dtype for p in module.parameters()} == {torch.bfloat16}
    conv = next(m for m in fast.backbone.modules()
                if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)

    inputs = torch.randn(2, 3, *input_hw)
    expected, got = flat(network_outputs(reference, inputs)), flat(
        network_outputs(fast, inputs))
    assert [t.shape for t in got] == [t.shape for t in expected]
    for want, have in zip(expected, got):
        # the head's predict decodes float32, as before
        assert have.dtype == torch.float32
        scale = want.abs().max().item()
        error = (have - want).abs().max().item()
        # bf16 keeps 8 bits of mantissa: a few 1/256 of the maps' scale after
        # the whole network
        assert error <= 0.05 * scale, (name, error, scale)
        assert error > 0  # it did run in bf16


def test_the_fast_model_predicts_through_mmposes_inference_functions(models):
    """bf16 + channels-last models through ``inference_bottomup`` and
    ``inference_topdown`` on a real image give the fp32 model's results to
    bf16's precision, where random weights make them comparable.

    MLN: its random weights find nobody in either precision, so the maps the
    decoding reads (``output_heatmaps``: keypoint heatmaps and PAFs, flip test
    and resizing to the image included) are compared. Measured: 3e-4 apart at
    a scale of 0.06 (0.5 %); the bound is 2 % of the scale (bf16 keeps 8 bits
    of mantissa), far below a wrong answer's 100 %.

    HSR-MSNet: a keypoint score is its heatmap's maximum. Measured: 1.8e-4
    apart (bf16's spacing at the maps' scale, 0.11, is 4.9e-4); bound 1e-3,
    while the scores of the 17 keypoints span 0.15. Keypoints whose maximum is
    below -1e-3 decode as "none" (heatmap pixel -1) in both precisions, just
    off the top-left corner of their box's crop, and must be the same; the
    others cannot be compared with random weights: each heatmap's whole range
    is only 3-5 times bf16's error, so its argmax is rounding noise (measured
    up to 163 px apart).
    """
    image = cv2.imread(str(IMAGE))
    mln_fp32 = copy.deepcopy(models['mln'])
    mln_fp32.test_cfg = dict(mln_fp32.test_cfg, output_heatmaps=True)
    mln = copy.deepcopy(mln_fp32)
    run_network_fast(mln, BF16, probe_hw=(64, 64))
    (result, ) = inference_bottomup(mln, image)
    (reference, ) = inference_bottomup(mln_fp32, image)
    assert result.pred_instances.keypoints.shape[1:] == (17, 2)
    assert (len(result.pred_instances) == len(reference.pred_instances) == 0)
    for name in ('heatmaps', 'pafs'):
        have, want = (
            r.pred_fields.get(name).float() for r in (result, reference))
        # at the image's size (429x640), restored from the network's
        assert have.shape == want.shape and have.shape[1:] == (429, 640)
        scale = want.abs().max().item()
        error = (have - want).abs().max().item()
        assert 0 < error <= 0.02 * scale, (name, error, scale)

    hsr = copy.deepcopy(models['hsr'])
    run_network_fast(hsr, BF16, probe_hw=(128, 96))
    boxes = np.array([[10, 20, 200, 400], [300, 50, 420, 380]], np.float32)
    results = inference_topdown(hsr, image, boxes)
    reference = inference_topdown(models['hsr'], image, boxes)
    assert len(results) == 2
    compared = 0
    for fast_result, fp32_result in zip(results, reference):
        fast_kpts = fast_result.pred_instances.keypoints
        assert np.isfinite(fast_kpts).all()
        assert fast_kpts.shape == fp32_result.pred_instances.keypoints.shape
        fast_scores = fast_result.pred_instances.keypoint_scores
        fp32_scores = fp32_result.pred_instances.keypoint_scores
        np.testing.assert_allclose(fast_scores, fp32_scores, rtol=0, atol=1e-3)
        assert not np.array_equal(fast_scores, fp32_scores)  # bf16 ran
        none = fp32_scores < -1e-3
        np.testing.assert_allclose(
            fast_kpts[none],
            fp32_result.pred_instances.keypoints[none],
            rtol=0,
            atol=1e-3)
        compared += none.sum()
    # measured: 9 of each box's 17
    assert compared >= 12
    # the two boxes' "none" keypoints are their own crops' corners
    corners = [
        r.pred_instances.keypoints[r.pred_instances.keypoint_scores < -1e-3]
        for r in results
    ]
    assert np.abs(corners[0][0] - corners[1][0]).max() > 50

    with pytest.raises(RuntimeError, match='predicts only'):
        hsr.head.loss(NetworkInput(torch.zeros(1, 3, 128, 96)), [])


@pytest.mark.parametrize('fast_path, message', [
    (FastPath(cuda_graph=True), 'a CUDA graph needs a CUDA device, not cpu'),
    (FastPath(precision='fp16', channels_last=True), 'use --bf16 on a CPU'),
    (FastPath(precision='fp8'), "unknown precision 'fp8'"),
])
def test_what_a_cpu_cannot_run_is_refused(fast_path, message):
    with pytest.raises(FastPathError, match=message):
        check_fast_path(fast_path, torch.device('cpu'))


def test_a_network_that_fails_in_bf16_is_refused_and_left_as_it_was(models):
    model = copy.deepcopy(models['hsr'])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    backbone_forward = model.backbone.forward

    def float32_only(x):
        if x.dtype != torch.float32:
            raise RuntimeError(
                f'"slow_conv2d_cpu" not implemented for \'{x.dtype}\'\nmore')
        return backbone_forward(x)

    model.backbone.forward = float32_only
    with pytest.raises(FastPathError) as error:
        run_network_fast(model, BF16, probe_hw=(64, 48))
    assert str(error.value) == (
        'TopdownPoseEstimator (HSRNet) cannot run on the fast path bf16 + '
        'channels_last on cpu: '
        '"slow_conv2d_cpu" not implemented for \'torch.bfloat16\'')
    # the model's own network again, in float32, with its exact weights
    assert ('extract_feat' not in vars(model)
            and 'forward' not in vars(model.head))
    after = model.state_dict()
    assert all(
        torch.equal(before[k], after[k]) and after[k].dtype == before[k].dtype
        for k in before)
    inputs = torch.randn(1, 3, 128, 96)
    for want, have in zip(
            flat(network_outputs(models['hsr'], inputs)),
            flat(network_outputs(model, inputs))):
        assert torch.equal(want, have)


def test_fp32_without_a_graph_is_the_models_own_network(models):
    model = copy.deepcopy(models['hsr'])
    run_network_fast(model, BF16, probe_hw=(64, 48))
    run_network_fast(model, FastPath())
    assert 'extract_feat' not in vars(model)
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_the_demo_runs_bf16_and_refuses_a_cuda_graph_on_a_cpu(
        inferencer_demo, small_mln, monkeypatch, tmp_path, capsys):
    config, checkpoint = small_mln
    built = patch_inferencer(monkeypatch, lambda pose2d: None)
    image = tmp_path / 'one.jpg'
    cv2.imwrite(str(image), np.full((48, 64, 3), 127, np.uint8))
    argv = [
        str(image), '--pose2d',
        str(config), '--pose2d-weights',
        str(checkpoint), '--device', 'cpu'
    ]
    assert inferencer_demo.main(
        argv +
        ['--pred-out-dir', str(tmp_path / 'bf16'), '--bf16']) == 0
    assert (tmp_path / 'bf16/one.json').is_file()
    assert built[0].inferencer.model.network_patch == (
        'on the fast path (bf16 + channels_last)')
    capsys.readouterr()

    assert inferencer_demo.main(
        argv + ['--pred-out-dir',
                str(tmp_path / 'g'), '--cuda-graph']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        'error: a CUDA graph needs a CUDA device, not cpu: leave out '
        '--cuda-graph (or run with --device cuda:0)'
    ]
    assert not (tmp_path / 'g').exists()


SMPR_SAMPLE_CONFIG = REPO_ROOT / (
    'configs/demo/smpr_r18-w16-fpn_1xb4-1000e_coco-sample-192x256.py')


@pytest.fixture(scope='module')
def smpr():
    torch.manual_seed(0)
    return init_model(str(SMPR_SAMPLE_CONFIG), None, device='cpu')


def with_deform_conv(model, deform_conv: str):
    """A copy of an SMPR model whose head computes its deformable convolutions
    as ``deform_conv`` says."""
    model = copy.deepcopy(model)
    model.head.deform_conv = deform_conv
    return model


@pytest.mark.parametrize('deform_conv', ['mmcv', 'auto'])
def test_smpr_runs_channels_last_with_either_deformable_conv(
        smpr, deform_conv):
    """mmcv's deformable convs take contiguous inputs and weights only: in
    channels-last they get them; the sampling form (the CPU's default) takes
    any; the maps are fp32 eager's to float rounding."""
    reference = with_deform_conv(smpr, deform_conv)
    fast = copy.deepcopy(reference)
    run_network_fast(fast, FastPath(channels_last=True), probe_hw=(128, 96))
    inputs = torch.randn(1, 3, 128, 96)
    for want, have in zip(
            flat(network_outputs(reference, inputs)),
            flat(network_outputs(fast, inputs))):
        assert have.is_contiguous()
        assert torch.allclose(
            have, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())


def test_smpr_in_bf16_on_a_cpu_is_refused_with_mmcvs_reason(smpr):
    """mmcv's CPU deformable conv has no bf16 kernel (its CUDA one has fp16,
    checked by gpu_check)."""
    model = with_deform_conv(smpr, 'mmcv')
    with pytest.raises(
            FastPathError,
            match=r'PyramidBottomupPoseEstimator \(ResNet\) cannot run on the '
            r'fast path bf16 \+ channels_last on cpu: "deformable_im2col_cpu" '
            r"not implemented for 'BFloat16'"):
        run_network_fast(model, BF16, probe_hw=(128, 96))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


def test_smpr_in_bf16_on_a_cpu_samples_its_deformable_convs(smpr):
    """The CPU's default (``deform_conv='auto'``) runs in bf16: the maps are
    fp32's to bf16's precision (at the config's 256x192: at 128x96 the P7 maps
    are 1x1, and one near-zero logit is a poor scale)."""
    fast = copy.deepcopy(smpr)
    run_network_fast(fast, BF16, probe_hw=(256, 192))
    assert {p.dtype for p in fast.head.parameters()} == {torch.bfloat16}
    inputs = torch.randn(
        1, 3, 256, 192, generator=torch.Generator().manual_seed(0))
    for want, have in zip(
            flat(network_outputs(smpr, inputs)),
            flat(network_outputs(fast, inputs))):
        scale = want.abs().max().item()
        error = (have.float() - want).abs().max().item()
        assert 0 < error <= 0.05 * scale, (error, scale)


def test_smpr_heatmaps_of_a_network_run_elsewhere_are_refused(smpr, tmp_path):
    """SMPR draws heatmaps its head computes from P3 (``output_heatmaps``),
    which a swapped network does not give: the head says so in one line, and
    the inferencer refuses ``draw_heatmap`` before reading any input; the maps
    of the network in PyTorch are still drawn."""
    from custom_modules.apis.inferencers import MultilevelInferencer
    fast = copy.deepcopy(smpr)
    run_network_fast(fast, FastPath(channels_last=True), probe_hw=(128, 96))
    fast.test_cfg = dict(fast.test_cfg, output_heatmaps=True)
    with pytest.raises(ValueError, match='output_heatmaps needs the pyramid'):
        inference_bottomup(fast, str(IMAGE))

    checkpoint = save_random_checkpoint(SMPR_SAMPLE_CONFIG,
                                        tmp_path / 'smpr.pth')
    image = np.zeros((96, 128, 3), np.uint8)
    for fast_path in (FastPath(channels_last=True), None):
        inferencer = MultilevelInferencer(
            str(SMPR_SAMPLE_CONFIG),
            str(checkpoint),
            device='cpu',
            fast_path=fast_path)
        run = inferencer(image, draw_heatmap=True, return_vis=True)
        if fast_path is None:
            (result, ) = run
            # the image, then the panel of the maps below it
            assert result['visualization'][0].shape == (192, 128, 3)
            continue
        with pytest.raises(ValueError, match='draw_heatmap: SMPRHead'):
            next(run)
        assert inferencer.inferencer.read == 0


class _FakeCudaGraphs:
    """torch.cuda's stream and graph calls faked on the CPU.

    With a graph's semantics: a capture records the network's work,
    ``replay()`` redoes it into the same (static) output tensors from the
    static input's current values.
    """

    def __init__(self):
        self.capturing = None
        self.captures = []  # the capture modes, one per capture
        self.side_stream_runs = 0
        self.on_side_stream = False

    def network(self, x):
        """A network whose calls know whether they are captured or warm-ups."""
        if self.on_side_stream:
            self.side_stream_runs += 1
        maps = x * 2 + 1
        pooled = x.mean(dim=(2, 3))
        if self.capturing is not None:

            def kernel():
                maps.copy_(x * 2 + 1)
                pooled.copy_(x.mean(dim=(2, 3)))

            self.capturing.kernels.append(kernel)
        return maps, [pooled]

    def install(self, monkeypatch):
        fakes = self

        class Graph:

            def __init__(self):
                self.kernels = []

            def replay(self):
                for kernel in self.kernels:
                    kernel()

        @contextlib.contextmanager
        def graph(cuda_graph, capture_error_mode='global'):
            fakes.captures.append(capture_error_mode)
            fakes.capturing = cuda_graph
            yield
            fakes.capturing = None

        @contextlib.contextmanager
        def stream(_):
            fakes.on_side_stream = True
            yield
            fakes.on_side_stream = False

        class Stream:

            def __init__(self, device=None):
                pass

            def wait_stream(self, other):
                pass

        monkeypatch.setattr(torch.cuda, 'CUDAGraph', Graph)
        monkeypatch.setattr(torch.cuda, 'graph', graph)
        monkeypatch.setattr(torch.cuda, 'stream', stream)
        monkeypatch.setattr(torch.cuda, 'Stream', Stream)
        monkeypatch.setattr(
            torch.cuda, 'current_stream', lambda device=None: Stream())


def test_graphed_network_replays_each_input_into_copies(monkeypatch):
    """GraphedNetwork's protocol (torch's CUDA-graph recipe) with graph
    semantics faked on the CPU: warm-ups on a side stream before one capture
    per input shape, each call's input copied into the static input, outputs
    copied out of the static ones (an earlier call's results survive the next
    replay), the least recently used graph released, captures in the
    'thread_local' mode (a pipelined run's writer thread may use the GPU)."""
    from custom_modules.apis.fast_network import WARMUP_RUNS, GraphedNetwork

    fakes = _FakeCudaGraphs()
    fakes.install(monkeypatch)
    graphed = GraphedNetwork(fakes.network, max_graphs=2)
    first, second = torch.rand(2, 1, 3, 4, 5).unbind(0)
    maps_1, (pooled_1, ) = graphed(first)
    maps_2, (pooled_2, ) = graphed(second)
    for x, maps, pooled in ((first, maps_1, pooled_1), (second, maps_2,
                                                        pooled_2)):
        torch.testing.assert_close(maps, x * 2 + 1)
        torch.testing.assert_close(pooled, x.mean(dim=(2, 3)))
    assert fakes.captures == ['thread_local']
    assert fakes.side_stream_runs == WARMUP_RUNS
    # a second shape captures its graph; a third releases the first shape's
    graphed(torch.rand(1, 3, 8, 8))
    graphed(torch.rand(2, 3, 4, 5))
    assert len(fakes.captures) == 3 and len(graphed.graphs) == 2
    assert (1, 3, 4, 5) not in {key[0] for key in graphed.graphs}
    maps, _ = graphed(first)
    assert len(fakes.captures) == 4
    torch.testing.assert_close(maps, first * 2 + 1)


def test_graphed_batches_share_a_graph_per_power_of_two(monkeypatch):
    """A top-down model's batch is the people of a frame: 3 and 4 people run
    one graph (of 4), 5 to 8 another (of 8), each call's own samples returned
    (the padding's zeros dropped)."""
    from custom_modules.apis.fast_network import GraphedNetwork, captured_batch

    assert [captured_batch(n) for n in (1, 2, 3, 4, 5, 8, 9, 32, 33)
            ] == [1, 2, 4, 4, 8, 8, 16, 32, 64]
    fakes = _FakeCudaGraphs()
    fakes.install(monkeypatch)
    graphed = GraphedNetwork(fakes.network)
    for people in (3, 4, 5, 8, 3):
        crops = torch.rand(people, 3, 4, 5)
        maps, (pooled, ) = graphed(crops)
        torch.testing.assert_close(maps, crops * 2 + 1)
        torch.testing.assert_close(pooled, crops.mean(dim=(2, 3)))
    assert len(fakes.captures) == 2
    assert sorted(key[0][0] for key in graphed.graphs) == [4, 8]
