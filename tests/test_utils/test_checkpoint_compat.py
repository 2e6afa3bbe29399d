# Copyright (c) OpenMMLab. All rights reserved.
"""torch >= 2.6 loads checkpoints with ``weights_only=True``; mmengine 0.10.7
does not pass ``weights_only``.

These tests write a checkpoint holding what mmengine's CheckpointHook puts in
one (message hub with HistoryBuffers, NumPy dataset meta) and load it through
mmengine, each step in a fresh interpreter so that torch's allow-list and
HistoryBuffer start as mmengine ships them.
"""
import os
import subprocess
import sys
import textwrap

WRITE_CHECKPOINT = '''
import numpy as np, torch
{import_fix}
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import save_checkpoint
hub = MessageHub.get_instance('writer')
for step, loss in enumerate([0.5, 0.25, 0.125]):
    hub.update_scalar('train/loss', loss)
hub.update_info('iter', 3)
checkpoint = dict(
    meta=dict(epoch=1, iter=3, message_hub=hub.state_dict(),
              dataset_meta=dict(
                  sigmas=np.linspace(0.025, 0.107, 17, dtype=np.float32),
                  num_keypoints=np.int64(17), flip_indices=[0, 2, 1])),
    state_dict=torch.nn.Linear(3, 2).state_dict())
save_checkpoint(checkpoint, {path!r})
'''

LOAD_CHECKPOINT = '''
import sys
import numpy as np, torch
{import_fix}
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint
model = torch.nn.Linear(3, 2)
load_checkpoint(model, {path!r}, map_location='cpu')
ckpt = _load_checkpoint({path!r}, map_location='cpu')
meta = ckpt['meta']
assert meta['iter'] == 3
np.testing.assert_allclose(meta['dataset_meta']['sigmas'][[0, -1]],
                           [0.025, 0.107], rtol=1e-6)
assert meta['dataset_meta']['num_keypoints'] == 17
losses = meta['message_hub']['log_scalars']['train/loss'].data[0]
np.testing.assert_allclose(losses, [0.5, 0.25, 0.125])
print('LOADED')
'''

FIX = 'import custom_modules'


def run_python(code: str, env: dict = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c',
                           textwrap.dedent(code)],
                          capture_output=True,
                          text=True,
                          timeout=300,
                          env=dict(os.environ, **(env or {})))


def write_checkpoint(path: str, import_fix: str) -> str:
    proc = run_python(
        WRITE_CHECKPOINT.format(path=path, import_fix=import_fix))
    assert proc.returncode == 0, proc.stderr
    return path


def test_mmengine_alone_cannot_load_its_own_checkpoint(tmp_path):
    """The breakage this project works around: without the fix the load
    fails."""
    path = write_checkpoint(str(tmp_path / 'plain.pth'), import_fix='')
    proc = run_python(LOAD_CHECKPOINT.format(path=path, import_fix=''))
    assert proc.returncode != 0
    assert 'Weights only load failed' in proc.stderr


def test_checkpoints_written_with_the_fix_load_weights_only(tmp_path):
    """What this project's training writes (it imports custom_modules) loads
    back through mmengine."""
    path = write_checkpoint(str(tmp_path / 'fixed.pth'), import_fix=FIX)
    proc = run_python(LOAD_CHECKPOINT.format(path=path, import_fix=FIX))
    assert proc.returncode == 0, proc.stderr
    assert 'LOADED' in proc.stdout


def test_plain_mmengine_checkpoints_need_the_documented_opt_in(tmp_path):
    """mmengine's own pickles hold ``getattr`` calls, which stay refused;
    torch's documented ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` loads a trusted
    one, and its HistoryBuffers restore."""
    path = write_checkpoint(str(tmp_path / 'plain.pth'), import_fix='')
    refused = run_python(LOAD_CHECKPOINT.format(path=path, import_fix=FIX))
    assert refused.returncode != 0
    assert 'getattr' in refused.stderr
    trusted = run_python(
        LOAD_CHECKPOINT.format(path=path, import_fix=FIX),
        env=dict(TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD='1'))
    assert trusted.returncode == 0, trusted.stderr
    assert 'LOADED' in trusted.stdout


def test_history_buffer_keeps_custom_statistics_across_a_weights_only_load(
        tmp_path):
    path = str(tmp_path / 'buffer.pth')
    code = f'''
    import torch
    {FIX}
    from mmengine.logging import HistoryBuffer

    @HistoryBuffer.register_statistics
    def spread(self):
        return self.max() - self.min()

    buffer = HistoryBuffer()
    for value in (3.0, 1.0, 7.0):
        buffer.update(value)
    torch.save(dict(buffer=buffer), {path!r})
    loaded = torch.load({path!r}, weights_only=True)['buffer']
    assert loaded.statistics('spread') == 6.0, loaded.statistics('spread')
    assert loaded.mean(2) == 4.0
    assert 'statistics_method_names' not in vars(loaded)
    print('OK')
    '''
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert 'OK' in proc.stdout


def test_arbitrary_pickled_objects_are_still_refused(tmp_path):
    """The fix allow-lists data classes only: loading stays free of arbitrary
    code execution."""
    path = str(tmp_path / 'evil.pth')
    code = f'''
    import argparse, torch
    torch.save(dict(meta=argparse.Namespace(a=1), state_dict={{}}), {path!r})
    import custom_modules
    from mmengine.runner.checkpoint import _load_checkpoint
    _load_checkpoint({path!r}, map_location='cpu')
    '''
    proc = run_python(code)
    assert proc.returncode != 0
    assert 'argparse.Namespace' in proc.stderr
