"""Every property can fail: run the suite against drivers that are wrong in one way each.

Every fault is a runtime of its own (``faulty-<fault>``), run on the properties
it must fail (``tests/fault_selection.py``), all in one run of the suite,
installed-package style (``--pyargs``), under pytest-xdist; the report says
which properties failed on which, and each saved counterexample replays to the
same failure with one command. The run asks only whether a property fails, so it
does not shrink (``--wasm-no-shrink``): the quick profile's examples must find
each fault, and the first failing example is the counterexample.
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
FAULTY = HERE / "faulty_driver.py"

# fault -> the properties it must make fail (it may make others fail too)
EXPECTED_FAILURES: dict[str, set[str]] = {
    "stale": {
        "test_scripts.py::test_mixed_scripts_agree_with_the_model",
        "test_growth.py::test_views_across_a_grow",
        "test_bytes.py::test_host_reads_what_the_guest_wrote",
        "test_bytes.py::test_view_shares_memory_with_the_guest",
        "test_results.py::test_result_into_host_buffer_shows_truncation",
        "test_results.py::test_get_greeting_into_host_buffer",
        "test_results.py::test_result_in_module_allocated_memory",
        "test_strings.py::test_text_round_trips_through_the_guest",
    },
    "off-by-one-end": {
        "test_bytes.py::test_zero_length_at_the_very_end",
        "test_growth.py::test_grow_sequences_agree_with_the_model",
        "test_bytes.py::test_host_write_then_read_round_trips",
    },
    "drop-byte": {
        "test_ownership.py::test_host_allocates_the_rust_greeting_buffer",
        "test_ownership.py::test_rust_repr_c_point_layout",
        "test_layout.py::test_engine_compiler_and_runtime_agree_on_layout",
        "test_bytes.py::test_host_write_then_read_round_trips",
        "test_bytes.py::test_guest_reads_what_the_host_wrote",
        "test_strings.py::test_text_round_trips_through_the_guest",
    },
    "lenient-end": {
        "test_bytes.py::test_host_write_past_the_end_is_an_error",
        "test_bytes.py::test_host_read_past_the_end_is_an_error",
    },
    "swallow-trap": {
        "test_bytes.py::test_guest_access_past_the_end_traps",
        "test_bytes.py::test_instance_after_a_trap",
    },
    "sticky-instance": {
        "test_results.py::test_reinstantiation_starts_afresh",
        "test_traps.py::test_a_new_instance_after_a_trap_starts_afresh",
        "test_bulk.py::test_data_drop_is_per_instance",
    },
    "dirty-grow": {
        "test_grow.py::test_grown_memory_keeps_old_bytes_and_new_pages_are_zero",
        "test_growth.py::test_grow_sequences_agree_with_the_model",
    },
    "big-endian": {
        "test_endianness.py::test_guest_stores_little_endian",
        "test_endianness.py::test_guest_loads_the_hosts_little_endian_bytes",
        "test_endianness.py::test_signalling_nan_bits_survive_memory",
    },
    "float-bits": {
        "test_endianness.py::test_floats_across_the_call_boundary",
    },
    "segment-link-error": {
        "test_instantiation.py::test_active_data_segments_at_instantiation",
        "test_instantiation.py::test_tables_and_call_indirect",
    },
    "table-trap-other": {"test_instantiation.py::test_tables_and_call_indirect"},
    "lax-validation": {
        "test_validation.py::test_address_operand_must_be_i32",
        "test_validation.py::test_stored_value_must_have_the_store_type",
        "test_validation.py::test_alignment_hint_at_most_natural",
        "test_validation.py::test_memory_code_needs_a_memory",
        "test_validation.py::test_data_segment_needs_its_memory",
        "test_validation.py::test_memory_index_past_the_last_memory",
        "test_validation.py::test_memory_index_past_the_only_memory",
    },
    "const-sub-as-add": {
        "test_validation.py::test_extended_constant_data_offsets",
        "test_probes.py::test_probe_answers_as_the_spec_says",
    },
    "lax-import-limits": {"test_imports.py::test_import_limits_match_at_link_time"},
    "segments-checked-first": {"test_imports.py::test_data_segments_into_an_imported_memory"},
    "import-stale-read": {"test_imports.py::test_writes_by_one_instance_are_seen_by_all"},
    "size-at-link": {"test_imports.py::test_grows_are_seen_by_every_instance"},
    "lax-host-limits": {"test_embedder_limits.py::test_host_memory_limits"},
    "memory64-max-unchecked": {"test_embedder_limits.py::test_memory64_declared_maximum"},
    "host-memory64-max-ignored": {"test_embedder_limits.py::test_host_memory64_maximum"},
    "shared-view-follows": {"test_shared_memory.py::test_exported_shared_memory_is_never_detached"},
    "host-shared-detach": {"test_shared_memory.py::test_host_shared_memory_is_never_detached"},
    "narrow-rmw-sign-extended": {"test_shared_memory.py::test_atomic_read_modify_write"},
    "wait-unshared-times-out": {"test_shared_memory.py::test_wait_and_notify"},
    "shared-no-maximum": {"test_shared_memory.py::test_shared_memory_needs_a_maximum"},
    "link-ignores-shared": {"test_shared_memory.py::test_shared_limits_at_link"},
    "global-offset-ignored": {
        "test_validation.py::test_global_get_in_data_offsets",
        "test_probes.py::test_probe_answers_as_the_spec_says",
    },
    "resizable-view-fixed": {"test_resizable_buffers.py::test_resizable_views_across_grows"},
    "zeroed-reuse": {
        "test_ownership.py::test_memory_reused_after_free_is_not_zero",
    },
    "no-free": {
        "test_ownership.py::test_leaks_and_steady_state",
        "test_ownership.py::test_memory_reused_after_free_is_not_zero",
    },
    "misaligned-alloc": {
        "test_ownership.py::test_arena_reset_per_request",
        "test_ownership.py::test_module_allocates_and_the_host_frees",
    },
    "signed-grow": {
        "test_grow.py::test_guest_grow_past_the_limit_fails",
        "test_growth.py::test_grow_by_a_huge_delta_fails",
    },
    "grow-new-size": {
        "test_grow.py::test_grown_memory_keeps_old_bytes_and_new_pages_are_zero",
        "test_growth.py::test_grow_sequences_agree_with_the_model",
        "test_growth.py::test_memory64_grow_sequences_agree_with_the_model",
    },
    "ignore-maximum": {
        "test_growth.py::test_grow_sequences_agree_with_the_model",
        "test_growth.py::test_a_maximum_of_zero_pages_is_a_maximum",
        "test_growth.py::test_views_across_a_grow",
    },
    "lax-limits": {
        "test_growth.py::test_declared_limits_at_the_cap",
    },
    "partial-bulk": {
        "test_bulk.py::test_trapping_bulk_op_writes_nothing",
        "test_bulk.py::test_bulk_sequences_agree_with_the_model",
    },
    "forward-copy": {"test_bulk.py::test_copy_is_memmove_in_both_directions"},
    "short-fill": {"test_bulk.py::test_fill_sets_exactly_its_bytes"},
    "init-offset": {"test_bulk.py::test_init_copies_from_the_segment"},
    "drop-ignored": {"test_bulk.py::test_init_and_drop"},
    "zero-end-trap": {"test_bulk.py::test_zero_length_at_the_very_end_is_fine"},
    "lenient-zero": {"test_bulk.py::test_zero_length_past_the_end_traps"},
    "wrong-after-trap": {"test_traps.py::test_instance_keeps_working_after_any_trap"},
    "shared-memories": {
        "test_multi_memory.py::test_memories_are_separate",
        "test_multi_memory.py::test_multi_memory_sequences_agree_with_the_model",
    },
    "shared-grow": {
        "test_multi_memory.py::test_memories_grow_on_their_own",
        "test_multi_memory.py::test_multi_memory_sequences_agree_with_the_model",
    },
    # a probe that takes a wrong answer for a missing feature would skip test_bulk.py altogether
    "short-copy-down": {
        "test_probes.py::test_probe_answers_as_the_spec_says",
        "test_bulk.py::test_copy_is_memmove_in_both_directions",
    },
    # refusals the spec allows, but not of 0 pages, nor below what the run saw the runtime reach
    "refuse-zero-grow": {
        "test_growth.py::test_grow_sequences_agree_with_the_model",
        "test_grow.py::test_grown_memory_keeps_old_bytes_and_new_pages_are_zero",
    },
    # a refusal of some i64 values is a wrong answer, not a missing capability to leave out
    "negative-i64-bad-call": {
        "test_probes.py::test_probe_answers_as_the_spec_says",
        "test_endianness.py::test_guest_stores_little_endian",
    },
    # the capacity probe must not take a wrong memory.size for a smaller memory
    "size-wraps": {"test_probes.py::test_capacity_probe_answers_agree"},
    # "unsupported" only where the probe found the host API refused too
    "view-unsupported-grown": {"test_growth.py::test_views_across_a_grow"},
    "unsupported-big-grow": {
        "test_grow.py::test_grown_memory_keeps_old_bytes_and_new_pages_are_zero",
        "test_growth.py::test_grow_sequences_agree_with_the_model",
    },
    "refuse-grow-by-one": {
        "test_probes.py::test_probe_answers_as_the_spec_says",
        "test_growth.py::test_grow_sequences_agree_with_the_model",
        "test_multi_memory.py::test_memories_grow_on_their_own",
    },
    "wrapping-offset": {
        "test_address_wrap.py::test_load_at_the_edge",
        "test_address_wrap.py::test_offset_past_4gib_traps",
    },
    "edge-off-by-one": {
        "test_address_wrap.py::test_load_at_the_edge",
        "test_address_wrap.py::test_computed_addresses_wrap",
        "test_address_wrap.py::test_loaded_integers_consumed",
        "test_address_wrap.py::test_loaded_floats_consumed",
    },
    # backend bugs of instruction selection (tests/isel_faults.py)
    "fused-overread": {
        "test_instruction_selection.py::test_loaded_value_in_every_operand_position",
        "test_instruction_selection.py::test_load_op_store_at_the_edge",
    },
    "narrowed-load": {"test_instruction_selection.py::test_loaded_value_in_every_operand_position"},
    "scaled-index-wrap": {"test_instruction_selection.py::test_addressing_modes_at_every_distance"},
    "offset-folded-into-index": {"test_instruction_selection.py::test_addressing_modes_at_every_distance"},
    "add-folded-into-offset": {"test_instruction_selection.py::test_addressing_modes_at_every_distance"},
    "rmw-lost-trap": {"test_instruction_selection.py::test_load_op_store_at_the_edge"},
    "straddle-wrong-page": {
        "test_page_boundaries.py::test_guest_loads_straddling_a_page_boundary",
        "test_page_boundaries.py::test_host_accesses_straddling_a_page_boundary",
    },
    "straddle-store-lost": {"test_page_boundaries.py::test_guest_stores_straddling_a_page_boundary"},
    "chunked-read": {"test_page_boundaries.py::test_host_accesses_straddling_a_page_boundary"},
    "chunked-write": {"test_page_boundaries.py::test_host_accesses_straddling_a_page_boundary"},
    "cap-size-wrap": {"test_memory_cap.py::test_size_and_grow_at_the_cap"},
    "host-size-u32": {"test_memory_cap.py::test_size_and_grow_at_the_cap",
                      "test_probes.py::test_capacity_probe_answers_agree"},
    "cap-grow-refused": {"test_memory_cap.py::test_size_and_grow_at_the_cap"},
    "cap-grow-past": {"test_memory_cap.py::test_size_and_grow_at_the_cap"},
    "cap-wrap-access": {"test_memory_cap.py::test_last_bytes_of_a_4gib_memory"},
    # component calls, the canonical ABI (tests/component_faults.py)
    "lift-drops-payload": {"test_canonical_abi.py::test_echo_round_trips"},
    "list-big-endian": {"test_canonical_abi.py::test_lowered_bytes_are_the_engines"},
    "realloc-worst-case": {"test_canonical_abi.py::test_realloc_calls_are_the_engines"},
    # (test_known_cases' empty string, which the binding lowers: its other cases fail on every faulty
    # runtime, the binding's bug that wasmtime.toml pins and the faulty driver cannot correct)
    "post-return-ignored": {"test_canonical_abi.py::test_post_return_runs_once_per_call",
                            "test_canonical_abi.py::test_known_cases[empty-string]"},
    "string-lift-lossy": {"test_canonical_abi_traps.py::test_invalid_strings_trap"},
    "list-length-clamped": {"test_canonical_abi_traps.py::test_out_of_bounds_and_misaligned_lists_trap"},
    "char-replaced": {"test_canonical_abi_traps.py::test_out_of_range_chars_and_discriminants"},
    "return-area-unaligned": {
        "test_canonical_abi_traps.py::test_misaligned_or_out_of_bounds_return_area_traps"},
    "flags-extra-bits-trap": {"test_canonical_abi_traps.py::test_out_of_range_chars_and_discriminants"},
    "string-encoding-ignored": {"test_canonical_abi.py::test_lowered_bytes_are_the_engines"},
    "realloc-answer-unchecked": {"test_canonical_abi_traps.py::test_bad_realloc_answers_trap"},
}
JS_FAULTS = frozenset({"realloc-worst-case"})
"""faults of node's jco host (tests/jco_faults.js: jco's real glue, edited), not of the faulty driver:
each runs as node pinned to a wrapper that preloads it (node@<fault>), with js.toml's pins"""


