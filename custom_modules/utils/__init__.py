# Copyright (c) OpenMMLab. All rights reserved.
from .checkpoint_compat import (allow_openmmlab_checkpoint_globals,
                                openmmlab_checkpoint_globals)
from .config_errors import (ConfigArgumentError, UnregisteredTypeError,
                            check_checkpoint_hooks, check_paramwise_cfg,
                            explain_config_errors)
from .dist_utils import (PeerLostError, destroy_distributed,
                         explain_lost_peers, first_slurm_host,
                         setup_cpu_distributed, slurm_to_torch_environment)
from .output_paths import output_file, output_folder
from .runner_cli import (build_checked_runner, enable_visualization,
                         exit_on_user_error, latest_checkpoint, set_work_dir)

__all__ = [
    'allow_openmmlab_checkpoint_globals', 'openmmlab_checkpoint_globals',
    'setup_cpu_distributed', 'destroy_distributed', 'first_slurm_host',
    'slurm_to_torch_environment', 'PeerLostError', 'explain_lost_peers',
    'enable_visualization', 'exit_on_user_error', 'explain_config_errors',
    'check_checkpoint_hooks', 'check_paramwise_cfg', 'latest_checkpoint',
    'set_work_dir', 'UnregisteredTypeError', 'ConfigArgumentError',
    'output_file', 'output_folder', 'build_checked_runner'
]
