"""The feature probes' own answers: a feature that loads but answers wrongly is a failure.

Each runtime is probed once per run (conformance/probes.py): bulk memory, multi-memory,
memory64, a host-side grow, i64 values at the call boundary. A probe concludes "absent" only
when the runtime refuses the module or the instruction; then the properties that need the
feature are skipped with that reason, and so is its case here. A module that loads and
answers wrongly is no missing feature: its properties still run, and here its probe script is
checked outcome by outcome, so the run fails even where no property happens to meet the bug.
"""

from __future__ import annotations

import pytest

from conformance import WasmRuntime, check_script
from conformance.checks import fail_at
from conformance.probes import FEATURES, PROBES, judge


@pytest.mark.parametrize("feature", FEATURES)
def test_probe_answers_as_the_spec_says(wasm_runtime: WasmRuntime, feature: str) -> None:
    """A feature probe the runtime did not refuse answers as the spec says, outcome by outcome."""
    features = wasm_runtime.features
    if features is not None and features.absent(feature):
        pytest.skip(f"{wasm_runtime.id} lacks {feature}: {features.why_not(feature)}")
    probe = PROBES[feature]
    if probe.spec_only:  # the reference runtime lacks it: the probe's own expectations alone
        result = wasm_runtime.run(probe.script)
        if result.status != "ok":
            check_script(wasm_runtime, probe.script)  # a crash or a timeout, as for every property
        outcomes = result.outcomes
        state, detail = judge(probe, "ok", outcomes)
        if state == "wrong":
            index = next(i for i, (got, want) in enumerate(zip(outcomes, probe.expected, strict=True))
                         if not got.same_as(want))
            fail_at(wasm_runtime, probe.script, result, index, str(probe.expected[index]),
                    f"{wasm_runtime.id}: the {feature} probe {detail}\n{probe.script.describe()}\n",
                    spec=[(o,) for o in probe.expected])
    else:
        # The model (or, for a probe guest it does not know, the reference runtime) first ...
        outcomes = check_script(wasm_runtime, probe.script)
    # ... then the probe's own expectations, which hold on the reference runtime too.
    state, detail = judge(probe, "ok", outcomes)
    assert state != "wrong", f"{wasm_runtime.id}: the {feature} probe {detail}"
    if state == "absent":
        pytest.skip(f"{wasm_runtime.id} lacks {feature}: {detail}")
    if features is not None:
        assert features.state.get(feature) == "works", (
            f"{wasm_runtime.id}: the {feature} probe at the start of the run: {features.why_not(feature)}; "
            "now it works (a runtime whose answers change between runs of one script)")


def test_capacity_probe_answers_agree(wasm_runtime: WasmRuntime) -> None:
    """The capacity probe's grows answer the size before them (or -1), and memory.size and the
    host's size then say where memory ended: a runtime that answers otherwise there (memory.size
    wrapping at 4 GiB, say) must not pass as one that simply reaches less."""
    features = wasm_runtime.features
    assert features is not None
    if features.capacity_script is not None:  # the model names the wrong answer, with a replay
        check_script(wasm_runtime, features.capacity_script)
    assert not features.capacity_wrong, f"{wasm_runtime.id}: the capacity probe: {features.capacity_wrong}"
