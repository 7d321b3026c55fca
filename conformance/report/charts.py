"""Charts as inline SVG: no plotting library, nothing to fetch, text a browser can read aloud.

Three kinds, each a function returning one ``<svg>`` element as a string:

- :func:`stacked_bars`: one horizontal bar per row, split into segments (outcomes per runtime;
  a runtime's time, and the part of it spent waiting for the driver);
- :func:`heat_map`: a value per (row, column) as a coloured cell (examples per second);
- :func:`grouped_bars`: per group, one bar per series, on a linear or a log scale (the bench).

Every chart is ``role="img"`` with a ``<title>`` and a ``<desc>`` (``aria-labelledby``), every
bar segment or cell carries a ``<title>`` of its own (the tooltip: its label and value) and
``class="bar"`` / ``class="cell"`` with ``data-`` attributes for tests. The charts know nothing
of the report: labels, values and colours come from the caller. All text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

FONT = 'font-family="system-ui, sans-serif" font-size="12"'
CHAR_W = 7.4
"""About how wide a character of the 12 px labels is, to size the label column."""
SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf")
"""Colours for series with no meaning of their own (one per runtime)."""


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar: what it counts, how much, its colour."""

    label: str
    value: float
    color: str


def _e(text: str) -> str:
    return escape(text, quote=True)


def _ident(title: str) -> str:
    return "chart-" + "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:40]


def _open(title: str, desc: str, width: float, height: float, ident: str, kind: str) -> list[str]:
    ident = ident or _ident(title)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_e(kind)}" id="{_e(ident)}" '
        f'role="img" aria-labelledby="{_e(ident)}-title {_e(ident)}-desc" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" {FONT}>',
        f'<title id="{_e(ident)}-title">{_e(title)}</title>',
        f'<desc id="{_e(ident)}-desc">{_e(desc)}</desc>',
    ]


def _label_width(labels: Sequence[str], least: float = 40) -> float:
    return max([least] + [len(s) * CHAR_W + 12 for s in labels])


def _legend(items: Sequence[tuple[str, str]], x: float, y: float) -> tuple[list[str], float]:
    """Swatches and names in one row from (x, y); the parts, and the height used."""
    parts = ['<g class="legend">']
    for label, color in items:
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="10" height="10" fill="{_e(color)}"/>'
                     f'<text x="{x + 14:.1f}" y="{y + 9:.1f}">{_e(label)}</text>')
        x += 14 + len(label) * CHAR_W + 16
    parts.append("</g>")
    return parts, 18


def stacked_bars(title: str, rows: Sequence[tuple[str, Sequence[Segment]]], *, unit: str = "",
                 desc: str = "", bar_width: float = 420, ident: str = "",
                 fmt: Callable[[float], str] = lambda v: f"{v:g}") -> str:
    """A horizontal bar per row (its label on the left, its total on the right), its segments
    side by side in order; segments of value 0 are left out. The legend lists each segment
    label once, in first-seen order. One scale for all rows: the largest total fills ``bar_width``."""
    legend = list(dict.fromkeys((s.label, s.color) for _, segs in rows for s in segs))
    left = _label_width([label for label, _ in rows])
    top, bar_h, gap = 24, 18, 6
    totals = [sum(s.value for s in segs) for _, segs in rows]
    scale = bar_width / max(totals) if totals and max(totals) > 0 else 0.0
    ends = [f"{fmt(total)}{' ' + unit if unit else ''}" for total in totals]
    legend_w = sum(14 + len(label) * CHAR_W + 16 for label, _ in legend)
    width = max(left + bar_width + 12 + _label_width(ends, 0), left + legend_w)
    height = top + len(rows) * (bar_h + gap) + 10
    parts = _open(title, desc or _describe_stacked(rows, unit, fmt), width, height, ident, "stacked-bars")
    legend_parts, _ = _legend([(label, color) for label, color in legend], left, 4)
    parts += legend_parts
    for i, ((label, segs), total) in enumerate(zip(rows, totals, strict=True)):
        y = top + i * (bar_h + gap)
        parts.append(f'<g class="row" data-label="{_e(label)}">')
        parts.append(f'<text x="{left - 6:.1f}" y="{y + bar_h - 5:.1f}" text-anchor="end">{_e(label)}</text>')
        x = left
        for s in segs:
            if s.value <= 0:
                continue
            w = max(s.value * scale, 1.0)
            parts.append(f'<rect class="bar" data-row="{_e(label)}" data-segment="{_e(s.label)}" '
                         f'data-value="{s.value:g}" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{_e(s.color)}"><title>{_e(label)}: {_e(fmt(s.value))}{_unit(unit)} '
                         f"{_e(s.label)}</title></rect>")
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar_h - 5:.1f}" fill="#444">'
                     f"{_e(fmt(total))}{_unit(unit)}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _unit(unit: str) -> str:
    return f" {_e(unit)}" if unit else ""


def _describe_stacked(rows: Sequence[tuple[str, Sequence[Segment]]], unit: str,
                      fmt: Callable[[float], str]) -> str:
    return "; ".join(
        f"{label}: " + ", ".join(f"{fmt(s.value)}{' ' + unit if unit else ''} {s.label}"
                                 for s in segs if s.value > 0)
        for label, segs in rows) + "."


