# mmpose-multilevel: the two commands of the README are `make demo` and `make test`.
# Each builds (or reuses) the virtual environment .venv/ first; `make setup` builds it alone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test demo clean

setup:
	PYTHON=$(PYTHON) bash tools/misc/setup_env.sh

test: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest tests $(PYTEST_ARGS)

demo: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) tools/sample_demo.py

clean:
	rm -rf work_dirs .pytest_cache
