"""The pytest plugin (entry point ``pytest11: wasm_conformance``).

Gives the ``wasm_runtime`` fixture, parametrised over the selected runtimes,
turns failures listed as known divergences into expected ones, and writes
``report.json`` and ``report.md`` at the end of the run.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shlex
import signal
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import atomic, divergences, parallel
from conformance.checks import (
    REFERENCE,
    ConformanceFailure,
    KnownDivergence,
    Observation,
    WasmRuntime,
    ending_examples,
)
from conformance.driver_process import DriverProcess, RuntimeUnavailable, install_signal_handlers
from conformance.probes import FEATURES, Features, probe
from conformance.report import HOST, Report, Result, RuntimeRecord, baseline
from conformance.runtimes import (
    BUILTIN,
    RuntimeSpec,
    UnknownRuntime,
    cannot_start,
    known_runtimes,
    named_explicitly,
    parse_custom,
    select,
)
from conformance.script import Script, ScriptResult

PROFILES = {
    # max_examples per property and runtime
    "quick": 20,
    "default": 100,
    "thorough": 1000,
}
CAPACITY_CAP = {
    # the largest memory, in pages, the capacity probe tries to grow to (a grow may
    # really allocate: 4 GiB only in the thorough profile, or where growth proves virtual)
    "quick": 4096,
    "default": 16384,
    "thorough": 65536,
}
VIRTUAL_CAP = {
    # where growing to CAPACITY_CAP pages left the driver's peak memory where it was, the probe
    # goes on to this many (65536 pages: the 4 GiB cap of 32-bit memory costs nothing there)
    "quick": 65536,
    "default": 65536,
    "thorough": 65536,
}


@dataclass
class _State:
    specs: list[RuntimeSpec]
    report_dir: Path
    script_timeout: float
    known: dict[str, list[divergences.Divergence]]
    report: Report
    runtimes: dict[str, WasmRuntime] = field(default_factory=dict)
    current: str = ""
    profile: str = "default"
    own_profile: bool = True
    """the suite's Hypothesis profile was loaded (the suite's own tests run, or --wasm-profile):
    then the run's seed and the slow runtimes' share apply; otherwise the session's settings rule"""
    write_report: bool = True
    """a report is written at the end: --wasm-report-dir was given, or the suite's own tests run"""
    features: dict[str, Features] = field(default_factory=dict)
    reference: DriverProcess | None = None
    started: dict[str, DriverProcess] = field(default_factory=dict)
    """drivers of the runtimes named on the command line, started (and checked) at configure"""
    listed: dict[tuple[str, str], list[divergences.Divergence]] = field(default_factory=dict)
    """(runtime, property) that ran -> the known divergences that cover it"""
    observed: set[tuple[str, str, divergences.Divergence]] = field(default_factory=set)
    """(runtime, property, entry): an example of the property showed the entry's pinned outcome"""
    failed: set[tuple[str, str]] = field(default_factory=set)
    """(runtime, property) listed, and failed in a way no pin matches"""
    examples: dict[tuple[str, str], int] = field(default_factory=dict)
    """(property, runtime) -> examples Hypothesis ran (all parametrisations), shrinking aside"""
    baseline: tuple[str, dict[str, Any]] | None = None
    """the baseline this run is compared with: (name, its contents)"""
    collected: list[str] = field(default_factory=list)
    """node ids of the tests collected (under xdist: by a worker), to tell what never reported"""
    reported: set[str] = field(default_factory=set)
    """node ids of the tests that reported an outcome"""
    interrupted: str = ""
    """what interrupted the run (Ctrl-C, SIGTERM, SIGHUP), or empty"""
    dead_workers: dict[str, str] = field(default_factory=dict)
    """xdist worker id -> why it died"""
    worker_runtimes: dict[str, set[str]] = field(default_factory=dict)
    """xdist worker id -> the runtimes whose results it sent (as they came)"""
    sent: int = 0
    """in an xdist worker: how many of its results went to the controller with their test reports"""
    handlers: dict[int, Any] = field(default_factory=dict)
    """the signal handlers this plugin replaced (SIGTERM, SIGHUP), to restore at unconfigure"""
    session: pytest.Session | None = None
    finishing: bool = False
    """the report is being written: a signal now no longer interrupts"""
    write_errors: list[str] = field(default_factory=list)
    """a report or baseline that could not be written: one line each at the end, and exit 1"""

    seed: int | None = None
    """the run's one Hypothesis seed, the same for every runtime (so each gets the same scripts,
    and the reference runtime runs each of them once); None where Hypothesis chooses (quick
    derandomizes, and ``--hypothesis-seed`` sets its own)"""
    reference_cache: OrderedDict[tuple[Any, ...], ScriptResult] = field(default_factory=OrderedDict)
    """the reference runtime's result per distinct script (see :meth:`run_on_reference`)"""
    reference_hits: int = 0

    def run_on_reference(self, script: Script) -> ScriptResult:
        """The reference runtime's result for ``script``, run once per distinct script: the same
        scripts go to every runtime, and WebAssembly is deterministic. Only a clean result is
        kept (a crash or timeout runs again), and only a bounded number of them."""
        key = (script.guest, script.module, script.wat, script.modules, script.ops)
        kept = self.reference_cache.get(key)
        if kept is not None:
            self.reference_cache.move_to_end(key)
            self.reference_hits += 1
            return kept
        if self.reference is None:
            self.reference = DriverProcess(BUILTIN[REFERENCE], script_timeout=self.script_timeout)
        result = self.reference.run(script)
        if result.status == "ok" and _payload_bytes(result) <= REFERENCE_CACHE_PAYLOAD:
            self.reference_cache[key] = result
            if len(self.reference_cache) > REFERENCE_CACHE_SCRIPTS:
                self.reference_cache.popitem(last=False)
        return result


REFERENCE_CACHE_SCRIPTS = 4096
REFERENCE_CACHE_PAYLOAD = 1 << 16
"""scripts whose results carry more bytes than this are run on the reference each time"""


def _payload_bytes(result: ScriptResult) -> int:
    return sum(len(o.value) for o in result.outcomes if isinstance(o.value, (bytes, bytearray)))


