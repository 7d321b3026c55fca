"""Runtime selection: ids, all, pins of an executable, and the reasons for skipping."""

from __future__ import annotations

import pytest

from conformance.runtimes import BUILTIN, UnknownRuntime, parse_custom, select

EXPECTED = {"wasmtime", "wasmtime-winch", "wasmtime-pulley", "wasmtime-moving-memory", "wasm3", "pywasm",
            "wasmer-cranelift", "wasmer-singlepass", "node", "bun", "deno"}


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
