"""``report.html``: the report as one self-contained page.

:func:`render` turns the dict of :meth:`conformance.report.Report.to_json` into HTML with its CSS
and script inline: no network, no fonts, nothing to fetch. The runtime-by-property matrix is
coloured by outcome; every cell is a button that opens a ``<dialog>`` with the result's details
(outcome, the known divergence's reason, expected and got, the minimal script one operation a
line, the message, the replay command). Every piece of text from the report is HTML-escaped.

Stable hooks for tests and tools: each matrix row ``tr[data-property]``, each cell
``td.cell[data-property][data-runtime][data-outcome]`` whose button names its dialog in
``data-detail``; each dialog ``dialog.detail`` carries the same ``data-`` attributes and an id
derived from property, runtime and case only (the same in every run). A parametrised property's
cell shows its worst case, and opens that case's dialog.

The page: a short header, the matrix, the charts (``section#charts``, inline SVG from
:mod:`conformance.report.charts`: ``svg#chart-outcomes-svg``, ``#chart-time-svg``,
``#chart-rates-svg``, and ``#chart-bench-svg`` when the report directory holds ``bench.json``),
then every section of ``report.md``. ``report.md`` draws no chart (a text file diffed between
runs): its charts are in ``report.html`` beside it. Rows are in suite order
(:func:`conformance.report.results.suite_order`), whatever order report.json's results are in.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from conformance.report import charts
from conformance.report.charts import Segment
from conformance.script import Script, ScriptError

OUTCOME_LABEL = {
    "pass": "pass",
    "fail": "FAIL",
    "known-divergence": "known",
    "skip": "skip",
    "crash": "CRASH",
    "timeout": "TIMEOUT",
}
OUTCOME_COLOR = {
    "pass": "#2e8b3e",
    "known-divergence": "#e0a100",
    "skip": "#9a9a9a",
    "fail": "#d3302f",
    "crash": "#7a0d0d",
    "timeout": "#5b2a86",
}
"""The outcomes' colours, in the order the outcome chart stacks them (the CSS's, too)."""
HOST = "host"
BENCH_CASES = ("call nop", "call add", "string 64 B", "grow +1 page (host)", "grow to 1 GiB (host)",
               "grow to 1 GiB (guest)")
"""The cases of bench.json the bench chart shows (time per operation)."""


def render(report_json: Mapping[str, Any], bench: Mapping[str, Any] | None = None) -> str:
    """The whole page for one report (the dict ``Report.to_json`` returns), and the bench chart
    when ``bench`` (the dict of ``bench.json``, :mod:`conformance.bench`) is given.

    The order: a short header (status, run facts), the matrix, the charts, then the tables:
    totals, runtimes, features, memory at its edges, examples run, choices, failures, known
    divergences, the baseline, warnings, guest modules (every section of ``report.md``)."""
    data = report_json
    runtimes: list[dict[str, Any]] = list(data.get("runtimes", []))
    results: list[dict[str, Any]] = _in_suite_order(list(data.get("results", [])), runtimes)
    columns = _columns(runtimes, results)
    title = f"wasm-memory-conformance report, {data.get('started', '')}"
    body = [
        _header(data),
        _matrix(results, columns),
        _charts(data, runtimes, results, columns, bench),
        _summary(data.get("summary", {}), columns),
        _runtimes(runtimes),
        _features(runtimes),
        _memory_edges(data.get("memory_edges") or {}),
        _examples(data.get("examples") or {}, results, columns),
        _choices(data.get("choices") or {}, columns),
        _failures(results),
        _known(results),
        _baseline(data.get("baseline")),
        _warnings(data.get("warnings") or []),
        _guests(data.get("guests") or []),
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing may be fetched: no connections, no images but inline ones.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        *[part for part in body if part],
        _dialogs(results, data.get("examples", {})),
        f"<script>{JS}</script>",
        "</body>",
        "</html>",
        "",
    ])


# --- sections ------------------------------------------------------------------------


def runtime_status(available: bool, ran: bool, reason: str, incomplete: str) -> str:
    """A runtime's line in the report: ran, not run (the run never reached it), skipped, or
    incomplete (its worker died or the run was interrupted while it ran)."""
    if not available:
        return f"skipped: {reason}"
    if incomplete:
        return f"incomplete: {incomplete}"
    return "ran" if ran else "not run"


def _header(data: Mapping[str, Any]) -> str:
    host = data.get("host") or {}
    seconds = data.get("seconds")
    facts = [
        ("started", str(data.get("started", ""))),
        ("profile", str(data.get("profile", ""))),
        ("seconds in all", f"{seconds:.1f}" if isinstance(seconds, int | float) else ""),
        ("Hypothesis seed", str(data.get("seed") or "not recorded")),
        ("host", " ".join(str(host.get(k, "")) for k in ("python", "platform")).strip()),
        ("saved baseline", str(data.get("saved_baseline") or "")),
    ]
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts if v)
    return (
        '<header id="header">\n'
        "<h1>wasm-memory-conformance report</h1>\n"
        f"{_status(data)}"
        f'<dl class="facts">{rows}</dl>\n'
        f'<p>Command: <code id="command">{_e(str(data.get("command", "")))}</code></p>\n'
        "</header>"
    )


def _status(data: Mapping[str, Any]) -> str:
    """The run's status (complete, interrupted, incomplete) and why, first thing on the page."""
    status = str(data.get("status") or "complete")
    reasons = "; ".join(str(r) for r in data.get("status_reasons") or [])
    return (f'<p id="status" class="status-{_e(status)}"><strong>Status: {_e(status)}</strong>'
            f'{": " + _e(reasons) if reasons else "."}</p>\n')


