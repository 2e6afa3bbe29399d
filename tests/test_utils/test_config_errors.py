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


def build_error(cfg: Config, build) -> Exception:
    with pytest.raises(Exception) as info:
        with explain_config_errors('my_config.py', cfg):
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


def test_an_argument_added_by_code_not_the_config_is_no_config_error():
    cfg = Config(dict(model=dict(head=head_cfg())))
    err = build_error(
        cfg, lambda: MODELS.build(
            cfg.model.head, default_args=dict(not_an_argument=1)))
    assert type(err) is TypeError and 'not_an_argument' in str(err)


def test_a_dataloader_key_is_found_under_its_dataloader():
    cfg = Config(
        dict(
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


def test_other_errors_pass_unchanged():
    cfg = Config(dict())
    with pytest.raises(KeyError, match='no such key'):
        with explain_config_errors('my_config.py', cfg):
            raise KeyError('no such key')
    with pytest.raises(ValueError, match='other'):
        with explain_config_errors('my_config.py', cfg):
            raise ValueError('other')
