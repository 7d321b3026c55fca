"""Reports: ``report.json`` for machines and ``report.md``, a runtime-by-property matrix for people."""

from __future__ import annotations

import ast
import functools
import json
import platform
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from conformance import atomic
from conformance.guests import all_guests
from conformance.probes import STRING_ENCODING_PROBES
from conformance.report import html as html_report
from conformance.report.baseline import Comparison

ResultOutcome = Literal["pass", "fail", "known-divergence", "skip", "crash", "timeout"]
OUTCOMES: tuple[ResultOutcome, ...] = ("pass", "fail", "known-divergence", "skip", "crash", "timeout")
MARK = {
    "pass": "pass",
    "fail": "**FAIL**",
    "known-divergence": "known divergence",
    "skip": "skip",
    "crash": "**CRASH**",
    "timeout": "**TIMEOUT**",
}
HOST = "host"
"""The runtime column of a property that runs on no runtime (the host's own encoding step)."""


@dataclass
class Result:
    property: str
    runtime: str
    outcome: ResultOutcome
    seconds: float = 0.0
    message: str = ""
    reason: str = ""
    script: dict[str, Any] | None = None
    counterexample: str | None = None
    replay: str | None = None
    expected: str | None = None
    got: str | None = None
    case: str = ""
    """the parametrisation besides the runtime (``65537-pages``), empty for a property of one case"""
    pin: str | None = None
    """for a known divergence: the outcome its entry pins, and in how many examples it was seen"""


@dataclass
class RuntimeRecord:
    id: str
    version: str = "?"
    available: bool = True
    reason: str = ""
    description: str = ""
    needs: str = ""
    command: str = ""
    seconds: float = 0.0
    driver_seconds: float = 0.0
    """of ``seconds``, the time spent waiting for the driver's answers"""
    scripts: int = 0
    restarts: int = 0
    crashes: int = 0
    timeouts: int = 0
    peak_rss_mib: float = 0.0
    """the driver process's peak resident memory (VmHWM), the largest over its restarts"""
    recycles: int = 0
    """driver processes replaced between scripts because their memory grew too much"""
    info: dict[str, Any] = field(default_factory=dict)
    probes: dict[str, Any] = field(default_factory=dict)
    workers: list[str] = field(default_factory=list)
    """the pytest-xdist workers that drove it (one in a parallel run; none in a serial one)"""
    ran: bool = False
    """its driver started and answered (a runtime the run never reached stays ``not run``)"""
    incomplete: str = ""
    """why its results are partial (its worker died, the run was interrupted), or empty"""