def runtime_id(fault: str) -> str:
    return f"node@{fault}" if fault in JS_FAULTS else f"faulty-{fault}"


def driver_option(fault: str) -> str:
    return f"{runtime_id(fault)}={sys.executable} {FAULTY} {fault}"


def runtime_options(fault: str) -> list[str]:
    """How a command names the fault's runtime: ``--wasm-runtime`` (with a node fault's pin) and,
    for the faulty driver, the ``--wasm-driver`` that defines it."""
    if fault in JS_FAULTS:
        return [f"--wasm-runtime={runtime_id(fault)}={node_wrapper(fault)}"]
    return [f"--wasm-runtime={runtime_id(fault)}", f"--wasm-driver={driver_option(fault)}"]


def node_wrapper(fault: str) -> Path:
    """An executable that runs node with tests/jco_faults.js preloaded for ``fault`` (made once, in
    a folder of this test session's), for the pin node@<fault>=<it>."""
    from conformance.runtimes import known_runtimes

    spec = known_runtimes()["node"]
    if spec.missing:
        pytest.skip(f"{fault} runs on node: {spec.missing}")
    global _wrappers
    if _wrappers is None:
        _wrappers = Path(tempfile.mkdtemp(prefix="wasm-conformance-fault-wrappers-"))
        atexit.register(shutil.rmtree, _wrappers, True)
    path = _wrappers / f"node-{fault}"
    if not path.exists():
        path.write_text(f"#!/bin/sh\nJCO_FAULT={shlex.quote(fault)} exec {shlex.quote(spec.command[0])} "
                        f"-r {shlex.quote(str(HERE / 'jco_faults.js'))} \"$@\"\n")
        path.chmod(0o755)
    return path


