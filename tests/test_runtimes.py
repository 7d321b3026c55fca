"""Runtime selection: ids, all, pins of an executable, and the reasons for skipping."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import js_engines, runtimes
from conformance.runtimes import BUILTIN, UnknownRuntime, named_explicitly, parse_custom, select

EXPECTED = {"wasmtime", "wasmtime-winch", "wasmtime-pulley", "wasmtime-moving-memory", "wasm3", "pywasm",
            "wasmer-cranelift", "wasmer-singlepass", "node", "bun", "deno", "firefox", "chromium", "webkit"}


def test_every_runtime_of_the_design_card_is_built_in() -> None:
    assert set(BUILTIN) == EXPECTED


def test_all_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [s.id for s in select("all", BUILTIN)] == list(BUILTIN)
    monkeypatch.setenv("WASM_CONFORMANCE_RUNTIMES", "wasm3,pywasm")
    assert [s.id for s in select(None, BUILTIN)] == ["wasm3", "pywasm"]
    monkeypatch.delenv("WASM_CONFORMANCE_RUNTIMES")
    assert [s.id for s in select(None, BUILTIN)] == list(BUILTIN)


def test_a_pin_replaces_the_executable_and_keeps_the_driver() -> None:
    (node,) = select("node=/opt/node12/bin/node", BUILTIN)
    assert node.id == "node" and node.command[0] == "/opt/node12/bin/node"
    assert node.command[1:] == BUILTIN["node"].command[1:]
    assert not node.missing


def test_a_labelled_pin_runs_beside_the_original_and_shares_its_divergences() -> None:
    specs = select("wasmtime,wasmtime@5=/venvs/wt5/bin/python", BUILTIN)
    assert [s.id for s in specs] == ["wasmtime", "wasmtime@5"]
    assert specs[1].command[0] == "/venvs/wt5/bin/python" and specs[1].family == "wasmtime"
    assert BUILTIN["wasmtime-winch"].family == "wasmtime"
    assert BUILTIN["wasmer-singlepass"].family == "wasmer"


def test_a_later_pin_of_the_same_id_wins() -> None:
    specs = select("all,deno=/usr/local/bin/deno", BUILTIN)
    assert len(specs) == len(BUILTIN)
    assert next(s for s in specs if s.id == "deno").command[0] == "/usr/local/bin/deno"


def test_a_minus_leaves_a_runtime_out_of_those_named_before_it() -> None:
    browsers = {"firefox", "chromium", "webkit"}
    specs = select("all,-firefox,-chromium,-webkit", BUILTIN)
    assert [s.id for s in specs] == [i for i in BUILTIN if i not in browsers]
    assert [s.id for s in select("wasm3,-wasm3,node", BUILTIN)] == ["node"]
    assert named_explicitly("all,-webkit,node") == {"node"}
    with pytest.raises(UnknownRuntime, match="unknown runtime 'nope'"):
        select("all,-nope", BUILTIN)
    with pytest.raises(UnknownRuntime, match="leaves no runtime"):
        select("node,-node", BUILTIN)


@pytest.mark.parametrize("names", ["nope", "wasmtime,nope", "nope=/bin/true"])
def test_unknown_names_are_refused_with_the_valid_ones(names: str) -> None:
    with pytest.raises(UnknownRuntime, match=r"unknown runtime 'nope'; valid runtimes: wasmtime, "):
        select(names, BUILTIN)


def test_a_label_needs_an_executable() -> None:
    with pytest.raises(UnknownRuntime, match="needs an executable"):
        select("node@12", BUILTIN)


def test_custom_drivers() -> None:
    spec = parse_custom("mine=node my-driver.js --flag 'a b'")
    assert spec.command == ("node", "my-driver.js", "--flag", "a b")
    with pytest.raises(UnknownRuntime, match="built-in"):
        parse_custom("wasmtime=python x.py")
    with pytest.raises(UnknownRuntime, match="ID=COMMAND"):
        parse_custom("nothing")


def _fake_pyenv(tmp_path: Path, versions: list[str]) -> Path:
    root = tmp_path / "pyenv"
    (root / "shims").mkdir(parents=True)
    shim = root / "shims" / "python3.10"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2; exit 127\n")
    shim.chmod(0o755)
    for v in versions:
        bindir = root / "versions" / v / "bin"
        bindir.mkdir(parents=True)
        (bindir / "python3.10").write_text("")
    return root


def test_a_pyenv_shim_is_never_wasmers_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a pyenv shim, the newest 3.10 pyenv has; with none, a reason that says how to get one."""
    monkeypatch.delenv("WASM_CONFORMANCE_WASMER_PYTHON", raising=False)
    monkeypatch.setattr(runtimes, "WASMER_VENV", tmp_path / "no-venv")
    root = _fake_pyenv(tmp_path, ["3.10.2", "3.10.13", "3.9.18"])
    monkeypatch.setenv("PATH", str(root / "shims"))
    python, missing = runtimes._wasmer_python()
    assert (python, missing) == (str(root / "versions" / "3.10.13" / "bin" / "python3.10"), "")
    empty = _fake_pyenv(tmp_path / "empty", ["3.11.7"])
    monkeypatch.setenv("PATH", str(empty / "shims"))
    python, missing = runtimes._wasmer_python()
    assert missing.startswith("no CPython 3.10 for wasmer")
    assert "pyenv install 3.10" in missing and "WASM_CONFORMANCE_WASMER_PYTHON=" in missing
    assert "pyenv:" not in missing and str(tmp_path / "no-venv") in missing


def test_bun_and_deno_come_from_the_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The JavaScript engines' npm install lives in $WASM_CONFORMANCE_JS_DIR (else the XDG cache), never
    inside the package; an install stands while the lockfile is the same."""
    monkeypatch.delenv("WASM_CONFORMANCE_JS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert runtimes.js_engines_dir() == tmp_path / "cache" / "wasm-memory-conformance" / "js"
    where = tmp_path / "js"
    monkeypatch.setenv("WASM_CONFORMANCE_JS_DIR", str(where))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-path"))
    _executable, missing = runtimes._js_engine("bun")
    assert str(where) in missing and "python -m conformance.js_engines" in missing
    assert js_engines.install() == "no npm on PATH"
    bun = where / "node_modules" / ".bin" / "bun"
    bun.parent.mkdir(parents=True)
    bun.write_text("")
    assert runtimes._js_engine("bun") == (str(bun), "")
    assert not js_engines.is_installed()
    (where / js_engines.STAMP).write_text(js_engines.lock_digest() + "\n")
    assert js_engines.is_installed() and js_engines.install() == ""
