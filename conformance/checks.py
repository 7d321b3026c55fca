"""Running scripts on a runtime and asserting that it agrees with the model.

This is the public face other projects write their own tests with::

    def test_my_export(wasm_runtime):
        check_script(wasm_runtime, Script.of("bytes", [Write(0, b"hi"), Read(0, 2)]))
"""

from __future__ import annotations

import json
import re
import shlex
import unittest
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn

from conformance import atomic
from conformance.divergences import Divergence, Seen, function_text, pinned
from conformance.driver_process import DriverProcess, Hello, RuntimeUnavailable
from conformance.model import GUEST_MODELS, Verdict, check, check_against
from conformance.probes import STRING_ENCODING_PROBES, Features
from conformance.runtimes import RuntimeSpec
from conformance.script import Call, Instantiate, Outcome, Script, ScriptResult, describe_op

FailureKind = Literal["fail", "crash", "timeout"]
REFERENCE = "wasmtime"
"""The runtime whose outcomes stand for the model on guests the model does not know."""


class ConformanceFailure(AssertionError):
    """A runtime disagreed with the model, crashed, or hung, on one script."""

    def __init__(self, message: str, *, kind: FailureKind, runtime: str, script: Script,
                 result: ScriptResult, counterexample: Path | None, replay: str,
                 expected: str = "", got: str = "", saved: dict[str, Any] | None = None,
                 operation: int | None = None, wanted: tuple[Outcome, ...] = ()) -> None:
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
        self.operation = operation if operation is not None else self.saved.get("operation")
        """the index of the first operation whose outcome differs (a ``fail``)"""
        self.wanted = wanted
        """the outcomes expected there, where known"""

    def seen(self) -> Seen:
        """This failure in the terms of a known divergence's pin (``conformance/divergences.py``)."""
        if self.kind != "fail":
            return Seen(self.kind, message=self.result.detail or self.got)
        index = self.operation
        ops, outcomes = self.script.ops, self.result.outcomes
        op = ops[index] if isinstance(index, int) and 0 <= index < len(ops) else None
        outcome = outcomes[index] if isinstance(index, int) and 0 <= index < len(outcomes) else None
        code = function_text(self.script.wat, op.func) if isinstance(op, Call) and self.script.wat else ""
        if isinstance(op, Instantiate):
            code = dict(self.script.modules).get(op.module, "") if op.module else self.script.wat
        script = "\n".join([self.script.describe(), self.script.wat, *(w for _, w in self.script.modules)])
        return Seen("mismatch", op, self.expected, self.got, outcome, wanted=self.wanted, code=code,
                    script=script)


class KnownDivergence(Exception):
    """An example showed one of the runtime's known divergences, exactly as its entry pins it.

    :func:`check_script` raises it to end the example there without failing (the pytest
    plugin counts the example as run and reports the divergence); a failure that no pin
    matches is raised as the :class:`ConformanceFailure` it is.
    """

    def __init__(self, entry: Divergence, failure: ConformanceFailure) -> None:
        super().__init__(f"known divergence of {failure.runtime} ({entry.source}: {entry.test}): "
                         f"{entry.reason}\n{failure}")
        self.entry = entry
        self.failure = failure


@dataclass
class Observation:
    """A known divergence seen while a property ran: the example that showed it, and how often."""

    entry: Divergence
    failure: ConformanceFailure | None
    """the failure that showed it (None for a property's own ``assert``: no script to show)"""
    message: str
    examples: int = 1


