# Copyright (c) OpenMMLab. All rights reserved.
"""This project's ``model-index.yml``: where it lies (the repository, or the
``.mim`` folder of an installed package) and the entry a model name or
``Alias`` stands for.

mmengine's ``BaseInferencer._load_model_from_metafile`` looks names up in the
index of the inferencer's *scope* package only, and only for scopes listed in
its ``MODULE2PACKAGE``. This project registers its modules in mmpose's scope,
so ``MMPoseInferencer(pose2d='mln')`` searches mmpose's index and never this
one; :class:`~.MultilevelPose2DInferencer` searches this one first
(:func:`find_model`).
"""
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config
from mmengine.infer import BaseInferencer

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # custom_modules/


def model_index_dir() -> Optional[Path]:
    """The folder with ``model-index.yml`` and ``configs/``: the repository
    root of a source checkout or an editable install, else
    ``custom_modules/.mim`` of a regular install; None if neither has one."""
    for folder in (PACKAGE_DIR.parent, PACKAGE_DIR / '.mim'):
        if ((folder / 'model-index.yml').is_file()
                and (folder / 'configs').is_dir()):
            return folder
    return None


def _entries(folder: Optional[Path]) -> List[dict]:
    """The model entries of the ``model-index.yml`` in ``folder`` (none for
    None)."""
    if folder is None:
        return []
    return list(BaseInferencer._get_models_from_metafile(str(folder)))


def _aliases(entry: dict) -> List[str]:
    aliases = entry.get('Alias', [])
    return [aliases] if isinstance(aliases, str) else list(aliases)


def model_aliases() -> Dict[str, str]:
    """``{alias: model name}`` of this project's index (mmpose's
    ``get_model_aliases`` for it)."""
    return {
        alias: entry['Name']
        for entry in _entries(model_index_dir())
        for alias in _aliases(entry)
    }


def _names(entry: dict) -> List[str]:
    """The entry's ``Name`` and ``Alias``es, lower case (how mmengine compares
    them)."""
    return [name.lower() for name in [entry['Name'], *_aliases(entry)]]


def find_model(name: str) -> Optional[Tuple[Config, Optional[str]]]:
    """``(config, weights)`` of the index entry whose ``Name`` or one of whose
    ``Alias``es is ``name`` (case-insensitive); ``weights`` is the entry's
    ``Weights`` or None where it has none (no entry of this project has hosted
    weights yet).

    None if no entry matches.
    """
    folder = model_index_dir()
    for entry in _entries(folder):
        if name.lower() in _names(entry):
            weights = entry.get('Weights')
            weights = weights[0] if isinstance(weights, list) else weights
            return Config.fromfile(osp.join(folder, entry['Config'])), weights
    return None


def is_model_name(name: str) -> bool:
    """Whether ``name`` is a model name or alias of this project's index or of
    mmpose's (the two :class:`~.MultilevelPose2DInferencer` looks in)."""
    mmpose_dir = Path(BaseInferencer._get_repo_or_mim_dir('mmpose'))
    return any(name.lower() in _names(entry)
               for folder in (model_index_dir(), mmpose_dir)
               for entry in _entries(folder))
