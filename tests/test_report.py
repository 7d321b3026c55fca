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


# In the suite's order: module by module (file name order), each module's properties as it
# defines them (test_bytes.py defines test_zero_length_at_the_very_end before
# test_host_write_then_read_round_trips, so not in name order), then a module outside the suite.
SUITE_ORDER = [
    "test_address_wrap.py::test_load_at_the_edge",
    "test_address_wrap.py::test_offset_past_4gib_traps",
    "test_bulk.py::test_fill_sets_exactly_its_bytes",
    "test_bytes.py::test_zero_length_at_the_very_end",
    "test_bytes.py::test_host_write_then_read_round_trips",
    "test_strings.py::test_unencodable_text_is_refused_before_the_boundary",
    "test_zz_mine.py::test_a_users_own",
]


def _completion_order(seed: int) -> Report:
    """A report whose results came in a shuffled order, as under pytest-xdist."""
    import random

    report = Report(profile="quick")
    for rid in ("wasmtime", "wasm3"):
        report.runtimes[rid] = RuntimeRecord(rid)
    results = [Result(prop, rt, "pass", 0.5, case="") for prop in SUITE_ORDER[:-2] + SUITE_ORDER[-1:]
               for rt in ("wasmtime", "wasm3")]
    results.append(Result(SUITE_ORDER[-2], "host", "pass", 0.1))
    random.Random(seed).shuffle(results)
    for r in results:
        report.add(r)
        report.examples[f"{r.property} {r.runtime}"] = 10
    chose = SUITE_ORDER[1:4]
    random.Random(seed).shuffle(chose)
    report.choices = {p: {"wasm3": ["a"]} for p in chose}
    return report


def test_results_are_in_suite_order_in_json_md_and_html() -> None:
    expected = [(p, rt) for p in SUITE_ORDER
                for rt in (("host",) if p.startswith("test_strings") else ("wasmtime", "wasm3"))]
    texts = []
    for seed in range(5):
        report = _completion_order(seed)
        data = report.to_json()
        assert [(r["property"], r["runtime"]) for r in data["results"]] == expected
        assert [k.rpartition(" ")[0] for k in data["examples"]] == [p for p, _ in expected]
        assert list(data["choices"]) == [p for p in SUITE_ORDER if p in data["choices"]]
        assert list(data["summary"]) == ["wasmtime", "wasm3", "host"]
        md = report.markdown()
        rows = [line.split("`")[1] for line in md.split("## Properties")[1].split("Totals")[0].splitlines()
                if line.startswith("| `")]
        assert rows == SUITE_ORDER
        html = render(data)
        assert re.findall(r'<tr class="prop[^"]*" data-property="([^"]+)"', html) == SUITE_ORDER
        # the same suite in another completion order: the same text, but for the clock
        texts.append(md.split("\n", 3)[3])
    assert len(set(texts)) == 1


def test_html_puts_a_report_json_of_any_order_in_suite_order() -> None:
    data = _completion_order(1).to_json()
    data["results"].reverse()
    html = render(data)
    assert re.findall(r'<tr class="prop[^"]*" data-property="([^"]+)"', html) == SUITE_ORDER


def test_memory_at_its_edges_says_what_a_runtime_does_with_invalid_modules() -> None:
    report = Report(profile="quick")
    for rid in ("strict", "lax", "elsewhere"):
        report.runtimes[rid] = RuntimeRecord(rid)
    for name in ("test_address_operand_must_be_i32", "test_alignment_hint_at_most_natural"):
        report.add(Result(f"test_validation.py::{name}", "strict", "pass"))
    report.add(Result("test_validation.py::test_extended_constant_data_offsets", "strict",
                      "known-divergence"))
    report.add(Result("test_validation.py::test_global_get_in_data_offsets", "strict", "fail"))
    report.add(Result("test_validation.py::test_address_operand_must_be_i32", "lax", "known-divergence"))
    report.add(Result("test_validation.py::test_alignment_hint_at_most_natural", "lax", "fail"))
    report.add(Result("test_validation.py::test_memory_index_past_the_last_memory", "lax", "skip"))
    report.add(Result("test_bytes.py::test_one", "elsewhere", "pass"))
    edges = report.to_json()["memory_edges"]
    # extended constant expressions are a feature's semantics, not a refusal: not counted here
    assert edges["strict"]["validation"] == "refuses every invalid module (2 properties)"
    assert edges["lax"]["validation"] == ("runs invalid modules (2 of 2 properties): "
                                          "address operand must be i32; alignment hint at most natural")
    assert edges["elsewhere"]["validation"] == "not checked"


