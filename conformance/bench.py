"""Boundary costs per runtime, and what the harness itself costs.

    python -m conformance.bench [--runtime wasmtime,node] [--out reports/latest] [--quick]

Per runtime, timed inside its driver process (the ``bench`` request of
docs/protocol.md, so the loop runs beside the runtime, not across the pipe):
a call of a no-op export and of a tiny one, copying N bytes in and out by the
safest host API and through a kept zero-copy view, a plain memcpy-class copy
of the same bytes in the same process (the physical reference), a string
round trip, and memory.grow by one page and to 1 GiB (by the host, and by the
guest's own memory.grow). Then the harness: the same short and long scripts
once through the driver, timed from this process, and once by the runtime's
API inside the driver. Every runtime is compared with the reference runtime
(wasmtime) measured in the same run.

Writes ``bench.json``, ``bench.svg`` (no plotting library) and ``bench.md``
in the output directory; ``report.md`` takes in ``bench.md`` when the suite
writes it. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from conformance.driver_process import DriverProcess, RuntimeUnavailable
from conformance.guests import guest, inline_guest
from conformance.model import check
from conformance.runtimes import RuntimeSpec, UnknownRuntime, known_runtimes, select
from conformance.script import Call, Op, Outcome, Read, Script, ScriptError, Value, Write

REFERENCE = "wasmtime"
PAGE = 65536
GIB_PAGES = 16384

BENCH_WAT = """(module
  (memory (export "memory") 257)
  (func (export "nop"))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "echo") (param i32 i32) (result i32) (local.get 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
"""
"""257 pages: 16 MiB to copy and a page to spare; no maximum, so it may grow to 1 GiB."""

SIZES = (16, 256, 4096, 65536, 1 << 20, 16 << 20)
QUICK_SIZES = (16, 65536)
COPY_KINDS = ("write", "read", "view_write", "view_read", "memcpy")


def size_name(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def boundary_cases(quick: bool) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = [
        {"name": "call nop", "kind": "call", "func": "nop", "args": []},
        {"name": "call add", "kind": "call", "func": "add",
         "args": [{"type": "i32", "value": "1"}, {"type": "i32", "value": "2"}]},
    ]
    for size in QUICK_SIZES if quick else SIZES:
        cases += [{"name": f"{kind} {size_name(size)}", "kind": kind, "size": size} for kind in COPY_KINDS]
    for size in (64,) if quick else (64, 4096):
        cases.append({"name": f"string {size_name(size)}", "kind": "string", "func": "echo", "size": size})
    for via in ("host", "guest"):
        cases += [{"name": f"grow +1 page ({via})", "kind": "grow", "delta": 1, "via": via,
                   "max_repeat": 200 if quick else 500},
                  {"name": f"grow to 1 GiB ({via})", "kind": "grow_to", "pages": GIB_PAGES, "via": via}]
    return cases


def harness_scripts() -> dict[str, Script]:
    data = bytes(range(64))
    triple: list[Op] = [Write(0, data), Call("checksum", (Value.i32(0), Value.i32(64))), Read(0, 64)]
    big = bytes(range(256)) * 4096
    return {"short": Script.of("bytes", triple),
            "long": Script.of("bytes", (triple * 34)[:100]),
            "1 MiB": Script.of("bytes", [Call("grow", (Value.i32(16),)), Write(0, big), Read(0, len(big))])}


# -- timing on this side of the pipe ----------------------------------------------


def measure(fn: Callable[[], Any], target: float, samples: int) -> dict[str, float]:
    """Nanoseconds per call of ``fn``, as the drivers measure: adaptive repeat, several samples;
    every result consumed (``results``: how many were not None), as the drivers' loops do."""
    repeat = 1
    sink = 0
    while True:
        began = time.perf_counter_ns()
        for _ in range(repeat):
            if fn() is not None:
                sink += 1
        spent = time.perf_counter_ns() - began
        if spent >= target * 1e9:
            break
        repeat = max(repeat * 2, min(int(repeat * target * 1e9 / max(spent, 1)) + 1, repeat * 100))
    per = []
    for _ in range(samples):
        began = time.perf_counter_ns()
        for _ in range(repeat):
            if fn() is not None:
                sink += 1
        per.append((time.perf_counter_ns() - began) / repeat)
    return {"median": statistics.median(per), "min": min(per), "max": max(per),
            "repeat": repeat, "samples": samples, "results": sink}


def harness(process: DriverProcess, target: float, samples: int,
            profile: bool) -> dict[str, Any]:
    """One script through the whole harness against the same operations inside the driver."""
    out: dict[str, Any] = {}
    module = guest("bytes").to_wire()
    for name, script in harness_scripts().items():
        wire_ops = script.to_json()["ops"]
        cases = [{"name": depth, "kind": "script", "depth": depth, "ops": wire_ops}
                 for depth in ("raw", "session", "json")]
        reply = process.request({"command": "bench", "module": module, "cases": cases,
                                 "target": target, "samples": samples}, timeout=600)
        inside = {c["name"]: c for c in reply["bench"]}
        result = process.run(script)
        verdict = check(script, result.outcomes) if result.status == "ok" else None
        if verdict is None or verdict.mismatch is not None:
            out[name] = {"error": f"the script does not pass here: {result.detail or verdict}"}
            continue
        outcomes = result.outcomes

        def trip_once(s: Script = script) -> Any:
            return process.run(s)

        def check_once(s: Script = script, o: tuple[Outcome, ...] = outcomes) -> Any:
            return check(s, o)
        trip = measure(trip_once, target, samples)
        model = measure(check_once, target, samples)
        raw = inside["raw"].get("median")
        entry: dict[str, Any] = {"ops": len(script.ops), "round_trip": trip, "model_check": model,
                                 "inside": inside}
        if raw:
            entry["ratio"] = trip["median"] / raw
            entry["ratio_with_check"] = (trip["median"] + model["median"]) / raw
        out[name] = entry
        if profile and name == "long":
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(200):
                check(script, process.run(script).outcomes)
            prof.disable()
            text = io.StringIO()
            pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(14)
            print(f"\n-- {process.spec.id}: suite side of 200 long scripts, by own time --")
            print("\n".join(text.getvalue().splitlines()[4:]))
    return out


def bench_runtime(spec: RuntimeSpec, quick: bool, target: float, samples: int,
                  profile: bool, only: str = "") -> dict[str, Any]:
    process = DriverProcess(spec, script_timeout=600)
    record: dict[str, Any] = {"available": False}
    try:
        hello = process.start()
        record.update(available=True, version=hello.version)
        module = inline_guest("bench", BENCH_WAT).to_wire()
        began = time.monotonic()
        cases = [] if only == "harness" else boundary_cases(quick)
        reply = process.request({"command": "bench", "module": module, "cases": cases,
                                 "target": target, "samples": samples}, timeout=1800)
        record["cases"] = {c["name"]: c for c in reply["bench"]}
        record["seconds"] = time.monotonic() - began
        for name, case in record["cases"].items():
            size = next((c.get("size") for c in boundary_cases(quick) if c["name"] == name), None)
            if size and "median" in case:
                case["size"] = size
                case["gb_per_s"] = size / case["median"]  # bytes per ns is GB/s
        if only != "boundary":
            record["harness"] = harness(process, target, samples, profile)
    except RuntimeUnavailable as exc:
        record["reason"] = str(exc)
    except ScriptError as exc:
        record["reason"] = f"{spec.id}: {exc}"
    finally:
        record["peak_rss_bytes"] = process.peak_rss
        process.close()
    return record


def add_ratios(runtimes: dict[str, dict[str, Any]], reference: str) -> None:
    ref = runtimes.get(reference, {}).get("cases", {})
    for record in runtimes.values():
        for name, case in record.get("cases", {}).items():
            base = ref.get(name, {}).get("median")
            if base and "median" in case:
                case["ratio_to_reference"] = case["median"] / base


# -- output ---------------------------------------------------------------------------


def fmt_ns(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def cell(case: dict[str, Any] | None, gbps: bool = False) -> str:
    if not case:
        return ""
    if "error" in case:
        return f"refused ({case['error']})"
    text = f"{case['gb_per_s']:.3g} GB/s" if gbps and "gb_per_s" in case else fmt_ns(case["median"])
    ratio = case.get("ratio_to_reference")
    return text + (f" ({ratio:.2g}x)" if ratio is not None else "")


def markdown(doc: dict[str, Any]) -> str:
    runtimes = {k: v for k, v in doc["runtimes"].items() if v.get("available")}
    sizes = doc["sizes"]
    lines = ["## Boundary benchmarks", "",
             f"{doc['generated']}, `{doc['command']}`. Medians of {doc['samples']} samples of about "
             f"{doc['target_seconds'] * 1000:.0f} ms each, timed inside each driver process; "
             f"(nx) is the ratio to {doc['reference']} in the same run (time: lower is faster; for "
             "GB/s, time too). Copies: `write`/`read` by the runtime's safest copying API, `view` "
             "through a kept zero-copy view, `memcpy` a plain copy of the same bytes in the same "
             "process (Python: memoryview slice assignment; JS: `TypedArray.set`). wasmer: `write`/`read` "
             "through a `memoryview` of `Memory.buffer` (bounds-checked, the fast API), `view` through "
             "`Memory.uint8_view()` (its `Uint8Array`, element by element). Every timed loop consumes "
             "its results. Chart: "
             "[bench.svg](bench.svg).", ""]
    first: dict[str, Any] = next(iter(runtimes.values()), {})
    names = ["call nop", "call add", *[n for n in first.get("cases", {}) if n.startswith("string")],
             "grow +1 page (host)", "grow to 1 GiB (host)", "grow +1 page (guest)", "grow to 1 GiB (guest)"]
    lines += ["| runtime | " + " | ".join(names) + " | peak RSS |", "|---|" + "---:|" * (len(names) + 1)]
    for rid, rec in runtimes.items():
        cases = rec.get("cases", {})
        lines.append(f"| {rid} | " + " | ".join(cell(cases.get(n)) for n in names)
                     + f" | {rec.get('peak_rss_bytes', 0) / (1 << 20):.0f} MiB |")
    for kind in COPY_KINDS:
        lines += ["", f"**{kind}** (GB/s)", "",
                  "| runtime | " + " | ".join(size_name(s) for s in sizes) + " |",
                  "|---|" + "---:|" * len(sizes)]
        for rid, rec in runtimes.items():
            cases = rec.get("cases", {})
            lines.append(f"| {rid} | " + " | ".join(cell(cases.get(f"{kind} {size_name(s)}"), gbps=True)
                                                    for s in sizes) + " |")
    lines += ["", "### What the harness costs", "",
              "A script through the driver, timed from the suite's process (JSON, pipe, the driver's "
              "dispatch, payloads as binary blobs), against the same operations by the runtime's API "
              "inside the driver (`raw`), through the driver's dispatch without JSON (`session`), and "
              "with JSON and blobs but no pipe (`json`). Short: instantiate, write 64 B, call, read "
              "64 B; long: 100 operations after the instantiate. The goal is a round trip within 2x raw.", "",
              "| runtime | script | raw | session | json | round trip | ratio | model check |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for rid, rec in runtimes.items():
        for name, h in rec.get("harness", {}).items():
            if "error" in h:
                lines.append(f"| {rid} | {name} | {_cell(h['error'])} | | | | | |")
                continue
            inside = h["inside"]
            depths = " | ".join(cell(inside.get(d)) for d in ("raw", "session", "json"))
            lines.append(f"| {rid} | {name} | {depths}"
                         + f" | {fmt_ns(h['round_trip']['median'])} | {h.get('ratio', 0):.2f}x "
                         f"| {fmt_ns(h['model_check']['median'])} |")
    skipped = {k: v for k, v in doc["runtimes"].items() if not v.get("available")}
    if skipped:
        lines += [""] + [f"- {k} not measured: {v.get('reason', '?')}" for k, v in skipped.items()]
    return "\n".join(lines) + "\n"


PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac", "#1f77b4", "#8c564b")


def svg(doc: dict[str, Any]) -> str:
    """Grouped bars on log scales: ns per operation, then GB/s of write and read per size."""
    import math

    runtimes = [k for k, v in doc["runtimes"].items() if v.get("available")]
    sizes = doc["sizes"]
    panels: list[tuple[str, str, list[str], bool]] = [
        ("ns per operation (log scale; lower is faster)", "ns",
         ["call nop", "call add", "string 64 B", "grow +1 page (host)", "grow to 1 GiB (host)",
          "grow to 1 GiB (guest)"], False),
        ("write, safest API: GB/s (log scale; higher is faster)", "GB/s",
         [f"write {size_name(s)}" for s in sizes], True),
        ("read, safest API: GB/s (log scale)", "GB/s", [f"read {size_name(s)}" for s in sizes], True),
        ("memcpy in the driver's process: GB/s (log scale)", "GB/s",
         [f"memcpy {size_name(s)}" for s in sizes], True),
    ]
    bar, gap, left, panel_h, top = 7, 14, 70, 220, 40
    group_w = bar * max(len(runtimes), 1) + gap
    width = left + 20 + group_w * max(len(p[2]) for p in panels) + 170
    height = top + len(panels) * (panel_h + 70)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<title>Boundary benchmarks, {escape(doc["generated"])}</title>',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="20" font-size="14">Boundary costs per runtime '
             f'({escape(doc["generated"])})</text>']
    series: dict[str, list[str]] = {r: [] for r in runtimes}
    for p_index, (title, unit, names, rate) in enumerate(panels):
        y0 = top + p_index * (panel_h + 70)
        values = []
        for rid in runtimes:
            for n in names:
                case = doc["runtimes"][rid].get("cases", {}).get(n) or {}
                v = case.get("gb_per_s" if rate else "median")
                if v:
                    values.append(v)
        lo = 10 ** math.floor(math.log10(min(values))) if values else 1.0
        hi = 10 ** math.ceil(math.log10(max(values))) if values else 10.0
        if hi <= lo:
            hi = lo * 10
        span = math.log10(hi) - math.log10(lo)

        def y_of(v: float, y0: float = y0, lo: float = lo, span: float = span) -> float:
            return y0 + 20 + panel_h * (1 - (math.log10(v) - math.log10(lo)) / span)

        parts.append(f'<text x="{left}" y="{y0 + 12}" font-size="12">{escape(title)}</text>')
        decade = lo
        while decade <= hi * 1.0001:
            y = y_of(decade)
            parts.append(f'<line x1="{left}" x2="{width - 170}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
            label = f"{decade:g} {unit}" if unit == "GB/s" else fmt_ns(decade)
            parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{escape(label)}</text>')
            decade *= 10
        base = y_of(lo)
        for g, n in enumerate(names):
            gx = left + 10 + g * group_w
            parts.append(f'<text x="{gx + group_w / 2 - gap / 2:.1f}" y="{base + 14:.1f}" '
                         f'text-anchor="middle" font-size="9">{escape(n)}</text>')
            for r, rid in enumerate(runtimes):
                case = doc["runtimes"][rid].get("cases", {}).get(n, {})
                v = case.get("gb_per_s" if rate else "median")
                x = gx + r * bar
                if not v:
                    if "error" in case:  # refused: a cross on the axis
                        series[rid].append(f'<text x="{x + bar / 2:.1f}" y="{base - 2:.1f}" '
                                           f'text-anchor="middle" font-size="8">x</text>')
                    continue
                y = y_of(v)
                shown = fmt_ns(case["median"]) + (f", {v:.3g} GB/s" if rate else "")
                series[rid].append(f'<rect x="{x}" y="{y:.1f}" width="{bar - 1}" '
                                   f'height="{max(base - y, 0.5):.1f}">'
                                   f'<title>{escape(rid)}: {escape(n)}: {escape(shown)}</title></rect>')
    for r, rid in enumerate(runtimes):
        color = PALETTE[r % len(PALETTE)]
        parts.append(f'<g class="series" data-runtime="{escape(rid)}" fill="{color}">')
        parts += series[rid]
        ly = top + 20 + r * 16
        parts.append(f'<rect x="{width - 160}" y="{ly}" width="10" height="10"/>'
                     f'<text x="{width - 145}" y="{ly + 9}" fill="black">{escape(rid)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def print_summary(doc: dict[str, Any]) -> None:
    ref = doc["reference"]
    print(f"\n{'runtime':<24}{'call nop':>12}{'write 64K':>12}{'write 16M':>12}{'read 64K':>12}"
          f"{'read 16M':>12}{'grow +1':>11}{'grow 1GiB':>11}{'scriptx':>9}{'longx':>8}{'peak RSS':>10}")
    for rid, rec in doc["runtimes"].items():
        if not rec.get("available"):
            print(f"{rid:<24}not measured: {rec.get('reason', '?')}")
            continue
        cases = rec.get("cases", {})

        def show(name: str, rate: bool = False, cases: dict[str, Any] = cases) -> str:
            case = cases.get(name)
            if not case:
                return "-"
            if "error" in case:
                return "refused"
            return f"{case['gb_per_s']:.3g}GB/s" if rate else fmt_ns(case["median"])
        h = rec.get("harness", {})
        rss = rec.get("peak_rss_bytes", 0) / (1 << 20)
        print(f"{rid:<24}{show('call nop'):>12}{show('write 64 KiB', True):>12}"
              f"{show('write 16 MiB', True):>12}{show('read 64 KiB', True):>12}"
              f"{show('read 16 MiB', True):>12}{show('grow +1 page (host)'):>11}"
              f"{show('grow to 1 GiB (host)'):>11}{h.get('short', {}).get('ratio', 0):>8.2f}x"
              f"{h.get('long', {}).get('ratio', 0):>7.2f}x{rss:>7.0f} MiB")
    print(f"(scriptx: a script round trip from the suite over the same operations by the runtime's API "
          f"inside the driver; ratios to {ref} are in bench.md)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", help="comma-separated runtime ids (default: all)")
    parser.add_argument("--out", default="reports/latest", help="directory for bench.json, .svg, .md")
    parser.add_argument("--quick", action="store_true", help="a reduced case set, short samples")
    parser.add_argument("--target", type=float, help="seconds per sample (default 0.05, quick 0.01)")
    parser.add_argument("--samples", type=int, help="samples per case (default 5, quick 3)")
    parser.add_argument("--profile", action="store_true", help="profile the suite side of the harness")
    parser.add_argument("--only", choices=("boundary", "harness"), help="one half of the bench")
    args = parser.parse_args(argv)
    target = args.target or (0.01 if args.quick else 0.05)
    samples = args.samples or (3 if args.quick else 5)
    try:
        specs = select(args.runtime, known_runtimes())
    except UnknownRuntime as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if REFERENCE not in {s.id for s in specs}:  # ratios need the reference measured in the same run
        specs.insert(0, known_runtimes()[REFERENCE])
    doc: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "command": "python -m conformance.bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "reference": REFERENCE, "quick": args.quick, "target_seconds": target, "samples": samples,
        "sizes": list(QUICK_SIZES if args.quick else SIZES), "cpus": os.cpu_count(), "runtimes": {},
    }
    for spec in specs:
        print(f"bench: {spec.id} ...", flush=True)
        doc["runtimes"][spec.id] = bench_runtime(spec, args.quick, target, samples, args.profile,
                                                     args.only or "")
    add_ratios(doc["runtimes"], REFERENCE)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    (out / "bench.svg").write_text(svg(doc), encoding="utf-8")
    (out / "bench.md").write_text(markdown(doc), encoding="utf-8")
    print_summary(doc)
    print(f"\nwrote {out / 'bench.json'}, {out / 'bench.svg'}, {out / 'bench.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
