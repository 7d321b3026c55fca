"""The report's matrix: a cell per property and runtime, showing the worst of its cases."""

from __future__ import annotations

import re

from conformance.report import Report, Result, RuntimeRecord, worst_cells
from conformance.report.html import render

PROP = "test_growth.py::test_declared_limits_at_the_cap"


def _report() -> Report:
    report = Report(profile="quick")
    report.runtimes["pywasm"] = RuntimeRecord("pywasm")
    report.runtimes["wasmtime"] = RuntimeRecord("wasmtime")
    cases = [f"mem32-{n}-none" for n in range(10)]
    for i, case in enumerate(cases):  # 8 known divergences, then 2 passes: the last case passes
        report.add(Result(PROP, "pywasm", "known-divergence" if i < 8 else "pass", case=case,
                          reason="limits are not validated", got="ok"))
        report.add(Result(PROP, "wasmtime", "pass", case=case))
    report.add(Result("test_bytes.py::test_one", "wasmtime", "fail", got="ok 3 bytes"))
    report.add(Result("test_bytes.py::test_one", "pywasm", "pass"))
    return report


def test_a_cell_shows_the_worst_of_its_cases_not_the_last() -> None:
    report = _report()
    cells = worst_cells(report.results)
    assert cells[(PROP, "pywasm")].outcome == "known-divergence"
    assert cells[(PROP, "wasmtime")].outcome == "pass"
    md = report.markdown()
    assert f"| `{PROP}` | pass (10 of 10 cases) | known divergence (8 of 10 cases) |" in md or \
        f"| `{PROP}` | known divergence (8 of 10 cases) | pass (10 of 10 cases) |" in md, md
    html = render(report.to_json())
    cell = re.search(rf'<td class="cell o-([a-z-]+)" data-property="{re.escape(PROP)}" data-runtime="pywasm"',
                     html)
    assert cell is not None and cell.group(1) == "known-divergence"


def test_every_dialog_id_is_unique_and_each_cell_opens_one() -> None:
    html = render(_report().to_json())
    ids = re.findall(r'<dialog[^>]* id="([^"]+)"', html)
    assert len(ids) == len(set(ids)) == 22  # one per result, each case its own
    for target in re.findall(r'data-detail="([^"]+)"', html):
        assert target in ids
