"""Baselines: one run's outcomes kept under a name, and a later run compared with them.

A runtime vendor saves a baseline with the release they trust and compares the
next release against it::

    pytest --pyargs conformance --wasm-runtime=wasmtime=/venvs/old/bin/python --wasm-save-baseline old
    pytest --pyargs conformance --wasm-runtime=wasmtime=/venvs/new/bin/python --wasm-baseline old

A baseline is ``reports/baselines/NAME.json`` beside the report directory (or
any path ending in ``.json``): per runtime, per property, one outcome. A
property with several parametrisations counts by its worst one. Each runtime of
the run is compared with the baseline's runtime of the same id; else with its
family's (``wasmtime@patched`` with ``wasmtime``); else, where the baseline holds
one runtime (the ``host`` pseudo-runtime aside), with that one (a faulty or
renamed build against the trusted one). A runtime that matches none is listed as
not compared, and a comparison that compared no runtime at all fails the run: a
"0 regressions" must mean something was compared. A failure where the baseline
had no result, or a skip, is a new failure and fails the run like a regression.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import atomic

BAD = ("fail", "crash", "timeout")
_RANK = {"skip": 0, "pass": 1, "known-divergence": 2, "timeout": 3, "crash": 4, "fail": 5}


class BaselineError(ValueError):
    """A baseline that cannot be found or read."""


def baseline_path(name: str, report_dir: Path) -> Path:
    if name.endswith(".json") or "/" in name:
        return Path(name)
    return report_dir.parent / "baselines" / f"{name}.json"


def outcomes_of(results: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """runtime -> property -> the worst outcome among its parametrisations."""
    out: dict[str, dict[str, str]] = {}
    for r in results:
        by_prop = out.setdefault(r["runtime"], {})
        now = by_prop.get(r["property"])
        if now is None or _RANK.get(r["outcome"], 0) > _RANK.get(now, 0):
            by_prop[r["property"]] = r["outcome"]
    return out


def save(path: Path, report: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "profile": report.get("profile", ""),
        "command": report.get("command", ""),
        "versions": {r["id"]: r.get("version", "?") for r in report.get("runtimes", [])},
        "outcomes": outcomes_of(report.get("results", [])),
    }
    atomic.write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.json")) if path.parent.is_dir() else []
        hint = (f" (saved baselines: {', '.join(known)})" if known
                else " (none saved yet: --wasm-save-baseline NAME)")
        raise BaselineError(f"no baseline at {path}{hint}")
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        _check_types(doc)
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path} is not readable: {exc}") from None
    return doc


def _check_types(doc: Any) -> None:
    """A baseline is an object whose ``outcomes`` map runtime -> property -> outcome, all strings."""
    if not isinstance(doc, dict):
        raise ValueError(f"not a JSON object but {type(doc).__name__}")
    outcomes = doc.get("outcomes")
    if not isinstance(outcomes, dict):
        raise ValueError("no 'outcomes' table")
    for runtime, props in outcomes.items():
        if not isinstance(props, dict):
            raise ValueError(f"outcomes of {runtime!r} are {type(props).__name__}, not a table")
        for prop, outcome in props.items():
            if not isinstance(outcome, str):
                raise ValueError(f"outcome of {runtime!r} {prop!r} is {outcome!r}, not a string")
    for key in ("versions",):
        value = doc.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ValueError(f"{key!r} must be a table of strings")
    for key in ("saved", "profile", "command"):
        if not isinstance(doc.get(key, ""), str):
            raise ValueError(f"{key!r} must be a string")


@dataclass(frozen=True, slots=True)
class Change:
    runtime: str
    against: str
    property: str
    before: str
    now: str

    def __str__(self) -> str:
        who = self.runtime if self.runtime == self.against else f"{self.runtime} (against {self.against})"
        return f"{who}: {self.property}: {self.before} -> {self.now}"


@dataclass
class Comparison:
    name: str
    regressions: list[Change] = field(default_factory=list)
    """passed in the baseline, now fails, crashes, times out or is a known divergence"""
    fixes: list[Change] = field(default_factory=list)
    """failed or diverged in the baseline, now passes"""
    new_divergences: list[Change] = field(default_factory=list)
    """a known divergence now that was not one in the baseline"""
    new_failures: list[Change] = field(default_factory=list)
    """fails, crashes or times out now, where the baseline had no result or a skip"""
    not_compared: list[str] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)
    """the runtimes of the run that were compared (with whom)"""

    @property
    def failed(self) -> bool:
        """Whether this comparison fails the run: a regression, a new failure, or nothing compared."""
        return bool(self.regressions or self.new_failures or not self.compared)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "regressions": [str(c) for c in self.regressions],
            "fixes": [str(c) for c in self.fixes],
            "new_divergences": [str(c) for c in self.new_divergences],
            "new_failures": [str(c) for c in self.new_failures],
            "not_compared": self.not_compared,
            "compared": self.compared,
        }

    def lines(self) -> list[str]:
        out = [f"against baseline {self.name!r}: {len(self.regressions)} regressions, "
               f"{len(self.fixes)} fixes, {len(self.new_divergences)} new divergences"
               + (f", {len(self.new_failures)} new failures" if self.new_failures else "")
               + ("" if self.compared else "; NOTHING COMPARED: no runtime of this run is in the baseline")]
        out += [f"  REGRESSION {c}" for c in self.regressions]
        out += [f"  NEW FAILURE {c}" for c in self.new_failures]
        out += [f"  fixed      {c}" for c in self.fixes]
        out += [f"  divergence {c}" for c in self.new_divergences]
        out += [f"  not compared: {n}" for n in self.not_compared]
        return out


HOST = "host"
"""The pseudo-runtime of properties that run on no runtime: compared only with itself."""


def _against(runtime: str, before: dict[str, dict[str, str]], family: str) -> str | None:
    """The baseline runtime that ``runtime`` is compared with, or None."""
    if runtime in before:
        return runtime
    if runtime == HOST:
        return None
    if family and family in before:
        return family
    engines = [r for r in before if r != HOST]
    return engines[0] if len(engines) == 1 else None


def compare(name: str, baseline: dict[str, Any], results: list[dict[str, Any]],
            families: dict[str, str] | None = None) -> Comparison:
    """``results`` against ``baseline``; ``families`` maps a runtime id to its family's id
    (``RuntimeSpec.family``: ``wasmtime`` for ``wasmtime@patched``)."""
    before: dict[str, dict[str, str]] = baseline["outcomes"]
    now = outcomes_of(results)
    comparison = Comparison(name)
    for runtime, props in now.items():
        against = _against(runtime, before, (families or {}).get(runtime, ""))
        if against is None:
            if runtime != HOST:
                comparison.not_compared.append(
                    f"{runtime} (not in the baseline: {', '.join(sorted(before)) or 'empty'})")
            continue
        if runtime != HOST:
            comparison.compared.append(runtime if against == runtime else f"{runtime} (against {against})")
        old = before[against]
        for prop, outcome in sorted(props.items()):
            was = old.get(prop)
            change = Change(runtime, against, prop, was or "absent", outcome)
            if (was is None or was == "skip") and outcome in BAD:
                comparison.new_failures.append(change)
                continue
            if was is None or outcome == "skip" or was == "skip":
                continue
            if was == "pass" and outcome != "pass":
                comparison.regressions.append(change)
            elif was != "pass" and outcome == "pass":
                comparison.fixes.append(change)
            if outcome == "known-divergence" and was != "known-divergence":
                comparison.new_divergences.append(change)
    return comparison
