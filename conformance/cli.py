"""wasm-conformance: replay a saved script on any runtime, list the runtimes.

    wasm-conformance replay reports/latest/counterexamples/X.json --runtime wasm3
    wasm-conformance replay reports/latest/counterexamples/*--wasm3.json --runtime wasm3
    wasm-conformance runtimes --driver mine="python my_driver.py"
    wasm-conformance --version

Its options are ``--runtime`` and ``--driver``; pytest's spellings, ``--wasm-runtime`` and
``--wasm-driver``, are accepted too, so that a line can be copied from one to the other.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from conformance.cguest import default_cache_dir
from conformance.checks import REFERENCE
from conformance.driver_process import DriverProcess, RuntimeUnavailable
from conformance.guest_modules import GUEST_DIR
from conformance.model import GUEST_MODELS, Checker, Mismatch, Verdict, check, check_against
from conformance.runtimes import BUILTIN, RuntimeSpec, UnknownRuntime, known_runtimes, parse_custom, select
from conformance.script import Outcome, Script, ScriptError, describe_op


def _specs(args: argparse.Namespace) -> list[RuntimeSpec]:
    known = known_runtimes()
    for text in args.driver:
        try:
            spec = parse_custom(text)
        except UnknownRuntime as exc:  # its messages name pytest's option
            raise UnknownRuntime(str(exc).replace("--wasm-driver", "--driver")) from None
        known[spec.id] = spec
    return select(args.runtime, known)


def _version() -> str:
    """The package's version, the Python it runs under, and where the package is."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    try:
        ours = version("wasm-memory-conformance")
    except PackageNotFoundError:  # a checkout on sys.path, not installed
        ours = "(not installed)"
    return (f"wasm-conformance {ours} (Python {platform.python_version()}, "
            f"{Path(__file__).resolve().parent})")


