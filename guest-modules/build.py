"""Assemble every ``*.wat`` here to the ``.wasm`` beside it.

    python guest-modules/build.py           # write the .wasm files
    python guest-modules/build.py --check   # exit 1 if any committed .wasm differs

``wasmtime.wat2wasm`` is deterministic: the same text gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def assemble(wat: Path) -> bytes:
    import wasmtime

    return bytes(wasmtime.wat2wasm(wat.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for wat in sorted(HERE.glob("*.wat")):
        wasm = wat.with_suffix(".wasm")
        built = assemble(wat)
        if args.check:
            if not wasm.exists() or wasm.read_bytes() != built:
                stale.append(wasm.name)
        elif not wasm.exists() or wasm.read_bytes() != built:
            wasm.write_bytes(built)
            print(f"wrote {wasm.name} ({len(built)} bytes)")
    if stale:
        print("out of date (run python guest-modules/build.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