@dataclass
class WasmRuntime:
    """One runtime under test: the ``wasm_runtime`` fixture's value."""

    spec: RuntimeSpec
    process: DriverProcess
    counterexample_dir: Path | None = None
    replay_prefix: str = "wasm-conformance replay"
    current_test: Callable[[], str] = field(default=lambda: "")
    current_case: Callable[[], str] = field(default=lambda: "")
    """the running test's parametrisation besides the runtime (its counterexample file's name)"""
    choices: dict[str, set[str]] = field(default_factory=dict)
    scripts_run: int = 0
    reference: Callable[[Script], ScriptResult] | None = None
    """runs a script on the reference runtime, for guests the model does not know"""
    reference_id: str = REFERENCE
    profile: str = "default"
    """the run's settings profile (quick, default, thorough)"""
    features: Features | None = None
    """what the probes found (set by the fixture)"""
    known: Callable[[], Sequence[Divergence]] = field(default=lambda: ())
    """the known divergences (``conformance/divergences.py``) of this runtime that cover the
    current property: a failure one of them pins ends its example without failing (the pytest
    plugin sets it; nothing is pinned by default)"""
    observed: dict[Divergence, Observation] = field(default_factory=dict)
    """the pinned divergences seen since the plugin last took them (per test)"""
    rejected: int = 0
    """examples of the current test rejected as pinned divergences (outside ``ending_examples``)"""
    budget: int = 0
    """end the test's Hypothesis run once this many examples were rejected so (0: never)"""
    examples_done: bool = False
    """the current test's run was ended so (:class:`ExamplesDone`: pytest sees a skip)"""
    left_out: dict[str, int] = field(default_factory=dict)
    """examples of the current test left out for a capability the runtime lacks, by reason"""

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

    def string_encoding(self, encoding: str) -> str:
        """The string encoding a component example drawn in ``encoding`` runs in here
        (:meth:`Features.string_encoding`), noted where it is another."""
        here = encoding if self.features is None else self.features.string_encoding(encoding)
        if here != encoding:
            self.note(f"canonical ABI: guests in {here} where {encoding} was drawn "
                      f"(the {STRING_ENCODING_PROBES[encoding]} probe: absent)")
        return here

    def pinned(self, failure: BaseException) -> Divergence | None:
        """The known divergence that pins ``failure`` (a :class:`ConformanceFailure`, or a
        property's own failed ``assert``) exactly, if any; recorded as observed when found."""
        entries = self.known()
        if not entries:
            return None
        if isinstance(failure, ConformanceFailure):
            conformance: ConformanceFailure | None = failure
            seen = failure.seen()
        elif isinstance(failure, AssertionError):
            conformance, seen = None, Seen("assertion", message=str(failure))
        else:
            return None
        entry = pinned(entries, seen)
        if entry is not None:
            self._observe(Observation(entry, conformance, str(failure)))
        return entry

    def _observe(self, new: Observation) -> None:
        old = self.observed.get(new.entry)
        if old is None:
            self.observed[new.entry] = new
            return
        old.examples += 1
        if new.failure is not None and (old.failure is None
                                        or len(new.failure.script.ops) < len(old.failure.script.ops)):
            old.failure, old.message = new.failure, new.message  # show the shortest script

    def take_observed(self) -> dict[Divergence, Observation]:
        taken, self.observed = self.observed, {}
        return taken


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:120]


def counterexample(runtime: WasmRuntime, script: Script, **details: Any) -> dict[str, Any]:
    test = runtime.current_test() or "script"
    out = {"property": test, "runtime": runtime.id, "script": script.to_json(), **details}
    if runtime.features is not None and runtime.features.max_pages is not None:
        # what the run measured the runtime's memory reaching: replay believes no grow refused below it
        out["capacity"] = runtime.features.max_pages
    if runtime.features is not None:
        out["absent_apis"] = sorted(runtime.features.absent_apis())
    return out


def save_counterexample(runtime: WasmRuntime, payload: dict[str, Any]) -> Path | None:
    """Write ``payload`` to counterexamples/<property>--<runtime>.json, replacing the last one."""
    if runtime.counterexample_dir is None:
        return None
    case = runtime.current_case()
    name = payload["property"] + (f"[{case}]" if case else "")
    path = runtime.counterexample_dir / f"{_slug(name)}--{_slug(runtime.id)}.json"
    try:
        atomic.write_text(path, json.dumps(payload, indent=2) + "\n")
    except OSError:  # the failure is still reported in full; the report's write says what broke
        return None
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
        features = runtime.features
        if features is None:
            return result, check(script, result.outcomes)
        return result, check(script, result.outcomes, features.max_pages, features.absent_apis())
    return result, _against_reference(runtime, script, result.outcomes)


