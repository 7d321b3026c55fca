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

    @property
    def wat(self) -> Path:
        return self.path.with_suffix(".wat")

    def to_wire(self) -> dict[str, str]:
        """How a request names the module (see docs/protocol.md)."""
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256}


@cache
def guest(name: str) -> Guest:
    """The committed guest module ``guest-modules/<name>.wasm``."""
    path = GUEST_DIR / f"{name}.wasm"
    if not path.is_file():
        known = ", ".join(g.name for g in all_guests()) or "none"
        raise UnknownGuest(f"no guest module {name!r} (known: {known})")
    return Guest(name, path, hashlib.sha256(path.read_bytes()).hexdigest())


def module_of(guest_name: str, module_path: str = "") -> Guest:
    """The module a script runs: a committed guest, or the file ``module_path`` names."""
    if not module_path:
        return guest(guest_name)
    path = Path(module_path)
    return Guest(guest_name, path, hashlib.sha256(path.read_bytes()).hexdigest())


def all_guests() -> list[Guest]:
    return [guest(p.stem) for p in sorted(GUEST_DIR.glob("*.wasm"))]
