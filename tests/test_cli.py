"""``wasm-conformance`` as a user meets it: --version, one spelling of each option, help text
without markup, and an unknown runtime stopped before anything else is printed."""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = {"guest": "bytes", "ops": [{"op": "instantiate"}, {"op": "read", "addr": 0, "length": 2}]}
MARKUP = re.compile(r"``|:(?:func|class|meth|mod|attr):`|\.\. \w+::")


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_version_names_the_package_and_the_python(tmp_path: Path) -> None:
    proc = cli(tmp_path, "--version")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert re.match(r"wasm-conformance \d+\.\d+\.\d+ \(Python ", line), line
    assert platform.python_version() in line and len(proc.stdout.splitlines()) == 1


@pytest.mark.parametrize("args", [(), ("replay",), ("runtimes",)])
def test_help_has_no_raw_markup(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc = cli(tmp_path, *args, "--help")
    assert proc.returncode == 0, proc.stderr
    assert not MARKUP.search(proc.stdout), proc.stdout
    assert "--wasm-driver" not in proc.stdout and "--wasm-runtime" not in proc.stdout  # one spelling shown


def test_pytest_help_of_the_plugin_has_no_raw_markup(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--help", "-p", "no:cacheprovider"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    group = proc.stdout.split("WebAssembly memory conformance:", 1)[1].split("\n\n", 1)[0]
    assert "--wasm-profile" in group and "--wasm-report-dir" in group
    assert not MARKUP.search(group), group


@pytest.mark.parametrize("command", ["replay", "runtimes"])
@pytest.mark.parametrize("spelling", ["--runtime", "--wasm-runtime"])
def test_an_unknown_runtime_is_one_line_before_any_output(tmp_path: Path, command: str,
                                                          spelling: str) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"property": "test_bytes.py::x", "script": SCRIPT}),
                                     encoding="utf-8")
    args = ("replay", "s.json") if command == "replay" else ("runtimes",)
    proc = cli(tmp_path, *args, spelling, "nonesuch")
    assert proc.returncode == 2
    assert proc.stdout == "", proc.stdout  # no header (property:, guest:) before the error
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: unknown runtime 'nonesuch'")


@pytest.mark.parametrize("spelling", ["--driver", "--wasm-driver"])
def test_both_spellings_of_driver_are_accepted(tmp_path: Path, spelling: str) -> None:
    (tmp_path / "s.json").write_text(json.dumps(SCRIPT), encoding="utf-8")
    driver = Path(__file__).resolve().parents[1] / "conformance" / "drivers" / "wasmtime_driver.py"
    proc = cli(tmp_path, "replay", "s.json", "--runtime", "mine", spelling, f"mine={sys.executable} {driver}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "== mine" in proc.stdout and "agrees with the model" in proc.stdout
    bad = cli(tmp_path, "runtimes", spelling, "mine=py 'a")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: --driver mine: cannot split its command"), bad.stderr


def test_the_replay_command_of_a_custom_driver_uses_the_documented_spelling() -> None:
    from conformance.checks import _replay
    from conformance.runtimes import parse_custom

    class Runtime:
        id = "mine"
        spec = parse_custom("mine=python driver.py")
        replay_prefix = "wasm-conformance replay"

    assert _replay(Runtime(), Path("x.json")) == (  # type: ignore[arg-type]
        "wasm-conformance replay x.json --runtime mine --driver 'mine=python driver.py'")


def test_replay_judges_by_the_outcomes_the_property_computed_from_the_spec(tmp_path: Path) -> None:
    """A counterexample that carries the outcomes the spec allows per operation (``spec``, saved by
    a property that computes them itself) is replayed against them, not against the reference
    runtime: a runtime that gives one of them agrees, one that gives another differs."""
    script = {"guest": "imports", "ops": [{"op": "memory_new", "name": "m", "min": 1, "max": 2},
                                          {"op": "instantiate"}, {"op": "grow", "delta": 2, "memory": "m"},
                                          {"op": "size", "memory": "m"}],
              "wat": '(module (memory (export "memory") 1))'}
    allowed = [[{"ok": None}], [{"ok": None}], [{"error": "grow-failed"}], [{"ok": 65536}]]
    doc = tmp_path / "c.json"
    doc.write_text(json.dumps({"property": "p", "runtime": "x", "script": script, "spec": allowed}))
    good = subprocess.run([sys.executable, "-m", "conformance", "replay", str(doc), "--runtime", "wasmtime"],
                          capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and "agrees with the spec" in good.stdout, good.stdout + good.stderr
    assert "spec:  error grow-failed" in good.stdout
    allowed[3] = [{"ok": 131072}]  # a spec that says otherwise: wasmtime differs from it
    doc.write_text(json.dumps({"property": "p", "runtime": "x", "script": script, "spec": allowed}))
    bad = subprocess.run([sys.executable, "-m", "conformance", "replay", str(doc), "--runtime", "wasmtime"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "DIFFERS: operation 3" in bad.stdout, bad.stdout + bad.stderr
    assert "what the spec allows" in bad.stdout


def test_replay_takes_several_files_and_starts_each_driver_once(tmp_path: Path) -> None:
    """``replay FILE...``: each file's replay under its name, one driver for all of them, a summary
    naming the files that differ, exit 1 if any does; an unreadable file stops it before any runs."""
    script = {"guest": "imports", "ops": [{"op": "instantiate"}, {"op": "size"}],
              "wat": '(module (memory (export "memory") 1))'}
    for name, size in (("good.json", 65536), ("bad.json", 131072)):  # bad: a spec that says 2 pages
        (tmp_path / name).write_text(json.dumps({"property": name, "runtime": "x", "script": script,
                                                 "spec": [[{"ok": None}], [{"ok": size}]]}))
    starts = tmp_path / "starts"
    launcher = tmp_path / "launcher.py"
    driver = Path(__file__).resolve().parents[1] / "conformance" / "drivers" / "wasmtime_driver.py"
    launcher.write_text(f"import runpy, sys\nwith open({str(starts)!r}, 'a') as f:\n"
                        "    f.write('start\\n')\n"
                        f"sys.argv = [{str(driver)!r}]\nsys.path.insert(0, {str(driver.parent)!r})\n"
                        f"runpy.run_path({str(driver)!r}, run_name='__main__')\n")
    proc = cli(tmp_path, "replay", "good.json", "bad.json", "good.json", "--runtime", "mine",
               "--driver", f"mine={sys.executable} {launcher}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    parts = proc.stdout.split("=== ")
    assert [p.splitlines()[0] for p in parts[1:]] == ["good.json", "bad.json", "good.json"], proc.stdout
    assert "agrees with the spec" in parts[1] and "DIFFERS: operation 1" in parts[2]
    assert "agrees with the spec" in parts[3]
    assert proc.stdout.rstrip().endswith("1 of 3 scripts differ on some runtime: bad.json"), proc.stdout
    assert starts.read_text() == "start\n"  # one driver for the three scripts

    (tmp_path / "broken.json").write_text("{")
    stopped = cli(tmp_path, "replay", "good.json", "broken.json", "--runtime", "mine",
                  "--driver", f"mine={sys.executable} {launcher}")
    assert stopped.returncode == 2 and stopped.stdout == "", stopped.stdout
    assert stopped.stderr.startswith("error: cannot read a script from broken.json"), stopped.stderr
    assert starts.read_text() == "start\n"  # nothing ran