def _against_reference(runtime: WasmRuntime, script: Script, outcomes: tuple[Outcome, ...]) -> Verdict:
    if runtime.reference is None or runtime.id == runtime.reference_id:
        return Verdict()  # the reference itself: the property's own assertions check it
    reference = runtime.reference(script)
    if reference.status != "ok":
        raise RuntimeError(f"the reference runtime {runtime.reference_id} could not run the script: "
                           f"{reference.status} {reference.detail}")
    return check_against(script, reference.outcomes, outcomes, runtime.reference_id)


def learn(runtime: WasmRuntime, script: Script) -> tuple[Outcome, ...]:
    """The outcomes of ``script``, to learn values (pointers, sizes) that build the next script.

    The property's next script must begin with the same operations, so that it is compared with
    the reference runtime outcome by outcome there: a runtime that would have answered otherwise
    fails on that script. The values are then learned from the reference runtime, whose result
    the plugin keeps per distinct script, and the runtime under test runs one script per example,
    not two. The reference runtime itself, a guest the model knows, or a script the reference
    does not run cleanly is run on ``runtime`` and checked, which then says what broke.
    """
    if runtime.reference is None or runtime.id == runtime.reference_id or script.guest in GUEST_MODELS:
        return check_script(runtime, script)
    reference = runtime.reference(script)
    if reference.status != "ok" or any(o.kind != "ok" for o in reference.outcomes):
        return check_script(runtime, script)
    return reference.outcomes


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
        fail(runtime, ConformanceFailure(
            f"{runtime.id}: {result.status} in {test}: {result.detail}\n"
            f"script:\n{script.describe()}\n{_saved(path)}replay: {replay}",
            kind=result.status, runtime=runtime.id, script=script, result=result,
            counterexample=path, replay=replay, got=result.status, saved=saved,
        ))
    runtime.record_choices(verdict)
    mismatch = verdict.mismatch
    if mismatch is not None:
        missing = missing_capability(runtime, script, mismatch.op, mismatch.got)
        if missing:
            _leave_out(runtime, missing)
        trail = "\n".join(
            f"  {i:>3}: {describe_op(op)}  =>  {o}"
            for i, (op, o) in enumerate(zip(script.ops, result.outcomes, strict=False))
            if i <= mismatch.index
        )
        fail_at(runtime, script, result, mismatch.index, " or ".join(str(e) for e in mismatch.expected),
                f"{runtime.id} differs from the model in {test}\n  {mismatch.describe()}\n"
                f"script and {runtime.id}'s outcomes up to the difference:\n{trail}\n",
                wanted=mismatch.expected)
    return result.outcomes


def check_spec(runtime: WasmRuntime, script: Script, allowed: Sequence[Sequence[Outcome]],
               what: str = "") -> tuple[Outcome, ...]:
    """Run ``script`` and fail at its first operation whose outcome is none of those the spec allows
    there (``allowed``, one sequence per operation, computed by the property itself); returns the
    outcomes. For a property that can say the spec's outcomes where the reference runtime cannot
    stand for them (it lacks the feature, or chose another of several allowed outcomes). A crash or
    a timeout fails as in :func:`check_script`; the counterexample keeps ``allowed``, so replay
    judges by it."""
    __tracebackhide__ = True
    result = runtime.run(script)
    if result.status != "ok":
        return check_script(runtime, script)
    for index, (op, got, want) in enumerate(zip(script.ops, result.outcomes, allowed, strict=True)):
        if not any(got.same_as(w) for w in want):
            expected = " or ".join(str(w) for w in want)
            fail_at(runtime, script, result, index, expected,
                    f"{runtime.id}: operation {index} ({describe_op(op)}){' ' + what if what else ''} gave "
                    f"{got}, expected {expected}\n{script.describe()}\n", spec=allowed)
    return result.outcomes