@dataclass
class Report:
    runtimes: dict[str, RuntimeRecord] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)
    choices: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """property -> runtime -> the outcomes it chose where the spec allows several"""
    warnings: list[str] = field(default_factory=list)
    profile: str = ""
    command: str = ""
    started: float = field(default_factory=time.time)
    examples: dict[str, int] = field(default_factory=dict)
    """"<property> <runtime>" -> how many examples Hypothesis ran (shrinking aside)"""
    seed: str = ""
    rules: list[str] = field(default_factory=list)
    """how this run departs from the profile's plain settings, and why"""
    comparison: Comparison | None = None
    """this run against a baseline (--wasm-baseline)"""
    saved_baseline: str = ""
    status: Literal["complete", "interrupted", "incomplete"] = "complete"
    """whether every collected test reported: ``interrupted`` (Ctrl-C, SIGTERM, SIGHUP) or
    ``incomplete`` (a worker died, tests never reported), the reasons in ``status_reasons``"""
    status_reasons: list[str] = field(default_factory=list)

    current_case: str = field(default="", repr=False)
    """the case of the test being reported (set by the plugin as each test starts)"""

    def add(self, result: Result) -> None:
        if not result.case:
            result.case = self.current_case
        self.results.append(result)
        record = self.runtimes.get(result.runtime)
        if record is not None:
            record.seconds += result.seconds

    def columns(self) -> list[str]:
        """The runtimes in the order of the run's selection, then ``host`` if a result names it."""
        extra = [rt for rt in dict.fromkeys(r.runtime for r in self.results)
                 if rt not in self.runtimes and rt != HOST]
        return list(self.runtimes) + extra + ([HOST] if any(r.runtime == HOST for r in self.results) else [])

    def ordered_results(self) -> list[Result]:
        """The results in suite order (:func:`suite_order`), then by runtime in the selection's
        order; the cases of one property on one runtime as they came (one worker runs them
        in collection order). Under pytest-xdist results arrive in completion order: this
        order is the same in every run of the same suite, so that two reports diff cleanly."""
        column = {c: i for i, c in enumerate(self.columns())}
        return sorted(self.results, key=lambda r: (suite_order(r.property), column.get(r.runtime, 0)))

    def to_json(self) -> dict[str, Any]:
        columns = {c: i for i, c in enumerate(self.columns())}

        def by_key(key: str) -> tuple[Any, ...]:
            prop, _, runtime = key.rpartition(" ")
            return (suite_order(prop), columns.get(runtime, len(columns)), runtime)

        return {
            "tool": "wasm-memory-conformance",
            "status": self.status,
            "status_reasons": self.status_reasons,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 3),
            "profile": self.profile,
            "seed": self.seed,
            "rules": self.rules,
            "examples": {k: self.examples[k] for k in sorted(self.examples, key=by_key)},
            "examples_per_second": dict(sorted(self.examples_per_second().items(),
                                               key=lambda kv: by_key(kv[0]))),
            "command": self.command,
            "host": {"python": sys.version.split()[0], "platform": platform.platform()},
            "package": str(Path(__file__).resolve().parent.parent),
            "runtimes": [_rounded(asdict(r)) for r in self.runtimes.values()],
            "guests": [{"name": g.name, "sha256": g.sha256, "bytes": g.path.stat().st_size}
                       for g in all_guests()],
            "results": [_drop_empty(asdict(r)) for r in self.ordered_results()],
            "choices": {prop: self.choices[prop] for prop in sorted(self.choices, key=suite_order)},
            "memory_edges": self.memory_edges(),
            "baseline": self.comparison.to_json() if self.comparison else None,
            "saved_baseline": self.saved_baseline or None,
            "warnings": self.warnings,
            "summary": self.summary(),
        }

    def memory_edges(self) -> dict[str, dict[str, Any]]:
        """Per runtime: what its views do across a grow, how far it grows, its memory features,
        what it does after a trap and with invalid modules."""
        out: dict[str, dict[str, Any]] = {}
        for rec in self.runtimes.values():
            if not rec.available:
                continue
            feats = rec.probes.get("features", {})
            pages, cap = rec.probes.get("max_pages"), rec.probes.get("max_pages_probed_up_to")
            if pages is None:
                capacity = "not measured"
            else:
                capacity = f"{pages} pages ({pages * 64 // 1024} MiB)"
                capacity += (f", the probe's cap in this profile: {cap}" if cap and pages >= cap
                             else ", refused beyond")
            out[rec.id] = {
                "views_across_a_grow": self._view_class(rec.id),
                "capacity": capacity,
                "memory64": _support(self, rec.id, feats, "memory64", "test_growth.py::test_memory64_"),
                "multi_memory": _support(self, rec.id, feats, "multi_memory", "test_multi_memory.py::"),
                "bulk_memory": _support(self, rec.id, feats, "bulk_memory", "test_bulk.py::"),
                "host_grow": "yes" if feats.get("host_grow") else "no",
                "after_a_trap": self._after_a_trap(rec.id),
                "imports": self._family(rec.id, rec.probes, "host_memory", "test_imports.py::", "host"),
                "sharing_between_instances": self._family(rec.id, rec.probes, "import_memory",
                                                          "test_imports.py::", "instance"),
                "shared_memory": self._family(rec.id, rec.probes, "shared_memory", "test_shared_memory.py::"),
                "resizable_buffers": self._family(rec.id, rec.probes, "resizable_buffer",
                                                  "test_resizable_buffers.py::"),
                # the Component Model's canonical ABI: component calls lifted and lowered by the host
                "canonical_abi": self._canonical_abi(rec.id, rec.probes),
                "validation": self._validation(rec.id),
                "embedder_limits": self._limits(rec.id),
            }
        return out

    def _canonical_abi(self, runtime: str, probes: dict[str, Any]) -> str:
        """The canonical ABI's properties (test_canonical_abi.py and _traps.py) as a family, and the
        string encodings the host lowers and lifts (the component_utf16 and _latin1_utf16 probes)."""
        text = self._family(runtime, probes, "component_model", "test_canonical_abi")
        if text.startswith("no:"):
            return text
        state = probes.get("state", {})
        has = ["utf8", *(e for e, probe in STRING_ENCODING_PROBES.items() if state.get(probe) != "absent")]
        lacks = [e for e, probe in STRING_ENCODING_PROBES.items() if state.get(probe) == "absent"]
        if lacks:
            return f"{text}; strings in {', '.join(has)} (not {', '.join(lacks)}: the examples drawn in it " \
                "ran in the next one)"
        return f"{text}; strings in {', '.join(has)}"

    def _limits(self, runtime: str) -> str:
        """The embedder's own limits the limit properties found (test_embedder_limits.py's notes),
        reported as limits, not failures."""
        edges: dict[str, list[int | None]] = {}  # what -> [largest accepted, smallest refused]
        for prop, by_runtime in self.choices.items():
            if not prop.startswith("test_embedder_limits.py::"):
                continue
            for note in by_runtime.get(runtime, []):
                found = re.fullmatch(r"(.+): (accepts|refuses) a maximum of (\d+) pages", note)
                if found is None:
                    continue
                what, verb, pages = found[1], found[2], int(found[3])
                edge = edges.setdefault(what, [None, None])
                if verb == "accepts":
                    edge[0] = pages if edge[0] is None else max(edge[0], pages)
                else:
                    edge[1] = pages if edge[1] is None else min(edge[1], pages)
        out = []
        for what, (accepted, refused) in sorted(edges.items()):
            if refused is None:
                out.append(f"{what}: no limit below 2**48 pages (accepted up to {accepted})")
            else:
                out.append(f"{what}: refuses a maximum of {refused} pages (its limit)"
                           + (f", accepts {accepted}" if accepted is not None else ""))
        return "; ".join(out) if out else "not checked"

    def _family(self, runtime: str, probes: dict[str, Any], feature: str, prefix: str, case: str = "") -> str:
        """What the runtime does with a family of properties a probe gates (imported memories, shared
        memories): the probe's refusal, or how many of the properties (cases ``case``) pass, and the
        divergences and failures by property."""
        state = probes.get("state", {}).get(feature)
        if state == "absent":
            return "no: " + str(probes.get("detail", {}).get(feature, "the probe's module was refused"))
        mine = [r for r in self.results if r.runtime == runtime and r.property.startswith(prefix)
                and (not case or r.case == case or r.case.endswith(f"-{case}"))]
        ran = [r for r in mine if r.outcome != "skip"]
        if not ran:
            return "not checked" + (f" (probe: {state})" if state and state != "works" else "")
        wrong: dict[str, set[str]] = {}
        for r in ran:
            if r.outcome != "pass":
                name = r.property.split("::", 1)[1].removeprefix("test_").replace("_", " ")
                wrong.setdefault(r.outcome, set()).add(name)
        passed = sum(r.outcome == "pass" for r in ran)
        text = f"yes: {passed} of {len(ran)} properties pass"
        if state == "wrong":
            text += " (the probe answered wrongly)"
        for outcome in sorted(wrong):
            text += f"; {outcome}: " + ", ".join(sorted(wrong[outcome]))
        return text

    def _validation(self, runtime: str) -> str:
        """What the runtime does with modules the spec says are invalid (test_validation.py):
        refuses them all, or which kinds it accepts (each a known divergence or a failure)."""
        mine = [r for r in self.results
                if r.runtime == runtime and r.property.startswith("test_validation.py::")
                and not any(f in r.property for f in ("extended_constant", "global_get_in_data"))]
        # (those two are a feature's semantics, not a refusal)
        if not mine:
            return "not checked"
        accepted = sorted({r.property.split("::", 1)[1].removeprefix("test_").replace("_", " ")
                           for r in mine if r.outcome in ("fail", "known-divergence")})
        ran = [r for r in mine if r.outcome != "skip"]
        if not accepted:
            return f"refuses every invalid module ({len(ran)} properties)" if ran else "not checked (skipped)"
        return f"runs invalid modules ({len(accepted)} of {len(ran)} properties): " + "; ".join(accepted)

    def _after_a_trap(self, runtime: str) -> str:
        """Whether calls work after a trap: an instance that cannot be called (the driver's
        ``error poisoned``) is a divergence the model rejects, shown with its outcome."""
        if any((r.got or "").startswith("error poisoned") or "error poisoned" in (r.pin or "")
               for r in self.results if r.runtime == runtime):
            return "not callable after a trap (divergence: error poisoned)"
        if any("instance keeps working after a trap" in c.get(runtime, []) for c in self.choices.values()):
            return "keeps working"
        return "not checked"

    def _view_class(self, runtime: str) -> str:
        result = next((r for r in self.results
                       if r.property == VIEWS_PROPERTY and r.runtime == runtime), None)
        if result is None or result.outcome == "skip":
            return "not checked"
        if result.outcome != "pass":
            return f"{result.outcome}: {result.reason or result.got or ''}".rstrip(": ")
        chosen = set(self.choices.get(VIEWS_PROPERTY, {}).get(runtime, []))
        kinds = []
        if "view detached by grow" in chosen:
            kinds.append("detached by every grow (byteLength 0)")
        if "view still shows live memory after grow" in chosen or "view follows grow" in chosen:
            length = ("its length follows the grow" if "view follows grow" in chosen
                      else "keeps the length it had")
            kinds.append(f"live: shows current memory, {length}")
        return "; ".join(kinds) or "live (no grow moved it)"

    def examples_per_second(self) -> dict[str, float]:
        """"<property> <runtime>" -> examples per second (the property's time over its examples)."""
        seconds: dict[str, float] = {}
        for r in self.results:
            key = f"{r.property} {r.runtime}"
            seconds[key] = seconds.get(key, 0.0) + r.seconds
        return {key: round(n / seconds[key], 1) for key, n in self.examples.items()
                if n and seconds.get(key)}

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.ordered_results():
            counts = out.setdefault(r.runtime, dict.fromkeys(OUTCOMES, 0))
            counts[r.outcome] += 1
        return out

    def write(self, directory: Path) -> tuple[Path, Path]:
        directory.mkdir(parents=True, exist_ok=True)
        json_path, md_path = directory / "report.json", directory / "report.md"
        data = self.to_json()
        text = self.markdown()
        bench: dict[str, Any] | None = None
        if (directory / "bench.json").is_file():  # conformance.bench: its chart in report.html
            try:
                loaded = json.loads((directory / "bench.json").read_text(encoding="utf-8"))
                bench = loaded if isinstance(loaded, dict) else None
            except (OSError, ValueError):
                bench = None
            if (directory / "bench.md").is_file():
                text += "\n" + (directory / "bench.md").read_text(encoding="utf-8")
        page = html_report.render(data, bench)
        # each written whole (temp file, then os.replace): a failed write leaves the previous one
        atomic.write_text(json_path, json.dumps(data, indent=2) + "\n")
        atomic.write_text(md_path, text)
        # report.html beside them: the same data, one self-contained page (conformance/html_report.py)
        atomic.write_text(directory / "report.html", page)
        return json_path, md_path

    # -- markdown ---------------------------------------------------------------

    def markdown(self) -> str:
        data = self.to_json()
        columns = self.columns()
        results = self.ordered_results()
        lines = [
            "# wasm-memory-conformance report",
            "",
            f"{data['started']}, profile `{self.profile}`, {data['seconds']:.1f} s in all. "
            f"Command: `{self.command}`",
            "",
            f"**Status: {self.status}**" + (": " + _cell("; ".join(self.status_reasons))
                                            if self.status_reasons else "."),
            "",
            f"Hypothesis seed: {self.seed or 'not recorded'}. Examples each property ran per runtime "
            "(shrinking aside) are under *Examples run*."
            + "".join(f" {rule}" for rule in self.rules),
            "",
            "## Runtimes",
            "",
            "| runtime | version | status | time | of which in the driver | scripts | driver restarts |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        for rec in self.runtimes.values():
            status = html_report.runtime_status(rec.available, rec.ran, rec.reason, rec.incomplete)
            lines.append(f"| {rec.id} | {rec.version} | {_cell(status)} | {rec.seconds:.1f} s "
                         f"| {rec.driver_seconds:.1f} s | {rec.scripts} | {rec.restarts} |")
        if any(rec.peak_rss_mib for rec in self.runtimes.values()):
            lines += ["", "Peak driver memory (VmHWM): " + ", ".join(
                f"{rec.id} {rec.peak_rss_mib:.0f} MiB"
                + (f" ({rec.recycles} recycled)" if rec.recycles else "")
                for rec in self.runtimes.values() if rec.peak_rss_mib) + "."]
        probed = [rec for rec in self.runtimes.values() if rec.probes]
        if probed:
            names = list(probed[0].probes["features"])
            lines += ["", "## Features (probed)", "",
                      "| runtime | " + " | ".join(n.replace("_", " ") for n in names)
                      + " | largest memory reached |",
                      "|---|" + "---|" * len(names) + "---:|"]
            for rec in probed:
                feats = rec.probes["features"]
                row = ["yes" if feats.get(n) else "no" for n in names]
                pages = rec.probes.get("max_pages")
                cap = rec.probes.get("max_pages_probed_up_to")
                reached = "?" if pages is None else f"{pages} pages ({pages * 64 // 1024} MiB)"
                if pages is not None and pages >= cap:
                    reached += f", the probe's cap ({cap} pages)"
                lines.append(f"| {rec.id} | " + " | ".join(row) + f" | {reached} |")
        edges = data["memory_edges"]
        if edges:
            lines += ["", "## Memory at its edges, per runtime", ""]
            for runtime, facts in edges.items():
                lines += [f"### {runtime}", ""] + [
                    f"- {key.replace('_', ' ')}: {_cell(str(value))}" for key, value in facts.items()] + [""]
        cells = worst_cells(results)
        properties = list(dict.fromkeys(r.property for r in results))
        lines += ["", "## Properties", "",
                  "| property | " + " | ".join(columns) + " |",
                  "|---|" + "---|" * len(columns)]
        for prop in properties:
            row = [_mark(cells[(prop, c)], results) if (prop, c) in cells else "" for c in columns]
            lines.append(f"| `{prop}` | " + " | ".join(row) + " |")
        lines += ["", "Totals: " + "; ".join(
            f"{rt}: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
            for rt, counts in self.summary().items())]

        if self.examples:
            rates = self.examples_per_second()
            lines += ["", "## Examples run", "", "Examples, and examples per second.", "",
                      "| property | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
            for prop in properties:
                row = [f"{self.examples[f'{prop} {c}']}" + (f" · {rates[f'{prop} {c}']:g}/s"
                                                             if f"{prop} {c}" in rates else "")
                       if f"{prop} {c}" in self.examples else "" for c in columns]
                lines.append(f"| `{prop}` | " + " | ".join(row) + " |")
        if self.choices:
            lines += ["", "## Where the spec allows more than one outcome", "",
                      "What each runtime chose, per property.", "",
                      "| property | " + " | ".join(columns) + " |",
                      "|---|" + "---|" * len(columns)]
            for prop, by_runtime in data["choices"].items():
                row = [_cell("; ".join(by_runtime.get(c, []))) for c in columns]
                lines.append(f"| `{prop}` | " + " | ".join(row) + " |")

        bad = [r for r in results if r.outcome in ("fail", "crash", "timeout")]
        if bad:
            lines += ["", "## Failures", ""]
            for r in bad:
                lines += [f"### `{r.property}` on {r.runtime}: {r.outcome}", "", "```",
                          r.message.strip(), "```", ""]
                if r.replay:
                    lines += [f"Replay: `{r.replay}`", ""]
        known = [r for r in results if r.outcome == "known-divergence"]
        if known:
            lines += ["", "## Known divergences", "",
                      "Each as its entry pins it, and the first example that showed it (fewest operations).",
                      "", "| runtime | property | reason | pinned outcome | expected | got |",
                      "|---|---|---|---|---|---|"]
            for r in known:
                lines.append(f"| {r.runtime} | `{r.property}` | {_cell(r.reason)} | {_cell(r.pin or '')} "
                             f"| {_cell(r.expected or '')} | {_cell(r.got or '')} |")
        if self.comparison is not None:
            first, *rest = self.comparison.lines()
            lines += ["", "## Against the baseline", "", first[0].upper() + first[1:] + ".", ""]
            lines += [f"- {line.strip()}" for line in rest]
        if self.warnings:
            lines += ["", "## Warnings", ""] + [f"- {w}" for w in self.warnings]
        lines += ["", "## Guest modules", "", "| guest | sha256 | bytes |", "|---|---|---:|"]
        for g in data["guests"]:
            lines.append(f"| {g['name']} | `{g['sha256']}` | {g['bytes']} |")
        return "\n".join(lines) + "\n"


VIEWS_PROPERTY = "test_growth.py::test_views_across_a_grow"
RANK = {"skip": 0, "pass": 1, "known-divergence": 2, "timeout": 3, "crash": 4, "fail": 5}
"""How bad an outcome is: a matrix cell, a baseline entry, shows the worst of a property's cases."""

_ResultT = TypeVar("_ResultT", Result, dict[str, Any])


def _outcome_of(result: Result | dict[str, Any]) -> str:
    return str(result.outcome if isinstance(result, Result) else result["outcome"])


def worst_cells(results: list[_ResultT]) -> dict[tuple[str, str], _ResultT]:
    """(property, runtime) -> the result of its worst case (the first of equals), so that a
    parametrised property shows a failure or a divergence of any case, not its last case."""
    out: dict[tuple[str, str], _ResultT] = {}
    for r in results:
        key = (r.property, r.runtime) if isinstance(r, Result) else (str(r["property"]), str(r["runtime"]))
        if key not in out or RANK.get(_outcome_of(r), 0) > RANK.get(_outcome_of(out[key]), 0):
            out[key] = r
    return out


def case_counts(results: list[Result] | list[dict[str, Any]], prop: str, runtime: str) -> dict[str, int]:
    """How many cases of ``prop`` on ``runtime`` ended in each outcome."""
    counts: dict[str, int] = {}
    for r in results:
        key = (r.property, r.runtime) if isinstance(r, Result) else (r["property"], r["runtime"])
        if key == (prop, runtime):
            outcome = _outcome_of(r)
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


SUITE = Path(__file__).resolve().parent.parent / "suite"
"""Where the suite's modules are: a property's place in the suite is read from its module."""


def suite_order(prop: str) -> tuple[str, int, str]:
    """Where ``prop`` (``test_bytes.py::test_...``) stands in the suite: by module file name
    (the order pytest collects a directory in), then by where the module defines it (its
    top-level definitions in file order). A property of a module outside the suite (a test of
    one's own using the fixture) comes after its module's known ones, by name."""
    module, _, name = prop.partition("::")
    return (module, _definitions(module).get(name.split("[")[0], 1 << 30), name)


@functools.cache
def _definitions(module: str) -> dict[str, int]:
    """A suite module's top-level names (functions, classes, assignments) -> their rank."""
    path = SUITE / module
    if "/" in module or not module.endswith(".py") or not path.is_file():
        return {}
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    names: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.setdefault(node.name, len(names))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.setdefault(target.id, len(names))
    return names


def _mark(worst: Result, results: list[Result]) -> str:
    counts = case_counts(results, worst.property, worst.runtime)
    total = sum(counts.values())
    if total <= 1:
        return MARK[worst.outcome]
    return f"{MARK[worst.outcome]} ({counts[worst.outcome]} of {total} cases)"


def _support(report: Report, runtime: str, feats: dict[str, Any], feature: str, prefix: str) -> str:
    """yes / no from the probe, and whether its properties passed here."""
    if not feats.get(feature):
        return "no"
    outcomes = {r.outcome for r in report.results if r.runtime == runtime and r.property.startswith(prefix)}
    if outcomes - {"pass", "skip"}:
        return "loads, but diverges (" + ", ".join(sorted(outcomes - {"pass", "skip"})) + ")"
    return "yes" if "pass" in outcomes else "yes (not checked in this run)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    d["seconds"] = round(d["seconds"], 3)
    d["driver_seconds"] = round(d["driver_seconds"], 3)
    return d


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    d["seconds"] = round(d["seconds"], 3)
    return {k: v for k, v in d.items() if v not in (None, "")}