def _in_suite_order(results: list[dict[str, Any]], runtimes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results in suite order, runtime by runtime (``Report.ordered_results``; a report.json
    written before that order, or by hand, is shown the same way)."""
    from conformance.report.results import suite_order

    column = {c: i for i, c in enumerate(_columns(runtimes, results))}
    return sorted(results, key=lambda r: (suite_order(str(r["property"])), column.get(str(r["runtime"]), 0)))


def _charts(data: Mapping[str, Any], runtimes: list[dict[str, Any]], results: list[dict[str, Any]],
            columns: list[str], bench: Mapping[str, Any] | None) -> str:
    """Outcomes per runtime, time per runtime (and the driver's part), examples per second,
    and the bench when there is one: inline SVG (conformance/report/charts.py)."""
    figures = []
    counts: dict[str, dict[str, int]] = {}
    for r in results:
        per = counts.setdefault(str(r["runtime"]), {})
        per[str(r["outcome"])] = per.get(str(r["outcome"]), 0) + 1
    rows = [(rt, [Segment(o.replace("-", " "), counts[rt].get(o, 0), color)
                  for o, color in OUTCOME_COLOR.items()]) for rt in columns if rt in counts]
    if rows:
        figures.append(_figure("chart-outcomes", charts.stacked_bars(
            "Outcomes per runtime", rows, ident="chart-outcomes-svg",
            desc="Per runtime, how many results ended in each outcome: "
                 + "; ".join(f"{rt}: " + ", ".join(f"{n} {o}" for o, n in counts[rt].items())
                             for rt, _ in rows) + ".",
            fmt=lambda v: f"{v:g}"),
            "Outcomes per runtime: each result (a property, or a case of one) counted once."))
    timed = [rec for rec in runtimes if rec.get("seconds")]
    if timed:
        time_rows = [(str(rec["id"]), [
            Segment("waiting for the driver",
                    min(float(rec.get("driver_seconds") or 0), float(rec["seconds"])), "#1f77b4"),
            Segment("the suite's side (model, Hypothesis, harness)",
                    max(float(rec["seconds"]) - float(rec.get("driver_seconds") or 0), 0.0), "#aec7e8")])
            for rec in timed]
        figures.append(_figure("chart-time", charts.stacked_bars(
            "Time per runtime", time_rows, unit="s", ident="chart-time-svg",
            desc="Per runtime, the seconds its properties took, split into the time spent waiting for "
                 "the driver's answers and the rest: " + "; ".join(
                     f"{rec['id']}: {float(rec['seconds']):.1f} s, of which "
                     f"{float(rec.get('driver_seconds') or 0):.1f} s in the driver" for rec in timed) + ".",
            fmt=lambda v: f"{v:.1f}"),
            "Time per runtime: the darker part is the time spent waiting for the driver."))
    rates = _rates(data, results)
    if rates:
        props = list(dict.fromkeys(str(r["property"]) for r in results))
        shown = [c for c in columns if any((p, c) in rates for p in props)]
        figures.append(_figure("chart-rates", charts.heat_map(
            "Examples per second, per property and runtime",
            [p for p in props if any((p, c) in rates for c in shown)], shown, rates,
            unit="examples/s", ident="chart-rates-svg", fmt=lambda v: f"{v:.0f}" if v >= 100 else f"{v:.2g}"),
            "Examples per second: the examples Hypothesis ran over the property's time there "
            "(darker is faster; log scale)."))
    if bench:
        figures.append(_bench_chart(bench))
    if not figures:
        return ""
    return '<section id="charts"><h2>Charts</h2>\n' + "\n".join(f for f in figures if f) + "</section>"


def _figure(ident: str, svg: str, caption: str) -> str:
    return (f'<figure id="{_e(ident)}" class="chart">{svg}'
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _rates(data: Mapping[str, Any], results: list[dict[str, Any]]) -> dict[tuple[str, str], float]:
    """(property, runtime) -> examples per second: report.json's own ``examples_per_second``
    (figured from unrounded seconds), else from its ``examples`` and the results' ``seconds``."""
    given = data.get("examples_per_second")
    if isinstance(given, Mapping) and given:
        return {(prop, runtime): float(rate) for key, rate in given.items()
                for prop, _, runtime in (str(key).rpartition(" "),)}
    seconds: dict[tuple[str, str], float] = {}
    for r in results:
        key = (str(r["property"]), str(r["runtime"]))
        seconds[key] = seconds.get(key, 0.0) + float(r.get("seconds") or 0)
    out = {}
    for key, n in (data.get("examples") or {}).items():
        prop, _, runtime = str(key).rpartition(" ")
        if n and seconds.get((prop, runtime)):
            out[(prop, runtime)] = float(n) / seconds[(prop, runtime)]
    return out


def _bench_chart(bench: Mapping[str, Any]) -> str:
    runtimes = {str(k): v for k, v in (bench.get("runtimes") or {}).items()
                if isinstance(v, Mapping) and v.get("available")}
    values: dict[tuple[str, str], float] = {}
    for rid, record in runtimes.items():
        for name in BENCH_CASES:
            case = (record.get("cases") or {}).get(name) or {}
            if isinstance(case.get("median"), int | float) and case["median"] > 0:
                values[(name, rid)] = float(case["median"])
    if not values:
        return ""
    groups = [n for n in BENCH_CASES if any((n, r) in values for r in runtimes)]
    return _figure("chart-bench", charts.grouped_bars(
        "Boundary costs per runtime (time per operation)", groups, list(runtimes), values,
        unit="", log=True, ident="chart-bench-svg", fmt=_ns,
        desc=f"Median time per operation, timed inside each driver ({bench.get('generated', '')}); "
             "log scale, shorter is faster."),
        f"Boundary benchmarks (bench.json, {bench.get('generated', '')}): median time per operation "
        "inside each driver, log scale; shorter is faster. The full tables are in report.md.")


def _ns(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _examples(examples: Mapping[str, int], results: list[dict[str, Any]], columns: list[str]) -> str:
    if not examples:
        return ""
    rates = _rates({"examples": examples}, results)
    props = list(dict.fromkeys(str(r["property"]) for r in results))
    props += [p for p in dict.fromkeys(str(k).rpartition(" ")[0] for k in examples) if p not in props]
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for prop in props:
        tds = []
        for c in columns:
            n = examples.get(f"{prop} {c}")
            rate = rates.get((prop, c))
            tds.append('<td class="num">' + ("" if n is None else _e(str(n)) + (
                f" · {rate:.3g}/s" if rate is not None else "")) + "</td>")
        if any(f"{prop} {c}" in examples for c in columns):
            rows.append(f'<tr data-property="{_e(prop)}"><th scope="row"><code>{_e(prop)}</code></th>'
                        f'{"".join(tds)}</tr>')
    return (
        '<section id="examples"><h2>Examples run</h2>\n'
        "<p>Examples Hypothesis ran per property and runtime (shrinking aside), and examples per "
        "second.</p>\n"
        f'<div class="scroll"><table class="plain"><thead><tr><th>property</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _failures(results: list[dict[str, Any]]) -> str:
    bad = [r for r in results if r["outcome"] in ("fail", "crash", "timeout")]
    if not bad:
        return ""
    parts = ['<section id="failures"><h2>Failures</h2>']
    for r in bad:
        ident = detail_id(str(r["property"]), str(r["runtime"]), str(r.get("case", "")))
        parts.append(f'<h3><code>{_e(str(r["property"]))}</code> on {_e(str(r["runtime"]))}: '
                     f'{_e(str(r["outcome"]))} '
                     f'<button type="button" data-detail="{ident}">details</button></h3>')
        parts.append(f'<pre class="message">{_e(str(r.get("message", "")).strip())}</pre>')
        if r.get("replay"):
            parts.append(f'<p>Replay: <code>{_e(str(r["replay"]))}</code></p>')
    parts.append("</section>")
    return "\n".join(parts)


def _known(results: list[dict[str, Any]]) -> str:
    known = [r for r in results if r["outcome"] == "known-divergence"]
    if not known:
        return ""
    rows = "".join(
        f'<tr data-property="{_e(str(r["property"]))}" data-runtime="{_e(str(r["runtime"]))}">'
        f'<td>{_e(str(r["runtime"]))}</td><td><code>{_e(str(r["property"]))}</code></td>'
        + "".join(f"<td>{_e(str(r.get(k) or ''))}</td>" for k in ("reason", "pin", "expected", "got"))
        + "</tr>" for r in known)
    return (
        '<section id="known-divergences"><h2>Known divergences</h2>\n'
        "<p>Each as its entry pins it, and the first example that showed it (fewest operations).</p>\n"
        '<div class="scroll"><table class="plain"><thead><tr><th>runtime</th><th>property</th>'
        "<th>reason</th><th>pinned outcome</th><th>expected</th><th>got</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div></section>"
    )


def _summary(summary: Mapping[str, Mapping[str, int]], columns: list[str]) -> str:
    if not summary:
        return ""
    items = []
    for runtime in columns:
        counts = summary.get(runtime)
        if not counts:
            continue
        parts = " ".join(f'<span class="badge o-{_e(k)}">{n} {_e(k)}</span>'
                         for k, n in counts.items() if n)
        items.append(f'<li data-runtime="{_e(runtime)}"><b>{_e(runtime)}</b> {parts}</li>')
    return f'<section id="summary"><h2>Totals</h2><ul class="totals">{"".join(items)}</ul></section>'


def _runtimes(runtimes: list[dict[str, Any]]) -> str:
    rows = []
    for rec in runtimes:
        available = rec.get("available", True)
        status = ("ran" if available else f"skipped: {rec.get('reason', '')}") if "ran" not in rec \
            else runtime_status(available, rec["ran"], rec.get("reason", ""), rec.get("incomplete", ""))
        rows.append(
            f'<tr data-runtime="{_e(rec["id"])}" class="{"" if available else "unavailable"}">'
            f'<th scope="row" title="{_e(rec.get("description", ""))}">{_e(rec["id"])}</th>'
            f'<td>{_e(str(rec.get("version", "?")))}</td><td>{_e(status)}</td>'
            f'<td class="num">{_num(rec.get("seconds"))} s</td>'
            f'<td class="num">{_num(rec.get("driver_seconds"))} s</td>'
            f'<td class="num">{_e(str(rec.get("scripts", 0)))}</td>'
            f'<td class="num">{_e(str(rec.get("restarts", 0)))}</td>'
            f'<td class="num">{_e(str(rec.get("crashes", 0)))}</td>'
            f'<td class="num">{_e(str(rec.get("timeouts", 0)))}</td></tr>')
    return (
        '<section id="runtimes"><h2>Runtimes</h2>\n<table class="plain">'
        "<thead><tr><th>runtime</th><th>version</th><th>status</th><th>time</th>"
        "<th>of which in the driver</th><th>scripts</th><th>driver restarts</th><th>crashes</th>"
        f"<th>timeouts</th></tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _features(runtimes: list[dict[str, Any]]) -> str:
    probed = [rec for rec in runtimes if (rec.get("probes") or {}).get("features")]
    if not probed:
        return ""
    names = list(dict.fromkeys(n for rec in probed for n in rec["probes"]["features"]))
    head = "".join(f"<th>{_e(n.replace('_', ' '))}</th>" for n in names)
    rows = []
    for rec in probed:
        probes = rec["probes"]
        feats, detail = probes["features"], probes.get("detail") or {}
        cells = "".join(
            f'<td class="{"yes" if feats.get(n) else "no"}" title="{_e(str(detail.get(n, "")))}">'
            f'{"yes" if feats.get(n) else "no"}</td>' for n in names)
        pages, cap = probes.get("max_pages"), probes.get("max_pages_probed_up_to")
        reached = "?" if pages is None else f"{pages} pages ({pages * 64 // 1024} MiB)"
        if pages is not None and cap is not None and pages >= cap:
            reached += f", the probe's cap ({cap} pages)"
        rows.append(f'<tr data-runtime="{_e(rec["id"])}"><th scope="row">{_e(rec["id"])}</th>{cells}'
                    f"<td>{_e(reached)}</td></tr>")
    return (
        '<section id="features"><h2>Features (probed)</h2>\n<table class="plain">'
        f"<thead><tr><th>runtime</th>{head}<th>largest memory reached</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _memory_edges(edges: Mapping[str, Mapping[str, Any]]) -> str:
    if not edges:
        return ""
    keys = list(dict.fromkeys(k for facts in edges.values() for k in facts))
    head = "".join(f"<th>{_e(k.replace('_', ' '))}</th>" for k in keys)
    rows = "".join(
        f'<tr data-runtime="{_e(runtime)}"><th scope="row">{_e(runtime)}</th>'
        + "".join(f"<td>{_e(str(facts.get(k, '')))}</td>" for k in keys) + "</tr>"
        for runtime, facts in edges.items())
    return (
        '<section id="memory-edges"><h2>Memory at its edges, per runtime</h2>\n<table class="plain">'
        f"<thead><tr><th>runtime</th>{head}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _matrix(results: list[dict[str, Any]], columns: list[str]) -> str:
    from conformance.report.results import case_counts, worst_cells

    cells = worst_cells(results)  # a parametrised property shows its worst case
    properties = list(dict.fromkeys(r["property"] for r in results))  # in suite order (render)
    head = "".join(f'<th scope="col" data-runtime="{_e(c)}">{_e(c)}</th>' for c in columns)
    rows = []
    for prop in properties:
        module, _, name = prop.rpartition("::")
        tds = []
        for runtime in columns:
            result = cells.get((prop, runtime))
            if result is None:
                tds.append(f'<td class="cell o-none" data-property="{_e(prop)}" '
                           f'data-runtime="{_e(runtime)}" data-outcome="none"></td>')
                continue
            outcome = str(result["outcome"])
            hint = result.get("reason") or result.get("got") or outcome
            label = OUTCOME_LABEL.get(outcome, outcome)
            counts = case_counts(results, prop, runtime)
            if sum(counts.values()) > 1:
                label += f" {counts[outcome]}/{sum(counts.values())}"
                hint = f"{counts[outcome]} of {sum(counts.values())} cases {outcome}: {hint}"
            tds.append(
                f'<td class="cell o-{_e(outcome)}" data-property="{_e(prop)}" data-runtime="{_e(runtime)}"'
                f' data-outcome="{_e(outcome)}"><button type="button"'
                f' data-detail="{detail_id(prop, runtime, str(result.get("case", "")))}"'
                f' title="{_e(f"{runtime}: {hint}")}">'
                f"{_e(label)}</button></td>")
        outcomes = {cells[(prop, c)]["outcome"] for c in columns if (prop, c) in cells}
        quiet = " quiet" if outcomes <= {"pass", "skip"} else ""
        rows.append(f'<tr class="prop{quiet}" data-property="{_e(prop)}"><th scope="row">'
                    f'<span class="module">{_e(module)}::</span>{_e(name or prop)}</th>{"".join(tds)}</tr>')
    legend = " ".join(f'<span class="badge o-{k}">{_e(v)}</span> {_e(k)}' for k, v in OUTCOME_LABEL.items())
    return (
        '<section id="matrix-section"><h2>Properties</h2>\n'
        f'<p class="legend">{legend}. Click a cell for its details.</p>\n'
        '<p><label><input type="checkbox" id="only-divergent"> only properties where something '
        "did not pass</label></p>\n"
        '<div class="scroll" id="matrix-wrap"><table id="matrix">'
        f'<thead><tr><th scope="col">property</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _dialogs(results: list[dict[str, Any]], examples: Mapping[str, int]) -> str:
    """One dialog per result (per case of a parametrised property), each id once on the page."""
    from conformance.report.results import case_counts

    seen: set[str] = set()
    dialogs = []
    for r in results:
        prop, runtime, case = str(r["property"]), str(r["runtime"]), str(r.get("case", ""))
        ident = detail_id(prop, runtime, case)
        if ident in seen:  # a result of a report without case names: kept, under an id of its own
            ident = detail_id(prop, runtime, f"{case}#{len(seen)}")
        seen.add(ident)
        dialogs.append(_dialog(r, examples, ident, case_counts(results, prop, runtime)))
    return '<div id="details">\n' + "\n".join(dialogs) + "\n</div>"


def _dialog(result: Mapping[str, Any], examples: Mapping[str, int], ident: str,
            counts: Mapping[str, int]) -> str:
    prop, runtime, outcome = str(result["property"]), str(result["runtime"]), str(result["outcome"])
    facts: list[tuple[str, str, str]] = [("outcome", "outcome", outcome)]
    if result.get("case"):
        facts.append(("case", "case", str(result["case"])))
    if sum(counts.values()) > 1:
        facts.append(("cases", "cases of this property here",
                      ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))))
    for key, label in (("reason", "reason (known divergence)" if outcome == "known-divergence"
                        else "reason"), ("pin", "pinned outcome"), ("expected", "expected"), ("got", "got")):
        if result.get(key) not in (None, ""):
            facts.append((key, label, str(result[key])))
    n = examples.get(f"{prop} {runtime}")
    if n is not None:
        facts.append(("examples", "examples run", str(n)))
    facts.append(("seconds", "seconds", _num(result.get("seconds"), 3)))
    if result.get("counterexample"):
        facts.append(("counterexample", "saved script", str(result["counterexample"])))
    dl = "".join(f'<dt>{_e(label)}</dt><dd class="{key}">{_e(value)}</dd>' for key, label, value in facts)
    parts = [
        f'<dialog class="detail o-{_e(outcome)}" id="{ident}" data-property="{_e(prop)}"'
        f' data-runtime="{_e(runtime)}" data-outcome="{_e(outcome)}">',
        '<form method="dialog" class="close">'
        '<button type="submit" aria-label="close">close ✕</button></form>',
        f"<h2><code>{_e(prop)}</code> on {_e(runtime)}: "
        f'<span class="badge o-{_e(outcome)}">{_e(outcome)}</span></h2>',
        f'<dl class="facts">{dl}</dl>',
    ]
    script = result.get("script")
    if script:
        parts += [f"<h3>Minimal script (guest {_e(str(script.get('guest', '?')))})</h3>",
                  f'<pre class="script">{_e(_describe(script))}</pre>']
        if script.get("note"):
            parts.append(f'<p class="note">{_e(str(script["note"]))}</p>')
        if script.get("wat"):
            parts.append(f'<details><summary>module text</summary><pre class="wat">{_e(str(script["wat"]))}'
                         "</pre></details>")
    if result.get("message"):
        parts += ["<h3>Message</h3>", f'<pre class="message">{_e(str(result["message"]).strip())}</pre>']
    if result.get("replay"):
        parts += ["<h3>Replay</h3>", f'<pre class="replay">{_e(str(result["replay"]))}</pre>']
    parts.append("</dialog>")
    return "\n".join(parts)


def _choices(choices: Mapping[str, Mapping[str, list[str]]], columns: list[str]) -> str:
    if not choices:
        return ""
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for prop, by_runtime in choices.items():
        tds = "".join(
            "<td>" + ("<ul>" + "".join(f"<li>{_e(c)}</li>" for c in by_runtime[rt]) + "</ul>"
                      if by_runtime.get(rt) else "") + "</td>" for rt in columns)
        rows.append(f'<tr data-property="{_e(prop)}"><th scope="row"><code>{_e(prop)}</code></th>{tds}</tr>')
    return (
        '<section id="choices"><h2>Where the spec allows more than one outcome</h2>\n'
        "<p>What each runtime chose, per property.</p>\n"
        f'<div class="scroll"><table class="plain"><thead><tr><th>property</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _baseline(baseline: Mapping[str, Any] | None) -> str:
    if not baseline:
        return ""
    parts = [f'<section id="baseline"><h2>Against the baseline {_e(str(baseline.get("name", "")))}</h2>']
    for key in ("regressions", "fixes", "new_divergences", "not_compared"):
        items = baseline.get(key) or []
        parts.append(f"<h3>{_e(key.replace('_', ' '))}: {len(items)}</h3>")
        if items:
            parts.append(_list(str(i) for i in items))
    parts.append("</section>")
    return "\n".join(parts)


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return ""
    return f'<section id="warnings"><h2>Warnings</h2>{_list(warnings)}</section>'


def _guests(guests: list[dict[str, Any]]) -> str:
    if not guests:
        return ""
    rows = "".join(f'<tr><th scope="row">{_e(str(g["name"]))}</th>'
                   f'<td><code>{_e(str(g["sha256"]))}</code></td>'
                   f'<td class="num">{_e(str(g.get("bytes", "")))}</td></tr>' for g in guests)
    return ('<section id="guests"><h2>Guest modules</h2><table class="plain"><thead><tr><th>guest</th>'
            f"<th>sha256</th><th>bytes</th></tr></thead><tbody>{rows}</tbody></table></section>")


# --- helpers ------------------------------------------------------------------------


def detail_id(prop: str, runtime: str, case: str = "") -> str:
    """The id of a result's dialog: the same for the same property, runtime and case in every report."""
    key = f"{prop}\0{runtime}" + (f"\0{case}" if case else "")
    return "d-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _columns(runtimes: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[str]:
    ids = [str(r["id"]) for r in runtimes]
    extra = [rt for rt in dict.fromkeys(str(r["runtime"]) for r in results) if rt not in ids and rt != HOST]
    host = [HOST] if any(r["runtime"] == HOST for r in results) else []
    return ids + extra + host


def _describe(script: Mapping[str, Any]) -> str:
    try:
        return Script.from_json(script).describe()
    except (ScriptError, ValueError):
        return json.dumps(script.get("ops", script), indent=1)


def _list(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(i)}</li>" for i in items) + "</ul>"


def _num(value: Any, digits: int = 1) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else ""


def _e(text: str) -> str:
    return escape(text, quote=True)


CSS = """
:root { --pass: #2e8b3e; --fail: #d3302f; --known: #e0a100; --skip: #9a9a9a; --crash: #7a0d0d;
  --timeout: #5b2a86;
  --ink: #1d1f21; --muted: #666; --line: #d9d9d9; font-family: system-ui, sans-serif; color: var(--ink); }
body { margin: 1.5rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
code, pre { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { background: #f5f5f5; border: 1px solid var(--line); padding: .5rem .7rem; overflow-x: auto;
  white-space: pre-wrap; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; word-break: break-word; }
table { border-collapse: collapse; font-size: .85rem; }
th, td { border: 1px solid var(--line); padding: .2rem .45rem; text-align: left; vertical-align: top; }
thead th { background: #f0f0f0; }
#matrix-wrap { max-height: 85vh; overflow: auto; }
#matrix thead th { position: sticky; top: 0; z-index: 2; }
#matrix th[scope=row] { position: sticky; left: 0; background: #fff; z-index: 1; }
#matrix thead th:first-child { left: 0; z-index: 3; }
td.num { text-align: right; } tr.unavailable { color: var(--muted); }
td.yes { color: var(--pass); } td.no { color: var(--muted); }
td ul { margin: 0; padding-left: 1rem; }
.scroll { overflow-x: auto; }
.module { color: var(--muted); font-weight: normal; }
#matrix th[scope=row] { font-weight: normal; white-space: nowrap; }
#matrix td.cell { padding: 0; text-align: center; min-width: 4.5rem; }
#matrix td.cell button { all: unset; display: block; box-sizing: border-box; width: 100%;
  padding: .2rem .4rem; cursor: pointer; color: #fff; font-weight: 600; font-size: .8rem; }
#matrix td.cell button:focus-visible { outline: 3px solid #0a58ca; outline-offset: -3px; }
#matrix.only-divergent tr.quiet { display: none; }
.o-pass { background: var(--pass); } .o-fail { background: var(--fail); }
.o-known-divergence { background: var(--known); } .o-skip { background: var(--skip); }
.o-crash { background: var(--crash); } .o-timeout { background: var(--timeout); }
.o-none { background: #fff; }
#matrix td.o-known-divergence button { color: #1d1f21; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .25rem; color: #fff; font-size: .8rem; }
.badge.o-known-divergence { color: #1d1f21; }
ul.totals { list-style: none; padding: 0; } ul.totals li { margin: .15rem 0; }
dialog.detail { max-width: min(60rem, 92vw); width: 60rem; border: 1px solid var(--line);
  border-top: .5rem solid; padding: 1rem 1.3rem; background: #fff; }
dialog.detail.o-pass { border-top-color: var(--pass); }
dialog.detail.o-fail { border-top-color: var(--fail); }
dialog.detail.o-known-divergence { border-top-color: var(--known); }
dialog.detail.o-skip { border-top-color: var(--skip); }
dialog.detail.o-crash { border-top-color: var(--crash); }
dialog.detail.o-timeout { border-top-color: var(--timeout); }
#charts { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
#charts h2 { flex-basis: 100%; margin-bottom: 0; }
figure.chart { margin: 0; max-width: 100%; overflow-x: auto; }
figure.chart figcaption { color: var(--muted); font-size: .85rem; max-width: 40rem; }
dialog.detail h2 { margin-top: 0; font-size: 1.05rem; padding-right: 5rem; }
dialog::backdrop { background: rgba(0, 0, 0, .4); }
form.close { float: right; } form.close button { cursor: pointer; }
"""

JS = """
(function () {
  "use strict";
  function show(id) {
    var dialog = document.getElementById(id);
    if (!dialog || dialog.tagName !== "DIALOG") { return; }
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
    dialog.showModal();
    try { history.replaceState(null, "", "#" + id); } catch (e) { /* file:// may refuse */ }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-detail]");
    if (button) { show(button.getAttribute("data-detail")); return; }
    if (event.target.tagName === "DIALOG") { event.target.close(); }  // a click on the backdrop
  });
  document.querySelectorAll("dialog.detail").forEach(function (dialog) {
    dialog.addEventListener("close", function () {
      try { history.replaceState(null, "", location.pathname + location.search); } catch (e) { }
    });
  });
  var only = document.getElementById("only-divergent");
  if (only) {
    only.addEventListener("change", function () {
      document.getElementById("matrix").classList.toggle("only-divergent", only.checked);
    });
  }
  if (location.hash.length > 1) { show(location.hash.slice(1)); }
})();
"""
