"""Running scripts on a runtime and asserting that it agrees with the model.

This is the public face other projects write their own tests with::

    def test_my_export(wasm_runtime):
        check_script(wasm_runtime, Script.of("bytes", [Write(0, b"hi"), Read(0, 2)]))
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from conformance.driver_process import DriverProcess, Hello, RuntimeUnavailable
from conformance.model import GUEST_MODELS, Verdict, check, check_against
from conformance.probes import Features
from conformance.runtimes import RuntimeSpec
from conformance.script import Outcome, Script, ScriptResult, describe_op

FailureKind = Literal["fail", "crash", "timeout"]
REFERENCE = "wasmtime"
"""The runtime whose outcomes stand for the model on guests the model does not know."""


class ConformanceFailure(AssertionError):
    """A runtime disagreed with the model, crashed, or hung, on one script."""

    def __init__(self, message: str, *, kind: FailureKind, runtime: str, script: Script,
                 result: ScriptResult, counterexample: Path | None, replay: str,
                 expected: str = "", got: str = "", saved: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.saved = saved or {}
        """what was written to ``counterexample``"""
        self.kind = kind
        self.runtime = runtime
        self.script = script
        self.result = result
        self.counterexample = counterexample
        self.replay = replay
        self.expected = expected
        self.got = got


@dataclass
class WasmRuntime:
    """One runtime under test: the ``wasm_runtime`` fixture's value."""

    spec: RuntimeSpec
    process: DriverProcess
    counterexample_dir: Path | None = None
    replay_prefix: str = "wasm-conformance replay"
    current_test: Callable[[], str] = field(default=lambda: "")
    choices: dict[str, set[str]] = field(default_factory=dict)
    scripts_run: int = 0
    reference: Callable[[Script], ScriptResult] | None = None
    """runs a script on the reference runtime, for guests the model does not know"""
    reference_id: str = REFERENCE
    profile: str = "default"
    """the run's settings profile (quick, default, thorough)"""
    features: Features | None = None
    """what the probes found (set by the fixture)"""

    @property
    def id(self) -> str:
        return self.spec.id

    def start(self) -> Hello:
        return self.process.start()

    @property
    def version(self) -> str:
        return self.process.hello.version if self.process.hello else "?"

    def run(self, script: Script) -> ScriptResult:
        """Run ``script`` in this runtime's driver (no checking)."""
        self.scripts_run += 1
        return self.process.run(script)

    def __repr__(self) -> str:
        return f"WasmRuntime({self.id!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How Hypothesis prints a failing example's ``wasm_runtime``: by id, not field by field."""
        printer.text(repr(self))

    def record_choices(self, verdict: Verdict) -> None:
        for choice in verdict.choices:
            self.note(choice)

    def note(self, finding: str) -> None:
        """Record what this runtime did where several behaviours are allowed (shown in the report)."""
        self.choices.setdefault(self.current_test(), set()).add(finding)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


def counterexample(runtime: WasmRuntime, script: Script, **details: Any) -> dict[str, Any]:
    test = runtime.current_test() or "script"
    return {"property": test, "runtime": runtime.id, "script": script.to_json(), **details}


def save_counterexample(runtime: WasmRuntime, payload: dict[str, Any]) -> Path | None:
    """Write ``payload`` to counterexamples/<property>--<runtime>.json, replacing the last one."""
    if runtime.counterexample_dir is None:
        return None
    path = runtime.counterexample_dir / f"{_slug(payload['property'])}--{_slug(runtime.id)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def run_and_check(runtime: WasmRuntime, script: Script) -> tuple[ScriptResult, Verdict]:
    """Run ``script`` and compare it with the model, without raising for a difference.

    A guest the model does not know (compiled C or Rust, whose allocator it does
    not mirror) is compared with the reference runtime instead, outcome by
    outcome: WebAssembly is deterministic, so every runtime must agree with it.
    """
    result = runtime.run(script)
    if result.status != "ok":
        return result, Verdict()
    if script.guest in GUEST_MODELS:
        return result, check(script, result.outcomes)
    return result, _against_reference(runtime, script, result.outcomes)


def _against_reference(runtime: WasmRuntime, script: Script, outcomes: tuple[Outcome, ...]) -> Verdict:
    if runtime.reference is None or runtime.id == runtime.reference_id:
        return Verdict()  # the reference itself: the property's own assertions check it
    reference = runtime.reference(script)
    if reference.status != "ok":
        raise RuntimeError(f"the reference runtime {runtime.reference_id} could not run the script: "
                           f"{reference.status} {reference.detail}")
    return check_against(script, reference.outcomes, outcomes, runtime.reference_id)


def check_script(runtime: WasmRuntime, script: Script) -> tuple[Outcome, ...]:
    """Run ``script`` on ``runtime``; raise :class:`ConformanceFailure` unless it agrees with the model.

    Returns the outcomes, for a test that wants to look further.
    """
    __tracebackhide__ = True
    import pytest

    result, verdict = run_and_check(runtime, script)
    if result.status == "unavailable":
        pytest.skip(result.detail)
    test = runtime.current_test() or "script"
    if result.status in ("crash", "timeout"):
        saved = counterexample(runtime, script, status=result.status, detail=result.detail)
        path = save_counterexample(runtime, saved)
        replay = _replay(runtime, path)
        raise ConformanceFailure(
            f"{runtime.id}: {result.status} in {test}: {result.detail}\n"
            f"script:\n{script.describe()}\n{_saved(path)}replay: {replay}",
            kind=result.status, runtime=runtime.id, script=script, result=result,
            counterexample=path, replay=replay, got=result.status, saved=saved,
        )
    runtime.record_choices(verdict)
    mismatch = verdict.mismatch
    if mismatch is not None:
        expected = " or ".join(str(e) for e in mismatch.expected)
        got = str(mismatch.got)
        outcomes = [o.to_json() for o in result.outcomes]
        saved = counterexample(runtime, script, status="fail", operation=mismatch.index,
                               expected=expected, got=got, outcomes=outcomes)
        path = save_counterexample(runtime, saved)
        replay = _replay(runtime, path)
        trail = "\n".join(
            f"  {i:>3}: {describe_op(op)}  =>  {o}"
            for i, (op, o) in enumerate(zip(script.ops, result.outcomes, strict=False))
            if i <= mismatch.index
        )
        raise ConformanceFailure(
            f"{runtime.id} differs from the model in {test}\n"
            f"  {mismatch.describe()}\n"
            f"script and {runtime.id}'s outcomes up to the difference:\n{trail}\n"
            f"{_saved(path)}replay: {replay}",
            kind="fail", runtime=runtime.id, script=script, result=result,
            counterexample=path, replay=replay, expected=expected, got=got, saved=saved,
        )
    return result.outcomes


def _saved(path: Path | None) -> str:
    return f"saved: {path}\n" if path else ""


def _replay(runtime: WasmRuntime, path: Path | None) -> str:
    target = shlex.quote(str(path)) if path else "<script.json>"
    extra = ""
    if runtime.spec.description == "custom driver":
        extra = f" --wasm-driver {shlex.quote(runtime.id + '=' + runtime.spec.describe_command())}"
    return f"{runtime.replay_prefix} {target} --runtime {runtime.id}{extra}"


__all__ = ["ConformanceFailure", "RuntimeUnavailable", "WasmRuntime", "check_script", "counterexample",
           "run_and_check", "save_counterexample"]
