# The two commands: `make conformance` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# wasmer's wheels stop at CPython 3.10: its drivers run in a venv of their own.
WASMER_VENV := .venv-wasmer
WASMER_STAMP := $(WASMER_VENV)/.installed
WASMER_PACKAGES := wasmer==1.1.0 wasmer_compiler_cranelift==1.1.0 wasmer_compiler_singlepass==1.1.0
# pip's own warnings (-qq) are off: this machine's pip config names index locations that
# do not exist for most packages, and pip warns about each ("Location 'file:///...' is
# ignored") even with --quiet. Errors still print.
PIP_INSTALL = -m pip install --quiet --quiet

# The C and Rust guest toolchains (Debian): clang for wasm32 (layout guests are
# compiled per struct schema), rustc with the wasm32 standard library (the Rust guest
# is committed; its build is checked where the toolchain is).
TOOLCHAIN_PACKAGES := clang lld wasi-libc libclang-rt-14-dev-wasm32 rustc libstd-rust-dev-wasm32

.PHONY: setup setup-python setup-wasmer setup-js setup-toolchains setup-browsers setup-browser setup-example conformance test lint guests \
	check-guests clean bench profile

setup: setup-python setup-wasmer setup-js setup-toolchains setup-browsers setup-example

setup-python: $(STAMP)

$(STAMP): pyproject.toml
	@echo "setup: $(VENV) with the project and its dev extra, from PyPI"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) $(PIP_INSTALL) --upgrade pip
	@$(PY) $(PIP_INSTALL) -e '.[dev]'
	@touch $(STAMP)

# The example third-party project (examples/third_party_runtime): installed, it adds the
# runtime demo-sandbox to the suite by entry point.
EXAMPLE_STAMP := $(VENV)/.example-installed
setup-example: $(EXAMPLE_STAMP)

$(EXAMPLE_STAMP): examples/third_party_runtime/pyproject.toml $(STAMP)
	@echo "setup: the example third-party runtime (examples/third_party_runtime) into $(VENV)"
	@$(PY) $(PIP_INSTALL) -e examples/third_party_runtime
	@touch $(EXAMPLE_STAMP)

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
	if [ -z "$$py" ]; then echo "setup: no CPython 3.10 found (python3.10 on PATH, or pyenv install 3.10); wasmer runtimes will be skipped"; exit 0; fi; \
	echo "setup: wasmer in $(WASMER_VENV) with $$py"; \
	"$$py" -m venv $(WASMER_VENV) && \
	$(WASMER_VENV)/bin/python $(PIP_INSTALL) $(WASMER_PACKAGES) && touch $(WASMER_STAMP) \
	|| echo "setup: installing wasmer failed; wasmer runtimes will be skipped"

# Bun and Deno from the npm registry, as pinned by conformance/drivers/js/package-lock.json,
# into a user cache (~/.cache/wasm-memory-conformance/js; conformance/js_engines.py), once per
# lockfile, and puppeteer-core for the browser runtimes (it downloads no browser: those are
# Debian's, setup-browsers). Without npm, or if npm ci fails, they are skipped; setup goes on.
setup-js: $(STAMP)
	@PUPPETEER_SKIP_DOWNLOAD=1 $(PY) -m conformance.js_engines || true

# Without root or apt, the layout property is skipped, saying there is no compiler.
setup-toolchains:
	@if printf 'int f(void){return 1;}' | clang --target=wasm32-wasi -nostartfiles -Wl,--no-entry \
	     -x c - -o /dev/null 2>/dev/null && [ -x /usr/bin/rustc ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "setup: apt-get install $(TOOLCHAIN_PACKAGES) (as root: the C and Rust guest toolchains)"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(TOOLCHAIN_PACKAGES) >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(TOOLCHAIN_PACKAGES) >/dev/null 2>&1)) \
	  || echo "setup: apt-get could not install the toolchains; compiled guests will be skipped"; \
	else echo "setup: no root or apt-get; compiled-guest properties need clang for wasm32"; fi

# Debian's browsers: the runtimes firefox (firefox-esr), chromium and webkit (WebKitGTK's
# WebKitWebDriver and MiniBrowser, from webkit2gtk-driver, under xvfb), each a headless page run by
# conformance/drivers/js/browser_host.js; chromium is also the browser of tests/test_html_report.py
# (report.html, driven by Playwright from the dev extra). Nothing here downloads a browser build.
# Without root or apt, those runtimes and that test are skipped, saying so.
BROWSER_PACKAGES := firefox-esr chromium xvfb webkit2gtk-driver
setup-browsers:
	@if command -v firefox-esr >/dev/null && command -v chromium >/dev/null && command -v Xvfb >/dev/null \
	     && command -v WebKitWebDriver >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "setup: apt-get install $(BROWSER_PACKAGES) (as root: the browser runtimes)"; \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(BROWSER_PACKAGES) >/dev/null 2>&1)) \
	  || echo "setup: apt-get could not install $(BROWSER_PACKAGES); the browser runtimes and the report.html browser test will be skipped"; \
	else echo "setup: no root or apt-get; the browser runtimes need Debian's $(BROWSER_PACKAGES)"; fi

# The former name (chromium alone, for the report.html test).
setup-browser: setup-browsers

# Every runtime that loads here, default profile; writes reports/latest/.
# pytest-xdist, one worker per core, each runtime's tests on one worker (loadgroup).
conformance: setup
	$(PY) -m pytest conformance/suite --wasm-profile=default -n auto --dist loadgroup $(PYTEST_ARGS)

# Where the seconds go: the suite under cProfile by layer and stage, and the self-tests by file
# (conformance/profile.py): reports/latest/profile.md
profile: setup
	$(PY) -m conformance.profile --tests --out reports/latest $(PROFILE_ARGS)

# Boundary costs per runtime, and the harness's own (conformance/bench.py): reports/latest/bench.*
bench: setup
	$(PY) -m conformance.bench --out reports/latest $(BENCH_ARGS)

# The project's own tests: self-tests of the harness, the quick profile of the
# suite on every runtime but the browsers (tests/test_browsers.py checks their bridge; make
# conformance runs the suite on them), lint and types. pytest-xdist, one worker per core: each
# runtime's tests on one worker, the self-tests by module (conformance/parallel.py).
TEST_WORKERS ?= auto
TEST_RUNTIMES ?= all,-firefox,-chromium,-webkit
test: setup
	$(PY) -m pytest tests conformance/suite --wasm-profile=quick --wasm-runtime=$(TEST_RUNTIMES) \
		-n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)
	$(PY) -m pytest examples/third_party_runtime/tests --wasm-runtime=demo-sandbox,wasmtime \
		--wasm-profile=quick --wasm-report-dir=reports/example $(PYTEST_ARGS)
	$(MAKE) lint

lint: setup-python
	$(PY) -m ruff check conformance strategies guest-modules tests examples
	$(PY) -m mypy
	$(PY) -m mypy --strict strategies tests

guests: setup-python
	$(PY) guest-modules/build.py

check-guests: setup-python
	$(PY) guest-modules/build.py --check

clean:
	rm -rf $(VENV) $(WASMER_VENV) conformance/drivers/js/node_modules reports/latest .hypothesis .mypy_cache .ruff_cache
