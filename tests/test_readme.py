"""README.md cannot drift: its generated tables, and its fenced commands run as written.

The rule for the commands: every line of a ```` ```sh ```` block is a command (a trailing
backslash joins the next line; ``#`` starts a comment). None may lean on an activated
environment: a bare ``pytest``, ``python``, ``pip`` or ``wasm-conformance`` fails on a fresh
clone ("unrecognized arguments"), so each names ``.venv/bin/``. Each command is run here, from
the repository, unless :data:`NOT_RUN` says why not (too long, the network, a file only the
reader has). To keep this file to seconds, a ``pytest`` command runs one property on the quick
profile (``-k`` :data:`ONE_PROPERTY`, ``--wasm-profile=quick`` after the command's own
options, so it wins), its report in a temporary folder; one that selects every runtime
(no ``--wasm-runtime``, no ``$WASM_CONFORMANCE_RUNTIMES``) is only collected
(``--collect-only``), which still parses every option. The Python example of "Using it in
your own tests" runs as a test file on wasmtime.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import readme

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
ONE_PROPERTY = "test_host_write_then_read_round_trips"

NOT_RUN = {
    "make conformance": "the full run itself, minutes long",
    "make test": "the full run itself, minutes long; it runs this file",
    "/opt/node-12/bin/node": "needs a Node 12 there (tests/test_js_driver.py runs the driver on Node 12)",
    "wasmtime@5=/venvs/wt5": "needs a second wasmtime environment at that path",
    "mine=node my-driver.js": "my-driver.js is the reader's own driver",
    "pip install wasmtime==49.0.0": "the network: wasmtime 49 from PyPI",
    "wasmtime-49": "needs the wasmtime 49 environment of the line before (tests/test_baseline.py: the flow)",
    "replay": "needs a counterexample a failing run saved",
}
BARE = re.compile(r"^(?:\w+=\S+\s+)*(pytest|python3?|pip3?|wasm-conformance)\b")


def fenced_commands(text: str) -> list[str]:
    commands: list[str] = []
    for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.S | re.M):
        pending = ""
        for line in block.splitlines():
            line = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            if command:
                commands.append(command)
    return commands


def why_not_run(command: str) -> str | None:
    return next((why for key, why in NOT_RUN.items() if key in command), None)


COMMANDS = fenced_commands(README.read_text())


def test_the_generated_parts_are_up_to_date() -> None:
    text = README.read_text()
    # the message says the command that fixes it
    assert readme.generate(text) == text, f"README.md's generated tables are stale: {readme.WRITE_COMMAND}"


def test_every_property_has_a_docstring() -> None:
    """The property table is made of them: a property without one would be a bare name there."""
    missing = [f"{module}::{prop}" for module, _, props in readme.suite_modules()
               for prop, text in props if not text or text.startswith("*(")]
    assert not missing, f"properties without a docstring: {missing}"


def test_no_command_needs_an_activated_environment() -> None:
    assert COMMANDS
    bare = [c for c in COMMANDS if BARE.match(c) and not c.startswith("python3 -m venv")]
    assert not bare, f"name .venv/bin/ in these README commands (a fresh shell has no venv active): {bare}"


@pytest.mark.parametrize("command", [c for c in COMMANDS if why_not_run(c) is None])
def test_a_readme_command_runs_as_written(command: str, tmp_path: Path) -> None:
    words = shlex.split(command)
    env = dict(os.environ)
    while words and re.fullmatch(r"\w+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words[0].endswith("/pytest"):
        every_runtime = not any(w.startswith("--wasm-runtime") for w in words) and \
            "WASM_CONFORMANCE_RUNTIMES" not in command
        words += ["--collect-only", "-q"] if every_runtime else \
            ["-q", "-k", ONE_PROPERTY, "--wasm-profile=quick", f"--wasm-report-dir={tmp_path}",
             "-p", "no:cacheprovider"]
    if "WASM_CONFORMANCE_RUNTIMES" not in command:
        env.pop("WASM_CONFORMANCE_RUNTIMES", None)  # the command as a fresh shell runs it
    proc = subprocess.run(words, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"


def test_the_commands_not_run_are_few_and_say_why() -> None:
    skipped = {c: why_not_run(c) for c in COMMANDS if why_not_run(c) is not None}
    assert len(skipped) < len(COMMANDS), skipped


def test_the_own_tests_example_runs(tmp_path: Path) -> None:
    text = README.read_text()
    section = text[text.index("## Using it in your own tests"):]
    (example,) = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)[:1]
    (tmp_path / "test_example.py").write_text(example)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "test_example.py", "--wasm-runtime=wasmtime",
         "--wasm-profile=quick", f"--wasm-report-dir={tmp_path / 'reports'}", "-p", "no:cacheprovider"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
