"""Command-line settings shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os.path as osp

from mmengine.config import Config


def set_work_dir(cfg: Config, work_dir: str, config_path: str) -> None:
    """``--work-dir`` if given, else the config's ``work_dir``, else ``work_dirs/<config name>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def enable_visualization(cfg: Config, args: argparse.Namespace, config_path: str) -> None:
    """Switch on the ``PoseVisualizationHook`` for ``--show`` / ``--show-dir``.

    Raises:
        KeyError: If the config has no ``default_hooks.visualization``; the message names the file.
    """
    if not (args.show or args.show_dir is not None):
        return
    if 'visualization' not in cfg.default_hooks:
        raise KeyError(f'{config_path}: --show/--show-dir need '
                       '`default_hooks.visualization=dict(type="PoseVisualizationHook")`')
    cfg.default_hooks.visualization.update(
        enable=True, show=args.show, wait_time=args.wait_time, out_dir=args.show_dir,
        interval=args.interval)
