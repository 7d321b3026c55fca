"""Where the suite's seconds go: ``make profile``.

    python -m conformance.profile [--runtime IDS] [-k EXPR] [--wasm-profile quick]
                                  [--out reports/latest] [--tests] [--top 5]

Two parts, each in one process of its own so nothing is lost to the pipe between them:

- **the suite** (``conformance/suite``) runs in this process under :mod:`cProfile`. Each
  function's own time goes to one layer by where the function lives: waiting for a driver's
  answer (its runtime compiling, instantiating and running the script, and the pipe), the
  suite's side of the pipe (JSON, hex, framing), the model, the plugin's checks and report,
  Hypothesis, pytest, building guests (clang, WAT), process start. Beside that, the cumulative
  time of the stages that cut across layers (starting drivers, the probes, the reference
  runtime, the model's verdicts), and per runtime and per property the scripts and examples
  per second from the suite's own report.
- **the project's self-tests** (``tests``, with ``--tests``, under pytest-xdist as ``make test``
  runs them): each test file's seconds (summed over workers), and the slowest tests, most of
  which run the suite in a child process (the fault runs).

Writes ``profile.md`` and ``profile.json`` in the output directory and prints the top costs.
Figures are printed, never asserted: the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# (layer, test on a cProfile function key (file, line, name)); the first that matches takes it
WAITING = "waiting for the drivers (runtime work: compile, instantiate, the script; the pipe)"
LAYERS: tuple[tuple[str, Any], ...] = (
    (WAITING, lambda f, n: f == "~" and any(w in n for w in ("poll", "select", "posix.read", "epoll"))),
    ("child processes other than drivers (clang, wat2wasm, pytest runs)",
     lambda f, n: f == "~" and any(w in n for w in ("waitpid", "fork_exec", "communicate"))),
    ("process start (drivers, children)", lambda f, n: "subprocess.py" in f or "fork" in n),
    ("the suite's side of the pipe (JSON, hex, framing)",
     lambda f, n: "driver_process.py" in f or "/json/" in f or "_json" in n or "hex" in n
     or "posix.write" in n),
    ("the model (conformance/model)", lambda f, n: "/conformance/model/" in f),
    ("scripts and strategies", lambda f, n: "/conformance/script.py" in f or "strateg" in f),
    ("checks, divergences, report (the plugin)",
     lambda f, n: any(m in f for m in ("/conformance/checks.py", "/conformance/plugin.py",
                                       "/conformance/report", "/conformance/divergences.py",
                                       "/conformance/probes.py"))),
    ("guests: building and loading modules",
     lambda f, n: any(m in f for m in ("/conformance/cguest.py", "/conformance/guests.py",
                                       "/conformance/edge_modules.py", "/conformance/layout.py",
                                       "wasmtime"))),
    ("the properties' own code (conformance/suite)", lambda f, n: "/conformance/suite/" in f),
    ("Hypothesis", lambda f, n: "/hypothesis/" in f),
    ("pytest and pluggy", lambda f, n: "/_pytest/" in f or "/pluggy/" in f),
)
OTHER = "other (Python's own: dataclasses, copies, the import system, ...)"

STAGES = {
    # stage -> the functions whose cumulative time it is (file suffix, name)
    "starting drivers (hello included)": (("conformance/driver_process.py", "start"),),
    "the probes (once per runtime)": (("conformance/probes.py", "probe"),),
    "the reference runtime's scripts": (("conformance/plugin.py", "run_on_reference"),),
    "scripts on the runtimes under test": (("conformance/checks.py", "run"),),
    "the model's verdicts": (("conformance/model/check.py", "check"),
                             ("conformance/model/check.py", "check_against")),
    "Hypothesis generating and shrinking": (("hypothesis/internal/conjecture/engine.py", "run"),),
}


def layer_of(filename: str, name: str) -> str:
    filename = filename.replace(os.sep, "/")
    for layer, test in LAYERS:
        if test(filename, name):
            return layer
    return OTHER


def attribute(stats: pstats.Stats) -> tuple[dict[str, float], dict[str, float], float]:
    """(own seconds per layer, cumulative seconds per stage, total seconds)."""
    layers: dict[str, float] = defaultdict(float)
    stages: dict[str, float] = defaultdict(float)
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = 0.0
    for (filename, _line, name), (_cc, _nc, tottime, cumtime, _callers) in table.items():
        layers[layer_of(filename, name)] += tottime
        total += tottime
        path = filename.replace(os.sep, "/")
        for stage, functions in STAGES.items():
            if any(path.endswith(suffix) and name == fn for suffix, fn in functions):
                stages[stage] = max(stages[stage], cumtime)  # recursion counts once
    return dict(layers), dict(stages), total


def profile_suite(runtimes: str | None, wasm_profile: str, workdir: Path, select: str = "") -> dict[str, Any]:
    import pytest

    args = ["--pyargs", "conformance.suite", "-q", "-p", "no:cacheprovider", f"--wasm-profile={wasm_profile}",
            f"--wasm-report-dir={workdir / 'report'}"]
    if runtimes:
        args.append(f"--wasm-runtime={runtimes}")
    if select:
        args += ["-k", select]
    prof = cProfile.Profile()
    began = time.monotonic()
    prof.enable()
    code = pytest.main(args)
    prof.disable()
    wall = time.monotonic() - began
    stats = pstats.Stats(prof)
    layers, stages, total = attribute(stats)
    report_path = workdir / "report" / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    per_runtime = {r["id"]: {"seconds": r.get("seconds", 0.0), "driver_seconds": r.get("driver_seconds", 0.0),
                             "scripts": r.get("scripts", 0)}
                   for r in report.get("runtimes", []) if r.get("ran")}
    seconds: dict[str, float] = defaultdict(float)
    for r in report.get("results", []):
        seconds[f"{r['property']} {r['runtime']}"] += r.get("seconds", 0.0)
    examples = report.get("examples", {})
    per_property: dict[str, dict[str, float]] = defaultdict(lambda: {"seconds": 0.0, "examples": 0})
    for key, n in examples.items():
        prop = key.rsplit(" ", 1)[0]
        per_property[prop]["examples"] += n
        per_property[prop]["seconds"] += seconds.get(key, 0.0)
    text = []
    own = pstats.Stats(prof)
    own.sort_stats("tottime")
    for func in own.fcn_list[:15]:  # type: ignore[attr-defined]
        _cc, nc, tt, ct, _ = own.stats[func]  # type: ignore[attr-defined]
        text.append({"function": f"{Path(func[0]).name}:{func[1]}({func[2]})", "own": tt, "cumulative": ct,
                     "calls": nc})
    return {"exit": int(code), "wall": wall, "profiled": total, "layers": layers, "stages": stages,
            "runtimes": per_runtime, "properties": dict(per_property), "functions": text,
            "profile": wasm_profile}


class _Timer:
    """A pytest plugin: each test's setup, call and teardown seconds, by file."""

    def __init__(self) -> None:
        self.items: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.items[report.nodeid] += report.duration


