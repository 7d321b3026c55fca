"""Known divergences are pinned: an entry turns only the outcome it describes into an expected one.

Each test runs the suite (quick profile, a few properties) on a faulty wasmtime driver
(``tests/faulty_driver.py``) with a directory of known divergences written for it, and looks
at the report and the exit status.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conformance import divergences
from conformance.checks import ConformanceFailure
from conformance.script import (
    Call,
    Import,
    Instantiate,
    MemoryNew,
    Outcome,
    Read,
    Script,
    ScriptResult,
    Value,
)

FAULTY = Path(__file__).resolve().parent / "faulty_driver.py"

# wasmtime's own pin for its short read past the end (conformance/divergences/wasmtime.toml)
SHORT_READ = '''
[[divergence]]
test = "test_bytes.py::test_host_read_past_the_end_is_an_error"
reason = "reads past the end come back short"
op = "read"
expected = "error out-of-range"
got = "ok .*"
length = "short"
'''

POISONED = '''
[[divergence]]
test = "test_"
reason = "no call works on an instance after a trap"
op = "call"
expected = "(ok|trap) .*"
got = 'error poisoned \\(.*\\)'
'''


def run(fault: str, workdir: Path, known: str | None, *args: str,
        target: tuple[str, ...] = ("--pyargs", "conformance.suite")) -> dict[str, Any]:
    """The report of a quick run on ``faulty-<fault>``, with ``known`` as its divergence file."""
    workdir.mkdir(parents=True, exist_ok=True)
    extra: list[str] = []
    if known is not None:
        (workdir / "known").mkdir(exist_ok=True)
        (workdir / "known" / f"faulty-{fault}.toml").write_text(known, encoding="utf-8")
        extra.append(f"--wasm-known-divergences={workdir / 'known'}")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *target, "-q", "-p", "no:warnings", "--wasm-profile=quick",
         f"--wasm-report-dir={workdir / 'report'}",
         f"--wasm-driver=faulty-{fault}={sys.executable} {FAULTY} {fault}", f"--wasm-runtime=faulty-{fault}",
         *extra, *args],
        cwd=workdir, capture_output=True, text=True, timeout=600,
    )
    path = workdir / "report" / "report.json"
    report: dict[str, Any] = {}
    if path.exists():
        report.update(json.loads(path.read_text()))
    report["_exit"], report["_stdout"], report["_stderr"] = proc.returncode, proc.stdout, proc.stderr
    return report


def result(report: dict[str, Any], prop: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [r for r in report["results"] if r["property"] == prop]
    assert len(found) == 1, found
    return found[0]


READ_PAST = "test_bytes.py::test_host_read_past_the_end_is_an_error"


def test_a_padded_read_is_not_the_short_read_an_entry_pins(tmp_path: Path) -> None:
    """Reads past the end padded with zeros are a bug of their own: wasmtime's short-read entry,
    copied for this runtime, does not cover them, and the run fails."""
    report = run("padded-read", tmp_path, SHORT_READ, "-k", "test_host_read_past_the_end_is_an_error")
    assert report["_exit"] == 1, report["_stdout"][-3000:]
    failed = result(report, READ_PAST)
    assert failed["outcome"] == "fail"
    assert failed["expected"] == "error out-of-range" and failed["got"].startswith("ok ")
    assert "pin" not in failed and "reason" not in failed


def test_the_short_read_an_entry_pins_is_a_known_divergence_shown_as_seen(tmp_path: Path) -> None:
    """The outcome the entry describes is expected: the report shows the reason, the pin, and the
    outcome seen (expected, got, the script), and every example of the profile ran."""
    report = run("short-read", tmp_path, SHORT_READ, "-k", "test_host_read_past_the_end_is_an_error")
    assert report["_exit"] == 0, report["_stdout"][-3000:]
    known = result(report, READ_PAST)
    assert known["outcome"] == "known-divergence"
    assert known["reason"] == "reads past the end come back short"
    assert "with fewer bytes than asked" in known["pin"] and "seen in" in known["pin"]
    assert known["expected"] == "error out-of-range" and known["got"].startswith("ok ")
    assert [op["op"] for op in known["script"]["ops"]] == ["instantiate", "read"]
    assert Path(known["counterexample"]).exists() and "replay" in known
    # the pinned examples ended without failing: Hypothesis ran the profile's 20 examples
    assert report["examples"][f"{READ_PAST} faulty-short-read"] >= 20
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| faulty-short-read | `test_bytes.py::test_host_read_past_the_end_is_an_error` |" in md


EXPLORING = '''
from hypothesis import example, given, settings, strategies as st
from conformance import Read, Script, check_script

@settings(max_examples=30, derandomize=True)
@given(n=st.integers(1, 48))
@example(n=1)
def test_reads_across_the_end(wasm_runtime, n):
    check_script(wasm_runtime, Script.of("bytes", [Read(65536 - 1, n + 1)]))
'''


def test_a_pinned_example_does_not_stop_the_search_for_other_wrong_outcomes(tmp_path: Path) -> None:
    """The first example (n = 1: a padded read of 2 bytes) shows the pinned outcome; Hypothesis
    goes on, finds padded reads of other lengths, which no pin describes, and the run fails."""
    (tmp_path / "test_exploring.py").write_text(EXPLORING, encoding="utf-8")
    only_two = '''
[[divergence]]
test = "test_exploring.py::test_reads_across_the_end"
reason = "a read of two bytes across the end is padded"
op = "read"
expected = "error out-of-range"
got = 'ok 2 bytes "0000"'
'''
    report = run("padded-read", tmp_path, only_two, target=("test_exploring.py",))
    assert report["_exit"] == 1, report["_stdout"][-3000:]
    failed = result(report, "test_exploring.py::test_reads_across_the_end")
    assert failed["outcome"] == "fail"
    assert failed["got"] != 'ok 2 bytes "0000"' and failed["got"].startswith("ok ")
    also = "also showed its known divergence: a read of two bytes across the end is padded"
    assert also in failed["message"]


def test_an_entry_without_a_pin_is_a_one_line_usage_error(tmp_path: Path) -> None:
    unpinned = f'[[divergence]]\ntest = "{READ_PAST}"\nreason = "x"\n'
    report = run("short-read", tmp_path, unpinned, "-k", "test_host_read_past_the_end_is_an_error")
    assert report["_exit"] == 4  # pytest's usage error
    (line,) = [ln for ln in report["_stderr"].splitlines() if "known divergences" in ln]
    assert f"faulty-short-read.toml: entry 1 ({READ_PAST}): no pin" in line
    assert "results" not in report  # nothing ran


def test_an_entry_whose_pin_is_not_seen_gives_a_warning(tmp_path: Path) -> None:
    """A listed property that passes is a pass, with a warning to remove the entry; a pin that a
    diverging property never showed is a warning too."""
    entries = SHORT_READ + '''
[[divergence]]
test = "test_bytes.py::test_host_read_past_the_end_is_an_error"
reason = "reads past the end come back padded"
op = "read"
expected = "error out-of-range"
got = "ok .*"
length = "full"

[[divergence]]
test = "test_bytes.py::test_host_write_past_the_end_is_an_error"
reason = "writes past the end are accepted"
op = "write"
expected = "error out-of-range"
got = "ok"
'''
    report = run("short-read", tmp_path, entries, "-k",
                 "test_host_read_past_the_end_is_an_error or test_host_write_past_the_end_is_an_error")
    assert report["_exit"] == 0, report["_stdout"][-3000:]
    assert result(report, READ_PAST)["outcome"] == "known-divergence"
    assert result(report, "test_bytes.py::test_host_write_past_the_end_is_an_error")["outcome"] == "pass"
    warnings = "\n".join(report["warnings"])
    assert ("faulty-short-read passes test_bytes.py::test_host_write_past_the_end_is_an_error, listed as a "
            "known divergence") in warnings and "remove the entry" in warnings
    assert (f"no example of {READ_PAST} showed the known divergence (faulty-short-read.toml: {READ_PAST}, "
            "read: expected /error out-of-range/, got /ok .*/ with as many bytes as asked)") in warnings


def test_a_poisoned_instance_after_a_trap_fails(tmp_path: Path) -> None:
    """The store stays valid after a trap: a runtime that cannot call the instance again fails,
    in a plain property and in a stateful one."""
    report = run("poison-after-trap", tmp_path, None, "-k",
                 "test_instance_after_a_trap or test_instance_keeps_working_after_any_trap")
    assert report["_exit"] == 1, report["_stdout"][-3000:]
    for prop in ("test_bytes.py::test_instance_after_a_trap",
                 "test_traps.py::test_instance_keeps_working_after_any_trap"):
        failed = result(report, prop)
        assert failed["outcome"] == "fail" and failed["got"].startswith("error poisoned"), failed


def test_a_pinned_poisoned_instance_is_a_known_divergence_in_a_stateful_property(tmp_path: Path) -> None:
    """Pinned, the same is a known divergence, also where the property is a state machine (its
    examples are rejected, at most as many as the profile runs)."""
    report = run("poison-after-trap", tmp_path, POISONED, "-k",
                 "test_instance_after_a_trap or test_grow_sequences_agree_with_the_model")
    assert report["_exit"] == 0, report["_stdout"][-3000:]
    for prop in ("test_bytes.py::test_instance_after_a_trap",
                 "test_growth.py::test_grow_sequences_agree_with_the_model"):
        known = result(report, prop)
        assert known["outcome"] == "known-divergence", known
        assert known["got"].startswith("error poisoned")
    assert report["memory_edges"]["faulty-poison-after-trap"]["after_a_trap"].startswith("not callable")


def test_a_crash_pinned_as_one_is_a_known_divergence_outside_hypothesis(tmp_path: Path) -> None:
    """A property of one script (no Hypothesis) that crashes as pinned; a hang is not that crash."""
    crash = '''
[[divergence]]
test = "test_bytes.py::test_zero_length_at_the_very_end"
reason = "any call kills the process"
kind = "crash"
message = "driver killed by SIGSEGV.*"

[[divergence]]
test = "test_bytes.py::test_guest_reads_what_the_host_wrote"
reason = "not a crash but a hang"
kind = "timeout"
'''
    report = run("segfault", tmp_path, crash, "-k",
                 "test_zero_length_at_the_very_end or test_guest_reads_what_the_host_wrote")
    assert report["_exit"] == 1
    assert result(report, "test_bytes.py::test_zero_length_at_the_very_end")["outcome"] == "known-divergence"
    assert result(report, "test_bytes.py::test_guest_reads_what_the_host_wrote")["outcome"] == "crash"


def test_pins_match_exactly_what_they_say(tmp_path: Path) -> None:
    """Pins in process: the whole text must match, and the derived facts hold."""
    (tmp_path / "rt.toml").write_text(SHORT_READ + '''
[[divergence]]
test = "test_endianness.py::"
reason = "signalling NaNs are quieted"
op = "call"
expected = 'ok \\[i32:-?\\d+\\]'
got = 'ok \\[i32:-?\\d+\\]'
nan = "quieted"
''', encoding="utf-8")
    short, quieted = (e.pin for e in divergences.load(tmp_path)["rt"])
    read = Read(65535, 4)

    def seen(op: Read | Call, got: Outcome, expected: str = "error out-of-range",
             wanted: tuple[Outcome, ...] = ()) -> divergences.Seen:
        return divergences.Seen("mismatch", op, expected, str(got), got, wanted=wanted)

    assert short.matches(seen(read, Outcome.ok(b"\x00")))
    assert not short.matches(seen(read, Outcome.ok(b"\x00" * 4)))  # padded: full length
    assert not short.matches(seen(read, Outcome.error("internal")))
    assert not short.matches(seen(read, Outcome.ok(b""), expected="error out-of-range or ok"))
    assert not short.matches(divergences.Seen("crash", message="driver killed by SIGSEGV"))
    load = Call("load_f32", (Value.i32(0),))
    want = (Outcome.ok((Value.i32(0x7FA00001),)),)
    assert quieted.matches(seen(load, Outcome.ok((Value.i32(0x7FE00001),)), "ok [i32:2141192193]", want))
    assert not quieted.matches(seen(load, Outcome.ok((Value.i32(0x7FA00002),)), "ok [i32:2141192193]", want))


def test_a_code_pin_names_the_instruction_shape_of_the_called_function(tmp_path: Path) -> None:
    """``code`` is searched in the called function's text: the same trap from another shape fails."""
    (tmp_path / "rt.toml").write_text('''
[[divergence]]
test = "test_instruction_selection.py::"
reason = "a load feeding extend8_s reads 8 bytes"
op = "call"
code = 'i32\\.load(\\s+offset=\\d+)?(\\s+align=\\d+)?\\s+i32\\.extend(8|16)_s'
expected = "ok.*"
got = "trap out-of-bounds.*"
''', encoding="utf-8")
    (entry,) = divergences.load(tmp_path)["rt"]
    wat = ('(module (memory 1)\n  (func (export "a0") (param i32) (result i32)\n    local.get 0\n'
           '    i32.load offset=0 align=1\n    i32.extend8_s)\n'
           '  (func (export "a1") (param i32) (result i32)\n    local.get 0\n    i32.load\n    i32.clz))\n')
    trap = Outcome.trap("out-of-bounds", "out of bounds memory access")

    def seen(func: str) -> divergences.Seen:
        code = divergences.function_text(wat, func)
        return divergences.Seen("mismatch", Call(func, (Value.i32(65532),)), "ok [i32:5]", str(trap), trap,
                                code=code)

    assert divergences.function_text(wat, "a1").endswith("i32.clz)")
    assert entry.pin.matches(seen("a0"))
    assert not entry.pin.matches(seen("a1"))  # the same trap, from a load that feeds clz
    assert not entry.pin.matches(divergences.Seen("mismatch", Call("a0"), "ok [i32:5]", str(trap), trap))
    (tmp_path / "rt.toml").write_text('[[divergence]]\ntest = "x"\nreason = "r"\nop = "read"\ncode = "i32"\n'
                                      'expected = "ok"\ngot = "ok"\n', encoding="utf-8")
    try:
        divergences.load(tmp_path)
    except divergences.BadDivergenceFile as exc:
        assert 'code goes with op = "call"' in str(exc)
    else:
        raise AssertionError("a code pin on a read loaded")


