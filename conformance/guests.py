"""The guest modules every runtime loads: name, bytes, sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from conformance.guest_modules import GUEST_DIR


class UnknownGuest(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Guest:
    name: str
    path: Path
    sha256: str
    inline: bytes | None = None
    """the module's bytes, for a module generated from text (it has no file)"""
    text: str = ""
    """that text (sent too: drivers ignore it; tests/faulty_driver.py rewrites it)"""

    @property
    def wat(self) -> Path:
        return self.path.with_suffix(".wat")

    def to_wire(self) -> dict[str, str]:
        """How a request names the module (see docs/protocol.md)."""
        if self.inline is not None:
            return {"name": self.name, "hex": self.inline.hex(), "sha256": self.sha256,
                    **({"wat": self.text} if self.text else {})}
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256}


class ModuleTextError(ValueError):
    """A module's text that cannot be assembled (or no assembler here)."""


@cache
def assemble(wat: str) -> bytes:
    """The binary of a module's text, by wasmtime's ``wat2wasm`` (deterministic).

    It parses and encodes without validating, so a module the spec rejects (a
    memory of 65537 pages) assembles, and each runtime is asked to load it.
    """
    try:
        import wasmtime
    except ImportError as exc:
        raise ModuleTextError("assembling module text needs the wasmtime package "
                              "(pip install 'wasm-memory-conformance[runtimes]')") from exc
    try:
        return bytes(wasmtime.wat2wasm(wat))
    except Exception as exc:  # wasmtime.WasmtimeError: a syntax error in generated text
        raise ModuleTextError(f"module text does not assemble: {str(exc).splitlines()[0]}") from exc


def inline_guest(name: str, wat: str) -> Guest:
    wasm = assemble(wat)
    return Guest(name, Path(f"<{name}>"), hashlib.sha256(wasm).hexdigest(), wasm, wat)


@cache
def guest(name: str) -> Guest:
    """The committed guest module ``guest-modules/<name>.wasm``."""
    path = GUEST_DIR / f"{name}.wasm"
    if not path.is_file():
        known = ", ".join(g.name for g in all_guests()) or "none"
        raise UnknownGuest(f"no guest module {name!r} (known: {known})")
    return Guest(name, path, hashlib.sha256(path.read_bytes()).hexdigest())


def module_of(guest_name: str, module_path: str = "", wat: str = "") -> Guest:
    """The module a script runs: a committed guest, the file ``module_path`` names, or ``wat``."""
    if wat:
        return inline_guest(guest_name, wat)
    if not module_path:
        return guest(guest_name)
    path = Path(module_path)
    return Guest(guest_name, path, hashlib.sha256(path.read_bytes()).hexdigest())


def all_guests() -> list[Guest]:
    return [guest(p.stem) for p in sorted(GUEST_DIR.glob("*.wasm"))]
