"""One seed for every runtime, and the reference runtime's outcome of each script computed once.

A run that is not derandomized (the default profile) gives every runtime the same examples, so
its report compares like with like, and the reference runtime, which every guest the model does
not know is compared with, runs each distinct script once for all of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from conformance.plugin import REFERENCE_CACHE_PAYLOAD, REFERENCE_CACHE_SCRIPTS, _State
from conformance.report import Report
from conformance.script import Outcome, Read, Script, ScriptResult

HERE = Path(__file__).resolve().parent
PROPERTIES = "test_rust_repr_c_point_layout or test_memory_reused_after_free_is_not_zero"


def recorded_run(tmp_path: Path, *extra: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    record = tmp_path / "scripts.jsonl"
    env = {**os.environ, "RECORD_SCRIPTS": str(record),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite.test_ownership", "-q",
         "-p", "record_scripts", "-p", "no:cacheprovider", "-k", PROPERTIES,
         "--wasm-runtime=wasm3,node", f"--wasm-report-dir={tmp_path / 'report'}", *extra],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    return lines, json.loads((tmp_path / "report" / "report.json").read_text())


def properties_scripts(lines: list[dict[str, Any]], runtime: str) -> Counter[str]:
    """The scripts the properties sent ``runtime`` (the probes' aside)."""
    return Counter(json.dumps(line["script"], sort_keys=True) for line in lines
                   if line["runtime"] == runtime and not line["reference"]
                   and line["script"]["guest"] in ("rust_guest", "c_alloc"))


def test_every_runtime_runs_the_same_examples_and_the_reference_each_script_once(tmp_path: Path) -> None:
    lines, report = recorded_run(tmp_path, "--wasm-profile=default")
    wasm3, node = properties_scripts(lines, "wasm3"), properties_scripts(lines, "node")
    assert len(wasm3) > 40
    assert wasm3 == node, "the same examples on both"
    reference = Counter(json.dumps(line["script"], sort_keys=True) for line in lines if line["reference"])
    assert reference, "the reference runtime ran the guests' scripts"
    twice = [json.loads(s) for s, n in reference.items() if n > 1]
    # only a script whose reads are too large to keep runs on the reference again
    assert all(sum(op.get("length", 0) for op in s["ops"] if op["op"] == "read") > REFERENCE_CACHE_PAYLOAD
               for s in twice), twice
    assert len(twice) < len(reference) / 4
    seed = report["seed"].split(",")[0]
    assert seed.isdigit(), report["seed"]
    # the seed in the report runs the same examples again
    again, _ = recorded_run(tmp_path / "again", f"--hypothesis-seed={seed}", "--wasm-profile=default")
    assert properties_scripts(again, "wasm3") == wasm3


class _Reference:
    """A stand-in for the reference runtime's driver process: counts the scripts it is sent."""

    def __init__(self, status: Literal["ok", "crash"] = "ok") -> None:
        self.runs = 0
        self.status = status

    def run(self, script: Script) -> ScriptResult:
        self.runs += 1
        outcomes = tuple(Outcome.ok() for _ in script.ops) if self.status == "ok" else ()
        return ScriptResult(self.status, outcomes)


def _state(reference: _Reference) -> _State:
    state = _State([], Path("."), 10.0, {}, Report())
    state.reference = reference  # type: ignore[assignment]
    return state


def test_reference_results_are_kept_per_distinct_script() -> None:
    reference = _Reference()
    state = _state(reference)
    a, b = Script.of("bytes", [Read(0, 4)]), Script.of("bytes", [Read(0, 8)])
    assert state.run_on_reference(a) is state.run_on_reference(Script.of("bytes", [Read(0, 4)]))
    state.run_on_reference(b)
    assert reference.runs == 2 and state.reference_hits == 1
    # the same operations on another module are another script
    state.run_on_reference(Script.of("bytes", [Read(0, 4)], wat="(module)"))
    assert reference.runs == 3


def test_a_crash_of_the_reference_is_not_kept() -> None:
    reference = _Reference("crash")
    state = _state(reference)
    script = Script.of("bytes", [Read(0, 4)])
    state.run_on_reference(script)
    state.run_on_reference(script)
    assert reference.runs == 2


def test_the_kept_results_are_bounded() -> None:
    reference = _Reference()
    state = _state(reference)
    for i in range(REFERENCE_CACHE_SCRIPTS + 10):
        state.run_on_reference(Script.of("bytes", [Read(i, 1)]))
    assert len(state.reference_cache) == REFERENCE_CACHE_SCRIPTS
    state.run_on_reference(Script.of("bytes", [Read(0, 1)]))  # the oldest went
    assert reference.runs == REFERENCE_CACHE_SCRIPTS + 11
