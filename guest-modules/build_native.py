"""Compile the native guests (Rust and C) to the ``.wasm`` files committed here.

    python guest-modules/build_native.py           # write rust_guest.wasm and c_alloc.wasm
    python guest-modules/build_native.py --check   # rebuild in a temp dir; exit 1 if a .wasm differs

The binaries are committed so the suite runs without the toolchains. A toolchain
that is missing here, or is not the release the committed module was built with
(another compiler release gives other bytes), is skipped: ``--check`` prints
``skipped: <toolchain> not found`` (or ``... is not the pinned ...``) and counts
it as passing; a plain build exits 1 for it.

The flags are fixed, and every source path is remapped to its path in the
repository, so the bytes do not depend on the checkout's location or on the
working directory: two builds give the same bytes.

Toolchains: ``/usr/bin/rustc`` with the wasm32-unknown-unknown standard library
(``$WASM_RUSTC`` overrides), ``/usr/bin/clang`` with wasi-libc and wasm-ld
(``$WASM_CLANG`` overrides).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The releases the committed modules were built with.
RUSTC_RELEASE = "1.63.0"
CLANG_RELEASE = "14.0.6"


class Skip(Exception):
    """The toolchain for a module is not usable here; the message says why."""


@dataclass(frozen=True)
class Native:
    wasm: str
    source: str  # relative to guest-modules/
    build: Callable[[Path, Path], list[str]]  # (source, output) -> argv; raises Skip


def _tool(env: str, default: str) -> str:
    path = os.environ.get(env) or default
    found = shutil.which(path)
    if found is None:
        raise Skip(f"skipped: {Path(path).name} not found ({path})")
    return found


def _output(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def rustc_argv(source: Path, out: Path) -> list[str]:
    rustc = _tool("WASM_RUSTC", "/usr/bin/rustc")
    version = _output([rustc, "--version"])
    match = re.match(r"rustc (\S+)", version)
    if match is None:
        raise Skip(f"skipped: rustc not found (no version from {rustc})")
    if match.group(1) != RUSTC_RELEASE:
        raise Skip(f"skipped: rustc {match.group(1)} is not the pinned {RUSTC_RELEASE}")
    libdir = _output([rustc, "--print", "target-libdir", "--target", "wasm32-unknown-unknown"])
    if not libdir or not any(Path(libdir).glob("libstd-*.rlib")):
        raise Skip("skipped: rustc's wasm32-unknown-unknown standard library not found")
    return [
        rustc,
        "--edition", "2021",
        "--target", "wasm32-unknown-unknown",
        "--crate-type", "cdylib",
        "--crate-name", "rust_guest",
        "-C", "opt-level=2",
        "-C", "panic=abort",
        "-C", "strip=symbols",
        "-C", "debuginfo=0",
        "--remap-path-prefix", f"{source.parent}=guest-modules/{source.parent.name}",
        "-o", str(out),
        str(source),
    ]  # fmt: skip


def clang_argv(source: Path, out: Path) -> list[str]:
    clang = _tool("WASM_CLANG", "/usr/bin/clang")
    version = _output([clang, "--version"])
    match = re.search(r"clang version (\d+\.\d+\.\d+)", version)
    if match is None:
        raise Skip(f"skipped: clang not found (no version from {clang})")
    if match.group(1) != CLANG_RELEASE:
        raise Skip(f"skipped: clang {match.group(1)} is not the pinned {CLANG_RELEASE}")
    libc = _output([clang, "--target=wasm32-wasi", "-print-file-name=libc.a"])
    if not Path(libc).is_absolute():
        raise Skip("skipped: wasi-libc not found (clang --target=wasm32-wasi has no libc.a)")
    linker = _output([clang, "--target=wasm32-wasi", "-print-prog-name=wasm-ld"])
    if not Path(linker).is_absolute():
        raise Skip("skipped: wasm-ld not found")
    return [
        clang,
        "--target=wasm32-wasi",
        "-O2",
        "-g0",
        "-Wall", "-Wextra",
        f"-ffile-prefix-map={source.parent}=guest-modules/{source.parent.name}",
        f"-fdebug-prefix-map={source.parent}=guest-modules/{source.parent.name}",
        "-nostartfiles",
        "-Wl,--no-entry",
        "-Wl,--strip-all",
        "-o", str(out),
        str(source),
    ]  # fmt: skip


NATIVES = (
    Native("rust_guest.wasm", "rust/guest.rs", rustc_argv),
    Native("c_alloc.wasm", "c/alloc.c", clang_argv),
)


def compile_native(native: Native, outdir: Path) -> bytes:
    """Build one module into ``outdir``; its bytes. Raises Skip, or RuntimeError if the compiler fails."""
    out = outdir / native.wasm
    argv = native.build(HERE / native.source, out)
    # The working directory is the scratch dir, so the caller's never matters.
    proc = subprocess.run(argv, cwd=outdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{native.wasm}: {' '.join(argv)}\n{proc.stdout}{proc.stderr}")
    return out.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale: list[str] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="build_native-") as tmp:
        for native in NATIVES:
            scratch = Path(tmp) / native.wasm.removesuffix(".wasm")
            scratch.mkdir()
            wasm = HERE / native.wasm
            try:
                built = compile_native(native, scratch)
            except Skip as skip:
                print(f"{native.wasm}: {skip}")
                failed = failed or not args.check
                continue
            except RuntimeError as err:
                print(err, file=sys.stderr)
                failed = True
                continue
            if not wasm.exists() or wasm.read_bytes() != built:
                if args.check:
                    stale.append(wasm.name)
                else:
                    wasm.write_bytes(built)
                    print(f"wrote {wasm.name} ({len(built)} bytes)")
            elif args.check:
                print(f"{native.wasm}: up to date ({len(built)} bytes)")
    if stale:
        print("out of date (run python guest-modules/build_native.py): " + ", ".join(stale))
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
