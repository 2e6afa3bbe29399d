# Copyright (c) OpenMMLab. All rights reserved.
"""``tools/test.py`` and ``tools/train.py`` stop on a user's mistake with its
message in one line and exit status 2, before any work: a checkpoint of another
model (mmengine would load it with a warning and test or train random weights)
or, to resume from, one without a training state, an output path that cannot be
written, a config ``type`` that no registry holds."""
import sys

import pytest

from conftest import (REPO_ROOT, SAMPLE_CONFIGS, run_command,
                      save_random_checkpoint)

HSR_CONFIG = REPO_ROOT / SAMPLE_CONFIGS['hsr-msnet']
MLPE_CONFIG = REPO_ROOT / SAMPLE_CONFIGS['mlpe']


def run_test_tool(config,
                  checkpoint,
                  work_dir,
                  *options: str,
                  check: bool = False):
    """``tools/test.py CONFIG CHECKPOINT --work-dir WORK_DIR [OPTIONS]``: the
    finished process (by default whatever its status)."""
    return run_command([
        sys.executable, 'tools/test.py',
        str(config),
        str(checkpoint), '--work-dir',
        str(work_dir), *options
    ],
                       check=check)


def error_lines(stderr: str, tool: str) -> list:
    return [
        line for line in stderr.splitlines()
        if line.startswith(f'{tool}: error: ')
    ]


@pytest.mark.e2e
def test_a_checkpoint_of_another_model_is_refused_before_testing(tmp_path):
    other = save_random_checkpoint(MLPE_CONFIG, tmp_path / 'mlpe.pth')
    proc = run_test_tool(HSR_CONFIG, other, tmp_path / 'work')
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, 'tools/test.py')
    assert error.startswith(f'tools/test.py: error: {other}: not a checkpoint '
                            f'of {HSR_CONFIG} (')
    assert 'Traceback' not in proc.stderr
    assert 'coco/AP' not in proc.stdout  # nothing was tested

    # the checkpoint that would be loaded is checked: --cfg-options load_from
    # overrides
    right = save_random_checkpoint(HSR_CONFIG, tmp_path / 'hsr.pth')
    proc = run_test_tool(HSR_CONFIG, right, tmp_path / 'work2',
                         '--cfg-options', f'load_from={other}')
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert str(other) in error_lines(proc.stderr, 'tools/test.py')[0]