def heat_map(title: str, rows: Sequence[str], columns: Sequence[str],
             values: Mapping[tuple[str, str], float], *, desc: str = "", unit: str = "",
             log: bool = True, ident: str = "", fmt: Callable[[float], str] = lambda v: f"{v:.3g}") -> str:
    """A cell per (row, column) that has a value, shaded from pale (the least) to dark (the
    most), on a log scale unless ``log=False``; the value written in the cell. Missing pairs
    are left blank."""
    shown = [v for v in values.values() if v > 0 or not log]
    lo, hi = (min(shown), max(shown)) if shown else (1.0, 1.0)

    def level(v: float) -> float:
        if hi <= lo:
            return 0.5
        if log:
            return (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return (v - lo) / (hi - lo)

    left = _label_width(rows)
    cell_w, cell_h, top = max(64.0, _label_width(columns, 0)), 18, 24
    width = left + cell_w * len(columns) + 10
    height = top + cell_h * len(rows) + 30
    parts = _open(title, desc or f"{len(values)} values from {fmt(lo)} to {fmt(hi)}{_unit(unit)}"
                  + (", shaded on a log scale." if log else "."), width, height, ident, "heat-map")
    for j, col in enumerate(columns):
        parts.append(f'<text class="column" x="{left + j * cell_w + cell_w / 2:.1f}" y="{top - 6}" '
                     f'text-anchor="middle">{_e(col)}</text>')
    for i, row in enumerate(rows):
        y = top + i * cell_h
        parts.append(f'<text x="{left - 6:.1f}" y="{y + cell_h - 5}" text-anchor="end">{_e(row)}</text>')
        for j, col in enumerate(columns):
            v = values.get((row, col))
            if v is None:
                continue
            t = level(v)
            x = left + j * cell_w
            parts.append(
                f'<g class="cell" data-row="{_e(row)}" data-column="{_e(col)}" data-value="{v:g}">'
                f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 1:.1f}" height="{cell_h - 1}" '
                f'fill="{_shade(t)}"><title>{_e(row)}, {_e(col)}: {_e(fmt(v))}{_unit(unit)}</title></rect>'
                f'<text x="{x + cell_w / 2:.1f}" y="{y + cell_h - 5}" text-anchor="middle" '
                f'fill="{"#fff" if t > 0.55 else "#1d1f21"}" font-size="11">{_e(fmt(v))}</text></g>')
    scale_y = top + cell_h * len(rows) + 8
    parts.append(f'<text x="{left:.1f}" y="{scale_y + 12}" fill="#444">'
                 f"pale {_e(fmt(lo))} to dark {_e(fmt(hi))}{_unit(unit)}"
                 f"{' (log scale)' if log else ''}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def _shade(t: float) -> str:
    """From a pale blue (0) to a dark blue (1)."""
    t = min(max(t, 0.0), 1.0)
    pale, dark = (222, 235, 247), (8, 48, 107)
    r, g, b = (round(p + (d - p) * t) for p, d in zip(pale, dark, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def grouped_bars(title: str, groups: Sequence[str], series: Sequence[str],
                 values: Mapping[tuple[str, str], float], *, desc: str = "", unit: str = "",
                 log: bool = False, ident: str = "", bar_width: float = 380,
                 colors: Sequence[str] = SERIES, fmt: Callable[[float], str] = lambda v: f"{v:.3g}") -> str:
    """Per group (a label on the left), one horizontal bar per series that has a value, the
    value after it; the series coloured in order (legend on top). ``log=True`` for values
    spanning decades (positive values only)."""
    shown = [v for v in values.values() if v > 0]
    hi = max(shown) if shown else 1.0
    lo = min(shown) if shown else 1.0
    if log:
        lo_d = 10 ** math.floor(math.log10(lo))
        hi_d = 10 ** math.ceil(math.log10(hi))
        if hi_d <= lo_d:
            hi_d = lo_d * 10

    def length(v: float) -> float:
        if log:
            span = math.log10(hi_d) - math.log10(lo_d)
            return max(bar_width * (math.log10(v) - math.log10(lo_d)) / span, 2.0)
        return max(bar_width * v / hi, 1.0)

    left = _label_width(groups)
    bar_h, top = 10, 24
    present = [[s for s in series if (g, s) in values] for g in groups]
    height = top + sum(len(p) * bar_h + 10 for p in present) + 24
    legend_w = sum(14 + len(s) * CHAR_W + 16 for s in series)
    width = max(left + bar_width + 12 + _label_width([fmt(v) for v in values.values()], 0), left + legend_w)
    color = {s: colors[i % len(colors)] for i, s in enumerate(series)}
    parts = _open(title, desc or f"{len(values)} values{' on a log scale' if log else ''}{_unit(unit)}.",
                  width, height, ident, "grouped-bars")
    legend_parts, _ = _legend([(s, color[s]) for s in series], left, 4)
    parts += legend_parts
    y = float(top)
    for g, names in zip(groups, present, strict=True):
        parts.append(f'<text x="{left - 6:.1f}" y="{y + len(names) * bar_h / 2 + 4:.1f}" '
                     f'text-anchor="end">{_e(g)}</text>')
        for s in names:
            v = values[(g, s)]
            if v > 0:
                w = length(v)
                parts.append(f'<rect class="bar" data-row="{_e(g)}" data-segment="{_e(s)}" '
                             f'data-value="{v:g}" '
                             f'x="{left:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h - 1}" '
                             f'fill="{_e(color[s])}"><title>{_e(g)}, {_e(s)}: {_e(fmt(v))}{_unit(unit)}'
                             f"</title></rect>"
                             f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 1:.1f}" font-size="9" '
                             f'fill="#444">{_e(fmt(v))}</text>')
            y += bar_h
        y += 10
    axis = (f"log scale, {fmt(lo_d)} to {fmt(hi_d)}{_unit(unit)}" if log
            else f"0 to {fmt(hi)}{_unit(unit)}")
    parts.append(f'<text x="{left:.1f}" y="{y + 12:.1f}" fill="#444">{_e(axis)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)