def test_a_script_pin_needs_what_the_divergence_needs_of_the_whole_script(tmp_path: Path) -> None:
    """``script`` is searched in the script as the report prints it and its modules' text (a memory
    made with a maximum of 0 pages); ``code`` on an instantiate is the instantiated module's text.
    The same wrong outcome from another script is not the divergence."""
    (tmp_path / "rt.toml").write_text('''
[[divergence]]
test = "test_imports.py::"
reason = "a maximum of 0 pages is no maximum at link time"
op = "instantiate"
script = '\\(memory_new \\$\\w+ i32 \\d+ 0\\)'
expected = 'ok\\s*'
got = 'error link-error.*'

[[divergence]]
test = "test_imports.py::"
reason = "an import's maximum of 0 is none"
op = "instantiate"
code = '\\(import "env" "memory" \\(memory \\d+ 0\\)\\)'
expected = 'error link-error.*'
got = 'ok\\s*'
''', encoding="utf-8")
    no_link, links = (e.pin for e in divergences.load(tmp_path)["rt"])
    refused = Outcome.error("link-error", "incompatible import type")
    linked = Instantiate(module="user", name="u", imports=(Import("env", "memory", "m"),))

    def failure(memory: MemoryNew, user: str, got: Outcome, expected: str) -> divergences.Seen:
        script = Script("imports", (memory, linked), wat="(module)", modules=(("user", user),))
        result = ScriptResult("ok", (Outcome.ok(), got))
        return ConformanceFailure("x", kind="fail", runtime="rt", script=script, result=result,
                                  counterexample=None, replay="", expected=expected, got=str(got),
                                  operation=1).seen()

    with_max = '(module (import "env" "memory" (memory 0 4)))'
    assert no_link.matches(failure(MemoryNew("m", 0, 0), with_max, refused, "ok"))
    assert not no_link.matches(failure(MemoryNew("m", 0, 3), with_max, refused, "ok"))
    max_zero = '(module (import "env" "memory" (memory 0 0)))'
    assert links.matches(failure(MemoryNew("m", 0, None), max_zero, Outcome.ok(), str(refused)))
    assert not links.matches(failure(MemoryNew("m", 0, None), with_max, Outcome.ok(), str(refused)))
