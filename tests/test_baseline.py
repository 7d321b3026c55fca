"""Baselines: a run compared with a saved one reports regressions, fixes and new divergences."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance.report.baseline import compare, outcomes_of

FAULTY = Path(__file__).resolve().parent / "faulty_driver.py"
SELECT = "test_bytes or test_grow_by_a_huge_delta_fails"


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider",
         "--wasm-profile=quick", "-k", SELECT, *args],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )


def test_same_runtime_twice_has_no_regressions_and_a_faulty_one_regresses(tmp_path: Path) -> None:
    saved = run(tmp_path, "--wasm-runtime=wasmtime", "--wasm-save-baseline", "trusted")
    assert saved.returncode == 0, saved.stdout[-2000:]
    path = tmp_path / "reports" / "baselines" / "trusted.json"
    doc = json.loads(path.read_text())
    assert doc["versions"]["wasmtime"][0].isdigit()
    assert doc["outcomes"]["wasmtime"]["test_bytes.py::test_host_write_then_read_round_trips"] == "pass"

    again = run(tmp_path, "--wasm-runtime=wasmtime", "--wasm-baseline", "trusted")
    assert again.returncode == 0, again.stdout[-2000:]
    assert "0 regressions, 0 fixes, 0 new divergences" in again.stdout
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    assert report["baseline"]["regressions"] == []

    faulty = run(tmp_path, f"--wasm-driver=broken={sys.executable} {FAULTY} drop-byte",
                 "--wasm-runtime=broken", "--wasm-baseline", "trusted")
    assert faulty.returncode == 1
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    failed = {r["property"] for r in report["results"] if r["outcome"] == "fail"}
    passed_before = {p for p, o in doc["outcomes"]["wasmtime"].items() if o == "pass"}
    regressed = {line.split(": ")[1] for line in report["baseline"]["regressions"]}
    # every property the faulty runtime breaks that passed in the baseline is a regression
    assert failed & passed_before and regressed == failed & passed_before
    for prop in regressed:
        assert f"REGRESSION broken (against wasmtime): {prop}: pass -> fail" in faulty.stdout


def test_a_missing_baseline_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(tmp_path, "--wasm-runtime=wasmtime", "--wasm-baseline", "nonesuch")
    assert proc.returncode == 4
    assert "no baseline at" in proc.stderr and "--wasm-save-baseline" in proc.stderr


def test_compare_sorts_changes() -> None:
    def result(runtime: str, prop: str, outcome: str) -> dict[str, str]:
        return {"runtime": runtime, "property": prop, "outcome": outcome}

    before = {"outcomes": outcomes_of([result("rt", "a", "pass"), result("rt", "b", "fail"),
                                       result("rt", "c", "pass"), result("rt", "d", "skip")])}
    now = [result("rt", "a", "known-divergence"), result("rt", "b", "pass"), result("rt", "c", "pass"),
           result("rt", "c", "fail"), result("rt", "d", "fail"), result("other", "a", "pass")]
    comparison = compare("old", before, now)
    assert [(c.property, c.now) for c in comparison.regressions] == [("a", "known-divergence"), ("c", "fail")]
    assert [c.property for c in comparison.fixes] == ["b"]
    assert [c.property for c in comparison.new_divergences] == ["a"]
    # skipped in the baseline, failing now: a new failure, which fails the run like a regression
    assert [(c.property, c.before, c.now) for c in comparison.new_failures] == [("d", "skip", "fail")]
    # a baseline of one runtime is compared with every runtime of the run
    assert comparison.not_compared == [] and comparison.failed
    two = compare("two", {"outcomes": {"x": {}, "y": {}}}, now)
    assert two.not_compared and not two.compared and two.failed
    assert "NOTHING COMPARED" in two.lines()[0]


def test_a_full_suite_baseline_holds_the_host_and_still_compares_one_runtime() -> None:
    """A baseline saved from a full run holds the host pseudo-runtime beside the engine: a renamed
    or patched build is compared with the engine (by the one-runtime rule, or by its family)."""
    def result(runtime: str, prop: str, outcome: str) -> dict[str, str]:
        return {"runtime": runtime, "property": prop, "outcome": outcome}

    saved = [result("wasmtime", p, "pass") for p in ("a", "b", "c")] + [result("host", "h", "pass")]
    before = {"outcomes": outcomes_of(saved)}
    now = [result("patched", "a", "fail"), result("patched", "b", "pass"), result("patched", "c", "fail"),
           result("host", "h", "pass")]
    comparison = compare("full", before, now)
    assert [c.property for c in comparison.regressions] == ["a", "c"]
    assert comparison.compared == ["patched (against wasmtime)"] and comparison.failed
    # with several engines in the baseline, the family names the one to compare with
    before["outcomes"]["wasm3"] = {"a": "pass"}
    assert compare("full", before, now).not_compared and not compare("full", before, now).compared
    by_family = compare("full", before, now, {"patched": "wasmtime"})
    assert [c.property for c in by_family.regressions] == ["a", "c"]
