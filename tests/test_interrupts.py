"""A run that is interrupted (Ctrl-C, SIGTERM, SIGHUP) or loses a pytest-xdist worker still ends,
within a bound, with a report that says so: ``status`` interrupted or incomplete, and why."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ARGS = ("--pyargs", "conformance.suite", "-v", "-p", "no:cacheprovider", "--wasm-profile=quick",
        "-k", "test_bytes")
# a runtime whose driver never answers a script: the run is still going when the signal comes
HANG = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'faulty_driver.py'))} hang"
SLOW = ("--wasm-runtime=wasm3,slow", "--wasm-script-timeout=30", f"--wasm-driver=slow={HANG}")
PARALLEL = ("-n", "2", "--dist", "loadgroup")
BOUND = 60.0
"""seconds a run may take to end after the signal, or after its worker died"""
# not an xdist worker's run, if this one is (killer_driver.py tells a worker by it)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}


def _default_sigint() -> None:
    # a child of a shell's background job starts with SIGINT ignored; Ctrl-C must reach pytest
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(directory: Path, *extra: str) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    out = (directory / "out").open("wb")
    return subprocess.Popen([sys.executable, "-m", "pytest", *ARGS, *extra,
                             f"--wasm-report-dir={directory / 'report'}"],
                            cwd=directory, stdout=out, stderr=subprocess.STDOUT, env=ENV,
                            start_new_session=True, preexec_fn=_default_sigint)


def finish(proc: subprocess.Popen[bytes], directory: Path) -> tuple[int, str, dict[str, Any]]:
    """Wait at most BOUND seconds; the exit status, the terminal output and report.json."""
    try:
        code = proc.wait(BOUND)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"the run did not end within {BOUND} s:\n" + output(directory)[-3000:])
    report: dict[str, Any] = json.loads((directory / "report" / "report.json").read_text())
    return code, output(directory), report


def output(directory: Path) -> str:
    return (directory / "out").read_text(encoding="utf-8", errors="replace")


def wait_for_a_result(proc: subprocess.Popen[bytes], directory: Path) -> None:
    deadline = time.monotonic() + 120
    while " PASSED " not in output(directory) + " ":
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no result came:\n" + output(directory)[-3000:])
        time.sleep(0.2)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "xdist"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_an_interrupted_run_writes_its_report(tmp_path: Path, signum: signal.Signals,
                                              parallel: bool) -> None:
    if parallel:
        pytest.importorskip("xdist")
    proc = start(tmp_path, *SLOW, *(PARALLEL if parallel else ()))
    wait_for_a_result(proc, tmp_path)
    if signum == signal.SIGINT:
        os.killpg(proc.pid, signum)  # Ctrl-C: the terminal signals the whole process group
    else:
        proc.send_signal(signum)  # SIGTERM, SIGHUP: to pytest (the controller) alone
    code, text, report = finish(proc, tmp_path)
    assert code == pytest.ExitCode.INTERRUPTED, text[-3000:]
    assert report["status"] == "interrupted", report["status_reasons"]
    named = "KeyboardInterrupt" if signum == signal.SIGINT else signum.name
    assert named in report["status_reasons"][0]
    assert any("collected tests never reported" in r for r in report["status_reasons"])
    assert any(r["runtime"] == "wasm3" and r["outcome"] == "pass" for r in report["results"])
    records = {r["id"]: r for r in report["runtimes"]}
    assert records["wasm3"]["ran"]
    # the hanging runtime has no result: it is not shown as a runtime that ran to its end
    assert not any(r["runtime"] == "slow" for r in report["results"])
    assert not records["slow"]["ran"] or records["slow"]["incomplete"]
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "**Status: interrupted**" in markdown
    assert "| slow | ? | ran |" not in markdown
    assert "Status: interrupted" in (tmp_path / "report" / "report.html").read_text()
    assert "status: interrupted" in text


@pytest.mark.parametrize("restarts", [None, "0"], ids=["default-restarts", "no-restart"])
def test_a_dead_worker_ends_the_run_with_an_incomplete_report(tmp_path: Path,
                                                              restarts: str | None) -> None:
    pytest.importorskip("xdist")
    killer = f"killer={shlex.quote(sys.executable)} {shlex.quote(str(HERE / 'killer_driver.py'))}"
    extra = ["--wasm-runtime=wasm3,killer", f"--wasm-driver={killer}", *PARALLEL]
    if restarts is not None:
        extra.append(f"--max-worker-restart={restarts}")
    began = time.monotonic()
    code, text, report = finish(start(tmp_path, *extra), tmp_path)
    assert time.monotonic() - began < BOUND
    assert code == pytest.ExitCode.TESTS_FAILED, text[-3000:]
    assert report["status"] == "incomplete", report["status_reasons"]
    assert any(r.startswith("worker gw") and "died" in r for r in report["status_reasons"])
    assert any("collected tests never reported" in r for r in report["status_reasons"])
    records = {r["id"]: r for r in report["runtimes"]}
    assert records["wasm3"]["ran"] and not records["wasm3"]["incomplete"]
    assert not records["killer"]["ran"]
    assert "**Status: incomplete**" in (tmp_path / "report" / "report.md").read_text()
    assert "status: incomplete" in text
    # unless told otherwise, the plugin lets no crashed worker be replaced: a replacement would
    # run the same runtime's next test and die too, and xdist 3.8 then waited for good
    assert "worker restarting disabled" in text
