"""report.html in a real headless browser: the matrix, its cells' details, no network.

One small real run of the suite (wasmtime and wasm3, whose known divergences show, and
wasmtime with a fault, drop-byte, for real failures with minimal scripts) writes the report;
Debian's chromium, driven by Playwright, opens report.html from disk. Without chromium or
Playwright the browser tests are skipped, saying how to get them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.report import worst_cells
from conformance.report.html import detail_id, render

ROOT = Path(__file__).resolve().parent.parent
FAULTY = Path(__file__).resolve().parent / "faulty_driver.py"
LATEST = ROOT / "reports" / "latest"
RUNTIMES = ("wasmtime", "wasm3", "faulty-drop-byte")
SELECTION = "zero_length_at_the_very_end or host_write_then_read or a_maximum_of_zero"
# The colours of report.html's CSS, as the browser computes them.
COLOURS = {
    "pass": "rgb(46, 139, 62)",
    "fail": "rgb(211, 48, 47)",
    "known-divergence": "rgb(224, 161, 0)",
    "skip": "rgb(154, 154, 154)",
    "crash": "rgb(122, 13, 13)",
    "timeout": "rgb(91, 42, 134)",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A real run; its report directory and report.json."""
    work = tmp_path_factory.mktemp("html-report")
    report_dir = work / "report"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:warnings",
         "--wasm-profile=quick", f"--wasm-runtime={','.join(RUNTIMES)}",
         f"--wasm-driver=faulty-drop-byte={sys.executable} {FAULTY} drop-byte",
         "-k", SELECTION, f"--wasm-report-dir={report_dir}"],
        cwd=work, capture_output=True, text=True, timeout=600,
    )
    assert (report_dir / "report.html").exists(), \
        f"no report.html\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    report: dict[str, Any] = json.loads((report_dir / "report.json").read_text())
    outcomes = {r["outcome"] for r in report["results"]}
    assert {"pass", "fail", "known-divergence"} <= outcomes, (outcomes, proc.stdout[-3000:])
    return report_dir, report


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium: `make setup` as root installs it (Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("no Playwright: `make setup` installs it (the dev extra)")
    with sync_playwright() as p:
        # Debian's chromium, never a browser of Playwright's own
        launched = p.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, run: tuple[Path, dict[str, Any]]) -> Iterator[tuple[Any, list[str]]]:
    """report.html open in a fresh page; the URLs of every request the page made."""
    report_dir, _ = run
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((report_dir / "report.html").as_uri())
    yield page, requests
    page.close()


def _result(report: dict[str, Any], outcome: str, runtime: str | None = None) -> dict[str, Any]:
    return next(r for r in report["results"]
                if r["outcome"] == outcome and (runtime is None or r["runtime"] == runtime))


def _cell(page: Any, result: dict[str, Any]) -> Any:
    return page.locator(f'#matrix td.cell[data-property="{result["property"]}"]'
                        f'[data-runtime="{result["runtime"]}"]')


def test_the_matrix_renders_a_coloured_cell_per_result(page: tuple[Any, list[str]],
                                                     run: tuple[Path, dict[str, Any]]) -> None:
    pg, _ = page
    _, report = run
    properties = list(dict.fromkeys(r["property"] for r in report["results"]))
    rows = pg.locator("#matrix tbody tr")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.property)") == properties
    headers = pg.locator("#matrix thead th[data-runtime]").evaluate_all(
        "ths => ths.map(th => th.dataset.runtime)")
    assert headers == list(RUNTIMES)
    for result in worst_cells(report["results"]).values():  # a cell shows its property's worst case
        cell = _cell(pg, result)
        assert cell.count() == 1, result
        assert cell.get_attribute("data-outcome") == result["outcome"]
        assert f"o-{result['outcome']}" in (cell.get_attribute("class") or "")
        assert cell.is_visible()
        colour = cell.evaluate("td => getComputedStyle(td).backgroundColor")
        assert colour == COLOURS[result["outcome"]], (result["property"], result["runtime"], colour)
    assert pg.locator("#matrix tbody td.cell").count() == len(properties) * len(RUNTIMES)
    assert pg.locator("#runtimes tbody tr").count() == len(RUNTIMES)
    assert pg.locator("#memory-edges tbody tr").count() == len(report["memory_edges"])
    assert pg.locator("#guests tbody tr").count() == len(report["guests"])
    assert pg.locator("dialog[open]").count() == 0


