"""Parallel runs: pytest-xdist workers, one per runtime, and one report merged by the controller."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def test_parallel_run_merges_one_report(tmp_path: Path) -> None:
    pytest.importorskip("xdist")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-profile=quick", "--wasm-runtime=wasmtime,wasm3", "-k", "test_bytes or test_views_across",
         "-n", "2", "--dist", "loadgroup", f"--wasm-report-dir={tmp_path / 'report'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    keys = [(r["property"], r["runtime"]) for r in report["results"]]
    assert len(keys) == len(set(keys)) == 2 * 10  # every property once per runtime, none lost
    records = {r["id"]: r for r in report["runtimes"]}
    assert records["wasmtime"]["version"][0].isdigit() and records["wasm3"]["version"][0].isdigit()
    assert records["wasmtime"]["scripts"] > 0 and records["wasm3"]["scripts"] > 0
    assert records["wasm3"]["probes"]["features"]  # each worker's probes reach the report
    assert "wasm3" in report["choices"]["test_growth.py::test_views_across_a_grow"]
    assert report["examples"]["test_bytes.py::test_host_write_then_read_round_trips wasmtime"] == 20
    # the controller wrote it, and says so on the terminal like a serial run
    assert "wasmtime " in proc.stdout and "wasm3 " in proc.stdout
    assert "report:" in proc.stdout