def _load(name: str) -> tuple[dict[str, Any], Script]:
    """A saved script and its document, checked (``_check_replayable``, ``_spec_of``)."""
    doc = json.loads(Path(name).read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ScriptError(f"a JSON object was expected, got {type(doc).__name__}")
    script = Script.from_json(doc.get("script", doc))
    _check_replayable(script, doc)
    _spec_of(doc, script)
    return doc, script


class _Drivers:
    """The drivers of a replay, each started once and kept for every script (as in a run of the
    suite, where one driver runs all of a runtime's scripts); a crashed one is replaced."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.processes: dict[tuple[Any, ...], DriverProcess] = {}

    def get(self, spec: RuntimeSpec) -> DriverProcess:
        key = (spec.id, spec.command, tuple(sorted(spec.env.items())))  # the reference may be a runtime too
        if key not in self.processes:
            self.processes[key] = DriverProcess(spec, script_timeout=self.timeout)
        return self.processes[key]

    def close(self) -> None:
        for process in self.processes.values():
            process.close()


def replay(args: argparse.Namespace) -> int:
    """Replay each file given on each runtime; exit 1 if a runtime differs on any of them."""
    loaded: list[tuple[str, dict[str, Any], Script]] = []
    unreadable = 0
    for name in args.script:  # every file is read before any runs: a bad one stops the replay
        try:
            loaded.append((name, *_load(name)))
        except (OSError, ValueError, ScriptError) as exc:
            print(f"error: cannot read a script from {name}: {exc}", file=sys.stderr)
            unreadable += 1
    if unreadable:
        return 2
    drivers = _Drivers(args.timeout)
    differing: list[str] = []
    try:
        for i, (name, doc, script) in enumerate(loaded):
            if len(loaded) > 1:  # each file's replay under its name
                print(f"{chr(10) if i else ''}=== {name}")
            if _replay_one(args.specs, doc, script, drivers):
                differing.append(name)
    finally:
        drivers.close()
    if len(loaded) > 1:
        print(f"\n{len(differing)} of {len(loaded)} scripts differ on some runtime"
              + (": " + ", ".join(differing) if differing else ""))
    return 1 if differing else 0


def _replay_one(specs: list[RuntimeSpec], doc: dict[str, Any], script: Script, drivers: _Drivers) -> int:
    """Run one saved script on each runtime and print it beside the model; how many runtimes differ."""
    DriverProcess.new_test()  # a streak of crashes in one script does not stop the next one
    if doc.get("property"):
        print(f"property: {doc['property']} (saved from {doc.get('runtime', '?')})")
    print(f"guest: {script.guest}" + (f" ({script.module})" if script.module else ""))
    by_spec = _spec_of(doc, script)
    if by_spec is not None:
        print("the property computed the outcomes the spec allows for each operation: each runtime is "
              "compared with them")
    elif script.guest not in GUEST_MODELS:
        print(f"the model does not know this guest: each runtime is compared with {REFERENCE}")
    capacity = doc.get("capacity") if isinstance(doc.get("capacity"), int) else None
    apis = doc.get("absent_apis")
    absent = frozenset(str(a) for a in apis) if isinstance(apis, list) else None
    if capacity is not None:
        print(f"capacity: the run measured {doc.get('runtime', 'the runtime')} growing to {capacity} pages; "
              "a grow refused below that (or of 0 pages) is not believed")
    reference: list[tuple[Outcome, ...]] = []
    differs = 0
    for spec in specs:
        process = drivers.get(spec)
        try:
            hello = process.start()
        except RuntimeUnavailable as exc:
            print(f"\n== {spec.id}: skipped: {exc}")
            continue
        result = process.run(script)
        print(f"\n== {spec.id} {hello.version}")
        if result.status != "ok":
            print(f"  {result.status}: {result.detail}")
            differs += 1
            continue
        if by_spec is not None:  # the outcomes the property computed from the spec: judged by them
            verdict = _by_spec(script, result.outcomes, by_spec)
            expected = [" or ".join(str(o) for o in allowed) for allowed in by_spec]
            source = "spec"
        else:
            verdict = _verdict(script, result.outcomes, reference, drivers, capacity, absent)
            expected = _expected(script, result.outcomes, reference, capacity, absent)
            source = "model" if script.guest in GUEST_MODELS else REFERENCE
        for i, (op, outcome) in enumerate(zip(script.ops, result.outcomes, strict=True)):
            flag = "  <-- differs" if verdict.mismatch and verdict.mismatch.index == i else ""
            print(f"  {i:>3}: {describe_op(op)}")
            print(f"         got:   {outcome}{flag}")
            print(f"         {source + ':':<6} {expected[i] if i < len(expected) else '(not reached)'}")
        if verdict.mismatch:
            differs += 1
            print(f"  DIFFERS: {verdict.mismatch.describe()}")
        else:
            judge = "the spec" if by_spec is not None else "the model"
            print(f"  agrees with {judge}" + (f" (chose: {'; '.join(verdict.choices)})"
                                              if verdict.choices else ""))
    return differs


def _spec_of(doc: dict[str, Any], script: Script) -> list[tuple[Outcome, ...]] | None:
    """The saved outcomes the spec allows per operation (``checks.fail_at``'s ``spec``), if any."""
    raw = doc.get("spec")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != len(script.ops) \
            or not all(isinstance(a, list) and a and all(isinstance(o, dict) for o in a) for a in raw):
        raise ScriptError("spec must list, per operation, the outcomes the spec allows")
    return [tuple(Outcome.from_json(o, op) for o in allowed)
            for op, allowed in zip(script.ops, raw, strict=True)]


def _by_spec(script: Script, outcomes: tuple[Outcome, ...], spec: list[tuple[Outcome, ...]]) -> Verdict:
    for index, (op, got, allowed) in enumerate(zip(script.ops, outcomes, spec, strict=True)):
        if not any(got.same_as(o) for o in allowed):
            return Verdict(Mismatch(index, op, allowed, got, "what the spec allows"))
    return Verdict()


def _check_replayable(script: Script, doc: dict[str, Any]) -> None:
    """A saved script is data: it names a guest this suite knows, and reads no file but a guest's.

    Its module is its own text (``wat``), a committed guest of guest-modules/, or a compiled
    guest in the compile cache or the guest components' cache (``canonical_abi.guests``); a
    ``module`` path anywhere else is refused, so that replaying a file from elsewhere cannot make
    the host read arbitrary files.
    """
    for key in ("property", "runtime"):
        if not isinstance(doc.get(key, ""), str):
            raise ScriptError(f"{key} must be a string")
    if "capacity" in doc and (isinstance(doc["capacity"], bool) or not isinstance(doc["capacity"], int)
                              or doc["capacity"] < 0):
        raise ScriptError(f"capacity must be a number of pages, got {doc['capacity']!r}")
    apis = doc.get("absent_apis", [])
    if not isinstance(apis, list) or not all(isinstance(a, str) for a in apis):
        raise ScriptError("absent_apis must be a list of strings")
    if script.module:
        path = Path(script.module).resolve()
        from conformance.canonical_abi.guests import component_cache_dir

        roots = (GUEST_DIR.resolve(), default_cache_dir().resolve(), component_cache_dir().resolve())
        if path.suffix != ".wasm" or not any(path.is_relative_to(root) for root in roots):
            raise ScriptError(f"module {script.module!r} is neither in guest-modules nor in the compile "
                              f"cache ({roots[1]}) nor in the components' ({roots[2]})")
    elif not script.wat and script.guest not in GUEST_MODELS \
            and not (GUEST_DIR / f"{script.guest}.wasm").is_file():
        raise ScriptError(f"unknown guest {script.guest!r}: not in guest-modules, not a family the "
                          "model knows, and the script carries no module")


def _expected(script: Script, outcomes: tuple[Outcome, ...],
              reference: list[tuple[Outcome, ...]], capacity: int | None = None,
              absent: frozenset[str] | None = None) -> list[str]:
    """Per operation, what the model allows there (the outcome it matched, or all it allows), up to
    the first difference; for a guest it does not know, the reference runtime's outcome."""
    if script.guest not in GUEST_MODELS:
        return [str(o) for o in reference[0]] if reference else []
    checker = Checker(GUEST_MODELS[script.guest], capacity, absent)
    out: list[str] = []
    for index, (op, got) in enumerate(zip(script.ops, outcomes, strict=True)):
        alternatives = checker.alternatives(op)
        accepted = next((a for a in alternatives if a.accepts(got)), None)
        if accepted is None:
            out.append(" or ".join(str(a.outcome) for a in alternatives))
            break
        out.append(str(accepted.outcome) + (f"  ({accepted.choice})" if accepted.choice else ""))
        checker.step(index, op, got)
    return out


def _verdict(script: Script, outcomes: tuple[Outcome, ...], reference: list[tuple[Outcome, ...]],
             drivers: _Drivers, capacity: int | None = None, absent: frozenset[str] | None = None) -> Verdict:
    """The model's verdict, or for a guest it does not know, the reference runtime's outcomes."""
    if script.guest in GUEST_MODELS:
        return check(script, outcomes, capacity, absent)
    if not reference:
        result = drivers.get(BUILTIN[REFERENCE]).run(script)
        if result.status != "ok":
            raise SystemExit(f"error: the reference {REFERENCE} could not run it: {result.detail}")
        reference.append(result.outcomes)
    return check_against(script, reference[0], outcomes, REFERENCE)


def runtimes(args: argparse.Namespace) -> int:
    specs: list[RuntimeSpec] = args.specs
    width = max(len(s.id) for s in specs) + 2
    for spec in specs:
        process = DriverProcess(spec)
        try:
            hello = process.start()
            print(f"{spec.id:<{width}} {hello.version:<30} {spec.description}")
        except RuntimeUnavailable as exc:
            print(f"{spec.id:<{width}} {'unavailable':<30} {exc} (needs {spec.needs})")
        finally:
            process.close()
    return 0


COMMANDS = (
    ("replay", replay, "run a saved script and compare with the model",
     "Run saved scripts (counterexamples of reports/latest/counterexamples/, or any script files) "
     "on each runtime, and print each operation's outcome beside what the model allows there (or, "
     "for a guest the model does not know, the reference runtime's outcome). Several files are "
     "replayed one after the other, each runtime's driver started once for all of them. Exit 1 if "
     "a runtime differs on any of them."),
    ("runtimes", runtimes, "list runtimes and whether they load here",
     "List the runtimes (built in, plugged in by entry point, added with --driver), each with its "
     "version where its driver starts here, else why not."),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="wasm-conformance",
        description="Replay a saved script on any runtime, list the runtimes. The suite itself runs "
                    "under pytest: pytest --pyargs conformance (its options: pytest --help).")
    parser.add_argument("--version", action="version", version=_version(),
                        help="print the version, the Python it runs under and where it is installed")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, fn, help_text, description in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=description)
        if name == "replay":
            p.add_argument("script", nargs="+", metavar="FILE",
                           help="script or counterexample JSON files, each replayed on each runtime")
            p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                           help="kill a driver that has not answered in this time (default: 60)")
        p.add_argument("--runtime", metavar="NAME[,NAME...]", default=None,
                       help="runtimes to use: comma-separated ids, or 'all'; ID=PATH runs ID with that "
                            "interpreter or engine (default: all)")
        p.add_argument("--wasm-runtime", dest="runtime", default=None, help=argparse.SUPPRESS)
        p.add_argument("--driver", metavar="ID=COMMAND", action="append", default=[],
                       help="add a runtime whose driver COMMAND starts (see docs/protocol.md); repeatable")
        p.add_argument("--wasm-driver", dest="driver", action="append", default=[], help=argparse.SUPPRESS)
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    try:  # an unknown runtime or a bad --driver stops here, in one line, before any other output
        args.specs = _specs(args)
    except UnknownRuntime as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    timeout = getattr(args, "timeout", 60.0)
    if not (timeout > 0 and math.isfinite(timeout)):
        print(f"error: --timeout must be a positive number of seconds, got {timeout}", file=sys.stderr)
        return 2
    try:
        return int(args.fn(args))
    except UnknownRuntime as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
