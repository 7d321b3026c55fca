"""Parallel runs: pytest-xdist workers, one per runtime, and one report merged by the controller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ARGS = ("--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider", "--wasm-profile=quick",
        "--wasm-runtime=wasmtime,wasm3", "-k", "test_bytes or test_views_across")


def run(directory: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    directory.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pytest", *ARGS, *extra,
                           f"--wasm-report-dir={directory / 'report'}"],
                          cwd=directory, capture_output=True, text=True, timeout=600)
    report: dict[str, Any] = json.loads((directory / "report" / "report.json").read_text())
    return proc, report


def test_parallel_run_merges_one_report(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    proc, report = run(tmp_path / "parallel", "-n", "2", "--dist", "loadgroup")
    assert proc.returncode == 0, proc.stdout[-3000:]
    keys = [(r["property"], r["runtime"]) for r in report["results"]]
    assert len(keys) == len(set(keys)) == 2 * 10  # every property once per runtime, none lost
    records = {r["id"]: r for r in report["runtimes"]}
    assert records["wasmtime"]["version"][0].isdigit() and records["wasm3"]["version"][0].isdigit()
    # each runtime's tests ran on exactly one worker, so its driver is one process
    assert len(records["wasmtime"]["workers"]) == 1 and len(records["wasm3"]["workers"]) == 1
    assert not any("workers" in w for w in report["warnings"]), report["warnings"]
    assert records["wasm3"]["probes"]["features"]  # each worker's probes reach the report
    assert "wasm3" in report["choices"]["test_growth.py::test_views_across_a_grow"]
    # the controller wrote it, and says so on the terminal like a serial run
    assert "wasmtime " in proc.stdout and "wasm3 " in proc.stdout
    assert "report:" in proc.stdout

    _, serial = run(tmp_path / "serial")
    # the quick profile is derandomized: the same examples, so the same figures, as a serial run
    assert sorted(keys) == sorted((r["property"], r["runtime"]) for r in serial["results"])
    outcomes = {(r["property"], r["runtime"]): r["outcome"] for r in serial["results"]}
    assert {(r["property"], r["runtime"]): r["outcome"] for r in report["results"]} == outcomes
    serial_records = {r["id"]: r for r in serial["runtimes"]}
    for rid in ("wasmtime", "wasm3"):
        for figure in ("scripts", "restarts", "crashes", "timeouts"):
            assert records[rid][figure] == serial_records[rid][figure], (rid, figure)
        timed = ("growth",)  # the growth probe's text carries its seconds
        assert ({k: v for k, v in records[rid]["probes"].items() if k not in timed}
                == {k: v for k, v in serial_records[rid]["probes"].items() if k not in timed})
    assert report["examples"] == serial["examples"]
    assert report["choices"] == serial["choices"]
    assert sorted(report["warnings"]) == sorted(serial["warnings"])


def test_a_tests_runtime_is_read_from_its_node_id() -> None:
    from conformance.parallel import runtime_in

    ids = ["wasmtime", "wasmtime-winch", "wasm3", "faulty-drop-byte"]
    assert runtime_in("test_bytes.py::test_x[wasmtime]", ids) == "wasmtime"
    assert runtime_in("test_bytes.py::test_x[wasmtime-winch]", ids) == "wasmtime-winch"
    assert runtime_in("test_growth.py::test_y[wasmtime-winch-65537]", ids) == "wasmtime-winch"
    assert runtime_in("test_growth.py::test_y[65537-wasm3]", ids) == "wasm3"
    assert runtime_in("test_growth.py::test_y[1-faulty-drop-byte-2]", ids) == "faulty-drop-byte"
    assert runtime_in("test_script.py::test_z", ids) is None
    assert runtime_in("test_script.py::test_z[wasm]", ids) is None


def test_tests_are_scheduled_by_runtime_else_by_module() -> None:
    from conformance.parallel import scope_of

    ids = ["wasmtime", "wasm3"]
    assert scope_of("conformance/suite/test_bytes.py::test_x[wasm3]", ids) == "group:wasm-wasm3"
    assert scope_of("test_growth.py::test_y[65537-wasm3]", ids) == "group:wasm-wasm3"
    # the host's own tests: by module, so a module-scoped fixture is set up on one worker
    assert scope_of("tests/test_faults.py::test_fault_fails_its_properties[stale]", ids) \
        == scope_of("tests/test_faults.py::test_counterexamples_replay_with_one_command[dirty-grow]", ids) \
        == "tests/test_faults.py"
    assert scope_of("tests/test_x.py::test_y@slow", ids) == "group:slow"
