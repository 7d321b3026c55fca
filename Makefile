# The two commands: `make conformance` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup conformance test selftest lint guests check-guests clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Every runtime that loads here, default profile; writes reports/latest/.
conformance: setup
	$(PY) -m pytest conformance/suite --wasm-profile=default -p no:randomly $(PYTEST_ARGS)

# The project's own tests: self-tests of the harness, the quick profile of the
# suite on every runtime, lint and types.
test: setup
	$(PY) -m pytest tests conformance/suite --wasm-profile=quick $(PYTEST_ARGS)
	$(MAKE) lint

lint: setup
	$(PY) -m ruff check conformance strategies guest-modules tests
	$(PY) -m mypy
	$(PY) -m mypy --strict strategies tests

guests: setup
	$(PY) guest-modules/build.py

check-guests: setup
	$(PY) guest-modules/build.py --check

clean:
	rm -rf $(VENV) reports/latest .hypothesis .mypy_cache .ruff_cache