def test_the_matrix_comes_first_then_the_charts_then_every_section(
        page: tuple[Any, list[str]], run: tuple[Path, dict[str, Any]]) -> None:
    """The matrix is the page's first table, right after the header; the charts after it; then
    the tables, among them the md's "Examples run" and "Known divergences"."""
    pg, _ = page
    report_dir, report = run
    assert pg.locator("table").first.get_attribute("id") == "matrix"
    sections = pg.locator("body > section").evaluate_all("ss => ss.map(s => s.id)")
    assert sections[:2] == ["matrix-section", "charts"], sections
    assert {"examples", "known-divergences", "failures"} <= set(sections), sections
    matrix_top = pg.locator("#matrix").evaluate("t => t.getBoundingClientRect().top")
    assert matrix_top < 600, matrix_top  # no screens of tables before it
    # every section heading of report.md is a heading of report.html
    md_headings = [line[3:].strip() for line in (report_dir / "report.md").read_text().splitlines()
                   if line.startswith("## ")]
    html_headings = pg.locator("h2").evaluate_all("hs => hs.map(h => h.textContent)")
    for heading in md_headings:
        assert any(h.startswith(heading) for h in html_headings), (heading, html_headings)
    known = [r for r in report["results"] if r["outcome"] == "known-divergence"]
    assert pg.locator("#known-divergences tbody tr").count() == len(known)
    keys = {k.rpartition(" ")[0] for k in report["examples"]}
    assert pg.locator("#examples tbody tr").count() == len(keys)


def test_the_charts_render(page: tuple[Any, list[str]], run: tuple[Path, dict[str, Any]]) -> None:
    pg, _ = page
    _, report = run
    for ident in ("chart-outcomes-svg", "chart-time-svg", "chart-rates-svg"):
        svg = pg.locator(f"svg#{ident}")
        assert svg.count() == 1 and svg.is_visible(), ident
        assert svg.get_attribute("role") == "img"
        assert svg.locator("title").first.text_content(), ident
        box = svg.bounding_box()
        assert box["width"] > 200 and box["height"] > 40, (ident, box)
    # outcomes: a bar segment per (runtime, outcome) that occurred, its value the count
    counts: dict[tuple[str, str], int] = {}
    for r in report["results"]:
        key = (r["runtime"], r["outcome"].replace("-", " "))
        counts[key] = counts.get(key, 0) + 1
    bars = pg.locator("svg#chart-outcomes-svg rect.bar").evaluate_all(
        "rs => rs.map(r => [r.dataset.row, r.dataset.segment, Number(r.dataset.value)])")
    assert {(row, seg): n for row, seg, n in bars} == counts
    colours = pg.locator("svg#chart-outcomes-svg rect.bar").evaluate_all(
        "rs => rs.map(r => [r.dataset.segment, getComputedStyle(r).fill])")
    for segment, colour in colours:
        assert colour == COLOURS[segment.replace(" ", "-")], (segment, colour)
    # time: per runtime that took time, its driver part and the rest
    timed = [rec for rec in report["runtimes"] if rec["seconds"]]
    rows = pg.locator("svg#chart-time-svg g.row").count()
    assert rows == len(timed)
    driver = pg.locator('svg#chart-time-svg rect.bar[data-segment="waiting for the driver"]')
    assert driver.count() == sum(1 for rec in timed if rec["driver_seconds"] > 0)
    # examples per second: a cell per (property, runtime) with examples and time
    cells = pg.locator("svg#chart-rates-svg g.cell")
    assert cells.count() == len(report["examples_per_second"])
    for key, rate in report["examples_per_second"].items():
        prop, _, runtime = key.rpartition(" ")
        cell = pg.locator(f'svg#chart-rates-svg g.cell[data-row="{prop}"][data-column="{runtime}"]')
        assert cell.count() == 1, key
        assert abs(float(cell.get_attribute("data-value")) - rate) <= 0.1 + rate * 0.01, key
    assert pg.locator("svg#chart-bench-svg").count() == 0  # no bench.json in this directory


def test_the_bench_chart_when_bench_json_is_there(browser: Any, run: tuple[Path, dict[str, Any]],
                                                  tmp_path: Path) -> None:
    _, report = run
    bench = {"generated": "2026-01-01", "runtimes": {
        "wasmtime": {"available": True, "cases": {"call nop": {"median": 900.0},
                                                  "grow +1 page (host)": {"median": 15000.0}}},
        "wasm3": {"available": True, "cases": {"call nop": {"median": 400.0}}},
        "pywasm": {"available": False, "reason": "absent"}}}
    (tmp_path / "report.html").write_text(render(report, bench))
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        pg.goto((tmp_path / "report.html").as_uri())
        bars = pg.locator("svg#chart-bench-svg rect.bar")
        assert bars.count() == 3
        assert bars.evaluate_all("rs => rs.map(r => r.dataset.row + ' ' + r.dataset.segment)") == [
            "call nop wasmtime", "call nop wasm3", "grow +1 page (host) wasmtime"]
        assert pg.locator("svg#chart-bench-svg").is_visible()
    finally:
        pg.close()


