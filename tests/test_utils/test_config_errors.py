# Copyright (c) OpenMMLab. All rights reserved.
"""A config's misspelt, missing and unregistered keys named with the config and
the key, through mmengine's own builds."""
import pytest
from mmengine.config import Config
from mmengine.registry import MODELS as ENGINE_MODELS
from mmengine.runner import Runner
from mmpose.registry import MODELS

from custom_modules.utils import (ConfigArgumentError, UnregisteredTypeError,
                                  explain_config_errors)


def head_cfg(**changes) -> dict:
    head = dict(type='HeatmapHead', in_channels=8, out_channels=17)
    head.update(changes)
    return {k: v for k, v in head.items() if v is not None}


def resize(width: int) -> None:
    """A function a component calls with the wrong argument."""


def build_error(cfg: Config, build, options: dict = None) -> Exception:
    with pytest.raises(Exception) as info:
        with explain_config_errors('my_config.py', cfg, options):
            build()
    return info.value


def test_a_misspelt_key_names_the_config_the_path_and_a_close_name():
    cfg = Config(
        dict(model=dict(head=head_cfg(out_chanels=17, out_channels=None))))
    err = build_error(cfg, lambda: MODELS.build(cfg.model.head))
    assert isinstance(err, ConfigArgumentError)
    assert isinstance(err, TypeError)  # callers catching TypeError still do
    assert str(err).startswith(
        'my_config.py: model.head.out_chanels: HeatmapHead takes no argument '
        "'out_chanels' (did you mean 'out_channels'?)")
    # the one left out is named too
    assert ("model.head: HeatmapHead needs the argument 'out_channels', which "
            'is not given') in str(err)


def test_every_place_of_a_misspelt_key_is_listed():
    pipeline = [dict(type='RandomFlip', probb=0.5)]
    cfg = Config(
        dict(
            train_pipeline=pipeline,
            test_dataloader=dict(dataset=dict(pipeline=pipeline))))
    err = build_error(cfg, lambda: MODELS.build(cfg.train_pipeline[0]))
    # RandomFlip is in mmpose's TRANSFORMS, not MODELS: the registry's
    # KeyError is named as one of a type no registry holds
    assert isinstance(err, UnregisteredTypeError)
    assert "'RandomFlip'" in str(err) and 'custom_imports' in str(err)
    # not a type of this config (another file's: --det-model's): as it was
    err = build_error(
        Config(dict()), lambda: MODELS.build(cfg.train_pipeline[0]))
    assert type(err) is KeyError

    from mmpose.registry import TRANSFORMS
    err = build_error(cfg, lambda: TRANSFORMS.build(cfg.train_pipeline[0]))
    assert isinstance(err, ConfigArgumentError)
    assert ('my_config.py: train_pipeline[0].probb (and 1 more: '
            'test_dataloader.dataset.pipeline[0].probb): RandomFlip takes no '
            "argument 'probb' (did you mean 'prob'?)") == str(err)


def test_a_typeerror_raised_inside_a_component_keeps_its_traceback():

    @ENGINE_MODELS.register_module(force=True)
    class BrokenInside:

        def __init__(self, size: int) -> None:
            len(size)  # TypeError: object of type 'int' has no len()

    cfg = Config(dict(model=dict(type='BrokenInside', size=3)))
    err = build_error(cfg, lambda: ENGINE_MODELS.build(cfg.model))
    assert type(err) is TypeError and 'has no len()' in str(err)

    @ENGINE_MODELS.register_module(force=True)
    class CallsWrongly:

        def __init__(self, size: int) -> None:
            resize(size=size)  # the component's own mistake

    cfg = Config(dict(model=dict(type='CallsWrongly', size=3)))
    err = build_error(cfg, lambda: ENGINE_MODELS.build(cfg.model))
    assert type(err) is TypeError and 'resize()' in str(err)


def test_an_argument_added_by_code_not_the_config_is_no_config_error():
    cfg = Config(dict(model=dict(head=head_cfg())))
    err = build_error(
        cfg, lambda: MODELS.build(
            cfg.model.head, default_args=dict(not_an_argument=1)))
    assert type(err) is TypeError and 'not_an_argument' in str(err)


def test_a_dataloader_key_is_found_under_its_dataloader():
    cfg = Config(
        dict(
            # a template: no dataset of its own, no fault
            base_dataloader=dict(batch_size=1),
            val_dataloader=dict(
                batch_size=1,
                persistent_worker=True,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=list(range(4)))))
    err = build_error(cfg, lambda: Runner.build_dataloader(cfg.val_dataloader))
    assert isinstance(err, ConfigArgumentError), err
    assert str(err) == (
        'my_config.py: val_dataloader.persistent_worker: DataLoader takes no '
        "argument 'persistent_worker' (did you mean 'persistent_workers'?)")
    # mmengine's own TypeError in build_dataloader is no argument of the
    # config's
    cfg = Config(
        dict(
            base_dataloader=dict(batch_size=1),
            val_dataloader=dict(
                batch_size=1,
                collate_fn=dict(type='no_such_collate'),
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=list(range(4)))))
    err = build_error(cfg, lambda: Runner.build_dataloader(cfg.val_dataloader))
    assert type(err) is not ConfigArgumentError


