"""``tools/dist_train.sh CONFIG 2`` trains one model with two processes (gloo on a CPU machine)."""
import socket

import torch


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_dist_train_two_processes_one_epoch(demo_config, run_tool, tmp_path):
    run_tool(['bash', 'tools/dist_train.sh', str(demo_config), '2', '--work-dir',
                     str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
                     'train_cfg.val_interval=100'], env=dict(PORT=str(free_port())))
    checkpoints = sorted(p.name for p in tmp_path.glob('*.pth'))
    assert checkpoints == ['epoch_1.pth']
    ckpt = torch.load(tmp_path / 'epoch_1.pth', map_location='cpu', weights_only=False)
    # 12 people, batch 4 per process, 2 processes: 2 iterations (the sampler pads 12 to 16).
    assert ckpt['meta']['iter'] == 2
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert 'Epoch(train) [1][2/2]' in log
