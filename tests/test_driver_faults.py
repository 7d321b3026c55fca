"""The harness survives drivers that crash, hang, break the protocol or leave processes behind.

Each fault of ``tests/fault_drivers.py`` runs through ``DriverProcess`` directly, and a few
through a whole pytest run of one property: the outcome's kind, a bound on the wall time, a
valid report, and no process of the driver (or its descendants) left afterwards.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conformance.driver_process import STREAK_LIMIT, DriverProcess, RuntimeUnavailable, kill_all_drivers
from conformance.runtimes import RuntimeSpec
from conformance.script import Read, Script, Size

FAULTS = Path(__file__).with_name("fault_drivers.py")
SCRIPT = Script.of("bytes", [Read(0, 4), Size()])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def pids_of(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def none_left(path: Path, within: float = 3.0) -> list[int]:
    """The pids listed in ``path`` still alive after ``within`` seconds (a killed process may
    take a moment to be reaped by its parent)."""
    end = time.monotonic() + within
    while True:
        left = [p for p in pids_of(path) if alive(p)]
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


@pytest.fixture
def pidfile(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "pids"
    yield path
    for pid in pids_of(path):  # never leave one behind, even when a test fails
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def fault(mode: str, pidfile: Path, *args: str, timeout: float = 2.0) -> DriverProcess:
    spec = RuntimeSpec("fault", (sys.executable, str(FAULTS), mode, *args), env={"FAULT_PIDS": str(pidfile)})
    return DriverProcess(spec, script_timeout=timeout)


SCRIPT_FAULTS = [
    ("crash", "crash", "exited with status 3"),
    ("hang", "timeout", "no answer in 1s"),
    ("garbage", "crash", "this is not JSON"),
    ("list", "crash", "the reply is a JSON list"),
    ("string", "crash", "the reply is a JSON str"),
    ("number", "crash", "the reply is a JSON int"),
    ("bad-outcomes", "crash", "outcomes is str, not a list"),
    ("bad-outcome", "crash", "exactly one of ok, trap, error"),
    ("wrong-type", "crash", "ok value of the wrong type"),
    ("stream", "crash", "without a newline"),
    ("ignore-term", "timeout", "no answer in 1s"),
    ("fork-keep", "crash", "exited with status 3"),
    ("setsid", "timeout", "no answer in 1s"),
    ("close-stdout", "crash", "closed its stdout"),
]


@pytest.mark.parametrize(("mode", "status", "says"), SCRIPT_FAULTS, ids=[f[0] for f in SCRIPT_FAULTS])
def test_a_script_fault_is_a_result_and_leaves_no_process(mode: str, status: str, says: str,
                                                          pidfile: Path) -> None:
    driver = fault(mode, pidfile, timeout=1.0 if status == "timeout" else 2.0)  # a hang costs its timeout
    driver.start()
    began = time.monotonic()
    result = driver.run(SCRIPT)
    assert time.monotonic() - began < 8, result
    assert (result.status, says in result.detail) == (status, True), result.detail
    assert driver.proc is not None and driver.proc.pid not in pids_of(pidfile)[:1]  # restarted
    if mode in ("fork-keep", "setsid"):  # the new one's descendants are there before its hello
        deadline = time.monotonic() + 5
        while len(pids_of(pidfile)) < 2 * (2 + (mode == "setsid")) and time.monotonic() < deadline:
            time.sleep(0.05)
    close_began = time.monotonic()
    driver.close()
    assert time.monotonic() - close_began < 8
    assert none_left(pidfile) == []


def test_a_fault_after_good_answers_restarts_the_driver(pidfile: Path) -> None:
    driver = fault("crash", pidfile, "3")
    try:
        assert [driver.run(SCRIPT).status for _ in range(3)] == ["ok", "ok", "crash"]
        assert driver.run(SCRIPT).status == "ok"  # a new driver: its first request
        assert driver.restarts == 1 and driver.crashes == 1
    finally:
        driver.close()
    assert none_left(pidfile) == []


def test_a_driver_that_dies_between_scripts_is_a_crash_and_is_replaced(pidfile: Path) -> None:
    """A driver that dies while idle, after its last reply (a runtime's own thread, a browser that
    went away), makes the next script a crash, not a runtime that "gave no hello" (unavailable for
    the rest of the run); the script after runs on a new driver."""
    driver = fault("crash", pidfile, "99")
    try:
        assert driver.run(SCRIPT).status == "ok"
        assert driver.proc is not None
        first = driver.proc.pid
        os.kill(first, signal.SIGKILL)
        driver.proc.wait(timeout=5)
        result = driver.run(SCRIPT)
        assert result.status == "crash", result
        assert "killed by SIGKILL" in result.detail and "between scripts" in result.detail, result.detail
        assert driver.run(SCRIPT).status == "ok"
        assert driver.proc is not None and driver.proc.pid != first and driver.crashes == 1
    finally:
        driver.close()
    assert none_left(pidfile) == []


HELLO_FAULTS = [
    ("bad-info", "info that is not an object"),
    ("close-hello", "closed its stdout without a hello"),
    ("hang-hello", "gave no hello in 10s"),
]


@pytest.mark.parametrize(("mode", "says"), HELLO_FAULTS, ids=[f[0] for f in HELLO_FAULTS])
def test_a_hello_fault_makes_the_runtime_unavailable(mode: str, says: str, pidfile: Path) -> None:
    driver = fault(mode, pidfile, timeout=1.0)
    began = time.monotonic()
    with pytest.raises(RuntimeUnavailable) as caught:
        driver.start()
    assert time.monotonic() - began < 13
    message = str(caught.value)
    assert says in message and "\n" not in message, message
    assert driver.run(SCRIPT).status == "unavailable"
    driver.close()
    assert none_left(pidfile) == []


@pytest.mark.parametrize(("mode", "status"), [("crash", "crash"), ("hang", "timeout")])
def test_the_circuit_breaker_stops_a_property_and_the_next_one_runs(mode: str, status: str,
                                                                     pidfile: Path) -> None:
    driver = fault(mode, pidfile, timeout=1.0)
    try:
        DriverProcess.new_test()
        results = [driver.run(SCRIPT) for _ in range(STREAK_LIMIT)]
        assert [r.status for r in results] == [status] * STREAK_LIMIT
        began = time.monotonic()
        skipped = [driver.run(SCRIPT) for _ in range(20)]
        assert time.monotonic() - began < 0.5
        assert {r.status for r in skipped} == {status}
        assert all(r.detail.endswith("in a row in this property: not run") for r in skipped)
        DriverProcess.new_test()
        again = driver.run(SCRIPT)
        assert again.status == status and "not run" not in again.detail
    finally:
        driver.close()
    assert none_left(pidfile) == []


def test_kill_all_drivers_kills_every_group_and_descendant(pidfile: Path) -> None:
    drivers = [fault(mode, pidfile) for mode in ("setsid", "fork-keep", "ignore-term")]
    for driver in drivers:
        driver.start()
    deadline = time.monotonic() + 5
    while len(pids_of(pidfile)) < 3 + 2 + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(pids_of(pidfile)) == 6
    kill_all_drivers()
    assert none_left(pidfile) == []
    assert drivers[0].run(SCRIPT).status == "crash"  # the next script sees it dead, and restarts
    for driver in drivers:
        driver.close()
    assert none_left(pidfile) == []


def test_a_driver_dies_with_its_harness_even_by_sigkill(tmp_path: Path, pidfile: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text(
        "import sys, time\n"
        "from conformance.driver_process import DriverProcess\n"
        "from conformance.runtimes import RuntimeSpec\n"
        f"spec = RuntimeSpec('fault', (sys.executable, {str(FAULTS)!r}, 'ignore-term'),"
        f" env={{'FAULT_PIDS': {str(pidfile)!r}}})\n"
        "DriverProcess(spec).start()\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(harness)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent.parent)
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    assert [alive(p) for p in pids_of(pidfile)] == [True]
    proc.kill()
    proc.wait()
    assert none_left(pidfile) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_harness_takes_its_drivers_with_it(sig: int, tmp_path: Path, pidfile: Path) -> None:
    harness = tmp_path / "harness.py"
    harness.write_text(
        "import sys, time\n"
        "from conformance.driver_process import DriverProcess, install_signal_handlers\n"
        "from conformance.runtimes import RuntimeSpec\n"
        "install_signal_handlers()\n"
        f"spec = RuntimeSpec('fault', (sys.executable, {str(FAULTS)!r}, 'setsid'),"
        f" env={{'FAULT_PIDS': {str(pidfile)!r}}})\n"
        "DriverProcess(spec).start()\n"
        "while open(" f"{str(pidfile)!r}" ").read().count(chr(10)) < 3: time.sleep(0.05)\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, str(harness)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent.parent)
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    proc.send_signal(sig)
    assert proc.wait(timeout=10) == -sig  # it still dies of the signal
    assert none_left(pidfile) == []


# -- whole runs ---------------------------------------------------------------------------------


WHOLE_RUN_FAULTS = [("crash", "crash"), ("hang", "timeout"), ("list", "crash"), ("setsid", "timeout")]


def pytest_run(tmp_path: Path, mode: str, pidfile: Path) -> tuple[Any, float, Any, Path]:
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-profile=quick", f"--wasm-report-dir={tmp_path / 'report'}",
         f"--wasm-driver=x={sys.executable} {FAULTS} {mode}", "--wasm-runtime=x",
         "--wasm-script-timeout=1", "-k", "test_get_greeting_into_host_buffer"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "FAULT_PIDS": str(pidfile)},
    )
    path = tmp_path / "report" / "report.json"
    return proc, time.monotonic() - began, json.loads(path.read_text()) if path.exists() else None, pidfile


@pytest.mark.parametrize(("mode", "status"), WHOLE_RUN_FAULTS, ids=[f"{m}-{s}" for m, s in WHOLE_RUN_FAULTS])
def test_a_run_survives_the_fault_and_leaves_a_report(
        mode: str, status: str, whole_runs: dict[str, tuple[Any, float, Any, Path]]) -> None:
    proc, seconds, report, pidfile = whole_runs[mode]
    assert seconds < 120, proc.stdout[-3000:]
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report is not None, proc.stdout[-3000:]
    (result,) = [r for r in report["results"] if r["runtime"] == "x"]
    assert result["outcome"] == status, result
    assert none_left(pidfile) == [], proc.stdout[-3000:]


def test_a_driver_started_from_a_thread_outlives_the_thread(pidfile: Path) -> None:
    """PR_SET_PDEATHSIG follows the thread that forked: it is set only from the main thread."""
    import threading

    driver = fault("crash", pidfile, "99")
    thread = threading.Thread(target=driver.start)
    thread.start()
    thread.join()
    time.sleep(0.2)
    try:
        assert driver.run(SCRIPT).status == "ok" and driver.restarts == 0
    finally:
        driver.close()
    assert none_left(pidfile) == []


@pytest.mark.parametrize(("mode", "sig"), [("setsid", signal.SIGTERM), ("hang", signal.SIGKILL)])
def test_a_run_stopped_by_a_signal_leaves_no_driver(mode: str, sig: int, tmp_path: Path,
                                                     pidfile: Path) -> None:
    """SIGTERM: the drivers and their descendants go (and the run ends); SIGKILL: the kernel
    kills the driver (its own descendants are not covered, so a mode without any)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-profile=quick", f"--wasm-report-dir={tmp_path / 'report'}",
         f"--wasm-driver=x={sys.executable} {FAULTS} {mode}", "--wasm-runtime=x",
         "--wasm-script-timeout=30", "-k", "test_get_greeting_into_host_buffer"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "FAULT_PIDS": str(pidfile)},
    )
    try:
        deadline = time.monotonic() + 60
        want = 3 if mode == "setsid" else 1
        while len(pids_of(pidfile)) < want and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)  # into the first script
        assert len(pids_of(pidfile)) >= want
        proc.send_signal(sig)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert none_left(pidfile, within=5) == []