def test_other_errors_pass_unchanged():
    cfg = Config(dict())
    with pytest.raises(KeyError, match='no such key'):
        with explain_config_errors('my_config.py', cfg):
            raise KeyError('no such key')
    with pytest.raises(ValueError, match='other'):
        with explain_config_errors('my_config.py', cfg):
            raise ValueError('other')


@pytest.mark.parametrize('kind', ['kwargs', 'visualizer'])
def test_a_key_passed_on_by_kwargs_is_named_where_it_is_refused(kind):
    """``super().__init__(**kwargs)`` (and mmengine's ``get_instance`` of a
    visualizer): Python refuses the key in a base class's ``__init__``."""
    from mmpose.registry import VISUALIZERS

    from custom_modules.backbones import HSRNet  # noqa: F401
    if kind == 'kwargs':
        cfg = Config(
            dict(
                model=dict(
                    backbone=dict(type='HSRNet', depth=59, base_channel=8))))
        err = build_error(cfg, lambda: MODELS.build(cfg.model.backbone))
        expected = ('model.backbone.base_channel: HSRNet takes no argument '
                    "'base_channel' (did you mean 'base_channels'?)")
    else:
        cfg = Config(
            dict(
                visualizer=dict(
                    type='PAFPoseLocalVisualizer', name='v', alphaa=0.5)))
        err = build_error(cfg, lambda: VISUALIZERS.build(cfg.visualizer))
        expected = ('visualizer.alphaa: PAFPoseLocalVisualizer takes no '
                    "argument 'alphaa' (did you mean 'alpha'?)")
    assert isinstance(err, ConfigArgumentError), err
    assert str(err) == f'my_config.py: {expected}'


def test_a_key_of_the_command_line_is_said_to_be():
    cfg = Config(dict(model=dict(head=head_cfg(in_channel=8))))
    err = build_error(
        cfg,
        lambda: MODELS.build(cfg.model.head),
        options={'model.head.in_channel': 8})
    assert str(err).startswith('my_config.py: model.head.in_channel '
                               '(--cfg-options): HeatmapHead takes no')


def test_dicts_typed_by_code_or_by_an_alias_are_found():
    """``optim_wrapper`` without ``type`` (mmengine's OptimWrapper by default),
    ``init_cfg`` of type ``'Kaiming'`` (``KaimingInit``), ``norm_cfg`` (mmcv's
    ``build_norm_layer`` calls the class itself), a hook without ``__init__``
    (``object``'s: "takes no arguments")."""
    import torch
    from mmcv.cnn import build_norm_layer
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import HOOKS, WEIGHT_INITIALIZERS
    model = torch.nn.Linear(2, 2)
    cfg = Config(
        dict(
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.1), clip_gradd=None),
            model=dict(
                init_cfg=dict(type='Kaiming', layer='Conv2d', modee='x'),
                norm_cfg=dict(type='BN', requires_grad=True, epss=1e-3)),
            custom_hooks=[dict(type='FiniteLossHook', foo=1)]))
    cases = [
        (lambda: build_optim_wrapper(model, cfg.optim_wrapper),
         'optim_wrapper.clip_gradd: OptimWrapper takes no argument '
         "'clip_gradd' (did you mean 'clip_grad'?)"),
        (lambda: WEIGHT_INITIALIZERS.build(cfg.model.init_cfg),
         "model.init_cfg.modee: KaimingInit takes no argument 'modee' (did "
         "you mean 'mode'?)"),
        (lambda: build_norm_layer(cfg.model.norm_cfg, 4),
         "model.norm_cfg.epss: BatchNorm2d takes no argument 'epss' (did you "
         "mean 'eps'?)"),
        (lambda: HOOKS.build(cfg.custom_hooks[0]),
         "custom_hooks[0].foo: FiniteLossHook takes no argument 'foo'"),
    ]
    for build, expected in cases:
        err = build_error(cfg, build)
        assert isinstance(err, ConfigArgumentError), err
        assert str(err) == f'my_config.py: {expected}'


def test_a_loop_config_without_type_is_named():
    cfg = Config(dict(train_cfg=dict(by_epoch=True, max_epoch=3)))

    class FakeRunner:
        _train_dataloader = None

    err = build_error(
        cfg, lambda: Runner.build_train_loop(FakeRunner(), cfg.train_cfg))
    assert str(err) == (
        'my_config.py: train_cfg.max_epoch: EpochBasedTrainLoop takes no '
        "argument 'max_epoch' (did you mean 'max_epochs'?); train_cfg: "
        "EpochBasedTrainLoop needs the argument 'max_epochs', which is not "
        'given')