def fail_at(runtime: WasmRuntime, script: Script, result: ScriptResult, index: int, expected: str,
            message: str, wanted: tuple[Outcome, ...] = (),
            spec: Sequence[Sequence[Outcome]] | None = None) -> NoReturn:
    """Fail the property at operation ``index`` of ``script``, whose outcome is not ``expected``:
    the counterexample saved, and ``message`` followed by where it was saved and its replay.

    ``spec``: the outcomes the spec allows for each operation, where the property computed them
    itself (so that replay judges by them, not by the reference runtime, which may lack the
    feature or choose otherwise where the spec allows several)."""
    got = str(result.outcomes[index])
    extra: dict[str, Any] = {}
    if spec is not None:
        extra["spec"] = [[o.to_json() for o in allowed] for allowed in spec]
    saved = counterexample(runtime, script, status="fail", operation=index, expected=expected, got=got,
                           outcomes=[o.to_json() for o in result.outcomes], **extra)
    path = save_counterexample(runtime, saved)
    replay = _replay(runtime, path)
    fail(runtime, ConformanceFailure(
        f"{message}{_saved(path)}replay: {replay}",
        kind="fail", runtime=runtime.id, script=script, result=result,
        counterexample=path, replay=replay, expected=expected, got=got, saved=saved,
        operation=index, wanted=wanted,
    ))


def run_component_script(runtime: WasmRuntime, script: Script, what: str) -> ScriptResult:
    """Run a script whose module is a component (the canonical ABI's properties): skipped where the
    runtime is unavailable or cannot make its glue here (no jco), failed where the driver broke
    or the component (``what``) did not instantiate; else its result, an outcome per operation."""
    __tracebackhide__ = True
    result = runtime.run(script)
    if result.status == "unavailable":
        import pytest

        pytest.skip(result.detail)
    if result.status != "ok" or len(result.outcomes) < len(script.ops):
        whole = result if result.outcomes else ScriptResult(
            result.status, (Outcome.error(result.status, result.detail),), result.detail)
        fail_at(runtime, script, whole, 0, "a result", f"{runtime.id}: {result.status}: {result.detail}\n")
    first = result.outcomes[0]
    if first.kind == "error" and first.reason == "unsupported" and "no jco here" in first.message:
        import pytest

        pytest.skip(first.message)
    if first.kind != "ok":
        fail_at(runtime, script, result, 0, "ok",
                f"{runtime.id}: {what} did not instantiate\n{script.describe()}\n")
    return result


_ENDING = ContextVar("wasm_conformance_ending_examples", default=False)
"""True inside a test wrapped by :func:`ending_examples`: a pinned divergence ends the example
by :class:`KnownDivergence`, which the wrapper takes as an example run."""


def fail(runtime: WasmRuntime, failure: ConformanceFailure) -> NoReturn:
    """Raise ``failure``, unless it is a known divergence of ``runtime``, exactly as pinned.

    A pinned one is recorded on the runtime and ends the example without failing, so that
    Hypothesis goes on with the property's other examples, where any other wrong outcome still
    fails: :class:`KnownDivergence` inside a test wrapped by :func:`ending_examples` (the
    plugin wraps each ``@given`` test so) and outside Hypothesis, ``hypothesis.reject()``
    elsewhere in a Hypothesis test (a stateful one), so the example counts as filtered out.
    """
    __tracebackhide__ = True
    entry = runtime.pinned(failure)
    if entry is None:
        raise failure
    if failure.kind in ("crash", "timeout"):
        runtime.process.expected()  # a pinned crash does not stop the property's other examples
    if not _ENDING.get():
        from hypothesis import reject
        from hypothesis.control import current_build_context, currently_in_test_context

        # (an example already over, its data frozen, as when a state machine's teardown runs
        # after an overrun, cannot be rejected: Hypothesis takes any other exception there as
        # the end it already had)
        if currently_in_test_context() and not current_build_context().data.frozen:
            runtime.rejected += 1
            if runtime.budget and runtime.rejected >= runtime.budget:
                runtime.examples_done = True
                raise ExamplesDone(f"{runtime.rejected} examples showed a known divergence of {runtime.id}")
            reject()
    raise KnownDivergence(entry, failure)


