"""Bad input stops a run in one clear line; the files a run leaves are written whole or not at all.

Each bad input runs the suite (or the CLI) as a subprocess, as a user would: the exit code is a
usage error (pytest's 4, the CLI's 2), exactly one line names the problem, and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import atomic
from conformance.model.memory import Memory
from conformance.report import baseline
from conformance.runtimes import _wasmer_python
from conformance.script import Read, ScriptError, op_from_json

ONE = ("-k", "test_guest_reads_what_the_host_wrote", "--wasm-runtime=wasmtime")


def suite(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
          report: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-profile=quick", f"--wasm-report-dir={report or tmp_path / 'report'}", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def one_line(proc: subprocess.CompletedProcess[str], prefix: str, *words: str) -> str:
    """The one line starting with ``prefix`` in the output; it names each of ``words``."""
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    lines = [line for line in out.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, out
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def usage_error(tmp_path: Path, *args: str, words: tuple[str, ...],
                env: dict[str, str] | None = None) -> None:
    proc = suite(tmp_path, *ONE, *args, env=env)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    one_line(proc, "ERROR:", *words)
    assert not (tmp_path / "report" / "report.json").exists()


@pytest.mark.parametrize(("value", "shown"), [("0", "0.0"), ("-1", "-1.0"), ("nan", "nan")])
def test_a_script_timeout_that_is_not_positive(tmp_path: Path, value: str, shown: str) -> None:
    usage_error(tmp_path, f"--wasm-script-timeout={value}", words=("--wasm-script-timeout", shown))


def test_a_runtime_list_that_names_nothing(tmp_path: Path) -> None:
    proc = suite(tmp_path, "-k", "test_guest_reads_what_the_host_wrote", "--wasm-runtime=,")
    assert proc.returncode == 4
    one_line(proc, "ERROR:", "names no runtime")


def test_a_runtime_variable_that_names_nothing(tmp_path: Path) -> None:
    proc = suite(tmp_path, "-k", "test_guest_reads_what_the_host_wrote",
                 env={"WASM_CONFORMANCE_RUNTIMES": ","})
    assert proc.returncode == 4
    one_line(proc, "ERROR:", "names no runtime")


def test_a_driver_command_with_unbalanced_quotes(tmp_path: Path) -> None:
    usage_error(tmp_path, "--wasm-driver=mine=python 'driver.py",
                words=("--wasm-driver", "mine", "quotation"))


def test_a_missing_known_divergence_folder(tmp_path: Path) -> None:
    usage_error(tmp_path, f"--wasm-known-divergences={tmp_path / 'nowhere'}",
                words=("known divergences", "nowhere"))


@pytest.mark.parametrize(("text", "words"), [
    ('[[divergences]]\ntest = "test_"\nreason = "r"\n', ("wasmtime.toml", "'divergences'")),
    ("divergence = 3\n", ("wasmtime.toml", "array")),
    ("divergence = [3]\n", ("wasmtime.toml", "entry 1", "not a table")),
    ('[[divergence]]\ntest = 3\nreason = "r"\n', ("wasmtime.toml", "entry 1", "test")),
])
def test_a_divergence_file_of_wrong_shape(tmp_path: Path, text: str, words: tuple[str, ...]) -> None:
    (tmp_path / "known").mkdir()
    (tmp_path / "known" / "wasmtime.toml").write_text(text, encoding="utf-8")
    usage_error(tmp_path, f"--wasm-known-divergences={tmp_path / 'known'}", words=words)


@pytest.mark.parametrize(("doc", "words"), [
    ([1], ("not a JSON object",)),
    ({"outcomes": {"wasmtime": [1]}}, ("'wasmtime'", "not a table")),
    ({"outcomes": {"wasmtime": {"test_x.py::test_y": 5}}}, ("'test_x.py::test_y'", "not a string")),
    ({"outcomes": {}, "versions": {"wasmtime": 1}}, ("'versions'",)),
])
def test_a_baseline_of_wrong_types(tmp_path: Path, doc: object, words: tuple[str, ...]) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    usage_error(tmp_path, f"--wasm-baseline={path}", words=("old.json", *words))


def test_a_report_dir_that_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    for where in (tmp_path / "file", tmp_path / "file" / "under"):
        proc = suite(tmp_path, *ONE, report=where)
        assert proc.returncode == 4, proc.stdout + proc.stderr
        one_line(proc, "ERROR:", "cannot write the report", str(where), "--wasm-report-dir")


def test_a_baseline_path_that_cannot_be_written(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")
    usage_error(tmp_path, f"--wasm-save-baseline={tmp_path / 'file' / 'b.json'}",
                words=("--wasm-save-baseline", "b.json"))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes a read-only dir")
def test_a_read_only_report_dir(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        proc = suite(tmp_path, *ONE, report=ro)
    finally:
        ro.chmod(0o755)
    assert proc.returncode == 4
    one_line(proc, "ERROR:", "cannot write the report")


DISK_FULL = '''
import errno, os
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
    os.replace = full
'''


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    first = suite(tmp_path, *ONE)
    assert first.returncode == 0, first.stdout + first.stderr
    before = {name: (tmp_path / "report" / name).read_bytes()
              for name in ("report.json", "report.md", "report.html")}
    (tmp_path / "disk_full.py").write_text(DISK_FULL, encoding="utf-8")
    again = suite(tmp_path, *ONE, "-p", "disk_full", f"--wasm-save-baseline={tmp_path / 'b.json'}")
    assert again.returncode == 1, again.stdout + again.stderr
    line = one_line(again, "error: cannot write the report", str(tmp_path / "report"), "No space left")
    assert line.startswith("error: cannot write the report")
    one_line(again, "error: --wasm-save-baseline", "b.json", "No space left")
    assert not [ln for ln in again.stdout.splitlines() if ln.startswith("report: ")]  # none to point at
    for name, data in before.items():
        assert (tmp_path / "report" / name).read_bytes() == data
    json.loads(before["report.json"])
    assert not list((tmp_path / "report").glob(".*.tmp")), "temporary files left behind"
    assert not (tmp_path / "b.json").exists()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "report.json"
    atomic.write_text(path, '{"old": true}\n')

    def full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError):
        atomic.write_text(path, '{"new": ')
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    monkeypatch.undo()
    baseline.save(tmp_path / "b.json", {"results": []})
    assert baseline.load(tmp_path / "b.json")["outcomes"] == {}


# -- replay files -----------------------------------------------------------------------------

def _replay(tmp_path: Path, doc: object) -> subprocess.CompletedProcess[str]:
    (tmp_path / "s.json").write_text(json.dumps(doc), encoding="utf-8")
    return cli(tmp_path, "replay", "s.json", "--runtime", "wasmtime")


def _ops(*ops: dict[str, object]) -> list[dict[str, object]]:
    return [{"op": "instantiate"}, *ops]


@pytest.mark.parametrize(("doc", "words"), [
    ({"guest": "bytes", "ops": _ops({"op": "read", "addr": -1, "length": 2})}, ("addr", "-1")),
    ({"guest": "bytes", "ops": _ops({"op": "read", "addr": 0, "length": -2})}, ("length", "-2")),
    ({"guest": "bytes", "ops": _ops({"op": "grow", "delta": -1})}, ("delta", "-1")),
    ({"guest": "bytes", "ops": _ops({"op": "write", "addr": 2**64, "data": "00"})}, ("addr",)),
    ({"guest": "bytes", "ops": _ops({"op": "read", "addr": "0", "length": 2})}, ("addr", "integer")),
    ({"guest": "bytes", "ops": _ops({"op": "read", "addr": True, "length": 2})}, ("addr", "integer")),
    ({"guest": "bytes", "ops": _ops({"op": "write", "addr": 0, "data": "zz"})}, ("hex",)),
    ({"guest": "bytes", "ops": _ops({"op": "call", "func": 3})}, ("func",)),
    ({"guest": "bytes", "ops": "instantiate"}, ("ops",)),
    ({"guest": 7, "ops": _ops()}, ("guest",)),
    ({"guest": "../../etc/passwd", "ops": _ops()}, ("guest", "etc/passwd")),
    ({"guest": "no-such-guest", "ops": _ops()}, ("unknown guest", "no-such-guest")),
    ({"guest": "bytes", "module": "/etc/passwd", "ops": _ops()}, ("/etc/passwd", "compile cache")),
    ({"guest": "bytes", "module": "../guest-modules/../../x.wasm", "ops": _ops()}, ("x.wasm",)),
    ({"script": {"guest": "bytes", "ops": _ops()}, "capacity": "many"}, ("capacity",)),
    ([1, 2], ("JSON object",)),
])
def test_a_replay_file_is_checked_data(tmp_path: Path, doc: object, words: tuple[str, ...]) -> None:
    proc = _replay(tmp_path, doc)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    one_line(proc, "error:", "s.json", *words)


def test_a_good_replay_file_still_replays(tmp_path: Path) -> None:
    proc = _replay(tmp_path, {"guest": "bytes", "ops": _ops({"op": "read", "addr": 0, "length": 2})})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "agrees with the model" in proc.stdout


@pytest.mark.parametrize("args", [("runtimes", "--runtime", ","),
                                  ("runtimes", "--runtime", "wasmtime", "--wasm-driver", "x=py 'a")])
def test_the_cli_refuses_runtime_lists_in_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = cli(tmp_path, *args)
    assert proc.returncode == 2
    one_line(proc, "error:")


@pytest.mark.parametrize("value", ["0", "-3", "nan"])
def test_a_replay_timeout_that_is_not_positive(tmp_path: Path, value: str) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"guest": "bytes", "ops": _ops()}), encoding="utf-8")
    proc = cli(tmp_path, "replay", "s.json", "--runtime", "wasmtime", f"--timeout={value}")
    assert proc.returncode == 2
    one_line(proc, "error:", "--timeout", value)


def test_operations_and_the_model_refuse_negative_lengths() -> None:
    with pytest.raises(ScriptError, match="length"):
        op_from_json({"op": "view_read", "view": "v", "addr": 0, "length": -1})
    memory = Memory.of_pages(1)
    assert not memory.in_bounds(8, -4)
    assert Read(8, 4) == op_from_json({"op": "read", "addr": 8, "length": 4})


def test_no_wasmer_python_from_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = tmp_path / ".venv-wasmer" / "bin" / "python"
    planted.parent.mkdir(parents=True)
    planted.write_text("#!/bin/sh\n", encoding="utf-8")
    planted.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WASM_CONFORMANCE_WASMER_PYTHON", raising=False)
    assert _wasmer_python()[0] != str(planted)
    monkeypatch.setenv("WASM_CONFORMANCE_WASMER_PYTHON", str(planted))
    assert _wasmer_python()[0] == str(planted)
