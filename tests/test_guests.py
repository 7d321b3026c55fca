"""The committed guest modules are what their WAT assembles to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conformance.guests import all_guests, guest

BUILD = Path(__file__).resolve().parents[1] / "guest-modules" / "build.py"


def test_rebuilding_the_guests_gives_identical_bytes() -> None:
    proc = subprocess.run([sys.executable, str(BUILD), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_guest_has_its_source_and_a_model() -> None:
    from conformance.model.guests import GUEST_MODELS

    names = {g.name for g in all_guests() if not g.name.startswith("probe_")}
    # compiled from Rust and C (guest-modules/build_native.py), checked against the
    # reference runtime rather than a model
    compiled = {"rust_guest": "rust/guest.rs", "c_alloc": "c/alloc.c"}
    assert names - set(compiled) == set(GUEST_MODELS)
    for name in names:
        g = guest(name)
        source = g.path.parent / compiled[name] if name in compiled else g.wat
        assert source.exists() and len(g.sha256) == 64
