"""The plugin in someone else's project: installed, it changes nothing it was not asked to.

An unrelated project (its own conftest registering a Hypothesis profile ``mine`` of 7
examples, a plain Hypothesis test and tests using the ``wasm_runtime`` fixture and the public
strategies) runs pytest in a subprocess, with the plugin installed as it is here: its own
profile applies, and no ``reports/`` folder appears unless it asks for one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.plugin import SUITE_DIR, _hidden_between

CONFTEST = '''
from hypothesis import settings

settings.register_profile("mine", max_examples=7, database=None, deadline=None)
'''

TESTS = '''
import os

from hypothesis import given, strategies as st

from conformance import Read, Script, Write, check_script
from conformance.strategies import byte_arrays


def _count(name):
    with open(os.path.join(os.environ["COUNTS"], name), "a", encoding="utf-8") as out:
        out.write("x\\n")


@given(st.integers())
def test_plain_property(n):
    _count("plain")


@given(data=byte_arrays(min_size=1, max_size=16))
def test_property_on_a_runtime(wasm_runtime, data):
    _count("runtime-" + wasm_runtime.id)
    check_script(wasm_runtime, Script.of("bytes", [Write(0, data), Read(0, len(data))]))


def test_one_script(wasm_runtime):
    check_script(wasm_runtime, Script.of("bytes", [Write(8, b"hi"), Read(8, 2)]))
'''


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "their-project"
    project.mkdir()
    (project / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (project / "test_theirs.py").write_text(TESTS, encoding="utf-8")
    return project


def _run(project: Path, counts: Path, *args: str) -> subprocess.CompletedProcess[str]:
    counts.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASM_CONFORMANCE_")}
    env["COUNTS"] = str(counts)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--wasm-runtime=wasmtime", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300)


def _counted(counts: Path) -> dict[str, int]:
    return {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in counts.iterdir()}


def test_their_profile_rules_and_no_report_appears(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = _run(project, tmp_path / "counts", "--hypothesis-profile=mine")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout
    assert _counted(tmp_path / "counts") == {"plain": 7, "runtime-wasmtime": 7}
    assert not (project / "reports").exists(), sorted(p.name for p in project.iterdir())
    assert "report: none written (--wasm-report-dir=DIR writes one)" in proc.stdout
    assert "Hypothesis profile 'mine', the session's own" in proc.stdout


def test_a_report_only_where_asked(tmp_path: Path) -> None:
    project = _project(tmp_path)
    wanted = tmp_path / "wanted"
    proc = _run(project, tmp_path / "counts", "--hypothesis-profile=mine", f"--wasm-report-dir={wanted}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert not (project / "reports").exists()
    report = json.loads((wanted / "report.json").read_text(encoding="utf-8"))
    outcomes = {r["property"]: r["outcome"] for r in report["results"]}
    assert outcomes == {"test_theirs.py::test_property_on_a_runtime": "pass",
                        "test_theirs.py::test_one_script": "pass"}
    assert any("the session's own (profile 'mine')" in rule for rule in report["rules"]), report["rules"]


def test_their_default_profile_when_they_name_none(tmp_path: Path) -> None:
    """A profile their conftest loads, with no --hypothesis-profile, stands (not the suite's)."""
    project = _project(tmp_path)
    (project / "conftest.py").write_text(CONFTEST + 'settings.load_profile("mine")\n', encoding="utf-8")
    proc = _run(project, tmp_path / "counts")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert _counted(tmp_path / "counts") == {"plain": 7, "runtime-wasmtime": 7}


def test_the_suite_profile_when_they_ask_for_it(tmp_path: Path) -> None:
    """--wasm-profile loads the suite's profile for their tests too (quick: 20 examples)."""
    project = _project(tmp_path)
    proc = _run(project, tmp_path / "counts", "--wasm-profile=quick")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert _counted(tmp_path / "counts") == {"plain": 20, "runtime-wasmtime": 20}
    assert not (project / "reports").exists()
    assert "(profile quick)" in proc.stdout


def test_the_suite_profile_is_registered_for_hypothesis_profile(tmp_path: Path) -> None:
    project = _project(tmp_path)
    proc = _run(project, tmp_path / "counts", "--hypothesis-profile=wasm-conformance-quick", "-k", "plain")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert _counted(tmp_path / "counts") == {"plain": 20}


def test_the_suite_itself_still_runs_with_its_profile_and_writes_its_report(tmp_path: Path) -> None:
    """The suite named (no --wasm-profile, no --wasm-report-dir): its default profile, reports/latest."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASM_CONFORMANCE_")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-runtime=wasmtime", "-k", "test_host_write_then_read_round_trips"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "(profile default)" in proc.stdout
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text(encoding="utf-8"))
    assert report["examples"] == {"test_bytes.py::test_host_write_then_read_round_trips wasmtime": 100}
    assert "the same for every runtime" in report["seed"]


def test_what_counts_as_collecting_the_suite(tmp_path: Path) -> None:
    root = SUITE_DIR.parent.parent
    assert not _hidden_between(root, SUITE_DIR)
    venv = tmp_path / ".venv" / "lib" / "site-packages" / "conformance" / "suite"
    assert _hidden_between(tmp_path, venv)
