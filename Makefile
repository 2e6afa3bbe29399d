# mmpose-multilevel: the two commands of the README are `make demo` and `make test`.
# Each builds (or reuses) the virtual environment .venv/ first; `make setup` builds it alone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup test test-fast lint demo clean

setup:
	PYTHON=$(PYTHON) bash tools/misc/setup_env.sh

test: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest tests $(PYTEST_ARGS)

# For development: the unit tests alone, without the end-to-end ones (marker e2e, pytest.ini).
test-fast: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m pytest tests -m "not e2e" $(PYTEST_ARGS)

# mmpose's lint: flake8 (unused imports, style), isort, yapf; settings in setup.cfg. CI runs it.
lint: setup
	$(PY) -m flake8 .
	$(PY) -m isort --check-only --diff .
	$(PY) -m yapf --recursive --diff --parallel custom_modules tools tests configs setup.py

demo: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) tools/sample_demo.py

clean:
	rm -rf work_dirs .pytest_cache
