"""conformance/report/charts.py: each chart is one well-formed, labelled <svg>, its marks
counted and sized from the values given, every piece of text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from conformance.report.charts import Segment, grouped_bars, heat_map, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text and desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    return root


def _marks(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if e.get("class") == cls]


def test_stacked_bars_one_segment_per_nonzero_value_on_one_scale() -> None:
    rows = [("wasmtime", [Segment("pass", 30, "#0a0"), Segment("fail", 0, "#a00"),
                          Segment("skip", 10, "#999")]),
            ("wasm3", [Segment("pass", 10, "#0a0"), Segment("fail", 10, "#a00")])]
    root = _parse(stacked_bars("Outcomes", rows, bar_width=400))
    bars = _marks(root, "bar")
    assert [(b.get("data-row"), b.get("data-segment")) for b in bars] == [
        ("wasmtime", "pass"), ("wasmtime", "skip"), ("wasm3", "pass"), ("wasm3", "fail")]
    widths = [float(b.get("width", 0)) for b in bars]
    assert widths == [300.0, 100.0, 100.0, 100.0]  # the largest total (40) fills the 400 px
    # segments side by side: each starts where the one before it ended
    assert float(bars[1].get("x", 0)) == float(bars[0].get("x", 0)) + widths[0]
    assert all(b.find(f"{SVG}title") is not None for b in bars)
    assert "wasm3: 10 fail" in (bars[3].find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    legend = [t.text for g in _marks(root, "legend") for t in g.iter(f"{SVG}text")]
    assert legend == ["pass", "fail", "skip"]


def test_stacked_bars_of_nothing_draw_no_bar() -> None:
    root = _parse(stacked_bars("Empty", [("a", [Segment("x", 0, "#000")])]))
    assert _marks(root, "bar") == []


def test_heat_map_a_cell_per_value_darker_for_more() -> None:
    values = {("p1", "a"): 10.0, ("p1", "b"): 1000.0, ("p2", "a"): 100.0}
    root = _parse(heat_map("Rates", ["p1", "p2"], ["a", "b"], values, unit="/s"))
    cells = _marks(root, "cell")
    assert {(c.get("data-row"), c.get("data-column")) for c in cells} == set(values)
    fill = {(c.get("data-row"), c.get("data-column")): c.find(f"{SVG}rect").get("fill")  # type: ignore[union-attr]
            for c in cells}

    def darkness(colour: str | None) -> int:
        assert colour is not None
        return -sum(int(colour[i:i + 2], 16) for i in (1, 3, 5))

    assert darkness(fill[("p1", "a")]) < darkness(fill[("p2", "a")]) < darkness(fill[("p1", "b")])
    # on a log scale 100 is half way between 10 and 1000
    assert fill[("p2", "a")] == "#" + "".join(f"{round(p + (d - p) * .5):02x}"
                                               for p, d in zip((222, 235, 247), (8, 48, 107), strict=True))


def test_grouped_bars_on_a_log_scale() -> None:
    values = {("call", "x"): 100.0, ("call", "y"): 10_000.0, ("grow", "x"): 1000.0}
    root = _parse(grouped_bars("Bench", ["call", "grow"], ["x", "y"], values, log=True, bar_width=300))
    bars = _marks(root, "bar")
    assert [(b.get("data-row"), b.get("data-segment")) for b in bars] == [
        ("call", "x"), ("call", "y"), ("grow", "x")]
    widths = [float(b.get("width", 0)) for b in bars]
    # decades 100 .. 10 000 span the 300 px: 100 is the axis (drawn 2 px), 1000 half way, 10 000 all
    assert widths == [2.0, 300.0, 150.0]
    # a series keeps its colour across groups
    assert bars[0].get("fill") == bars[2].get("fill") != bars[1].get("fill")


def test_every_text_is_escaped() -> None:
    evil = '<script>alert("x")</script>&'
    for svg in (stacked_bars(evil, [(evil, [Segment(evil, 1, "#000")])], unit=evil),
                heat_map(evil, [evil], [evil], {(evil, evil): 1.0}),
                grouped_bars(evil, [evil], [evil], {(evil, evil): 1.0})):
        assert "<script>" not in svg
        _parse(svg)