def parallel_pytest_run(tmp_path: Path, pidfile: Path) -> tuple[Any, float, Any, Path]:
    """One run under pytest-xdist (-n 2) with every script fault as a runtime of its own
    (``x-<mode>``) beside wasmtime, which works: one pytest process for all of them."""
    drivers = [f"--wasm-driver=x-{mode}={sys.executable} {FAULTS} {mode}" for mode, _, _ in SCRIPT_FAULTS]
    runtimes = ",".join([*(f"x-{mode}" for mode, _, _ in SCRIPT_FAULTS), "wasmtime"])
    began = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-profile=quick", f"--wasm-report-dir={tmp_path / 'report'}", *drivers,
         f"--wasm-runtime={runtimes}", "--wasm-script-timeout=1", "-k", "test_get_greeting_into_host_buffer",
         "-n", "2", "--dist", "loadgroup"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, "FAULT_PIDS": str(pidfile)},
    )
    seconds = time.monotonic() - began
    path = tmp_path / "report" / "report.json"
    return proc, seconds, json.loads(path.read_text()) if path.exists() else None, pidfile


@pytest.fixture(scope="module")
def whole_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Any, float, Any, Path]]]:
    """The whole runs of this module, started together: a run of one fault of WHOLE_RUN_FAULTS
    each (``x``), and the run under pytest-xdist of them all (``parallel``). Most of their time
    is a hung driver's timeouts, which so overlap; each run's seconds are its own."""
    base = tmp_path_factory.mktemp("whole-runs")
    runs: dict[str, Callable[[], tuple[Any, float, Any, Path]]] = {}
    for mode, _ in WHOLE_RUN_FAULTS:
        (base / mode).mkdir()
        runs[mode] = functools.partial(pytest_run, base / mode, mode, base / mode / "pids")
    if importlib.util.find_spec("xdist") is not None:
        (base / "parallel").mkdir()
        parallel = base / "parallel"
        runs["parallel"] = functools.partial(parallel_pytest_run, parallel, parallel / "pids")
    try:
        with ThreadPoolExecutor(max_workers=len(runs)) as pool:
            futures = {name: pool.submit(run) for name, run in runs.items()}
            yield {name: future.result() for name, future in futures.items()}
    finally:
        for name in runs:  # never leave one behind, even when a test fails
            for pid in pids_of(base / name / "pids"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


@pytest.mark.parametrize(("mode", "status", "says"), SCRIPT_FAULTS, ids=[f[0] for f in SCRIPT_FAULTS])
def test_a_parallel_run_survives_the_fault_and_leaves_a_report(
        mode: str, status: str, says: str, whole_runs: dict[str, tuple[Any, float, Any, Path]]) -> None:
    """Every script fault in a run under pytest-xdist (-n 2), beside a runtime that works: the
    fault is its runtime's outcome, the other runtime's result is there, nothing is left over."""
    if "parallel" not in whole_runs:
        pytest.skip("pytest-xdist is not installed")
    proc, seconds, report, pidfile = whole_runs["parallel"]
    assert seconds < 300, proc.stdout[-3000:]
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert report is not None and report["status"] == "complete", proc.stdout[-3000:]
    outcomes = {r["runtime"]: r for r in report["results"]}
    assert outcomes[f"x-{mode}"]["outcome"] == status, outcomes[f"x-{mode}"]
    assert says in outcomes[f"x-{mode}"]["message"], outcomes[f"x-{mode}"]["message"][-500:]
    assert outcomes["wasmtime"]["outcome"] == "pass"
    assert none_left(pidfile) == [], proc.stdout[-3000:]
