# Copyright (c) OpenMMLab. All rights reserved.
"""check_checkpoint_matches / init_pose_model: a checkpoint of another model is
refused with one message; the allowed differences pass and load."""
import re
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from custom_modules.apis import (CheckpointMismatchError,
                                 check_checkpoint_matches, init_pose_model)
from conftest import REPO_ROOT


class Net(nn.Module):
    """conv (4, 3, 3, 3) + BatchNorm + a 1x1 head of ``outputs`` channels."""

    def __init__(self, outputs: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, outputs, 1)


def test_the_models_own_state_dict_matches():
    net = Net()
    weights = check_checkpoint_matches(net, {
        'state_dict': net.state_dict(),
        'meta': {}
    })
    assert list(weights) == list(net.state_dict())


def test_allowed_differences_pass_and_load():
    """A bare state dict saved from DataParallel, with data_preprocessor
    buffers and without BatchNorm's num_batches_tracked."""
    source, net = Net(), Net()
    state = OrderedDict((f'module.{name}', value)
                        for name, value in source.state_dict().items()
                        if not name.endswith('num_batches_tracked'))
    state['module.data_preprocessor.mean'] = torch.zeros(3, 1, 1)
    state['data_preprocessor.std'] = torch.ones(3, 1, 1)
    net.load_state_dict(check_checkpoint_matches(net, state), strict=False)
    assert torch.equal(net.head.weight, source.head.weight)
    assert torch.equal(net.bn.running_var, source.bn.running_var)


def test_every_kind_of_difference_is_counted_and_named():
    state = Net(outputs=5).state_dict()
    del state['conv.bias']
    state['extra.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as error:
        check_checkpoint_matches(Net(), state, name='other.pth')
    assert str(error.value) == (
        'other.pth: not a checkpoint of Net: missing from it: 1 of the '
        'model\'s 9 weights (e.g. conv.bias); not in the model: 1 of its 9 '
        'weights (e.g. extra.weight); with another shape: 2 (e.g. head.weight '
        '[5, 4, 1, 1] in the checkpoint, [2, 4, 1, 1] in the model, head.bias '
        '[5] in the checkpoint, [2] in the model). Was it trained with '
        'another config? (Allowed differences: a "module." prefix, '
        'data_preprocessor buffers, BatchNorm num_batches_tracked.)')


def test_a_partial_checkpoint_passes_only_where_asked():
    """Training's ``load_from`` fine-tunes from a model with another head
    (``partial``); a checkpoint none of whose weights fits is refused even
    so."""
    other_head = Net(outputs=5).state_dict()
    with pytest.raises(CheckpointMismatchError, match='with another shape: 2'):
        check_checkpoint_matches(Net(), other_head)
    weights = check_checkpoint_matches(Net(), other_head, partial=True)
    assert list(weights) == list(other_head)
    # BatchNorm's step counter alone (every BatchNorm has one) is no fit
    nothing_fits = {
        name if name.endswith('num_batches_tracked') else f'other.{name}': v
        for name, v in other_head.items()
    }
    with pytest.raises(
            CheckpointMismatchError,
            match='other.pth: not a checkpoint of Net: missing from it: 8 of '
            "the model's 9 weights"):
        check_checkpoint_matches(
            Net(), nothing_fits, name='other.pth', partial=True)


def test_long_lists_are_cut_to_three_examples(tmp_path):
    path = tmp_path / 'backbone_only.pth'
    torch.save(
        {'state_dict': {
            f'layer{i}.weight': torch.zeros(1)
            for i in range(5)
        }}, path)
    with pytest.raises(
            CheckpointMismatchError,
            match=(rf'^{re.escape(str(path))}: .*; '
                   r'not in the model: 5 of its 5 weights '
                   r'\(e\.g\. layer0\.weight, layer1\.weight, layer2\.weight, '
                   r'\.\.\.\)')):
        check_checkpoint_matches(Net(), path)


def test_a_file_without_a_state_dict_is_named(tmp_path):
    path = tmp_path / 'list.pth'
    torch.save([1, 2], path)
    with pytest.raises(
            CheckpointMismatchError,
            match=rf'^{re.escape(str(path))}: holds a list'):
        check_checkpoint_matches(Net(), path)


def test_a_checkpoint_to_resume_needs_the_runners_training_state():
    """What mmengine's ``Runner.resume`` reads besides the weights; the first
    field missing is named (a converted checkpoint has ``meta`` without
    ``epoch``, a bare state dict no ``meta``)."""
    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      check_training_state)
    check_training_state(
        dict(state_dict={}, meta=dict(epoch=3, iter=9), message_hub={}),
        'epoch_3.pth')
    for checkpoint, field in (({
            'conv.weight': 0
    }, 'meta.epoch'), (dict(state_dict={}, meta={}),
                       'meta.epoch'), (dict(meta=dict(epoch=3)), 'meta.iter'),
                              (dict(meta=dict(epoch=3, iter=9)),
                               'message_hub')):
        with pytest.raises(
                CheckpointFileError,
                match=re.escape(
                    f'x.pth: no training state ({field}); it is a weights '
                    'file: to start from its weights, give load_from=x.pth '
                    'without --resume')):
            check_training_state(checkpoint, 'x.pth')