def profile_tests(workdir: Path) -> dict[str, Any]:
    import pytest

    timer = _Timer()
    began = time.monotonic()
    import importlib.util

    parallel = ["-n", "auto", "--dist", "loadgroup"] if importlib.util.find_spec("xdist") else []
    code = pytest.main(["tests", "-q", "-p", "no:cacheprovider", "--wasm-profile=quick", *parallel,
                        f"--wasm-report-dir={workdir / 'tests-report'}"], plugins=[timer])
    wall = time.monotonic() - began
    files: dict[str, float] = defaultdict(float)
    for nodeid, spent in timer.items.items():
        files[nodeid.split("::")[0]] += spent
    slowest = sorted(timer.items.items(), key=lambda kv: -kv[1])[:15]
    return {"exit": int(code), "wall": wall, "files": dict(files), "slowest": dict(slowest)}


def markdown(doc: dict[str, Any], top: int) -> str:
    lines = ["## Where the seconds go", "",
             f"{doc['generated']}, `{doc['command']}`, {doc['cpus']} CPUs.", ""]
    suite = doc.get("suite")
    if suite:
        lines += [f"### The suite ({suite['profile']} profile): {suite['wall']:.1f} s wall, "
                  f"{suite['profiled']:.1f} s profiled", "",
                  "Own time of every function, by layer:", "",
                  "| layer | seconds | share |", "|---|---:|---:|"]
        for layer, spent in sorted(suite["layers"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {layer} | {spent:.1f} | {100 * spent / max(suite['profiled'], 1e-9):.0f}% |")
        lines += ["", "Stages (cumulative; they overlap):", "", "| stage | seconds |", "|---|---:|"]
        lines += [f"| {stage} | {spent:.1f} |" for stage, spent in
                  sorted(suite["stages"].items(), key=lambda kv: -kv[1])]
        lines += ["", "| runtime | seconds | waiting for its driver | scripts | scripts/s |",
                  "|---|---:|---:|---:|---:|"]
        for rid, r in sorted(suite["runtimes"].items(), key=lambda kv: -kv[1]["seconds"]):
            rate = r["scripts"] / r["seconds"] if r["seconds"] else 0.0
            lines.append(f"| {rid} | {r['seconds']:.1f} | {r['driver_seconds']:.1f} | {r['scripts']} "
                         f"| {rate:.0f} |")
        lines += ["", "| property (all runtimes) | seconds | examples | examples/s |", "|---|---:|---:|---:|"]
        for prop, p in sorted(suite["properties"].items(), key=lambda kv: -kv[1]["seconds"]):
            rate = p["examples"] / p["seconds"] if p["seconds"] else 0.0
            lines.append(f"| {prop} | {p['seconds']:.1f} | {p['examples']} | {rate:.0f} |")
        lines += ["", "Functions by own time:", "", "| function | own s | cumulative s | calls |",
                  "|---|---:|---:|---:|"]
        lines += [f"| `{f['function']}` | {f['own']:.2f} | {f['cumulative']:.2f} | {f['calls']} |"
                  for f in suite["functions"]]
    tests = doc.get("tests")
    if tests:
        lines += ["", f"### The self-tests: {tests['wall']:.1f} s wall", "",
                  "| file | seconds |", "|---|---:|"]
        lines += [f"| {f} | {s:.1f} |" for f, s in sorted(tests["files"].items(), key=lambda kv: -kv[1])]
        lines += ["", "| slowest test | seconds |", "|---|---:|"]
        lines += [f"| `{t}` | {s:.1f} |" for t, s in tests["slowest"].items()]
    lines += ["", f"### Top {top}", ""] + [f"{i}. {what}: {spent:.1f} s" for i, (what, spent)
                                           in enumerate(top_costs(doc, top), 1)]
    return "\n".join(lines) + "\n"


def top_costs(doc: dict[str, Any], n: int) -> list[tuple[str, float]]:
    """The largest costs: the suite's layers and the self-tests' files, in one ranking."""
    costs: list[tuple[str, float]] = []
    suite = doc.get("suite")
    if suite:
        costs += [(f"suite: {layer}", s) for layer, s in suite["layers"].items()]
    tests = doc.get("tests")
    if tests:
        costs += [(f"self-tests: {f}", s) for f, s in tests["files"].items()]
    return sorted(costs, key=lambda kv: -kv[1])[:n]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.profile",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runtime", help="runtime ids for the suite part (default: every one)")
    parser.add_argument("--wasm-profile", default="quick", choices=("quick", "default", "thorough"),
                        help="the suite's examples profile (default: quick)")
    parser.add_argument("-k", dest="select", default="",
                        help="only the properties this pytest -k expression selects")
    parser.add_argument("--tests", action="store_true", help="also time the project's self-tests")
    parser.add_argument("--no-suite", action="store_true", help="only the self-tests")
    parser.add_argument("--out", default="reports/latest", help="directory for profile.md and profile.json")
    parser.add_argument("--top", type=int, default=5, help="how many top costs to print")
    args = parser.parse_args(argv)
    doc: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "python -m conformance.profile " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory(prefix="wasm-profile-") as tmp:
        if not args.no_suite:
            doc["suite"] = profile_suite(args.runtime, args.wasm_profile, Path(tmp), args.select)
        if args.tests or args.no_suite:
            doc["tests"] = profile_tests(Path(tmp))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "profile.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    text = markdown(doc, args.top)
    (out / "profile.md").write_text(text, encoding="utf-8")
    print("\n" + text.split(f"### Top {args.top}")[-1].strip())
    print(f"\nwrote {out / 'profile.md'}, {out / 'profile.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