class CapabilityMissing(Exception):
    """An example needs a capability the runtime's probe found refused (an i64 at the call
    boundary): it is left out, and the property goes on with its other examples."""


def _leave_out(runtime: WasmRuntime, reason: str) -> NoReturn:
    """End this example as one the runtime cannot run (see :func:`missing_capability`).

    Inside a ``@given`` test wrapped by :func:`ending_examples` the example counts as run and the
    plugin reports the property as a skip only if every example was left out so; elsewhere (a
    stateful test, a plain one) the property is skipped with the reason.
    """
    __tracebackhide__ = True
    if _ENDING.get():
        runtime.left_out[reason] = runtime.left_out.get(reason, 0) + 1
        raise CapabilityMissing(reason)
    import pytest

    pytest.skip(reason)


class ExamplesDone(unittest.SkipTest):
    """Ends a Hypothesis run (as a skip, which Hypothesis passes on at once) in which as many
    examples as the profile asks for were rejected as pinned known divergences: a rejected
    example does not count towards ``max_examples``, so a property that diverges in most of them
    would otherwise run many times more examples than the profile says."""


def ending_examples(test: Callable[..., Any],
                    runtime: Callable[[], WasmRuntime | None]) -> Callable[..., Any]:
    """``test`` (a Hypothesis test's inner function) with each example that shows a pinned known
    divergence of ``runtime()`` ended as a run example, not a failure.

    That is :class:`KnownDivergence` from :func:`check_script`, and a failure the property raises
    itself (its own :class:`ConformanceFailure` or ``assert``) that a pin matches; anything else
    propagates, and Hypothesis fails, shrinks and reports it as usual.
    """

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token = _ENDING.set(True)
        try:
            return test(*args, **kwargs)
        except (KnownDivergence, CapabilityMissing):
            return None
        except AssertionError as exc:
            rt = runtime()
            if rt is None or rt.pinned(exc) is None:
                raise
            return None
        finally:
            _ENDING.reset(token)

    wrapped.__name__ = getattr(test, "__name__", "test")
    wrapped.__qualname__ = getattr(test, "__qualname__", wrapped.__name__)
    wrapped.__module__ = getattr(test, "__module__", __name__)
    return wrapped


def missing_capability(runtime: WasmRuntime, script: Script, op: Any, got: Outcome) -> str:
    """Why ``got`` is a capability the runtime's probe found refused, not a wrong answer ("" if not).

    Only a refusal the probe saw too counts: a host API that cannot pass an i64 across the call
    boundary (``bad-call`` on a call that takes or gives one) where the ``i64_boundary`` probe was
    refused the same way. Anything else the runtime answers stays a failure.
    """
    features = runtime.features
    if features is None or not isinstance(op, Call) or got.kind != "error" or got.reason != "bad-call":
        return ""
    if not features.absent("i64_boundary") or not _passes_i64(script, op):
        return ""
    return (f"{runtime.id} cannot pass an i64 across the call boundary "
            f"({features.why_not('i64_boundary')}); this script calls {op.func} with one")


def _passes_i64(script: Script, op: Call) -> bool:
    if any(a.type == "i64" for a in op.args):
        return True
    model = GUEST_MODELS[script.guest] if script.guest in GUEST_MODELS else None
    if model is None:
        return True  # a module the model does not know: its result types are not known here
    export = model.exports.get(op.func)
    return export is None or "i64" in export.results


def _saved(path: Path | None) -> str:
    return f"saved: {path}\n" if path else ""


def _replay(runtime: WasmRuntime, path: Path | None) -> str:
    target = shlex.quote(str(path)) if path else "<script.json>"
    extra = ""
    if runtime.spec.description == "custom driver":
        extra = f" --driver {shlex.quote(runtime.id + '=' + runtime.spec.describe_command())}"
    return f"{runtime.replay_prefix} {target} --runtime {runtime.id}{extra}"


__all__ = ["ConformanceFailure", "ExamplesDone", "KnownDivergence", "Observation", "RuntimeUnavailable",
           "WasmRuntime", "check_script", "counterexample", "ending_examples", "fail", "run_and_check",
           "save_counterexample"]
