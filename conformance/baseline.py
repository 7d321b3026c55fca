"""Baselines: one run's outcomes kept under a name, and a later run compared with them.

A runtime vendor saves a baseline with the release they trust and compares the
next release against it::

    pytest --pyargs conformance --wasm-runtime=wasmtime=/venvs/old/bin/python --wasm-save-baseline old
    pytest --pyargs conformance --wasm-runtime=wasmtime=/venvs/new/bin/python --wasm-baseline old

A baseline is ``reports/baselines/NAME.json`` beside the report directory (or
any path ending in ``.json``): per runtime, per property, one outcome. A
property with several parametrisations counts by its worst one. Runtimes are
matched by id; a baseline of a single runtime is compared with every runtime of
the run (a faulty or renamed build against the trusted one).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.json")) if path.parent.is_dir() else []
        hint = (f" (saved baselines: {', '.join(known)})" if known
                else " (none saved yet: --wasm-save-baseline NAME)")
        raise BaselineError(f"no baseline at {path}{hint}")
    try:
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(doc.get("outcomes"), dict):
            raise ValueError("no 'outcomes' table")
    except ValueError as exc:
        raise BaselineError(f"baseline {path} is not readable: {exc}") from None
    return doc


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
    not_compared: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "regressions": [str(c) for c in self.regressions],
            "fixes": [str(c) for c in self.fixes],
            "new_divergences": [str(c) for c in self.new_divergences],
            "not_compared": self.not_compared,
        }

    def lines(self) -> list[str]:
        out = [f"against baseline {self.name!r}: {len(self.regressions)} regressions, "
               f"{len(self.fixes)} fixes, {len(self.new_divergences)} new divergences"]
        out += [f"  REGRESSION {c}" for c in self.regressions]
        out += [f"  fixed      {c}" for c in self.fixes]
        out += [f"  divergence {c}" for c in self.new_divergences]
        out += [f"  not compared: {n}" for n in self.not_compared]
        return out


def compare(name: str, baseline: dict[str, Any], results: list[dict[str, Any]]) -> Comparison:
    before: dict[str, dict[str, str]] = baseline["outcomes"]
    now = outcomes_of(results)
    comparison = Comparison(name)
    for runtime, props in now.items():
        if runtime in before:
            against = runtime
        elif len(before) == 1:
            (against,) = before
        else:
            comparison.not_compared.append(f"{runtime} (not in the baseline: {', '.join(sorted(before))})")
            continue
        old = before[against]
        for prop, outcome in sorted(props.items()):
            was = old.get(prop)
            if was is None or outcome == "skip" or was == "skip":
                continue
            change = Change(runtime, against, prop, was, outcome)
            if was == "pass" and outcome != "pass":
                comparison.regressions.append(change)
            elif was != "pass" and outcome == "pass":
                comparison.fixes.append(change)
            if outcome == "known-divergence" and was != "known-divergence":
                comparison.new_divergences.append(change)
    return comparison