STATE = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # Registered before any plugin's pytest_configure, so that Hypothesis' own plugin finds them
    # (``--hypothesis-profile=wasm-conformance-quick``); loaded only for the suite (pytest_sessionstart).
    _register_hypothesis_profiles()
    group = parser.getgroup("wasm-conformance", "WebAssembly memory conformance")
    group.addoption(
        "--wasm-runtime", metavar="NAME[,NAME...]", default=None,
        help="runtimes to test: comma-separated ids, or 'all'; ID=PATH runs ID with that interpreter "
             "or engine, ID@LABEL=PATH adds it beside ID (default: $WASM_CONFORMANCE_RUNTIMES, "
             f"else all: {', '.join(known_runtimes())}; one that cannot load here is skipped)",
    )
    group.addoption(
        "--wasm-driver", metavar="ID=COMMAND", action="append", default=[],
        help="add a runtime whose driver COMMAND starts (see docs/protocol.md); repeatable",
    )
    group.addoption(
        "--wasm-profile", metavar="PROFILE", choices=sorted(PROFILES), default=None,
        help="Hypothesis examples per property and runtime: quick (20), default (100), "
             "thorough (1000) (default: default, or $WASM_CONFORMANCE_PROFILE). The suite's "
             "Hypothesis profile is loaded when the suite's own tests run, or when this option "
             "(or the variable) is given; otherwise the session's own Hypothesis settings rule "
             "(--hypothesis-profile, @settings)",
    )
    group.addoption(
        "--wasm-no-shrink", action="store_true", default=False,
        help="report the first failing example as found, without shrinking it: a failure costs a "
             "few examples instead of hundreds (a triage run, or a self-test that only asks "
             "whether a property fails); the counterexample is longer (with the suite's "
             "profile only: see --wasm-profile)",
    )
    group.addoption(
        "--wasm-report-dir", metavar="DIR", type=Path, default=None,
        help="write report.json, report.md and counterexamples here (default: reports/latest "
             "under the current directory when the suite's own tests run; tests of your own that "
             "use the wasm_runtime fixture write no report unless this is given)",
    )
    group.addoption(
        "--wasm-known-divergences", metavar="DIR", type=Path, default=None,
        help="directory of <runtime>.toml known-divergence files (default: the package's own)",
    )
    group.addoption(
        "--wasm-save-baseline", metavar="NAME", default=None,
        help="keep this run's outcomes as baseline NAME (reports/baselines/NAME.json beside the report "
             "directory, or a path ending in .json)",
    )
    group.addoption(
        "--wasm-baseline", metavar="NAME", default=None,
        help="compare this run with baseline NAME: print regressions (pass to fail), fixes and new "
             "divergences; a regression makes the run fail",
    )
    group.addoption(
        "--wasm-script-timeout", metavar="SECONDS", type=float, default=60.0,
        help="a driver that has not answered a script in this time is killed (default: 60)",
    )


def pytest_configure(config: pytest.Config) -> None:
    known_specs = known_runtimes()
    custom: set[str] = set()
    try:
        for text in config.getoption("wasm_driver"):
            spec = parse_custom(text)
            known_specs[spec.id] = spec
            custom.add(spec.id)
        specs = select(config.getoption("wasm_runtime"), known_specs)
    except UnknownRuntime as exc:
        raise pytest.UsageError(str(exc)) from None
    explicit = (named_explicitly(config.getoption("wasm_runtime")) | custom) & {s.id for s in specs}
    asked = config.getoption("wasm_profile") or os.environ.get("WASM_CONFORMANCE_PROFILE")
    profile = asked or "default"
    if profile not in PROFILES:
        raise pytest.UsageError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    suite_run = _collects_suite(config)
    own_profile = bool(asked) or suite_run  # loaded at pytest_sessionstart, after every configure
    known_dir = config.getoption("wasm_known_divergences") or divergences.BUILTIN_DIR
    try:
        known = divergences.load(known_dir)
    except divergences.BadDivergenceFile as exc:
        raise pytest.UsageError(f"known divergences: {exc}") from None
    asked_dir = config.getoption("wasm_report_dir")
    report_dir = asked_dir or Path.cwd() / "reports" / "latest"
    _check_inputs(config, report_dir, write_report=asked_dir is not None or suite_run)
    report = Report(profile=profile, command=shlex.join(["pytest", *config.invocation_params.args]))
    for spec in specs:
        report.runtimes[spec.id] = RuntimeRecord(spec.id, description=spec.description,
                                                 needs=spec.needs, command=spec.describe_command())
    config.stash[STATE] = _State(specs, report_dir, config.getoption("wasm_script_timeout"),
                                 known, report, profile=profile, own_profile=own_profile,
                                 write_report=asked_dir is not None or suite_run)
    config.stash[STATE].seed = _run_seed(config, profile)
    if not hasattr(config, "workerinput"):  # the controller of an xdist run checks for its workers
        config.stash[STATE].started = _start_named(
            [s for s in specs if s.id in explicit], config.getoption("wasm_script_timeout"))
    against = config.getoption("wasm_baseline")
    if against:
        try:
            saved = baseline.load(baseline.baseline_path(against, report_dir))
            config.stash[STATE].baseline = (against, saved)
        except baseline.BaselineError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line(
        "markers", f"wasm_feature(name): skip on a runtime whose probe lacks it ({', '.join(FEATURES)})")
    config.addinivalue_line(
        "markers", "wasm_thorough: runs only in the thorough profile (it may really allocate GiBs)")
    config.addinivalue_line(  # pytest-xdist's own, set on every runtime's tests (harmless without it)
        "markers", "xdist_group(name): tests that pytest-xdist's --dist loadgroup keeps on one worker")
    config.pluginmanager.register(_Progress(config.stash[STATE], hasattr(config, "workerinput")),
                                  "wasm-conformance-progress")
    if not hasattr(config, "workerinput"):
        _install_signal_handlers(config.stash[STATE])
        # pytest-xdist 3.8 (pytest 9.2) replaces a crashed worker, whose runtime's next test kills
        # the replacement too, and then may wait for good (measured: a quick run of wasm3 and a
        # runtime whose driver kills its worker lost three workers, then sat with the fourth
        # idle): unless told otherwise, a crashed worker ends the run, its report incomplete
        option = config.option
        if getattr(option, "maxworkerrestart", "") is None and getattr(option, "numprocesses", None):
            option.maxworkerrestart = "0"
    install_signal_handlers()  # where none is set yet (xdist workers): kill the drivers, then die of it


