"""Packaging for mmpose-multilevel (import package ``custom_modules``).

The OpenMMLab stack itself is installed by ``make setup`` (``tools/misc/setup_env.sh``) from
``requirements/constraints.txt``: mmcv must be built with its ops and mmpose without its unused
``chumpy`` dependency, which ``install_requires`` cannot express.
"""
from setuptools import find_packages, setup

setup(
    name='mmpose-multilevel',
    version='0.1.0',
    description='Multi-level multi-person pose estimation (HSR-MSNet, MLPE, MLN, SMPR) for MMPose 1.x',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['custom_modules', 'custom_modules.*']),
    install_requires=['mmpose>=1.3.0', 'mmdet>=3.0.0', 'mmcv>=2.0.0,<2.2.0', 'mmengine>=0.10.0'],
    # tools/deployment/export_onnx.py
    extras_require={'onnx': ['onnx>=1.14', 'onnxruntime>=1.16']},
    zip_safe=False,
)