_wrappers: Path | None = None


def run_suite(faults: str | list[str], workdir: Path, *extra: str,
              env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the suite on the faulty runtimes of ``faults`` (one, or several side by side)."""
    faults = [faults] if isinstance(faults, str) else faults
    workdir.mkdir(parents=True, exist_ok=True)
    options = [option for f in faults for option in runtime_options(f)]
    runtimes = [o.split("=", 1)[1] for o in options if o.startswith("--wasm-runtime=")]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--pyargs", "conformance.suite", "-q", "-p", "no:warnings",
         "--wasm-profile=quick", "--wasm-no-shrink", f"--wasm-report-dir={workdir / 'report'}",
         *(o for o in options if o.startswith("--wasm-driver=")),
         f"--wasm-runtime={','.join(runtimes)}", *extra],
        cwd=workdir, capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})},
    )
    report_path = workdir / "report" / "report.json"
    assert report_path.exists(), f"{faults}: no report written\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    report: dict[str, Any] = json.loads(report_path.read_text())
    report["_exit"] = proc.returncode
    report["_stdout"] = proc.stdout
    return report


@pytest.fixture(scope="module")
def fault_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One run of the suite with every faulty runtime, each on the properties its fault must fail
    (tests/fault_selection.py), under pytest-xdist: one pytest process, not one per fault. Each
    fault's view of it is the report with that runtime's results only."""
    base = tmp_path_factory.mktemp("faults")
    # $WASM_CONFORMANCE_FAULTS=a,b runs only those faults (their tests: -k a or b); unset, all
    only = {f for f in os.environ.get("WASM_CONFORMANCE_FAULTS", "").split(",") if f}
    faults = [f for f in EXPECTED_FAILURES if not only or f in only]
    selection = base / "selection.json"
    selection.write_text(json.dumps({runtime_id(f): sorted({p.split("[")[0] for p in EXPECTED_FAILURES[f]})
                                     for f in faults}))
    # $WASM_CONFORMANCE_FAULT_SEED=N: the quick profile's example count with seed N's examples, not
    # the derandomized ones, to find a fault that those catch by luck (tests/random_quick.py)
    seed = os.environ.get("WASM_CONFORMANCE_FAULT_SEED", "")
    seeded = ("-p", "random_quick", f"--hypothesis-seed={seed}") if seed else ()
    report = run_suite(faults, base, "-p", "fault_selection", *seeded, "-n", "2", "--dist", "loadgroup",
                       env={"WASM_FAULT_SELECTION": str(selection),
                            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])})
    return {f: _of_runtime(report, runtime_id(f)) for f in faults}


