"""The pytest plugin from the outside: options, skips, known divergences, reports."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.driver_process import DriverProcess
from conformance.guests import Guest
from conformance.probes import FEATURES
from conformance.runtimes import BUILTIN
from conformance.script import Read, Script, Size


def pytest_run(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
               ) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q",
         "--wasm-profile=quick", f"--wasm-report-dir={tmp_path / 'report'}", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})},
    )
    path = tmp_path / "report" / "report.json"
    return proc, json.loads(path.read_text()) if path.exists() else None


def test_unknown_runtime_fails_at_start_up_naming_the_valid_ones(tmp_path: Path) -> None:
    proc, report = pytest_run(tmp_path, "--wasm-runtime=nope")
    assert proc.returncode == 4  # pytest's usage error
    assert "unknown runtime 'nope'; valid runtimes: wasmtime, wasmtime-winch" in proc.stderr
    assert "node, bun, deno" in proc.stderr and "(or all" in proc.stderr
    assert report is None


def test_one_runtime_alone(tmp_path: Path) -> None:
    proc, report = pytest_run(tmp_path, "--wasm-runtime=wasmtime", "-k", "very_end or greeting")
    assert proc.returncode == 0, proc.stdout
    assert report is not None
    assert [r["id"] for r in report["runtimes"]] == ["wasmtime"]
    assert {r["runtime"] for r in report["results"]} == {"wasmtime"}
    by_prop = {r["property"]: r for r in report["results"]}
    known = by_prop["test_bytes.py::test_zero_length_at_the_very_end"]
    assert known["outcome"] == "known-divergence" and "IndexError" in known["reason"]
    assert by_prop["test_results.py::test_get_greeting_into_host_buffer"]["outcome"] == "pass"
    assert report["runtimes"][0]["version"][0].isdigit()
    assert {"bytes", "strings", "probe_memory64"} <= {g["name"] for g in report["guests"]}
    assert set(report["runtimes"][0]["probes"]["features"]) == set(FEATURES) == {
        "bulk_memory", "multi_memory", "memory64", "host_grow", "view", "i64_boundary", "extended_const",
        "import_memory", "host_memory", "shared_memory", "const_global", "resizable_buffer",
        "component_model", "component_utf16", "component_latin1_utf16"}
    states = report["runtimes"][0]["probes"]["state"]
    # wasmtime has every feature but the JavaScript API's resizable buffers (its component probes
    # are components in text, assembled by wasmtime's wat2wasm: no jco needed)
    assert {f: s for f, s in states.items() if s != "works"} == {"resizable_buffer": "absent"}
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| `test_bytes.py::test_zero_length_at_the_very_end` | known divergence |" in md


def test_runtimes_from_the_environment(tmp_path: Path) -> None:
    proc, report = pytest_run(tmp_path, "-k", "greeting", env={"WASM_CONFORMANCE_RUNTIMES": "wasm3"})
    assert proc.returncode == 0, proc.stdout
    assert report is not None and [r["id"] for r in report["runtimes"]] == ["wasm3"]


def test_a_named_runtime_that_cannot_run_stops_the_run_with_one_line(tmp_path: Path) -> None:
    """What the user named on purpose and cannot run is an error, not a green run of skips."""
    for driver, says in (("ghost=/nonexistent/python3.10 driver.py",
                          "/nonexistent/python3.10 does not exist"),
                         (f"ghost={sys.executable} -c 'print(42)'", "does not speak the protocol"),
                         ("ghost=no-such-program-here driver.py", "no-such-program-here is not on PATH")):
        proc, report = pytest_run(tmp_path, "-k", "greeting", "--wasm-driver", driver,
                                  "--wasm-runtime=ghost,wasmtime")
        assert proc.returncode == 4, proc.stdout[-2000:]
        (error,) = [line for line in proc.stderr.splitlines() if line.strip()]
        assert error.startswith("ERROR: runtime 'ghost' was named but cannot run here: ")
        assert says in error and report is None
    # a custom driver is named by --wasm-driver alone (the default selection then holds it)
    proc, report = pytest_run(tmp_path, "-k", "greeting", "--wasm-driver", "ghost=/nonexistent/x")
    assert proc.returncode == 4 and "runtime 'ghost' was named" in proc.stderr


def test_known_divergences_expect_listed_failures_and_warn_on_stale_entries(tmp_path: Path) -> None:
    known = tmp_path / "known"
    known.mkdir()
    pin = 'op = "write"\nexpected = "ok"\ngot = "error out-of-range.*"\n'
    (known / "wasmtime.toml").write_text(
        '[[divergence]]\ntest = "test_bytes.py::test_zero_length_at_the_very_end"\nreason = "listed"\n' + pin
        + '[[divergence]]\ntest = "test_results.py::test_get_greeting"\nreason = "passes really"\n' + pin
        + '[[divergence]]\ntest = "test_bytes.py::test_no_such_property"\nreason = "matches nothing"\n' + pin
    )
    proc, report = pytest_run(tmp_path, "--wasm-runtime=wasmtime", f"--wasm-known-divergences={known}",
                              "-k", "very_end or greeting or host_read_past")
    assert report is not None
    by_prop = {r["property"]: r for r in report["results"]}
    assert by_prop["test_bytes.py::test_zero_length_at_the_very_end"]["outcome"] == "known-divergence"
    # not listed in this file, so the real wasmtime divergence fails the run
    assert by_prop["test_bytes.py::test_host_read_past_the_end_is_an_error"]["outcome"] == "fail"
    assert proc.returncode == 1
    warnings = "\n".join(report["warnings"])
    assert "matches no collected test: 'test_bytes.py::test_no_such_property'" in warnings
    assert "passes test_results.py::test_get_greeting_into_host_buffer" in warnings
    assert "test_no_such_property" in proc.stdout


def test_a_broken_divergence_file_is_a_usage_error(tmp_path: Path) -> None:
    known = tmp_path / "known"
    known.mkdir()
    (known / "wasm3.toml").write_text('[[divergence]]\ntest = "x"\n')
    proc, _ = pytest_run(tmp_path, f"--wasm-known-divergences={known}")
    assert proc.returncode == 4
    assert "wasm3.toml: entry 1 needs a test and a reason" in proc.stderr


@pytest.mark.parametrize("runtime", sorted(BUILTIN))
def test_a_malformed_module_gives_a_one_line_reason(runtime: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\x00asm\x01\x00\x00\x00\x05\xff\xff")
    module = Guest("bad", bad, hashlib.sha256(bad.read_bytes()).hexdigest())
    process = DriverProcess(BUILTIN[runtime])
    try:
        result = process.run(Script.of("bytes", [Size(), Read(0, 1)]), module=module)
        if result.status == "unavailable":
            pytest.skip(result.detail)
        assert result.status == "ok"
        instantiate, size, _ = result.outcomes
        assert (instantiate.kind, instantiate.reason) == ("error", "invalid-module")
        assert instantiate.message and "\n" not in instantiate.message
        assert (size.kind, size.reason) == ("error", "no-instance")
        # and the driver goes on with the next script
        again = process.run(Script.of("bytes", [Size()]))
        assert again.outcomes[1].value == 65536
    finally:
        process.close()


def test_a_pinned_interpreter_runs_an_older_wasmtime_beside_the_current_one(tmp_path: Path) -> None:
    """A vendor check: wasmtime 5.0 (before Memory.read/write existed) in its own environment."""
    venv = tmp_path / "wt5"
    # without a pip of its own (seconds to install): this environment's pip installs into it
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                          "--quiet", "wasmtime==5.0.0"], capture_output=True, text=True, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"cannot install wasmtime 5.0.0 here: {pip.stderr.strip()[-300:]}")
    proc, report = pytest_run(tmp_path, f"--wasm-runtime=wasmtime,wasmtime@5={venv}/bin/python",
                              "-k", "round_trips or greeting or very_end")
    assert report is not None, proc.stdout[-3000:]
    runtimes = {r["id"]: r for r in report["runtimes"]}
    assert runtimes["wasmtime@5"]["version"] == "5.0.0"
    assert runtimes["wasmtime@5"]["info"]["host_api"] == "data_ptr"
    by = {(r["property"], r["runtime"]): r["outcome"] for r in report["results"]}
    assert by[("test_results.py::test_get_greeting_into_host_buffer", "wasmtime@5")] == "pass"
    assert by[("test_strings.py::test_text_round_trips_through_the_guest", "wasmtime@5")] == "pass"
    # 5.0 had no Memory.write and its data_ptr path takes the zero-length write at the very end
    # that 50.x's Memory.write refuses: wasmtime's known divergence matches nothing there.
    assert by[("test_bytes.py::test_zero_length_at_the_very_end", "wasmtime")] == "known-divergence"
    assert by[("test_bytes.py::test_zero_length_at_the_very_end", "wasmtime@5")] == "pass"


def test_a_missing_pinned_executable_stops_the_run(tmp_path: Path) -> None:
    proc, report = pytest_run(tmp_path, "--wasm-runtime=node=/nonexistent/node", "-k", "greeting")
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert "runtime 'node' was named but cannot run here: /nonexistent/node does not exist" in proc.stderr
    assert report is None


def test_a_property_that_needs_a_feature_is_skipped_where_the_probe_found_none(tmp_path: Path) -> None:
    (tmp_path / "test_needs_multi_memory.py").write_text(
        "import pytest\n"
        "from conformance import Call, Read, Script, Value, check_script\n"
        "@pytest.mark.wasm_feature('multi_memory')\n"
        "def test_second_memory(wasm_runtime):\n"
        "    check_script(wasm_runtime, Script.of('bytes', [Read(0, 1)]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_needs_multi_memory.py", "-q", "-rs",
         "--wasm-runtime=wasmtime,wasm3", f"--wasm-report-dir={tmp_path / 'report'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout
    assert "1 passed, 1 skipped" in proc.stdout
    assert "wasm3 lacks multi_memory: module refused: error invalid-module" in proc.stdout


def test_a_driver_that_ran_and_cannot_restart_is_a_crash_not_a_skip(tmp_path: Path) -> None:
    """A runtime that kills itself and will not start again must not turn into a run of skips."""
    faulty = Path(__file__).resolve().parent / "faulty_driver.py"
    marker = tmp_path / "started-once"
    command = (f"sh -c 'if [ -e {marker} ]; then echo not-a-hello; exit 0; fi; touch {marker}; "
               f"exec {sys.executable} {faulty} segfault'")
    proc, report = pytest_run(
        tmp_path, "--wasm-driver", f"once={command}", "--wasm-runtime=once",
        "-k", "test_guest_reads_what_the_host_wrote or test_host_write_then_read_round_trips")
    assert report is not None, proc.stdout[-2000:]
    outcomes = {r["property"]: r["outcome"] for r in report["results"] if r["runtime"] == "once"}
    assert outcomes == {"test_bytes.py::test_guest_reads_what_the_host_wrote": "crash",
                        "test_bytes.py::test_host_write_then_read_round_trips": "crash"}, outcomes
    assert proc.returncode == 1
