"""``pytest --pyargs conformance`` runs the suite from an installed package, outside the repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_suite_runs_from_an_installed_package(tmp_path: Path) -> None:
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    assert (site / "conformance" / "guest_modules" / "bytes.wasm").exists()
    assert (site / "conformance" / "strategies" / "__init__.py").exists()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-q", "--wasm-profile=quick",
         "--wasm-runtime=wasmtime,wasm3", "-k", "round_trips or greeting"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads((work / "reports" / "latest" / "report.json").read_text())
    assert Path(report["package"]).is_relative_to(site), "ran the installed copy, not the checkout"
    ran = {(r["property"], r["runtime"]) for r in report["results"] if r["outcome"] == "pass"}
    assert ("test_bytes.py::test_host_write_then_read_round_trips", "wasm3") in ran
    assert ("test_strings.py::test_text_round_trips_through_the_guest", "wasmtime") in ran