def _of_runtime(report: dict[str, Any], runtime: str) -> dict[str, Any]:
    return {**report, "results": [r for r in report["results"] if r["runtime"] == runtime],
            "runtimes": [r for r in report["runtimes"] if r["id"] == runtime]}


def outcomes(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each property's result; of a parametrised one, a failing case where there is one, and each
    case's own under ``property[case]``."""
    out: dict[str, dict[str, Any]] = {}
    for r in report["results"]:
        if r["property"] not in out or (r["outcome"] == "fail" and out[r["property"]]["outcome"] != "fail"):
            out[r["property"]] = r
        if r.get("case"):
            out[f"{r['property']}[{r['case']}]"] = r
    return out


def _report_of(fault: str, fault_reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if fault not in fault_reports:
        pytest.skip(f"{fault} is not in $WASM_CONFORMANCE_FAULTS")
    return fault_reports[fault]


@pytest.mark.parametrize("fault", sorted(EXPECTED_FAILURES))
def test_fault_fails_its_properties(fault: str, fault_reports: dict[str, dict[str, Any]]) -> None:
    report = _report_of(fault, fault_reports)
    results = outcomes(report)
    assert report["_exit"] == 1, "a run with failures exits 1"
    assert report["runtimes"][0]["ran"], f"{runtime_id(fault)} did not run"
    for prop in sorted(EXPECTED_FAILURES[fault]):
        result = results[prop]
        assert result["outcome"] == "fail", f"{fault} should fail {prop}, got {result['outcome']}"
        first = result["script"]["ops"][0]
        assert first == {"op": "instantiate"} or first["op"] in ("memory_new", "instantiate"), first
        assert runtime_id(fault) in result["message"] and "replay:" in result["message"]
        assert Path(result["counterexample"]).exists()


@pytest.mark.parametrize("fault", sorted(EXPECTED_FAILURES))
def test_counterexamples_replay_with_one_command(fault: str,
                                                 fault_reports: dict[str, dict[str, Any]]) -> None:
    """The saved scripts fail again on the faulty runtime: all of a fault's, in one replay command
    (``replay FILE...``), each file's replay under its name."""
    results = outcomes(_report_of(fault, fault_reports))
    props = sorted(EXPECTED_FAILURES[fault])
    files = [results[prop]["counterexample"] for prop in props]
    again = subprocess.run(
        [sys.executable, "-m", "conformance", "replay", *files,
         *(o.replace("--wasm-runtime=", "--runtime=") for o in runtime_options(fault))],
        capture_output=True, text=True, timeout=120,
    )
    assert again.returncode == 1, f"{fault}: no replay failed:\n{again.stdout}{again.stderr}"
    sections = replayed_files(again.stdout) if len(files) > 1 else {files[0]: again.stdout}
    assert list(sections) == files, again.stdout
    for prop, path in zip(props, files, strict=True):
        assert "DIFFERS" in sections[path], f"{prop} did not fail on replay:\n{sections[path]}{again.stderr}"


def replayed_files(stdout: str) -> dict[str, str]:
    """Each file's part of the output of ``replay FILE FILE...`` (from its ``=== FILE`` line on; one
    file's replay has no such line)."""
    sections: dict[str, str] = {}
    name = None
    for line in stdout.splitlines(keepends=True):
        if line.startswith("=== "):
            name = line[4:].rstrip("\n")
            sections[name] = ""
        elif name is not None:
            sections[name] += line
    return sections


def test_counterexample_is_the_drivers_fault_not_the_scripts(
        fault_reports: dict[str, dict[str, Any]]) -> None:
    """A script that a faulty driver fails is one the real wasmtime driver agrees on."""
    results = outcomes(_report_of("drop-byte", fault_reports))
    path = results["test_strings.py::test_text_round_trips_through_the_guest"]["counterexample"]
    good = subprocess.run([sys.executable, "-m", "conformance", "replay", path, "--runtime", "wasmtime"],
                          capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "agrees with the model" in good.stdout
    assert "got:   ok" in good.stdout and "model: ok" in good.stdout  # each outcome beside the model's


def test_segfaulting_driver_is_a_crash_and_the_run_goes_on(tmp_path: Path) -> None:
    report = run_suite("segfault", tmp_path, "-k",
                       "test_host_write_then_read_round_trips or test_guest_reads_what_the_host_wrote "
                       "or test_zero_length_at_the_very_end")
    results = outcomes(report)
    crashed = results["test_bytes.py::test_guest_reads_what_the_host_wrote"]
    assert crashed["outcome"] == "crash"
    assert "SIGSEGV" in crashed["message"]
    assert crashed["script"]["ops"]
    # the run went on after the crashes: a later property that makes no call passed
    assert results["test_bytes.py::test_host_write_then_read_round_trips"]["outcome"] == "pass"
    assert results["test_bytes.py::test_zero_length_at_the_very_end"]["outcome"] == "crash"
    assert report["runtimes"][0]["crashes"] >= 2


def test_hanging_driver_is_a_timeout_and_the_run_goes_on(tmp_path: Path) -> None:
    report = run_suite("hang", tmp_path, "--wasm-script-timeout=1", "-k",
                       "test_zero_length_at_the_very_end or test_host_write_past_the_end_is_an_error")
    results = outcomes(report)
    assert results["test_bytes.py::test_zero_length_at_the_very_end"]["outcome"] == "timeout"
    assert results["test_bytes.py::test_host_write_past_the_end_is_an_error"]["outcome"] == "pass"
    assert report["runtimes"][0]["timeouts"] >= 1