def test_init_pose_model_loads_a_matching_checkpoint_with_its_dataset_meta(
        demo_config, tmp_path):
    from mmpose.apis import init_model
    source = init_model(str(demo_config), None, device='cpu')
    meta = dict(source.dataset_meta, dataset_name='saved_with_the_checkpoint')
    path = tmp_path / 'hsr.pth'
    torch.save(
        {
            'state_dict': source.state_dict(),
            'meta': {
                'dataset_meta': meta
            }
        }, path)
    model = init_pose_model(str(demo_config), str(path))
    assert all(
        torch.equal(value,
                    source.state_dict()[name])
        for name, value in model.state_dict().items())
    assert model.dataset_meta['dataset_name'] == 'saved_with_the_checkpoint'
    assert not model.training

    state = source.state_dict()
    state['head.final_layer.weight'] = state['head.final_layer.weight'][:16]
    torch.save({'state_dict': state}, path)
    with pytest.raises(
            CheckpointMismatchError,
            match=(rf'{re.escape(str(demo_config))} '
                   r'\(TopdownPoseEstimator\): with another shape: 1 '
                   r'\(e\.g\. head\.final_layer\.weight \[16, ')):
        init_pose_model(str(demo_config), str(path))


def test_a_truncated_or_unplain_weights_file_is_named(tmp_path):
    """load_weights_file (the converters' reader): a checkpoint in the pickle
    format of PyTorch < 1.6 (mmcv 0.x's, DetNet's) cut anywhere, and one
    holding an object beyond plain types, are named with the reason; the
    handler itself raised IndexError on a message-less EOFError."""
    import argparse
    import io

    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      load_weights_file)
    buffer = io.BytesIO()
    torch.save(
        OrderedDict(weight=torch.ones(3, 3)),
        buffer,
        _use_new_zipfile_serialization=False)
    whole = buffer.getvalue()
    path = tmp_path / 'old.pth'
    path.write_bytes(whole)
    assert load_weights_file(path)['weight'].shape == (3, 3)
    for length in (1, 5, 50, 120, 150, 300, len(whole) - 1):
        path.write_bytes(whole[:length])
        with pytest.raises(CheckpointFileError) as error:
            load_weights_file(path)
        assert str(error.value).startswith(f'{path}: '), length
    torch.save(dict(args=argparse.Namespace(lr=0.1)), path)
    with pytest.raises(CheckpointFileError) as error:
        load_weights_file(path)
    message = str(error.value)
    assert 'argparse.Namespace' in message and '\x1b' not in message
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1' in message