def _install_signal_handlers(state: _State) -> None:
    """SIGTERM and SIGHUP interrupt the run as Ctrl-C does (KeyboardInterrupt), so that the
    report is still written, marked interrupted; only where no handler is set already. Each
    (Ctrl-C too) also stops the run after the current test, should that test swallow the raise
    (a Hypothesis test may report it inside an exception group, as a failure)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is None or signal.getsignal(signum) is not (
                signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL):
            continue

        def interrupt(number: int, frame: Any) -> None:
            if state.finishing:
                return
            name = signal.Signals(number).name
            name += " (Ctrl-C, KeyboardInterrupt)" if number == signal.SIGINT else ""
            state.interrupted = state.interrupted or name
            if state.session is not None:  # stops after this test, should the test swallow the raise
                state.session.shouldstop = f"interrupted by {name}"
            raise KeyboardInterrupt(name)

        state.handlers[signum] = signal.signal(signum, interrupt)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    for signum, previous in state.handlers.items():
        signal.signal(signum, previous)
    state.handlers.clear()


def pytest_keyboard_interrupt(excinfo: Any) -> None:
    """Ctrl-C (or SIGTERM, SIGHUP, turned into it): the drivers go at once, the report says so."""
    from conformance import driver_process

    kill_all = getattr(driver_process, "kill_all_drivers", None)
    if callable(kill_all):
        kill_all()


class _Progress:
    """Which tests reported, of how many collected; an xdist worker's results go to the
    controller with each test's report, so that it holds them if the worker dies or the run is
    interrupted before the worker's share arrives at its end (``pytest_testnodedown``)."""

    def __init__(self, state: _State, in_worker: bool) -> None:
        self.state, self.in_worker = state, in_worker

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.state.session = session

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.state.collected = [item.nodeid for item in session.items]

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        if len(ids) > len(self.state.collected):
            self.state.collected = list(ids)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.state
        if report.when == "call" or (report.when == "setup" and not report.passed):
            state.reported.add(report.nodeid)
        if self.in_worker:
            report.wasm_results = [asdict(r) for r in state.report.results[state.sent:]]  # type: ignore[attr-defined]
            state.sent = len(state.report.results)
            return
        streamed = getattr(report, "wasm_results", None)
        gateway = getattr(getattr(report, "node", None), "gateway", None)
        worker = str(getattr(gateway, "id", "?"))
        runtime = parallel.runtime_in(report.nodeid, [s.id for s in state.specs])
        if gateway is not None and runtime is not None:  # a worker's test, or the one it died in
            state.worker_runtimes.setdefault(worker, set()).add(runtime)
        for raw in streamed or ():
            result = Result(**raw)
            state.report.results.append(result)
            record = state.report.runtimes.get(result.runtime)
            if record is not None:
                record.seconds += result.seconds
                record.ran = record.ran or result.outcome != "skip"
            state.worker_runtimes.setdefault(worker, set()).add(result.runtime)


def _check_inputs(config: pytest.Config, report_dir: Path, write_report: bool = True) -> None:
    """Options that would only fail after every test ran stop the run now, in one line."""
    timeout = config.getoption("wasm_script_timeout")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise pytest.UsageError(f"--wasm-script-timeout must be a positive number of seconds, got {timeout}")
    why = atomic.cannot_write(report_dir) if write_report else ""
    if why:
        raise pytest.UsageError(f"cannot write the report in {report_dir}: {why} (see --wasm-report-dir)")
    save_as = config.getoption("wasm_save_baseline")
    if save_as:
        path = baseline.baseline_path(save_as, report_dir)
        why = atomic.cannot_write(path.parent)
        if not why and path.exists() and not os.access(path, os.W_OK):
            why = "the file is read-only"
        if why:
            raise pytest.UsageError(f"--wasm-save-baseline: cannot write {path}: {why}")


def _start_named(specs: list[RuntimeSpec], script_timeout: float) -> dict[str, DriverProcess]:
    """Start the driver of every runtime the user named; one that cannot run stops the run.

    Only the default selection (every runtime, or ``all``) skips what cannot load here: a
    runtime named on purpose that cannot run would otherwise leave a green run that tested
    nothing. The processes started are kept for the fixture.
    """
    from concurrent.futures import ThreadPoolExecutor

    def launched(spec: RuntimeSpec) -> DriverProcess | str:
        why = cannot_start(spec)
        if why:
            return why
        process = DriverProcess(spec, script_timeout=script_timeout)
        try:
            process.launch()  # forked here, by the main thread (launch says why)
        except RuntimeUnavailable as exc:
            return str(exc).split(": ", 1)[-1]
        return process

    def hello(process: DriverProcess | str) -> DriverProcess | str:
        if isinstance(process, str):
            return process
        try:
            process.start()
        except RuntimeUnavailable as exc:
            return str(exc).split(": ", 1)[-1]
        return process

    # every process forked at once, their hellos awaited a few at a time (a run of many runtimes,
    # the self-tests' faulty ones, started them one after another for tens of seconds)
    with ThreadPoolExecutor(max_workers=min(4, max(1, len(specs)))) as pool:
        outcomes = list(pool.map(hello, [launched(spec) for spec in specs]))
    started = {spec.id: got for spec, got in zip(specs, outcomes, strict=True)
               if isinstance(got, DriverProcess)}
    for spec, got in zip(specs, outcomes, strict=True):
        if isinstance(got, str):
            for process in started.values():
                process.close()
            raise pytest.UsageError(f"runtime {spec.id!r} was named but cannot run here: {got}")
    return started


def _hypothesis_profile_name(profile: str, shrink: bool = True) -> str:
    return f"wasm-conformance-{profile}" + ("" if shrink else "-no-shrink")


def _register_hypothesis_profiles() -> None:
    """Register the suite's Hypothesis profiles (``wasm-conformance-quick``, ``-default``,
    ``-thorough``, each also ``-no-shrink``), loading none of them."""
    from hypothesis import HealthCheck, Phase, settings

    for profile, examples in PROFILES.items():
        for shrink in (True, False):
            settings.register_profile(
                _hypothesis_profile_name(profile, shrink),
                phases=[p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)],
                max_examples=examples,
                deadline=None,  # a round trip to a child process is not a unit of work to time
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
                derandomize=profile == "quick",
                print_blob=True,
            )


def _load_hypothesis_profile(profile: str, shrink: bool = True) -> None:
    from hypothesis import settings

    name = _hypothesis_profile_name(profile, shrink)
    try:
        settings.get_profile(name)
    except Exception:  # registered at addoption; not where the plugin was registered late
        _register_hypothesis_profiles()
    settings.load_profile(name)


SUITE_DIR = Path(__file__).resolve().parent / "suite"