def test_memory_at_its_edges_shows_imports_sharing_and_shared_memory_side_by_side() -> None:
    """Each family a probe gates is a refusal (the probe's reason), or how many of its properties
    pass, with the ones that do not by outcome; the cases of test_imports.py are told apart by
    who provides the memory."""
    report = Report(profile="quick")
    for rid in ("linker", "loner"):
        report.runtimes[rid] = RuntimeRecord(rid)
    report.runtimes["linker"].probes = {"features": {}, "state": {
        "host_memory": "works", "import_memory": "works", "shared_memory": "absent",
        "component_model": "works", "component_utf16": "works", "component_latin1_utf16": "absent"},
        "detail": {"shared_memory": "module refused: error invalid-module (no threads)"}}
    report.runtimes["loner"].probes = {"features": {}, "state": {
        "host_memory": "absent", "import_memory": "absent", "shared_memory": "works",
        "component_model": "absent"},
        "detail": {"host_memory": "memory_new refused: error unsupported (no API)",
                   "import_memory": "module refused: error unsupported (no API)",
                   "component_model": "module refused: error unsupported (no jco here)"}}
    report.add(Result("test_canonical_abi.py::test_echo_round_trips", "linker", "pass"))
    report.add(Result("test_canonical_abi.py::test_realloc_calls_are_the_engines", "linker",
                      "known-divergence"))
    for name in ("test_writes_by_one_instance_are_seen_by_all", "test_grows_are_seen_by_every_instance"):
        report.add(Result(f"test_imports.py::{name}", "linker", "pass", case="host"))
        report.add(Result(f"test_imports.py::{name}", "linker", "pass", case="instance"))
    report.add(Result("test_imports.py::test_data_segments_into_an_imported_memory", "linker",
                      "known-divergence", case="instance"))
    report.add(Result("test_shared_memory.py::test_atomics", "loner", "fail"))
    report.add(Result("test_shared_memory.py::test_views", "loner", "pass"))
    edges = report.to_json()["memory_edges"]
    assert edges["linker"]["imports"] == "yes: 2 of 2 properties pass"
    assert edges["linker"]["sharing_between_instances"] == (
        "yes: 2 of 3 properties pass; known-divergence: data segments into an imported memory")
    assert edges["linker"]["shared_memory"] == "no: module refused: error invalid-module (no threads)"
    assert edges["loner"]["imports"] == "no: memory_new refused: error unsupported (no API)"
    assert edges["loner"]["sharing_between_instances"] == "no: module refused: error unsupported (no API)"
    assert edges["loner"]["shared_memory"] == "yes: 1 of 2 properties pass; fail: atomics"
    assert edges["linker"]["canonical_abi"] == (
        "yes: 1 of 2 properties pass; known-divergence: realloc calls are the engines; strings in utf8, "
        "utf16 (not latin1+utf16: the examples drawn in it ran in the next one)")
    assert edges["loner"]["canonical_abi"] == "no: module refused: error unsupported (no jco here)"
    keys = list(edges["linker"])
    assert keys[keys.index("imports"):keys.index("validation") + 1] == [
        "imports", "sharing_between_instances", "shared_memory", "resizable_buffers", "canonical_abi",
        "validation"]


def test_memory_at_its_edges_reports_embedder_limits_as_limits() -> None:
    report = Report(profile="quick")
    for rid in ("v8", "other"):
        report.runtimes[rid] = RuntimeRecord(rid)
    report.choices["test_embedder_limits.py::test_memory64_declared_maximum"] = {"v8": [
        "a module's memory64: accepts a maximum of 65537 pages",
        "a module's memory64: accepts a maximum of 262144 pages",
        "a module's memory64: refuses a maximum of 4294967296 pages",
        "a module's memory64: refuses a maximum of 262145 pages"],
        "other": ["a module's memory64: accepts a maximum of 281474976710656 pages"]}
    edges = report.to_json()["memory_edges"]
    assert edges["v8"]["embedder_limits"] == (
        "a module's memory64: refuses a maximum of 262145 pages (its limit), accepts 262144")
    assert edges["other"]["embedder_limits"] == (
        "a module's memory64: no limit below 2**48 pages (accepted up to 281474976710656)")
    report.runtimes["third"] = RuntimeRecord("third")
    assert report.to_json()["memory_edges"]["third"]["embedder_limits"] == "not checked"