def test_the_explainer_never_replaces_the_error_it_explains():
    """A config dict with a key that is no string: Python's own error stays."""
    cfg = Config(dict())
    err = build_error(cfg, lambda: ENGINE_MODELS.build({
        'type': 'Conv2d',
        3: 4
    }))
    assert type(err) is TypeError


def test_a_checkpoint_hook_key_that_would_fail_at_the_first_save_is_refused():
    """mmengine's CheckpointHook takes any key (``**kwargs``) and passes it to
    ``Runner.save_checkpoint`` when it saves."""
    from mmengine.hooks import CheckpointHook

    from custom_modules.utils import check_checkpoint_hooks
    cfg = Config(
        dict(
            default_hooks=dict(
                checkpoint=dict(type='CheckpointHook', max_keep_ckpt=3))))

    class FakeRunner:
        save_checkpoint = Runner.save_checkpoint

        def __init__(self, hook_cfg: dict) -> None:
            self.cfg = cfg
            self.hooks = [CheckpointHook(**hook_cfg)]

    with pytest.raises(ConfigArgumentError) as info:
        check_checkpoint_hooks(
            FakeRunner(dict(max_keep_ckpt=3)), 'my_config.py',
            {'default_hooks.checkpoint.max_keep_ckpt': 3})
    assert str(info.value) == (
        'my_config.py: default_hooks.checkpoint.max_keep_ckpt '
        "(--cfg-options): CheckpointHook passes 'max_keep_ckpt' on to "
        'FakeRunner.save_checkpoint, which takes no such argument (did you '
        "mean 'max_keep_ckpts'?)")
    # the hook gives save_checkpoint its meta itself
    with pytest.raises(ConfigArgumentError) as info:
        check_checkpoint_hooks(FakeRunner(dict(meta={})), 'my_config.py')
    assert str(info.value) == (
        'my_config.py: CheckpointHook.meta: CheckpointHook gives '
        "FakeRunner.save_checkpoint its 'meta' itself; given again, the "
        'first save fails')
    # the hook's own arguments pass
    check_checkpoint_hooks(
        FakeRunner(dict(interval=1, save_optimizer=False)), 'my_config.py')


def test_a_misspelt_top_level_key_is_named_and_no_config_has_one():
    from pathlib import Path

    from custom_modules.utils.config_errors import misspelt_top_level_keys
    cfg = Config(
        dict(
            param_scheduler=[dict(type='LinearLR')],
            param_schedulerr=[dict(type='MultiStepLR')],
            optim_wrapper=dict(),
            optim_wrapper_cfg=dict(),  # a variable of the config's
            codec=dict(type='MSRAHeatmap')))
    assert misspelt_top_level_keys(cfg) == [
        "'param_schedulerr' is read by nothing (did you mean "
        "'param_scheduler'?)"
    ]
    configs = sorted(Path(__file__).parents[2].glob('configs/*/*.py'))
    assert len(configs) > 40
    from custom_modules.utils import check_paramwise_cfg
    for config in configs:
        cfg = Config.fromfile(config)
        assert misspelt_top_level_keys(cfg) == [], config
        check_paramwise_cfg(cfg, str(config))


def test_a_paramwise_cfg_key_the_constructor_does_not_read_is_refused():
    from custom_modules.utils import check_paramwise_cfg
    cfg = Config(
        dict(
            optim_wrapper=dict(
                optimizer=dict(type='SGD', lr=0.01),
                paramwise_cfg=dict(bias_lr_mul=2.0, bias_decay_mult=0.0))))
    with pytest.raises(ConfigArgumentError) as info:
        check_paramwise_cfg(cfg, 'my_config.py')
    assert str(info.value) == (
        'my_config.py: optim_wrapper.paramwise_cfg.bias_lr_mul: '
        "DefaultOptimWrapperConstructor reads no 'bias_lr_mul' (did you mean "
        "'bias_lr_mult'?)")
    # another constructor reads its own keys
    cfg.optim_wrapper.constructor = 'LayerDecayOptimWrapperConstructor'
    check_paramwise_cfg(cfg, 'my_config.py')


def test_the_paramwise_keys_are_those_mmengine_reads():
    import ast
    import inspect

    from mmengine.optim import DefaultOptimWrapperConstructor

    from custom_modules.utils.config_errors import PARAMWISE_KEYS
    tree = ast.parse(
        inspect.getsource(inspect.getmodule(DefaultOptimWrapperConstructor)))
    read = {
        node.args[0].value
        for node in ast.walk(tree) if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute) and node.func.attr == 'get'
        and getattr(node.func.value, 'attr', None) == 'paramwise_cfg'
    }
    assert read == PARAMWISE_KEYS
