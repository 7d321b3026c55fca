"""Known divergences: where a real runtime is really wrong, listed with a reason.

One TOML file per runtime (``divergences/<runtime>.toml``)::

    [[divergence]]
    test = "test_bytes.py::test_host_read_past_the_end_is_an_error"
    reason = "Memory.read clamps at the end of memory like a Python slice"

``test`` is a prefix of the property id ``<module file>::<test name>``. A listed
failure is expected (and still in the report); an unlisted one fails the run; an
entry that matches no collected test gives a warning.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

BUILTIN_DIR = Path(__file__).resolve().parent / "divergences"


class BadDivergenceFile(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Divergence:
    runtime: str
    test: str
    reason: str
    source: str

    def matches(self, property_id: str) -> bool:
        return property_id.startswith(self.test)


def load(directory: Path) -> dict[str, list[Divergence]]:
    """Every ``<runtime>.toml`` in ``directory``, by runtime id."""
    out: dict[str, list[Divergence]] = {}
    if not directory.is_dir():
        return out
    for path in sorted(directory.glob("*.toml")):
        runtime = path.stem
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise BadDivergenceFile(f"{path.name}: {exc}") from None
        entries = doc.get("divergence", [])
        for i, entry in enumerate(entries):
            test, reason = entry.get("test"), entry.get("reason")
            if not isinstance(test, str) or not test or not isinstance(reason, str) or not reason:
                raise BadDivergenceFile(f"{path.name}: entry {i + 1} needs a test and a reason")
            out.setdefault(runtime, []).append(Divergence(runtime, test, reason.strip(), path.name))
    return out


def find(table: dict[str, list[Divergence]], runtime: str, property_id: str,
         family: str = "") -> Divergence | None:
    """The entry for ``runtime`` that matches, else one of its ``family`` (see RuntimeSpec.base)."""
    for name in dict.fromkeys((runtime, family or runtime)):
        for entry in table.get(name, []):
            if entry.matches(property_id):
                return entry
    return None
