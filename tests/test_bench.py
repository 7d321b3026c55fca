"""The boundary bench runs and writes what it says; no timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.driver_process import DriverProcess, memory_of, wire_ops
from conformance.model import check
from conformance.runtimes import BUILTIN
from conformance.script import Call, Grow, Read, Script, Size, Value, View, ViewRead, ViewWrite, Write

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.bench", "--runtime", "wasmtime", "--quick", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "bench.json").read_text())
    if not doc["runtimes"]["wasmtime"].get("available"):
        pytest.skip(doc["runtimes"]["wasmtime"].get("reason", "wasmtime unavailable"))
    return out


def test_bench_json_has_every_case_with_figures(bench_dir: Path) -> None:
    doc = json.loads((bench_dir / "bench.json").read_text())
    assert doc["reference"] == "wasmtime" and doc["quick"] is True
    assert list(doc["runtimes"]) == ["wasmtime"]
    record = doc["runtimes"]["wasmtime"]
    cases = record["cases"]
    for name in ("call nop", "call add", "string 64 B", "grow +1 page (host)", "grow to 1 GiB (host)",
                 "grow +1 page (guest)", "grow to 1 GiB (guest)"):
        assert name in cases, name
    for size in doc["sizes"]:
        for kind in ("write", "read", "view_write", "view_read", "memcpy"):
            label = f"{size} B" if size < 1024 else f"{size // 1024} KiB"
            assert f"{kind} {label}" in cases
    for name, case in cases.items():
        if "error" in case:  # a runtime may refuse (a grow): then it says why
            assert case["message"], name
            continue
        assert case["min"] <= case["median"] <= case["max"], name
        assert case["repeat"] >= 1 and case["samples"] >= 1, name
        assert case["ratio_to_reference"] == pytest.approx(1.0), name
        if "size" in case:
            assert case["gb_per_s"] > 0, name
    for name in ("short", "long", "1 MiB"):
        harness = record["harness"][name]
        assert set(harness["inside"]) == {"raw", "session", "json"}
        assert harness["round_trip"]["median"] > 0 and harness["ratio"] > 0
    assert record["peak_rss_bytes"] > 0


def test_bench_svg_is_well_formed_with_one_series_per_runtime(bench_dir: Path) -> None:
    root = ET.parse(bench_dir / "bench.svg").getroot()
    assert root.tag == f"{SVG}svg"
    series = [g.get("data-runtime") for g in root.iter(f"{SVG}g") if g.get("class") == "series"]
    assert series == ["wasmtime"]
    assert (bench_dir / "bench.md").read_text().startswith("## Boundary benchmarks")


def test_wire_ops_match_the_scripts_own_json() -> None:
    script = Script.of("bytes", [Write(3, b"\x00\xff"), Read(1, 2),
                                 Call("checksum", (Value.i32(0), Value.i32(2))), Grow(1), Size(),
                                 View("v"), ViewRead("v", 0, 4), ViewWrite("v", 1, b"ab")])
    assert wire_ops(script.ops) == script.to_json()["ops"]


def test_peak_memory_is_kept_and_a_growing_driver_is_recycled() -> None:
    process = DriverProcess(BUILTIN["wasmtime"])
    try:
        process.start()
        script = Script.of("bytes", [Write(0, b"x"), Read(0, 1)])
        assert check(script, process.run(script).outcomes).mismatch is None
        assert process.peak_rss > 0 and process.recycles == 0
        assert memory_of(process.proc.pid if process.proc else 0)[0] > 0
        process.rss_limit = 1  # any growth at all: the driver is replaced between scripts
        big = Script.of("bytes", [Grow(100), Write(0, b"\x01" * (100 << 16)), Read(0, 1)])
        process.run(big)
        assert process.recycles == 1 and process.restarts == 0
        assert check(script, process.run(script).outcomes).mismatch is None
    except Exception as exc:
        if "wasmtime" in str(exc) and process.unavailable:
            pytest.skip(process.unavailable)
        raise
    finally:
        process.close()


def test_spliced_lines_are_the_same_json() -> None:
    from conformance.driver_process import request_line
    from conformance.drivers._protocol import _reply

    big = bytes(range(256)) * 64
    script = Script.of("bytes", [Write(0, big), ViewWrite("v", 1, big), Write(2, b"ab"), Read(0, 3)])
    request = {"id": 3, "module": {"name": "bytes", "path": "p", "sha256": "s"}, "ops": wire_ops(script.ops)}
    assert json.loads(b"".join(request_line(request))) == request
    small = {**request, "ops": wire_ops(Script.of("bytes", [Write(0, b"x")]).ops)}
    assert json.loads(b"".join(request_line(small))) == small
    outcomes: list[dict[str, Any]] = [{"ok": None}, {"ok": big}, {"ok": b"\x00"},
                                      {"error": "out-of-range", "message": 'a "q"'}]
    as_hex = [{"ok": None}, {"ok": big.hex()}, {"ok": "00"}, outcomes[3]]
    assert json.loads(b"".join(_reply(7, outcomes, False))) == {"id": 7, "outcomes": as_hex}
    line, *blobs = _reply(7, outcomes, True)
    assert json.loads(line) == {"id": 7, "outcomes": [{"ok": None}, {"ok": {"blob": 0}}, {"ok": {"blob": 1}},
                                                      outcomes[3]], "blobs": [len(big), 1]}
    assert blobs == [big, b"\x00"] and line.endswith(b"\n") and line.count(b"\n") == 1


def test_the_js_driver_answers_the_bench_too(tmp_path: Path) -> None:
    if BUILTIN["node"].missing:
        pytest.skip(BUILTIN["node"].missing)
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.bench", "--runtime", "node", "--quick", "--target", "0.002",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((tmp_path / "bench.json").read_text())
    assert list(doc["runtimes"]) == ["wasmtime", "node"]  # the reference joins the run
    node = doc["runtimes"]["node"]
    assert node["available"], node.get("reason")
    assert all("median" in case or case.get("message") for case in node["cases"].values())
    assert set(node["cases"]) == set(doc["runtimes"]["wasmtime"]["cases"])
    root = ET.parse(tmp_path / "bench.svg").getroot()
    series = [g.get("data-runtime") for g in root.iter(f"{SVG}g") if g.get("class") == "series"]
    assert series == ["wasmtime", "node"]
