"""Packaging for mmpose-multilevel (import package ``custom_modules``).

The OpenMMLab stack itself is installed by ``make setup``
(``tools/misc/setup_env.sh``) from ``requirements/constraints.txt``: mmcv must
be built with its ops and mmpose without its unused ``chumpy`` dependency,
which ``install_requires`` cannot express.
"""
import hashlib
import shutil
import sys
from pathlib import Path
from setuptools import Extension, find_packages, setup

ROOT = Path(__file__).resolve().parent
# tests/data: the bundled COCO sample (636 KB), the default input of the demo
# configs and tools
MIM_FILES = ('model-index.yml', 'configs', 'tools', 'tests/data')
DESCRIPTION = ('Multi-level multi-person pose estimation (HSR-MSNet, MLPE, '
               'MLN, SMPR) for MMPose 1.x')


def add_mim_extension() -> None:
    """Copy the model index, the configs, the tools and the bundled sample into
    ``custom_modules/.mim/``, where openmim looks for an installed package's
    models (``mim search``) and scripts (``mim train/test/run`` run
    ``.mim/tools/train.py``, ``test.py``, ``<name>.py``), as mmpose's setup
    does. Inside ``.mim`` they keep their places relative to each other, so the
    tools and the sample configs find the sample as in a clone.

    Only for regular installs and wheels: an editable install leaves the
    package in this tree, outside the site-packages folder where mim looks, so
    mim cannot list it either way.
    """
    if {'develop', 'editable_wheel'} & set(sys.argv):
        return
    mim_dir = ROOT / 'custom_modules' / '.mim'
    shutil.rmtree(mim_dir, ignore_errors=True)
    mim_dir.mkdir()
    for name in MIM_FILES:
        source = ROOT / name
        (mim_dir / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(
                source,
                mim_dir / name,
                ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy(source, mim_dir / name)


def paf_grouping_extension() -> Extension:
    """The compiled PAF grouping, ``custom_modules/ops/csrc/paf_grouping.c``:

    plain C that ``custom_modules/ops/paf_grouping.py`` loads with ctypes. The
    source's hash is compiled in, so a stale build is refused at import; no
    floating-point contraction, so its float operations are numpy's.
    """
    source = 'custom_modules/ops/csrc/paf_grouping.c'
    digest = hashlib.sha256((ROOT / source).read_bytes()).hexdigest()[:16]
    return Extension(
        'custom_modules.ops._paf_grouping',
        sources=[source],
        define_macros=[('PAF_GROUPING_SOURCE_HASH', f'"{digest}"')],
        extra_compile_args=['-O3', '-std=c99', '-ffp-contract=off'],
        libraries=['m'])


add_mim_extension()

setup(
    name='mmpose-multilevel',
    version='0.1.0',
    description=DESCRIPTION,
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['custom_modules', 'custom_modules.*']),
    ext_modules=[paf_grouping_extension()],
    package_data={
        'custom_modules': [
            '.mim/model-index.yml', '.mim/configs/**/*', '.mim/tools/*',
            '.mim/tools/**/*', '.mim/tests/data/coco/*'
        ],
        'custom_modules.ops': ['csrc/*.c'],
    },
    install_requires=[
        'mmpose>=1.3.0', 'mmdet>=3.0.0', 'mmcv>=2.0.0,<2.2.0',
        'mmengine>=0.10.0', 'tqdm'
    ],
    # tools/deployment/export_onnx.py
    extras_require={'onnx': ['onnx>=1.14', 'onnxruntime>=1.16']},
    zip_safe=False,
)