def _collects_suite(config: pytest.Config) -> bool:
    """Whether this session collects the suite's own tests (conformance/suite): a path argument
    (or testpaths) at it, in it, or above it with nothing between that pytest would not enter (a
    virtualenv, site-packages, a hidden folder); ``--pyargs conformance[.suite[.test_x]]``."""
    pyargs = bool(config.getoption("pyargs", False))
    for arg in config.args:
        target = str(arg).split("::", 1)[0]
        path = _module_path(target) if pyargs else None
        if path is None:
            path = Path(config.invocation_params.dir, target)
        try:
            path = path.resolve()
        except OSError:
            continue
        if path == SUITE_DIR or SUITE_DIR in path.parents:
            return True
        if path in SUITE_DIR.parents and not _hidden_between(path, SUITE_DIR):
            return True
    return False


def _module_path(name: str) -> Path | None:
    import importlib.util

    if not name.replace(".", "").replace("_", "").isalnum():
        return None
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    origin = Path(spec.origin)
    return origin.parent if origin.name == "__init__.py" else origin


def _hidden_between(top: Path, below: Path) -> bool:
    """A folder between ``top`` and ``below`` that pytest does not recurse into by default."""
    here = top
    for part in below.relative_to(top).parts:
        here = here / part
        if part.startswith(".") or part in ("site-packages", "dist-packages", "venv", "build", "dist") \
                or (here / "pyvenv.cfg").exists():
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Load the suite's Hypothesis profile where it applies: after every plugin's pytest_configure
    (so after Hypothesis' own ``--hypothesis-profile``, which --wasm-profile overrides), before
    collection imports the tests (Hypothesis binds a test's settings when it is decorated), and
    before the header names the profile."""
    state = session.config.stash.get(STATE, None)
    if state is not None and state.own_profile:
        _load_hypothesis_profile(state.profile, shrink=not session.config.getoption("wasm_no_shrink"))


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: Any) -> None:
    """A module of the suite about to be collected, in a session that did not name the suite (so
    that pytest_configure did not see it coming): its properties get the suite's profile and the
    run writes its report, as a run of the suite does."""
    state = parent.config.stash.get(STATE, None)
    if state is None or state.own_profile or SUITE_DIR not in Path(module_path).resolve().parents:
        return
    state.own_profile = True
    state.write_report = True
    _load_hypothesis_profile(state.profile, shrink=not parent.config.getoption("wasm_no_shrink"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wasm_runtime" in metafunc.fixturenames:
        # Under pytest-xdist's `-n N --dist loadgroup` every test of one runtime goes to one
        # worker: its driver lives in one process, shared by its tests, as in a serial run. The
        # mark is set here, at parametrisation, before xdist reads it in its own
        # pytest_collection_modifyitems.
        params = [pytest.param(s.id, id=s.id, marks=pytest.mark.xdist_group(name=f"wasm-{s.id}"))
                  for s in metafunc.config.stash[STATE].specs]
        metafunc.parametrize("wasm_runtime", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def wasm_runtime(request: pytest.FixtureRequest) -> WasmRuntime:
    """The runtime under test, its driver started; a runtime that cannot load here is skipped."""
    state = request.config.stash[STATE]
    runtime_id: str = request.param
    runtime = state.runtimes.get(runtime_id)
    if runtime is None:
        spec = next(s for s in state.specs if s.id == runtime_id)
        process = state.started.pop(runtime_id, None)
        runtime = WasmRuntime(
            spec=spec,
            process=process or DriverProcess(spec, script_timeout=state.script_timeout),
            counterexample_dir=state.report_dir / "counterexamples" if state.write_report else None,
            current_test=lambda: state.current,
            current_case=lambda: state.report.current_case,
            reference=state.run_on_reference,
            profile=state.profile,
        )
        state.runtimes[runtime_id] = runtime
    record = state.report.runtimes[runtime_id]
    try:
        hello = runtime.start()
    except RuntimeUnavailable as exc:
        record.available, record.reason = False, str(exc).split(": ", 1)[-1]
        pytest.skip(str(exc))
    record.version, record.info, record.ran = hello.version, hello.info, True
    if runtime_id not in state.features:
        state.features[runtime_id] = probe(runtime.process, CAPACITY_CAP[state.profile],
                                           virtual_cap=VIRTUAL_CAP[state.profile])
        record.probes = state.features[runtime_id].to_json()
    runtime.features = state.features[runtime_id]
    return runtime


@pytest.fixture(autouse=True)
def _wasm_feature_gate(request: pytest.FixtureRequest) -> None:
    """Skip a test marked ``wasm_feature(name)`` on a runtime whose probe found no such feature,
    and one marked ``wasm_thorough`` outside the thorough profile."""
    profile = request.config.stash[STATE].profile
    if request.node.get_closest_marker("wasm_thorough") is not None and profile != "thorough":
        pytest.skip(f"only in the thorough profile (this run: {profile}); it may allocate GiBs")
    marks = list(request.node.iter_markers("wasm_feature"))
    if not marks or "wasm_runtime" not in request.fixturenames:
        return
    runtime: WasmRuntime = request.getfixturevalue("wasm_runtime")
    features = request.config.stash[STATE].features.get(runtime.id)
    for mark in marks:
        for feature in mark.args:
            if feature not in FEATURES:
                raise pytest.UsageError(f"wasm_feature({feature!r}): known features are {FEATURES}")
            # Only a refusal is a missing feature: a module that loads and answers wrongly is a
            # failure, so its properties run (and test_probes.py fails with the probe's script).
            if features is not None and features.absent(feature):
                pytest.skip(f"{runtime.id} lacks {feature}: {features.why_not(feature)}")


def property_id(item: pytest.Item) -> str:
    """``<module file>::<test name>``: what known-divergence entries and reports name."""
    name = getattr(item, "originalname", None) or item.name
    return f"{Path(str(item.fspath)).name}::{name}"


def _runtime_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "wasm_runtime" in callspec.params:
        return str(callspec.params["wasm_runtime"])
    return None


def _is_suite(item: pytest.Item) -> bool:
    return _runtime_of(item) is not None or "conformance" in Path(str(item.fspath)).parts[-3:-1]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash[STATE]
    _seed_tests(state, items)
    family = {s.id: s.family for s in state.specs}
    seen: set[tuple[str, str]] = set()
    for item in items:
        runtime = _runtime_of(item)
        if runtime is not None:
            seen |= {(runtime, property_id(item)), (family.get(runtime, runtime), property_id(item))}
    selected = set(family) | set(family.values())
    for runtime, entries in state.known.items():
        # Only a runtime whose properties were collected can tell an entry that
        # matches nothing from one whose tests were deselected.
        if runtime not in selected or not any(rt == runtime for rt, _ in seen):
            continue
        modules = {pid.split("::")[0] for rt, pid in seen if rt == runtime}
        for entry in entries:
            if entry.test.split("::")[0] not in modules:
                continue  # its module was not collected: deselected, not stale
            if not any(rt == runtime and entry.matches(pid) for rt, pid in seen):
                text = (f"known divergence for {runtime} matches no collected test: {entry.test!r} "
                        f"({entry.source})")
                state.report.warnings.append(text)
                warnings.warn(pytest.PytestWarning(text), stacklevel=1)


EXAMPLES = pytest.StashKey[dict[str, int]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Name the case of the test about to run, for its results (``65537-pages`` of
    ``test_declared_limits_at_the_cap[wasmtime-65537-pages]``)."""
    item.config.stash[STATE].report.current_case = case_of(item)


def case_of(item: pytest.Item) -> str:
    """The test's parametrisation besides the runtime: its parameter ids, the runtime's left out."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return ""
    ident, runtime = str(callspec.id), _runtime_of(item)
    if runtime is None:
        return ident
    if ident == runtime:
        return ""
    if ident.startswith(runtime + "-"):
        return ident[len(runtime) + 1:]
    if ident.endswith("-" + runtime):
        return ident[:-len(runtime) - 1]
    return ident.replace(f"-{runtime}-", "-", 1)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Name the property being run, and count the examples Hypothesis ran for it.

    The count comes from Hypothesis' statistics (the same that
    ``--hypothesis-show-statistics`` prints), passed on to whoever else listens.
    """
    from hypothesis.statistics import collector

    state = item.config.stash[STATE]
    state.current = property_id(item)
    DriverProcess.new_test()  # a runtime's streak of crashes or timeouts ends with its property
    counts: dict[str, int] = {}
    listening = collector.value

    def note(stats: Any) -> None:
        for phase, data in stats.items():
            if not (isinstance(data, dict) and phase.endswith("-phase")):
                continue
            cases = [t for t in data.get("test-cases", []) if t.get("status") != "invalid"]
            kind = "shrinks" if phase == "shrink-phase" else "examples"
            counts[kind] = counts.get(kind, 0) + len(cases)
        if listening is not None:
            listening(stats)

    fn = getattr(item, "obj", None)
    given_settings = getattr(fn, "_hypothesis_internal_use_settings", None)
    adjusted = _adjusted_settings(item, state, given_settings)
    if adjusted is not None:
        fn._hypothesis_internal_use_settings = adjusted  # type: ignore[union-attr]
    restore = _pin_known_divergences(item, state)
    try:
        with collector.with_value(note):  # type: ignore[arg-type]  # declared DynamicVariable(None)
            return (yield)
    finally:
        restore()
        if adjusted is not None:
            fn._hypothesis_internal_use_settings = given_settings  # type: ignore[union-attr]
        state.current = ""
        item.stash[EXAMPLES] = counts


def _pin_known_divergences(item: pytest.Item, state: _State) -> Callable[[], None]:
    """Let the runtime end each example that shows a pinned known divergence of this property,
    without failing, so that the property's other examples still run; returns the undo.

    The runtime gets the property's entries (``WasmRuntime.known``, read by ``check_script``); a
    ``@given`` test's inner function is wrapped by ``checks.ending_examples`` (Hypothesis'
    documented ``.hypothesis.inner_test``), so such an example counts as run; a stateful test,
    where ``check_script`` rejects the example instead, runs with ``HealthCheck.filter_too_much``
    suppressed (a runtime may diverge in most examples)."""
    from hypothesis import HealthCheck, settings

    runtime_id = _runtime_of(item)
    runtime = state.runtimes.get(runtime_id) if runtime_id else None
    if runtime is None:
        return lambda: None
    runtime.observed.clear()
    runtime.left_out.clear()
    runtime.rejected = runtime.budget = 0
    runtime.examples_done = False
    entries = divergences.applicable(state.known, runtime.id, property_id(item), _family(state, runtime.id))
    hypothesis_api = getattr(getattr(item, "obj", None), "hypothesis", None)
    inner = getattr(hypothesis_api, "inner_test", None)
    lacking = runtime.features is not None and runtime.features.absent("i64_boundary")
    if inner is not None and (entries or lacking):
        # an example that shows a pinned divergence, or needs what the runtime lacks, ends as run
        hypothesis_api.inner_test = ending_examples(inner, lambda: runtime)  # type: ignore[union-attr]
    if not entries:
        def unwrap() -> None:
            if inner is not None:
                hypothesis_api.inner_test = inner  # type: ignore[union-attr]

        return unwrap
    runtime.known = lambda: entries
    profile = settings.get_current_profile_name()
    lenient = f"{profile}-filtering"
    settings.register_profile(lenient, settings(settings.get_profile(profile), suppress_health_check=[
        *settings.get_profile(profile).suppress_health_check, HealthCheck.filter_too_much]))
    settings.load_profile(lenient)
    runtime.budget = settings.get_profile(lenient).max_examples

    def restore() -> None:
        runtime.known = lambda: ()
        runtime.budget = 0
        if inner is not None:
            hypothesis_api.inner_test = inner  # type: ignore[union-attr]
        settings.load_profile(profile)

    return restore


SLOW_SHARE = 4
"""A runtime flagged slow (a WebAssembly interpreter written in Python) runs 1/SLOW_SHARE of the
profile's examples per property, at least SLOW_FLOOR, so that it does not set the pace for all."""
SLOW_FLOOR = 10


def _adjusted_settings(item: pytest.Item, state: _State, given: Any) -> Any:
    """The Hypothesis settings this property runs with on this runtime, where they differ.

    A stated rule: a slow runtime runs a share of the examples (SLOW_SHARE). (A known
    divergence needs none: an example that shows it exactly as pinned ends without failing,
    so there is nothing to shrink, and any other failure is shrunk as usual.)"""
    from hypothesis import settings

    runtime = _runtime_of(item)
    if given is None or runtime is None or not state.own_profile:
        return None
    changes: dict[str, Any] = {}
    spec = next((s for s in state.specs if s.id == runtime), None)
    if spec is not None and spec.slow:
        changes["max_examples"] = max(SLOW_FLOOR, given.max_examples // SLOW_SHARE)
    return settings(given, **changes) if changes else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[
        None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    state = item.config.stash[STATE]
    runtime = _runtime_of(item)
    if runtime is None and not _is_suite(item):
        return report
    runtime = runtime or HOST
    prop = property_id(item)
    if call.when == "setup" and report.skipped:
        reason = _skip_reason(report)
        state.report.add(Result(prop, runtime, "skip", reason=reason))
        return report
    if call.when != "call":
        if report.failed:
            state.report.add(Result(prop, runtime, "fail", message=str(report.longrepr)[-2000:]))
        return report
    seconds = report.duration
    counted = item.stash.get(EXAMPLES, {})
    if "examples" in counted:  # a Hypothesis test that ran to its end (a failure stops the count)
        state.examples[(prop, runtime)] = state.examples.get((prop, runtime), 0) + counted["examples"]
    wasm = state.runtimes.get(runtime)
    observed = wasm.take_observed() if wasm is not None else {}
    entries = divergences.applicable(state.known, runtime, prop, _family(state, runtime))
    exc = call.excinfo.value if call.excinfo else None
    # ExamplesDone ended a stateful run: pytest sees a skip, but the examples ran, some diverged
    done = wasm is not None and wasm.examples_done and report.skipped
    failed = report.failed and not _ends_in_known_divergence(exc, item, wasm, observed)
    if entries and (done or not report.skipped):
        state.listed.setdefault((runtime, prop), entries)
        state.observed.update((runtime, prop, entry) for entry in observed)
        if failed:
            state.failed.add((runtime, prop))
    if report.skipped and not done:
        state.report.add(Result(prop, runtime, "skip", seconds, reason=_skip_reason(report)))
    elif failed:  # a failure no pin matches: it fails, whatever else the property showed
        result = _failure_result(prop, runtime, seconds, exc, report)
        if observed:
            result.message += "\n\n(this property also showed its known divergence: " + "; ".join(
                o.entry.reason for o in observed.values()) + ")"
        state.report.add(result)
    elif observed:
        state.report.add(_divergence_result(prop, runtime, seconds, list(observed.values())))
        report.outcome = "skipped"
        report.wasxfail = "known divergence: " + "; ".join(o.entry.reason for o in observed.values())
    elif wasm is not None and wasm.left_out:
        left = sum(wasm.left_out.values())
        why = "; ".join(wasm.left_out)
        if left >= counted.get("examples", 0):  # every example needed what the runtime lacks
            report.outcome, report.longrepr = "skipped", (str(item.fspath), 0, f"Skipped: {why}")
            state.report.add(Result(prop, runtime, "skip", seconds, reason=why))
        else:
            state.report.add(Result(prop, runtime, "pass", seconds, reason=(
                f"{left} of {counted['examples']} examples left out: {why}")))
        wasm.left_out.clear()
    else:
        state.report.add(Result(prop, runtime, "pass", seconds))
    _record_choices(state, runtime, prop)
    return report


def _ends_in_known_divergence(exc: BaseException | None, item: pytest.Item, runtime: WasmRuntime | None,
                              observed: dict[divergences.Divergence, Observation]) -> bool:
    """Whether a test that raised ``exc`` failed only by showing a pinned known divergence.

    That is ``KnownDivergence`` (``check_script`` outside Hypothesis); Hypothesis' Unsatisfiable
    when a stateful test's every example was rejected as one; and, in a test that is no
    Hypothesis run, the property's own failure when a pin matches it."""
    from hypothesis.errors import Unsatisfiable

    if isinstance(exc, KnownDivergence):
        observed.setdefault(exc.entry, Observation(exc.entry, exc.failure, str(exc.failure)))
        return True
    if isinstance(exc, Unsatisfiable):
        return bool(observed)
    hypothesis_run = (getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
                      or any("Falsifying" in note for note in getattr(exc, "__notes__", ())))
    if runtime is None or exc is None or hypothesis_run:
        return False
    if runtime.pinned(exc) is None:
        return False
    for entry, seen in runtime.take_observed().items():
        if entry in observed:
            observed[entry].examples += seen.examples
        else:
            observed[entry] = seen
    return True


def _divergence_result(prop: str, runtime: str, seconds: float, seen: list[Observation]) -> Result:
    """A ``known-divergence`` result: each entry's reason, and the pinned outcome as it was seen."""
    first = seen[0]
    failure = first.failure
    reason = "; ".join(o.entry.reason for o in seen)
    pin = "; ".join(f"{o.entry.pin.describe()} ({o.entry.source}), seen in {o.examples} "
                    f"example{'s' if o.examples != 1 else ''}" for o in seen)
    if failure is None:
        return Result(prop, runtime, "known-divergence", seconds, message=first.message, reason=reason,
                      pin=pin)
    if failure.counterexample is not None:  # later examples overwrote it: keep the one shown
        _rewrite(failure.counterexample, failure.saved)
    return Result(
        prop, runtime, "known-divergence", seconds, message="\n\n".join(o.message for o in seen),
        reason=reason,
        script=failure.script.to_json(),
        counterexample=str(failure.counterexample) if failure.counterexample else None,
        replay=failure.replay, expected=failure.expected or None, got=failure.got or None, pin=pin,
    )


def _family(state: _State, runtime_id: str) -> str:
    """Known divergences of ``wasmtime`` apply to a pinned ``wasmtime@5`` too."""
    for spec in state.specs:
        if spec.id == runtime_id:
            return spec.family
    return runtime_id


def _record_choices(state: _State, runtime_id: str, prop: str) -> None:
    runtime = state.runtimes.get(runtime_id)
    if runtime is None:
        return
    chosen = runtime.choices.pop(prop, set())
    if chosen:
        existing = state.report.choices.setdefault(prop, {}).setdefault(runtime_id, [])
        existing.extend(sorted(c for c in chosen if c not in existing))


def _failure_result(prop: str, runtime: str, seconds: float, exc: BaseException | None,
                    report: pytest.TestReport) -> Result:
    failure = _find_conformance_failure(exc)
    if failure is None:
        text = str(report.longrepr)
        return Result(prop, runtime, "fail", seconds, message=text[-3000:])
    if failure.counterexample is not None:
        # Hypothesis may have run other failing scripts after this one (a second
        # explicit example, shrinking): the file holds the failure reported here.
        _rewrite(failure.counterexample, failure.saved)
    return Result(
        prop, runtime, failure.kind, seconds, message=str(failure),
        script=failure.script.to_json(),
        counterexample=str(failure.counterexample) if failure.counterexample else None,
        replay=failure.replay, expected=failure.expected or None, got=failure.got or None,
    )


def _rewrite(path: Path, saved: dict[str, Any]) -> None:
    """Put back the counterexample a result shows, whole (a failed write leaves the file as it was)."""
    with contextlib.suppress(OSError):  # the report's own write says what broke
        atomic.write_text(path, json.dumps(saved, indent=2) + "\n")


def _find_conformance_failure(exc: BaseException | None) -> ConformanceFailure | None:
    # Hypothesis may wrap several distinct failures in an ExceptionGroup.
    if isinstance(exc, ConformanceFailure):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _find_conformance_failure(inner)
            if found is not None:
                return found
    return None


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    state.report.warnings += _unseen_divergences(state)
    for runtime in state.runtimes.values():
        record = state.report.runtimes[runtime.id]
        record.scripts = runtime.scripts_run
        record.driver_seconds = runtime.process.busy_seconds
        record.restarts = runtime.process.restarts
        record.peak_rss_mib = runtime.process.peak_rss / (1 << 20)
        record.recycles = runtime.process.recycles
        record.crashes = runtime.process.crashes
        record.timeouts = runtime.process.timeouts
        runtime.process.close()
    if state.reference is not None:
        state.reference.close()
    for process in state.started.values():  # named, started at configure, never used
        process.close()
    examples = {f"{prop} {runtime}": n for (prop, runtime), n in state.examples.items()}
    state.report.examples.update(examples)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller merges and writes
        worker = str(getattr(session.config, "workerinput", {}).get("workerid", "?"))
        workeroutput["wasm_conformance"] = json.dumps(_worker_payload(state, worker))
        return
    state.finishing = True
    _set_status(state, exitstatus)
    ids = [s.id for s in state.specs]
    suite = any(parallel.runtime_in(n, ids) for n in state.collected)  # not only the host's tests
    if state.report.results or (state.report.status != "complete" and suite):
        _baselines(session, state)
        state.report.seed = _seed_of(session.config, state.profile)
        slow = [s.id for s in state.specs if s.slow]
        if not state.own_profile:
            from hypothesis import settings

            state.report.rules.append(
                f"Hypothesis settings: the session's own (profile "
                f"{settings.get_current_profile_name()!r}); the suite's profile was not loaded, "
                "nor its one seed for every runtime (--wasm-profile loads both).")
        elif slow:
            state.report.rules.append(
                f"{', '.join(slow)}: an interpreter written in Python, runs 1/{SLOW_SHARE} of the "
                f"profile's examples per property (at least {SLOW_FLOOR}).")
        state.report.rules.append("An example that shows a runtime's known divergence exactly as its entry "
                                  "pins it ends there, counted as run; any other failure fails.")
        if not state.write_report:
            return
        try:
            state.report.write(state.report_dir)
        except OSError as exc:  # the previous report stays whole (atomic writes)
            _write_failed(session, state, f"cannot write the report in {state.report_dir}: "
                                          f"{atomic.describe(exc)}")


def _set_status(state: _State, exitstatus: int) -> None:
    """complete, interrupted or incomplete, and why: what interrupted the run, which workers
    died (their runtimes' results are partial), how many collected tests never reported."""
    report = state.report
    reasons: list[str] = []
    interrupted = bool(state.interrupted) or exitstatus == pytest.ExitCode.INTERRUPTED
    if interrupted:
        reasons.append(f"interrupted by {state.interrupted or 'KeyboardInterrupt (Ctrl-C)'}")
    ids = [s.id for s in state.specs]
    unreported = [n for n in state.collected if n not in state.reported]
    short = {rid for rid in (parallel.runtime_in(n, ids) for n in unreported) if rid is not None}
    for each in report.runtimes.values():
        if not each.ran and any(r.runtime == each.id and r.outcome != "skip" for r in report.results):
            each.ran = True
    for worker, why in state.dead_workers.items():
        runtimes = sorted(state.worker_runtimes.get(worker, set()) & short)
        reasons.append(f"worker {worker} died ({why})" + (
            f" while running {', '.join(runtimes)}" if runtimes else ""))
        for rid in runtimes:
            record = report.runtimes.get(rid)
            if record is not None and not record.incomplete:
                left = sum(parallel.runtime_in(n, ids) == rid for n in unreported)
                record.incomplete = f"worker {worker} died, {left} of its tests never reported"
    if unreported:
        reasons.append(f"{len(unreported)} of {len(state.collected)} collected tests never reported")
        for rid in short:
            record = report.runtimes.get(rid)
            if record is not None and record.ran and not record.incomplete and interrupted:
                record.incomplete = "interrupted"
    if interrupted:
        report.status = "interrupted"
    elif reasons:
        report.status = "incomplete"
    report.status_reasons = reasons


def _unseen_divergences(state: _State) -> list[str]:
    """A warning per known divergence whose pinned outcome no property it covers showed, where
    they all ran without another failure (one that did may have stopped before showing it)."""
    covered: dict[tuple[str, divergences.Divergence], list[str]] = {}
    for (runtime_id, prop), entries in state.listed.items():
        for entry in entries:
            covered.setdefault((runtime_id, entry), []).append(prop)
    out = []
    for (runtime_id, entry), props in covered.items():
        if any((runtime_id, prop, entry) in state.observed or (runtime_id, prop) in state.failed
               for prop in props):
            continue
        where = f"({entry.source}: {entry.test}, {entry.pin.describe()})"
        if any(seen_rt == runtime_id and prop in props for seen_rt, prop, _ in state.observed):
            out.append(f"{runtime_id}: no example of {', '.join(props)} showed the known divergence "
                       f"{where} this run, only others: remove the entry if it never shows")
        else:
            out.append(f"{runtime_id} passes {', '.join(props)}, listed as a known divergence {where}: "
                       "remove the entry")
    return out


# --- pytest-xdist: one worker per runtime, one report ---------------------------------


def _worker_payload(state: _State, worker: str) -> dict[str, Any]:
    report = state.report
    return {
        "results": [asdict(r) for r in report.results],
        "runtimes": {rid: asdict(rec) for rid, rec in report.runtimes.items()},
        "ran": sorted(state.runtimes),
        "worker": worker,
        "choices": report.choices,
        "warnings": report.warnings,
        "examples": report.examples,
    }


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``--dist loadgroup`` (or plain ``-n N``, whose default is ``load``), every test of one
    runtime on one worker (conformance/parallel.py)."""
    state = config.stash.get(STATE, None)
    if state is None or config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    return parallel.make_scheduler(config, log, [s.id for s in state.specs])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """The controller of an xdist run takes in one worker's share of the report."""
    state = node.config.stash.get(STATE, None)
    if state is not None and error is not None:  # a worker that died: its results came as it ran
        gateway = getattr(node, "gateway", None)
        state.dead_workers[str(getattr(gateway, "id", "?"))] = str(error).strip().splitlines()[-1][:200] \
            if str(error).strip() else "no reason given"
    raw = getattr(node, "workeroutput", {}).get("wasm_conformance")
    if state is None or raw is None:
        return
    payload = json.loads(raw)
    report = state.report
    # its results came with each test's report (_Progress), as it ran: not taken again here
    worker = payload.get("worker") or "?"
    for rid in payload["ran"]:  # the runtimes whose tests this worker ran: its records are theirs
        theirs = RuntimeRecord(**payload["runtimes"][rid])
        theirs.workers = [worker]
        mine = report.runtimes.get(rid)
        if mine is None or not mine.workers:
            report.runtimes[rid] = theirs
            continue
        # Two workers drove one runtime: its tests were split (they should not be), so its
        # figures are the sum of both, and the report says so.
        _add_record(mine, theirs)
        text = (f"{rid} ran on {len(mine.workers)} workers ({', '.join(mine.workers)}): its tests "
                "were split between driver processes")
        if text not in report.warnings:
            report.warnings = [w for w in report.warnings if not w.startswith(f"{rid} ran on ")]
            report.warnings.append(text)
    for prop, by_runtime in payload["choices"].items():
        for rid, chosen in by_runtime.items():
            mine = report.choices.setdefault(prop, {}).setdefault(rid, [])
            mine += [c for c in chosen if c not in mine]
    report.warnings += [w for w in payload["warnings"] if w not in report.warnings]
    report.examples.update(payload["examples"])


def _add_record(mine: RuntimeRecord, theirs: RuntimeRecord) -> None:
    mine.workers += theirs.workers
    for name in ("seconds", "driver_seconds", "scripts", "restarts", "crashes", "timeouts", "recycles"):
        setattr(mine, name, getattr(mine, name) + getattr(theirs, name))
    mine.peak_rss_mib = max(mine.peak_rss_mib, theirs.peak_rss_mib)


def _run_seed(config: pytest.Config, profile: str) -> int | None:
    """One seed for every runtime's examples of a run, unless Hypothesis already has one: the quick
    profile derandomizes, and ``--hypothesis-seed`` forces its own. Under xdist the controller
    chooses it and hands it to the workers (:func:`pytest_configure_node`)."""
    if profile == "quick" or config.getoption("hypothesis_seed", None) is not None:
        return None
    given = getattr(config, "workerinput", {}).get("wasm_seed")
    if given is not None:
        return int(given)
    import random

    return random.SystemRandom().getrandbits(32)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Each xdist worker examples with the controller's seed."""
    state = node.config.stash.get(STATE, None)
    if state is not None and state.seed is not None:
        node.workerinput["wasm_seed"] = state.seed


def _seed_tests(state: _State, items: list[pytest.Item]) -> None:
    """Give each property the run's seed (``hypothesis.seed``), so every runtime runs the same
    examples: the report compares like with like, and the reference runtime's outcome of a script
    is computed once for all of them. A test's own ``@seed``, or its own ``derandomize`` (the
    layout property's, whose schemas are then the compile cache's), stands. Only under the suite's
    profile: elsewhere the session's own Hypothesis settings choose the examples."""
    if state.seed is None or not state.own_profile:
        return
    from hypothesis import seed

    for item in items:
        test = getattr(item, "obj", None)
        if test is None or not getattr(test, "is_hypothesis_test", False) or _runtime_of(item) is None:
            continue
        own = getattr(test, "_hypothesis_internal_use_settings", None)
        if getattr(test, "_hypothesis_internal_use_seed", None) is None \
                and not getattr(own, "derandomize", False):
            seed(state.seed)(test)


def _seed_of(config: pytest.Config, profile: str) -> str:
    seed = config.getoption("hypothesis_seed", None)
    if seed is not None:
        return str(seed)
    state = config.stash.get(STATE, None)
    if state is not None and not state.own_profile:
        return "the session's Hypothesis settings choose (the suite's profile was not loaded)"
    if profile == "quick":
        return "derandomized (the same examples every run)"
    if state is not None and state.seed is not None:
        return (f"{state.seed}, the same for every runtime (run these examples again with "
                f"--hypothesis-seed={state.seed})")
    return "random per run (fix it with --hypothesis-seed=N; a failure prints its reproduction)"


def _baselines(session: pytest.Session, state: _State) -> None:
    results = state.report.to_json()["results"]
    if state.baseline is not None:
        name, saved = state.baseline
        families = {spec.id: spec.family for spec in state.specs}
        state.report.comparison = baseline.compare(name, saved, results, families)
        if state.report.comparison.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    save_as = session.config.getoption("wasm_save_baseline")
    if save_as:
        path = baseline.baseline_path(save_as, state.report_dir)
        try:
            baseline.save(path, state.report.to_json())
        except OSError as exc:
            _write_failed(session, state,
                          f"--wasm-save-baseline: cannot write {path}: {atomic.describe(exc)}")
        else:
            state.report.saved_baseline = str(path)


def _write_failed(session: pytest.Session, state: _State, line: str) -> None:
    state.write_errors.append(line)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not (state.report.results or state.report.status != "complete"):
        return
    tr = terminalreporter
    tr.section("wasm conformance")
    if state.report.status != "complete":
        tr.write_line(f"status: {state.report.status}: {'; '.join(state.report.status_reasons)}", red=True)
    for runtime, counts in state.report.summary().items():
        record = state.report.runtimes.get(runtime)
        version = f" {record.version}" if record else ""
        text = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        seconds = f" in {record.seconds:.1f}s" if record else ""
        tr.write_line(f"{runtime}{version}: {text}{seconds}")
    for w in state.report.warnings:
        tr.write_line(f"warning: {w}", yellow=True)
    if state.report.comparison is not None:
        for line in state.report.comparison.lines():
            tr.write_line(line, red=line.startswith(("  REGRESSION", "  NEW FAILURE")) or "NOTHING" in line,
                          green=line.startswith("  fixed"))
    if state.report.saved_baseline:
        tr.write_line(f"baseline saved: {state.report.saved_baseline}")
    tr.write_line(f"wall time: {time.time() - state.report.started:.1f} s ({_profile_text(state)})")
    for line in state.write_errors:
        tr.write_line(f"error: {line}", red=True)
    if not state.write_report:
        tr.write_line("report: none written (--wasm-report-dir=DIR writes one)")
    elif not any(line.startswith("cannot write the report") for line in state.write_errors):
        tr.write_line(f"report: {state.report_dir / 'report.md'}")


def _profile_text(state: _State) -> str:
    if state.own_profile:
        return f"profile {state.profile}"
    from hypothesis import settings

    return f"Hypothesis profile {settings.get_current_profile_name()!r}, the session's own"
