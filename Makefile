# The two commands: `make conformance` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# wasmer's wheels stop at CPython 3.10: its drivers run in a venv of their own.
WASMER_VENV := .venv-wasmer
WASMER_STAMP := $(WASMER_VENV)/.installed
WASMER_PACKAGES := wasmer==1.1.0 wasmer_compiler_cranelift==1.1.0 wasmer_compiler_singlepass==1.1.0
JS_DIR := conformance/drivers/js
JS_STAMP := $(JS_DIR)/node_modules/.installed

.PHONY: setup setup-python setup-wasmer setup-js conformance test lint guests check-guests clean

setup: setup-python setup-wasmer setup-js

setup-python: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A CPython 3.10: python3.10 on PATH, else the newest 3.10 pyenv has. Without
# one, the wasmer runtimes are skipped with that reason; setup goes on.
setup-wasmer:
	@if [ -f $(WASMER_STAMP) ]; then exit 0; fi; \
	py=""; \
	if python3.10 -c pass 2>/dev/null; then py=python3.10; \
	elif command -v pyenv >/dev/null; then \
	  v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.|$$)' | tail -n 1); \
	  if [ -n "$$v" ]; then py="$$(pyenv root)/versions/$$v/bin/python3.10"; fi; \
	fi; \
	if [ -z "$$py" ]; then echo "setup: no CPython 3.10 found; wasmer runtimes will be skipped"; exit 0; fi; \
	echo "setup: wasmer in $(WASMER_VENV) with $$py"; \
	"$$py" -m venv $(WASMER_VENV) && \
	$(WASMER_VENV)/bin/python -m pip install --quiet $(WASMER_PACKAGES) && touch $(WASMER_STAMP) \
	|| echo "setup: installing wasmer failed; wasmer runtimes will be skipped"

# Bun and Deno from the npm registry, as pinned by the lockfile.
setup-js:
	@if [ -f $(JS_STAMP) ]; then exit 0; fi; \
	if ! command -v npm >/dev/null; then echo "setup: no npm; bun and deno will be skipped"; exit 0; fi; \
	npm ci --prefix $(JS_DIR) --no-audit --no-fund --loglevel=error && touch $(JS_STAMP) \
	|| echo "setup: npm ci failed; bun and deno will be skipped"

# Every runtime that loads here, default profile; writes reports/latest/.
conformance: setup
	$(PY) -m pytest conformance/suite --wasm-profile=default $(PYTEST_ARGS)

# The project's own tests: self-tests of the harness, the quick profile of the
# suite on every runtime, lint and types.
test: setup
	$(PY) -m pytest tests conformance/suite --wasm-profile=quick $(PYTEST_ARGS)
	$(MAKE) lint

lint: setup-python
	$(PY) -m ruff check conformance strategies guest-modules tests
	$(PY) -m mypy
	$(PY) -m mypy --strict strategies tests

guests: setup-python
	$(PY) guest-modules/build.py

check-guests: setup-python
	$(PY) guest-modules/build.py --check

clean:
	rm -rf $(VENV) $(WASMER_VENV) $(JS_DIR)/node_modules reports/latest .hypothesis .mypy_cache .ruff_cache