def test_weights_at_a_url_that_cannot_be_fetched_are_named(
        tmp_path, monkeypatch):
    """A URL the loader cannot fetch (nothing listens on port 9 here): the
    error names it and says it could not be fetched, not that a file is no
    checkpoint."""
    from custom_modules.apis.checkpoint_check import (CheckpointFileError,
                                                      load_checkpoint_file)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))  # no cached copy
    url = 'http://127.0.0.1:9/missing.pth'
    with pytest.raises(CheckpointFileError) as error:
        load_checkpoint_file(url)
    assert str(error.value).startswith(
        f'{url}: cannot be fetched or loaded as a PyTorch checkpoint (')


def test_weights_trained_on_other_inputs_are_warned_about(monkeypatch):
    """The CMU OpenPose config (BGR) and the one trained here (RGB) build the
    same network: weights trained with one fit the other and pass; the config
    the runner saved with them (``meta['cfg']``) shows the other channel order,
    which is warned about, naming both; the same config, or a checkpoint
    without one (converted), gives no warning."""
    from mmengine.config import Config

    from custom_modules.apis import checkpoint_check
    configs = REPO_ROOT / 'configs/mln'
    trained_here = Config.fromfile(
        configs / 'paf_openpose-vgg19_1xb28-100e_coco-368x368.py')
    cmu = Config.fromfile(configs / 'paf_openpose-vgg19_cmu-coco-368x368.py')
    warnings = []
    monkeypatch.setattr(
        checkpoint_check,
        'print_log',
        lambda message, logger=None, level=None: warnings.append(message))
    net = Net()
    checkpoint = {
        'state_dict': net.state_dict(),
        'meta': {
            'cfg': trained_here.pretty_text
        }
    }
    for config, meta in ((trained_here, checkpoint['meta']), (cmu, {})):
        net.cfg = config
        check_checkpoint_matches(net, dict(checkpoint, meta=meta), 'a.pth')
    assert warnings == []
    net.cfg = cmu
    check_checkpoint_matches(net, checkpoint, 'a.pth')
    assert warnings == [
        f'a.pth: trained on other inputs than {cmu.filename} (Net) makes (its '
        'data_preprocessor: bgr_to_rgb True (trained) vs False (this '
        'config)): its predictions will be wrong; use the config it was '
        'trained with'
    ]


def test_the_saved_config_is_read_not_run(tmp_path, monkeypatch):
    """A checkpoint's ``meta['cfg']`` is Python: reading its input settings
    must not run it (mmengine's ``Config.fromstring`` would: a checkpoint could
    run any code when it is checked).

    Its plain ``model = dict(...)``
    is still read; a setting that is no literal reads as nothing.
    """
    from mmengine.config import Config

    from custom_modules.apis import checkpoint_check
    ran = tmp_path / 'ran'
    text = (f'import pathlib\npathlib.Path({str(ran)!r}).touch()\n'
            'model = dict(type="X", data_preprocessor=dict(bgr_to_rgb=True, '
            'mean=[1, 2, 3]))\n')
    assert checkpoint_check.saved_input_settings(text) == dict(
        bgr_to_rgb=True, mean=[1, 2, 3])
    net = Net()
    net.cfg = Config(
        dict(
            model=dict(
                data_preprocessor=dict(bgr_to_rgb=True, mean=[1, 2, 3]))))
    warnings = []
    monkeypatch.setattr(
        checkpoint_check,
        'print_log',
        lambda message, logger=None, level=None: warnings.append(message))
    check_checkpoint_matches(
        net, {
            'state_dict': net.state_dict(),
            'meta': {
                'cfg': text.replace('True', 'False')
            }
        }, 'a.pth')
    assert not ran.exists()
    assert len(warnings) == 1 and 'bgr_to_rgb False (trained) vs True' in (
        warnings[0])
    assert checkpoint_check.saved_input_settings(
        'model = dict(data_preprocessor=dict(mean=__import__("os")))') is None
    # no mean is the mean 0: no difference
    net.cfg = Config(dict(model=dict(data_preprocessor=dict(mean=None))))
    assert checkpoint_check.input_differences(
        {
            'meta': {
                'cfg': 'model = dict(data_preprocessor=dict(mean=[0, 0, 0]))'
            }
        }, net) == []
