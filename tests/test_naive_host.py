"""Host-side helpers are checked too: a naive one fails the property that guards it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize(("naive", "prop"), [
    ("zero-init", "test_ownership.py::test_a_host_helper_does_not_assume_fresh_blocks_are_zero"),
    ("surrogates", "test_strings.py::test_unencodable_text_is_refused_before_the_boundary"),
    ("no-padding", "test_layout.py::test_engine_compiler_and_runtime_agree_on_layout"),
])
def test_a_naive_host_helper_is_caught(naive: str, prop: str, tmp_path: Path) -> None:
    module, name = prop.split("::")
    # it asks only whether the property fails: the first failing example, not shrunk (as test_faults.py)
    env = {**os.environ, "NAIVE_HOST": naive,
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", f"conformance.suite.{module[:-3]}", "-p", "naive_host",
         "-q", "-k", name, "--wasm-runtime=wasmtime", "--wasm-profile=quick", "--wasm-no-shrink",
         f"--wasm-report-dir={tmp_path / 'report'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    outcomes = {r["property"]: r["outcome"] for r in report["results"]}
    assert outcomes[prop] == "fail", proc.stdout[-3000:]
    assert proc.returncode == 1
