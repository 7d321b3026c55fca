"""Third-party runtimes arrive by entry point, with no edit to this package.

A distribution is faked on ``PYTHONPATH`` (a ``*.dist-info`` directory with its
``entry_points.txt``, which is all ``importlib.metadata`` reads) registering a
Python adapter, a driver command and one that does not load; the example
project in ``examples/third_party_runtime`` is the real, installed one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from conformance.runtimes import ENTRY_POINT_GROUP

ADAPTER = '''
from conformance.drivers.wasmtime_driver import WasmtimeDriver


class Adapter(WasmtimeDriver):
    """plugged-adapter: wasmtime behind a third party's adapter class"""
'''
COMMAND = '''
import sys
from conformance.runtimes import BUILTIN, RuntimeSpec


def spec():
    return RuntimeSpec("ignored", BUILTIN["wasmtime"].command,
                       "plugged-command: the wasmtime driver by command")
'''


@pytest.fixture
def fake_dist(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "plugged_mod.py").write_text(ADAPTER + COMMAND, encoding="utf-8")
    info = tmp_path / "plugged_demo-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: plugged-demo\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "plugged-adapter = plugged_mod:Adapter\n"
        "plugged-command = plugged_mod:spec\n"
        "plugged-broken = no_such_module_here:Driver\n"
        "wasmtime = plugged_mod:Adapter\n",  # a built-in id is never replaced
        encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    return env


def test_plugged_runtimes_are_listed_with_their_state(fake_dist: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "conformance", "runtimes"], env=fake_dist,
                          capture_output=True, text=True, timeout=300)
    lines = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert proc.returncode == 0, proc.stderr
    assert "plugged-adapter: wasmtime behind" in lines["plugged-adapter"]
    assert lines["plugged-adapter"].split()[1][0].isdigit()  # it ran: wasmtime's version
    assert "plugged-command: the wasmtime driver" in lines["plugged-command"]
    assert "unavailable" in lines["plugged-broken"]
    assert "does not load: ModuleNotFoundError" in lines["plugged-broken"]
    assert "Cranelift" in lines["wasmtime"]  # still the built-in one


def test_plugged_runtimes_run_the_suite_and_reach_the_report(fake_dist: dict[str, str],
                                                             tmp_path: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q",
                          "--wasm-runtime=nonesuch"], env=fake_dist, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 4 and "plugged-adapter" in bad.stderr  # among the valid choices
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         # every runtime (the default selection), of which -k keeps the plugged ones
         "--wasm-profile=quick", "--wasm-runtime=all",
         "-k", "(test_host_write_then_read_round_trips or test_guest_reads_what_the_host_wrote) and plugged",
         f"--wasm-report-dir={tmp_path / 'report'}"],
        env=fake_dist, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    records = {r["id"]: r for r in report["runtimes"] if r["id"].startswith("plugged")}
    assert records["plugged-adapter"]["available"] and records["plugged-command"]["available"]
    assert not records["plugged-broken"]["available"]
    assert "no_such_module_here" in records["plugged-broken"]["reason"]
    passed = {(r["runtime"], r["outcome"]) for r in report["results"]}
    assert ("plugged-adapter", "pass") in passed and ("plugged-command", "pass") in passed
    # named on purpose, the runtime that does not load stops the run instead
    named = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q",
                            "--wasm-runtime=plugged-adapter,plugged-broken", "-k", "greeting"],
                           env=fake_dist, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert named.returncode == 4 and "runtime 'plugged-broken' was named but cannot run" in named.stderr


def test_the_example_project_is_registered_when_installed() -> None:
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if "demo-sandbox" not in names:
        pytest.skip("examples/third_party_runtime is not installed here (make test installs it)")
    proc = subprocess.run([sys.executable, "-m", "conformance", "runtimes", "--runtime", "demo-sandbox"],
                          capture_output=True, text=True, timeout=120)
    assert "demo-sandbox" in proc.stdout and "wasmtime" in proc.stdout, proc.stdout + proc.stderr
