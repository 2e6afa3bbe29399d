# Copyright (c) OpenMMLab. All rights reserved.
"""The model index (``model-index.yml`` and the ``configs/*/metafile.yml`` it
imports) that openmim's ``mim search`` reads: it lists every config of the
project once, under its own name, in a collection that exists, with the paper's
results (when any) marked as the paper's."""
import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_INDEX = REPO_ROOT / 'model-index.yml'
# configs that are not models of the zoo: the quarter-width sample configs of
# `make demo`
EXCLUDED_CONFIG_DIRS = ('demo', )
RESULTS_SOURCE = 'reported in the paper, not reproduced here (no checkpoint)'
# configs for weights published by others (converted by
# tools/model_converters/)
WEIGHTS_RESULTS_SOURCE = ('reported by the authors for these weights, not '
                          'reproduced here')


def load_yaml(path: Path):
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def load_index():
    """Collections and models of the root index and of the files it imports
    (paths relative to the importing file, as the ``modelindex`` package
    resolves them), each with the file it came from."""
    root = load_yaml(MODEL_INDEX)
    assert isinstance(
        root,
        dict) and root.get('Import'), 'model-index.yml must import metafiles'
    collections, models = [], []
    for entry in [(MODEL_INDEX, root)] + [(MODEL_INDEX.parent / p, None)
                                          for p in root['Import']]:
        path, data = entry
        assert path.is_file(), f'imported metafile {path} does not exist'
        data = data if data is not None else load_yaml(path)
        collections += [(path, c) for c in data.get('Collections') or []]
        models += [(path, m) for m in data.get('Models') or []]
    return collections, models


COLLECTIONS, MODELS = load_index()


def repo_configs():
    return sorted(
        p.relative_to(REPO_ROOT).as_posix()
        for p in (REPO_ROOT / 'configs').rglob('*.py')
        if p.relative_to(REPO_ROOT / 'configs').parts[0] not in
        EXCLUDED_CONFIG_DIRS and '_base_' not in p.parts)


def model_id(item) -> str:
    return item[1].get('Name', '?')


def test_imports_are_unique_and_metafiles_import_nothing():
    imports = load_yaml(MODEL_INDEX)['Import']
    assert len(imports) == len(set(imports))
    for path in imports:
        assert 'Import' not in load_yaml(MODEL_INDEX.parent / path), path


def test_every_config_is_listed_exactly_once():
    listed = [m['Config'] for _, m in MODELS]
    duplicates = sorted({c for c in listed if listed.count(c) > 1})
    assert not duplicates, f'configs listed more than once: {duplicates}'
    missing = sorted(set(repo_configs()) - set(listed))
    assert not missing, f'configs not in the model index: {missing}'
    unknown = sorted(set(listed) - set(repo_configs()))
    assert not unknown, f'model index entries without a config file: {unknown}'


@pytest.mark.parametrize('item', MODELS, ids=model_id)
def test_model_entry(item):
    path, model = item
    fields = {
        'Name', 'Alias', 'Config', 'In Collection', 'Metadata', 'Results'
    }
    assert set(model) <= fields, (
        'unexpected fields (no checkpoints exist, so no Weights): '
        f'{set(model) - fields}')
    assert all(
        isinstance(a, str) and a == a.lower() for a in model.get('Alias', []))
    config = REPO_ROOT / model['Config']
    assert config.is_file(), model['Config']
    # metafiles live next to their configs
    assert config.parent == path.parent, (f'{model["Config"]} is listed in '
                                          f'{path}')
    assert model['Name'] == config.stem
    metadata = model['Metadata']
    assert metadata['Training Data'] == 'COCO'
    assert metadata['Architecture'] and all(
        isinstance(a, str) and a for a in metadata['Architecture'])
    schedule = re.search(r'_(\d+)xb(\d+)-', config.stem)
    # a config for published weights trained elsewhere (e.g. `_cmu-`)
    if schedule is None:
        assert 'Training Resources' not in metadata
        return
    gpus, batch = map(int, schedule.groups())
    assert metadata['Training Resources'] == \
        f'{gpus} GPU{"s" if gpus > 1 else ""} x {batch} images'


def test_names_and_aliases_are_unique():
    names = [m['Name'] for _, m in MODELS
             ] + [a for _, m in MODELS for a in m.get('Alias', [])]
    assert len(names) == len(set(names))


def test_collections_exist_and_have_readmes():
    names = [c['Name'] for _, c in COLLECTIONS]
    assert len(names) == len(set(names)), names
    used = {m['In Collection'] for _, m in MODELS}
    assert used <= set(names), f'unknown collections: {used - set(names)}'
    assert set(names) <= used, f'empty collections: {set(names) - used}'
    for _, collection in COLLECTIONS:
        assert (REPO_ROOT /
                collection['README']).is_file(), collection['README']
        paper = collection['Paper']
        assert isinstance(paper['Title'], str) and paper['Title']
        assert set(paper) <= {'Title', 'URL'}
        if 'URL' in paper:
            assert paper['URL'].startswith('https://')


@pytest.mark.parametrize(
    'item', [m for m in MODELS if 'Results' in m[1]], ids=model_id)
def test_results_are_the_papers(item):
    _, model = item
    # a result is the paper's number, never one measured here: it says so
    assert model['Metadata'].get('Results source') in (RESULTS_SOURCE,
                                                       WEIGHTS_RESULTS_SOURCE)
    assert model['Results'], 'an empty Results list: leave the field out'
    for result in model['Results']:
        assert set(result) == {'Task', 'Dataset', 'Metrics'}
        assert result['Task'] == 'Body 2D Keypoint'
        assert result['Dataset'] in ('COCO val2017', 'COCO val2014',
                                     'COCO minival', 'COCO test-dev')
        assert result['Metrics'] and 'AP' in result['Metrics']
        for name, value in result['Metrics'].items():
            assert isinstance(value, float) and 0 < value <= 100, (name, value)


def test_models_without_results_claim_no_source():
    for _, model in MODELS:
        if 'Results' not in model:
            assert 'Results source' not in model['Metadata'], model['Name']


def test_ap_uses_one_scale():
    """AP is a fraction in every entry, as in mmpose's own metafiles (0.746,
    not 74.6), so that ``mim search`` shows the project's and mmpose's models
    on one scale."""
    values = [
        r['Metrics']['AP'] for _, m in MODELS for r in m.get('Results', [])
    ]
    assert values and all(v <= 1 for v in values), values


def test_architecture_names_are_the_configs_types():
    """Every name under Architecture is a registered ``type`` of the config's
    model or codec (scope prefixes such as ``mmdet.`` dropped)."""
    from mmengine.config import Config

    def types_in(node):
        if isinstance(node, dict):
            if isinstance(node.get('type'), str):
                yield node['type'].split('.')[-1]
            for value in node.values():
                yield from types_in(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                yield from types_in(value)

    for _, model in MODELS:
        cfg = Config.fromfile(REPO_ROOT / model['Config'])
        types = set(types_in(cfg.model.to_dict())) | set(
            types_in(cfg.get('codec', {})))
        unknown = set(model['Metadata']['Architecture']) - types
        assert not unknown, (f'{model["Name"]}: {unknown} not in '
                             f'{sorted(types)}')