@pytest.mark.e2e
@pytest.mark.parametrize('tool', ['tools/test.py', 'tools/train.py'])
def test_a_type_no_registry_holds_is_named_with_its_config(tool, tmp_path):
    checkpoint = ([
        str(save_random_checkpoint(HSR_CONFIG, tmp_path / 'hsr.pth'))
    ] if tool == 'tools/test.py' else [])
    proc = run_command([
        sys.executable, tool,
        str(HSR_CONFIG), *checkpoint, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options', 'model.head.type=NoSuchHead'
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, tool)
    assert (f'{HSR_CONFIG}: type \'NoSuchHead\' is not in the mmpose::model '
            'registry') in error
    assert 'Traceback' not in proc.stderr


@pytest.mark.e2e
@pytest.mark.parametrize('tool', ['tools/test.py', 'tools/train.py'])
@pytest.mark.parametrize('problem', ['missing', 'not json'])
def test_an_annotation_file_the_dataset_cannot_read_is_named(
        tool, problem, tmp_path):
    """A missing annotation file (a wrong data_root, COCO not prepared) or one
    that is not JSON: the file in one line, exit status 2, no traceback
    (before: mmpose's assertion or a JSON traceback of 30 lines)."""
    ann_file = tmp_path / 'person_keypoints.json'
    if problem == 'not json':
        ann_file.write_text('{"images": [')
    dataset = 'test_dataloader.dataset' if tool == 'tools/test.py' else (
        'train_dataloader.dataset')
    checkpoint = ([
        str(save_random_checkpoint(HSR_CONFIG, tmp_path / 'hsr.pth'))
    ] if tool == 'tools/test.py' else [])
    proc = run_command([
        sys.executable, tool,
        str(HSR_CONFIG), *checkpoint, '--work-dir',
        str(tmp_path / 'work'), '--cfg-options',
        f'{dataset}.ann_file={ann_file}', f'{dataset}.bbox_file=None'
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, tool)
    expected = ('no such annotation file (ann_file)'
                if problem == 'missing' else 'not valid JSON')
    assert error.startswith(f'{tool}: error: {ann_file}: {expected}'), error
    assert 'Traceback' not in proc.stderr


@pytest.mark.e2e
def test_weights_trained_on_other_inputs_are_warned_about(tmp_path):
    """A checkpoint whose saved config (``meta['cfg']``) fed the network RGB
    where the tested config feeds BGR: the weights fit, the test runs, and the
    log says which input setting differs."""
    import torch
    from mmengine.config import Config

    rgb_config = tmp_path / 'rgb.py'
    rgb_config.write_text(
        f'_base_ = [{str(HSR_CONFIG)!r}]\n'
        'model = dict(data_preprocessor=dict(bgr_to_rgb=False))\n')
    checkpoint = save_random_checkpoint(HSR_CONFIG, tmp_path / 'hsr.pth')
    loaded = torch.load(checkpoint, weights_only=False)
    loaded['meta']['cfg'] = Config.fromfile(HSR_CONFIG).pretty_text
    torch.save(loaded, checkpoint)
    proc = run_test_tool(rgb_config, checkpoint, tmp_path / 'work', check=True)
    assert (f'{checkpoint}: trained on other inputs than {rgb_config} '
            '(TopdownPoseEstimator) makes (its data_preprocessor: bgr_to_rgb '
            'True (trained) vs False (this config))') in proc.stdout
    assert 'coco/AP' in proc.stdout


@pytest.mark.e2e
def test_a_config_saved_by_a_resumed_training_tests_the_weights(tmp_path):
    """A config with ``resume=True`` (the one a resumed training dumps into its
    work_dir) and a weights file: tested, not resumed (mmengine would resume
    the training state, and a weights file has none)."""
    checkpoint = save_random_checkpoint(HSR_CONFIG, tmp_path / 'hsr.pth')
    proc = run_test_tool(HSR_CONFIG, checkpoint, tmp_path / 'work',
                         '--cfg-options', 'resume=True')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'coco/AP' in proc.stdout


@pytest.mark.e2e
@pytest.mark.parametrize('problem', ['garbage', 'missing'])
def test_a_checkpoint_file_that_is_no_checkpoint_is_named(problem, tmp_path):
    """A missing checkpoint, or a file that is none (a web page saved under its
    name): the file in one line, exit status 2, no traceback, and no advice to
    load it with ``weights_only=False`` (before: a traceback of ~440 lines
    after the runner was built, with torch's advice; FileNotFoundError)."""
    checkpoint = tmp_path / 'bad.pth'
    if problem == 'garbage':
        checkpoint.write_bytes(b'garbage')
    proc = run_test_tool(HSR_CONFIG, checkpoint, tmp_path / 'work')
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, 'tools/test.py')
    expected = ('cannot be read as a PyTorch checkpoint'
                if problem == 'garbage' else 'cannot be read (No such file')
    assert error.startswith(
        f'tools/test.py: error: {checkpoint}: {expected}'), error
    assert 'Traceback' not in proc.stderr
    assert 'weights_only set to False' not in proc.stderr + proc.stdout
    assert 'coco/AP' not in proc.stdout  # nothing was tested


def test_dump_to_a_file_that_is_no_pickle_is_refused_at_once(tmp_path):
    """``--dump`` must name a .pkl / .pickle file, as mmengine's DumpResults
    requires: refused by the argument parser, before the config is read
    (before: a ValueError traceback once the runner was built)."""
    proc = run_command([
        sys.executable, 'tools/test.py',
        str(tmp_path / 'no_such_config.py'),
        str(tmp_path / 'no_such.pth'), '--dump',
        str(tmp_path / 'x.json')
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, 'test.py')  # argparse's prog name
    assert f'--dump {tmp_path / "x.json"}: ' in error
    assert '.pkl' in error and 'Traceback' not in proc.stderr


def test_the_checkpoint_check_loads_what_the_runner_loads(
        tmp_path, monkeypatch):
    """load_checkpoint_file (tools/test.py's check) loads mmengine-style
    checkpoints with mmengine's loader, as the runner's ``load_from`` does, and
    checks only local paths for a file: a URL goes to the loader."""
    import torch
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import CheckpointLoader

    import custom_modules  # noqa: F401 (lets torch load mmengine's objects)
    from custom_modules.apis.checkpoint_check import (is_local_checkpoint,
                                                      load_checkpoint_file)
    checkpoint = tmp_path / 'hsr.pth'
    torch.save(
        {
            'state_dict': {
                'w': torch.ones(2)
            },
            'meta': {
                'epoch': 3
            },
            'message_hub': {
                'log_scalars': {
                    'train/loss': HistoryBuffer([1.0, 2.0], [1, 1])
                }
            }
        }, checkpoint)
    loaded = load_checkpoint_file(checkpoint)
    assert loaded['meta']['epoch'] == 3
    assert loaded['state_dict']['w'].shape == (2, )

    urls = []

    def fake_load(filename, map_location=None, logger='current'):
        urls.append(filename)
        return {'state_dict': {}}

    monkeypatch.setattr(CheckpointLoader, 'load_checkpoint', fake_load)
    for url in ('https://example.com/hsr.pth', 'torchvision://resnet50'):
        assert load_checkpoint_file(url) == {'state_dict': {}}
    assert urls == ['https://example.com/hsr.pth', 'torchvision://resnet50']
    # tools/test.py loads a local file before building the runner, a URL after
    # (rank 0 downloads it, the other processes wait)
    assert is_local_checkpoint(checkpoint) and is_local_checkpoint('a/b.pth')
    assert not any(map(is_local_checkpoint, urls))


@pytest.mark.e2e
@pytest.mark.parametrize('case', ['load_from of another model', 'resume'])
def test_train_refuses_a_checkpoint_it_cannot_start_from(case, tmp_path):
    """``load_from`` of a model none of whose weights fits (mmengine warned
    and trained random weights, exit 0; one that fits in part is fine-tuned
    from, ``test_a_partial_checkpoint_passes_only_where_asked``) and
    ``--resume`` from a weights file without a training state (mmengine's
    ``KeyError: 'epoch'``, naming no file): one line naming the checkpoint,
    exit status 2, before the first iteration."""
    if case == 'resume':
        checkpoint = save_random_checkpoint(HSR_CONFIG, tmp_path / 'hsr.pth')
        options = ['--resume', str(checkpoint), '--cfg-options']
        expected = (f'{checkpoint}: no training state (meta.epoch); it is a '
                    'weights file: to start from its weights, give '
                    f'load_from={checkpoint} without --resume')
    else:
        checkpoint = save_random_checkpoint(REPO_ROOT / SAMPLE_CONFIGS['mln'],
                                            tmp_path / 'mln.pth')
        options = ['--cfg-options', f'load_from={checkpoint}']
        expected = f'{checkpoint}: not a checkpoint of {HSR_CONFIG} ('
    proc = run_command([
        sys.executable, 'tools/train.py',
        str(HSR_CONFIG), '--work-dir',
        str(tmp_path / 'work'), *options, 'train_cfg.max_epochs=1'
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, 'tools/train.py')
    assert error.startswith(f'tools/train.py: error: {expected}'), error
    assert 'Traceback' not in proc.stderr
    assert 'Epoch(train)' not in proc.stdout + proc.stderr


@pytest.mark.parametrize('option, name', [('--dump', 'p.pkl'),
                                          ('--out', 'm.json')])
def test_an_output_path_that_cannot_be_written_is_refused_at_once(
        option, name, tmp_path):
    """An ``--out`` or ``--dump`` under a file: refused by the argument parser,
    before the config is read (before: inference ran to its end, then
    ``FileExistsError``; with ``--dump`` the metrics were lost too)."""
    a_file = tmp_path / 'afile'
    a_file.write_text('')
    proc = run_command([
        sys.executable, 'tools/test.py',
        str(tmp_path / 'no_such_config.py'),
        str(tmp_path / 'no_such.pth'), option,
        str(a_file / name)
    ],
                       check=False)
    assert proc.returncode == 2, proc.stderr[-3000:]
    [error] = error_lines(proc.stderr, 'test.py')  # argparse's prog name
    assert error.endswith(f'argument {option}: {a_file / name}: {a_file} is '
                          'a file, not a folder'), error


def test_missing_images_are_one_line_other_file_errors_keep_a_traceback(
        capsys):
    """The dataset's ``MissingImagesError`` (every training image, or test
    images, missing; its message lists them) ends as the other user errors,
    exit status 2; any other ``FileNotFoundError`` (one in the middle of a
    training is no error of the command line) keeps its traceback."""
    from custom_modules.datasets import MissingImagesError
    from custom_modules.utils import exit_on_user_error
    message = ('2 of the 2 images of a.json are missing or unusable; ...:\n'
               '  data/1.jpg: missing\n  data/2.jpg: missing')
    with pytest.raises(SystemExit) as stop:
        with exit_on_user_error('tools/test.py'):
            raise MissingImagesError(message)
    assert stop.value.code == 2
    assert capsys.readouterr().err == f'tools/test.py: error: {message}\n'
    for other in (FileNotFoundError(message),
                  FileNotFoundError(2, 'No such file or directory', 'x.json')):
        with pytest.raises(FileNotFoundError):
            with exit_on_user_error('tools/test.py'):
                raise other