def test_a_failing_cell_opens_its_details(page: tuple[Any, list[str]],
                                          run: tuple[Path, dict[str, Any]]) -> None:
    pg, _ = page
    report_dir, report = run
    failure = _result(report, "fail", "faulty-drop-byte")
    _cell(pg, failure).locator("button").click()
    dialog = pg.locator("dialog[open]")
    assert dialog.count() == 1
    assert dialog.get_attribute("id") == detail_id(failure["property"], failure["runtime"],
                                                   failure.get("case", ""))
    assert dialog.is_visible()
    assert dialog.get_attribute("data-outcome") == "fail"
    assert dialog.locator("dd.expected").inner_text() == failure["expected"].strip()
    assert dialog.locator("dd.got").inner_text() == failure["got"].strip()
    script = dialog.locator("pre.script").inner_text().splitlines()
    assert len(script) == len(failure["script"]["ops"])
    assert script[0].strip() == "0: (instantiate)"
    assert all(line.strip().startswith(f"{i}: (") for i, line in enumerate(script))
    assert dialog.locator("pre.replay").inner_text() == failure["replay"]
    assert "wasm-conformance replay" in failure["replay"]
    assert failure["message"].strip().splitlines()[0] in dialog.locator("pre.message").inner_text()
    detail = report_dir / "html-report-detail.png"
    pg.screenshot(path=str(detail))
    pg.keyboard.press("Escape")
    assert pg.locator("dialog[open]").count() == 0
    whole = report_dir / "report.png"
    pg.screenshot(path=str(whole), full_page=True)
    # reports/latest is output (git-ignored): the pictures to look at after `make test`
    LATEST.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(whole, LATEST / "html-report-screenshot.png")
    shutil.copyfile(detail, LATEST / "html-report-detail.png")


def test_a_known_divergence_cell_shows_its_reason(page: tuple[Any, list[str]],
                                                 run: tuple[Path, dict[str, Any]]) -> None:
    pg, _ = page
    _, report = run
    known = _result(report, "known-divergence", "wasm3")
    _cell(pg, known).locator("button").click()
    dialog = pg.locator("dialog[open]")
    assert dialog.get_attribute("data-outcome") == "known-divergence"
    assert dialog.locator("dd.reason").inner_text() == known["reason"]
    assert "reason (known divergence)" in dialog.inner_text()
    dialog.locator("form.close button").click()
    assert pg.locator("dialog[open]").count() == 0
    # another cell, and back: one dialog open at a time
    passed = _result(report, "pass", "wasmtime")
    _cell(pg, passed).locator("button").click()
    assert pg.locator("dialog[open]").get_attribute("data-outcome") == "pass"


def test_the_page_fetches_nothing(page: tuple[Any, list[str]], run: tuple[Path, dict[str, Any]]) -> None:
    pg, requests = page
    report_dir, _ = run
    for button in pg.locator("#matrix td.cell button").all():
        button.click()
        pg.keyboard.press("Escape")
    pg.locator("#only-divergent").check()
    pg.wait_for_load_state("networkidle")
    assert requests and all(url.startswith("file://") for url in requests), requests
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert "<link" not in html and " src=" not in html and "@import" not in html and "url(" not in html


def test_the_filter_hides_rows_where_everything_passed(page: tuple[Any, list[str]],
                                                        run: tuple[Path, dict[str, Any]]) -> None:
    pg, _ = page
    _, report = run
    pg.locator("#only-divergent").check()
    shown = pg.locator("#matrix tbody tr:visible").evaluate_all("rows => rows.map(r => r.dataset.property)")
    bad = {r["property"] for r in report["results"] if r["outcome"] not in ("pass", "skip")}
    assert set(shown) == bad


def test_everything_is_escaped() -> None:
    """Text from a report (a message, a reason, a runtime's name) never becomes markup."""
    evil = '<script>alert("x")</script>&<b>'
    report = {
        "started": evil, "profile": evil, "command": evil, "seconds": 1.0,
        "runtimes": [{"id": evil, "version": evil, "available": False, "reason": evil}],
        "results": [{"property": f"test_x.py::{evil}", "runtime": evil, "outcome": "fail", "message": evil,
                     "expected": evil, "got": evil, "replay": evil,
                     "script": {"guest": evil, "ops": [{"op": "instantiate"}], "wat": evil}}],
        "choices": {evil: {evil: [evil]}}, "memory_edges": {evil: {"capacity": evil}},
        "warnings": [evil], "guests": [{"name": evil, "sha256": evil, "bytes": 1}],
    }
    html = render(report)
    assert "<script>alert" not in html and "<b>" not in html
    assert html.count("<script>") == 1  # the page's own
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&lt;b&gt;" in html

