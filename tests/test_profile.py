"""``make profile``: where the suite's seconds go, by layer (conformance/profile.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conformance.profile import OTHER, WAITING, layer_of, top_costs


def test_functions_go_to_their_layer() -> None:
    assert layer_of("~", "<method 'poll' of 'select.epoll' objects>") == WAITING
    assert layer_of("/x/site-packages/conformance/model/check.py", "check").startswith("the model")
    assert layer_of("/x/site-packages/hypothesis/core.py", "run") == "Hypothesis"
    assert layer_of("/x/conformance/driver_process.py", "_readline").startswith("the suite's side")
    assert layer_of("/usr/lib/python3.11/dataclasses.py", "__init__") == OTHER


def test_top_costs_rank_the_suite_and_the_self_tests_together() -> None:
    doc = {"suite": {"layers": {"a": 1.0, "b": 5.0}}, "tests": {"files": {"tests/t.py": 3.0}}}
    assert top_costs(doc, 2) == [("suite: b", 5.0), ("self-tests: tests/t.py", 3.0)]


def test_a_profile_of_one_property_says_where_its_seconds_went(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.profile", "--runtime", "wasm3", "-k",
         "test_host_write_then_read_round_trips", "--out", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((tmp_path / "profile.json").read_text())
    suite = doc["suite"]
    assert suite["exit"] == 0
    assert abs(sum(suite["layers"].values()) - suite["profiled"]) < 0.01 * suite["profiled"] + 1e-6
    assert suite["layers"][WAITING] > 0, "the script ran in the driver"
    assert list(suite["runtimes"]) == ["wasm3"] and suite["runtimes"]["wasm3"]["scripts"] > 0
    assert "test_bytes.py::test_host_write_then_read_round_trips" in suite["properties"]
    text = (tmp_path / "profile.md").read_text()
    assert "### Top 5" in text and "| layer | seconds | share |" in text
    assert "1. suite: " in proc.stdout
