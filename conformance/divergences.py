"""Known divergences: where a real runtime is really wrong, listed with a reason and pinned.

One TOML file per runtime (``divergences/<runtime>.toml``), or per family of runtimes
(``RuntimeSpec.base``: ``wasmtime.toml`` also covers ``wasmtime-winch`` and a pinned
``wasmtime@5``). Each entry names the properties it covers, why the runtime is wrong, and
**pins** the exact wrong outcome it describes::

    [[divergence]]
    test = "test_bytes.py::test_host_read_past_the_end_is_an_error"
    reason = "Memory.read clamps at the end of memory like a Python slice"
    op = "read"                    # the first operation whose outcome is wrong
    expected = "error out-of-range"
    got = "ok .*"
    length = "short"               # fewer bytes than asked (a zero-padded read is another bug)

``test`` is a prefix of the property id ``<module file>::<test name>`` (``"test_"`` covers
every property: for a wrong outcome that any property may come across, pinned narrowly). A
property may have several entries, one per wrong outcome. The other fields are the pin,
matched against the failure an example gives:

``kind``
    ``"mismatch"`` (the default): an operation's outcome differs from what the model, the
    reference runtime, or the property's own check expected; ``"crash"``: the driver
    process died; ``"timeout"``: it did not answer; ``"assertion"``: a plain ``assert`` of
    the property failed (not an operation's outcome).
``op`` (mismatch, required)
    the kind of the first differing operation: ``instantiate``, ``write``, ``read``,
    ``call``, ``grow``, ``size``, ``view``, ``view_read``, ``view_write``, ``view_length``.
``expected``, ``got`` (mismatch, required)
    regular expressions over the outcomes' text as reports print it: what was expected
    (alternatives joined by `` or ``, e.g. ``ok 0 or error grow-failed``) and what the
    runtime gave (``ok 3 bytes 000000``, ``ok [i32:-1]``, ``ok`` for a write, ``trap
    out-of-bounds (its message)``, ``error poisoned (its message)``); runs of spaces count as one.
``func`` (mismatch, ``op = "call"`` only)
    a regular expression over the called export's name.
``code`` (mismatch, ``op = "call"`` or ``"instantiate"`` only)
    a regular expression *searched* (``re.search``) in the text of the called function, for a
    script that carries its module as text (a module generated per example): the instruction
    shape the divergence needs, e.g. ``'i32\\.load[^\n]*\n\\s*i32\\.extend(8|16)_s'``; for an
    ``instantiate``, in the text of the whole module it instantiates (an import's limits). A
    script without module text never matches it.
``script`` (mismatch)
    a regular expression *searched* in the whole script as the report prints it (one operation a
    line, ``(memory_new $m i32 0 0)``), followed by the text of its modules: what else the
    divergence needs of the script, e.g. a memory made with a maximum of 0 pages.
``length`` (mismatch, ``op = "read"`` or ``"view_read"`` only)
    how many bytes an ``ok`` read gave against the length asked: ``"short"`` (fewer),
    ``"full"`` (as many), ``"long"`` (more).
``nan`` (mismatch)
    ``"quieted"``: the one value the runtime gave (a call's single result, or a read of 4 or 8
    bytes, little-endian) is the signalling NaN the model expected with its quiet bit set, as
    a float of that width (32 or 64 bits).
``message`` (crash, timeout: optional; assertion: required)
    a regular expression over the crash's detail (signal and the driver's stderr), the
    timeout's, or the assertion's text.

Every regular expression must match the **whole** text (``re.fullmatch``, ``.`` also
matching a newline); use ``.*`` where anything goes, and TOML literal strings ('...') for
backslashes. An entry without a pin, with an unknown field, or with a pin that cannot match
is an error, reported in one line.

What the suite does with them (``conformance/checks.py``, ``conformance/plugin.py``): an
example whose failure matches a pin of its property is recorded as that divergence and ends
there *without failing* (counted as run in a ``@given`` test; rejected in a stateful one, at
most as many times as the profile has examples), so the property's other examples still run;
any failure that no pin matches fails the run, entry or not, and is shrunk as usual. A
property that showed a pinned divergence and no other failure is ``known-divergence`` in the
report, with the reason, the pin, how many examples showed it and the first that did
(expected, got, script); an entry whose pin no example showed gives a warning (remove it), as
does one that matches no collected test.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.script import OP_TYPES, Call, Op, Outcome, Read, ViewRead

BUILTIN_DIR = Path(__file__).resolve().parent / "divergences"

KINDS = ("mismatch", "crash", "timeout", "assertion")
LENGTHS = {"short": "fewer bytes than asked", "full": "as many bytes as asked",
           "long": "more bytes than asked"}
NANS = {"quieted": "the expected signalling NaN with its quiet bit set"}
PIN_FIELDS = ("kind", "op", "func", "code", "script", "expected", "got", "length", "nan", "message")
_FLAGS = re.DOTALL


class BadDivergenceFile(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Seen:
    """What one failing example showed, in the terms a pin is written in."""

    kind: str
    """mismatch, crash, timeout or assertion"""
    op: Op | None = None
    """the first operation whose outcome differs (mismatch)"""
    expected: str = ""
    got: str = ""
    outcome: Outcome | None = None
    """the differing outcome itself, where known (for ``length`` and ``nan``)"""
    message: str = ""
    wanted: tuple[Outcome, ...] = ()
    """the outcomes that were expected, where known (for ``nan``)"""
    code: str = ""
    """the text of the called function, where the script carries its module as text (for ``code``)"""
    script: str = ""
    """the script as the report prints it, then its modules' text (for ``script``)"""

    @property
    def length(self) -> str:
        """short, full or long for an ``ok`` read, else empty."""
        op, outcome = self.op, self.outcome
        if not isinstance(op, Read | ViewRead) or outcome is None or outcome.kind != "ok":
            return ""
        if not isinstance(outcome.value, bytes):
            return ""
        n = len(outcome.value)
        return "short" if n < op.length else "full" if n == op.length else "long"

    @property
    def nan(self) -> str:
        """quieted where the value given is an expected signalling NaN with its quiet bit set."""
        got = _one_value(self.outcome)
        for want in map(_one_value, self.wanted):
            if got is None or want is None or got[1] != want[1]:
                continue
            (bits, width), quiet = want, 1 << (22 if want[1] == 32 else 51)
            exponent = ((1 << (8 if width == 32 else 11)) - 1) << (23 if width == 32 else 52)
            signalling = bits & exponent == exponent and not bits & quiet and bits & (quiet - 1)
            if signalling and got[0] == bits | quiet:
                return "quieted"
        return ""


def _one_value(outcome: Outcome | None) -> tuple[int, int] | None:
    """(bits, width) of an ok outcome holding one 32- or 64-bit value, or 4 or 8 bytes."""
    if outcome is None or outcome.kind != "ok":
        return None
    value = outcome.value
    if isinstance(value, bytes) and len(value) in (4, 8):
        return int.from_bytes(value, "little"), 8 * len(value)
    if isinstance(value, tuple) and len(value) == 1:
        return value[0].bits, 32 if value[0].type in ("i32", "f32") else 64
    return None


@dataclass(frozen=True, slots=True)
class Pin:
    """The exact wrong outcome an entry describes (see the module docstring)."""

    kind: str = "mismatch"
    op: str = ""
    func: str = ""
    code: str = ""
    script: str = ""
    expected: str = ""
    got: str = ""
    length: str = ""
    nan: str = ""
    message: str = ""

    def matches(self, seen: Seen) -> bool:
        """Whether ``seen`` is this outcome (outcome texts with runs of spaces made one)."""
        if seen.kind != self.kind:
            return False
        if self.op and (seen.op is None or seen.op.op != self.op):
            return False
        if self.func and not (isinstance(seen.op, Call) and re.fullmatch(self.func, seen.op.func, _FLAGS)):
            return False
        if self.code and not (seen.code and re.search(self.code, seen.code, _FLAGS)):
            return False
        if self.script and not (seen.script and re.search(self.script, seen.script, _FLAGS)):
            return False
        if self.length and seen.length != self.length:
            return False
        if self.nan and seen.nan != self.nan:
            return False
        texts = ((self.expected, _spaced(seen.expected)), (self.got, _spaced(seen.got)),
                 (self.message, seen.message))
        return all(re.fullmatch(pattern, text, _FLAGS) is not None for pattern, text in texts if pattern)

    def describe(self) -> str:
        """One line: what the pin accepts."""
        if self.kind != "mismatch":
            return self.kind + (f" whose message matches /{self.message}/" if self.message else "")
        what = self.op + (f" of an export matching /{self.func}/" if self.func else "")
        what += f" whose code has /{self.code}/" if self.code else ""
        what += f" in a script that has /{self.script}/" if self.script else ""
        text = f"{what}: expected /{self.expected}/, got /{self.got}/"
        text += f" with {LENGTHS[self.length]}" if self.length else ""
        return text + (f", {NANS[self.nan]}" if self.nan else "")


@dataclass(frozen=True, slots=True)
class Divergence:
    runtime: str
    test: str
    reason: str
    source: str
    pin: Pin

    def matches(self, property_id: str) -> bool:
        return property_id.startswith(self.test)


def _spaced(text: str) -> str:
    """An outcome's text as a pin sees it: ``ok`` with no value is ``ok``, not ``ok `` (and
    ``ok  or error x`` is ``ok or error x``)."""
    return re.sub(" +", " ", text).strip()


def load(directory: Path) -> dict[str, list[Divergence]]:
    """Every ``<runtime>.toml`` in ``directory``, by runtime id."""
    out: dict[str, list[Divergence]] = {}
    if not directory.is_dir():
        raise BadDivergenceFile(f"{directory} is not a directory" if directory.exists()
                                else f"no directory {directory}")
    for path in sorted(directory.glob("*.toml")):
        runtime = path.stem
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
            raise BadDivergenceFile(f"{path.name}: {exc}") from None
        unknown = sorted(set(doc) - {"divergence"})
        if unknown:
            raise BadDivergenceFile(f"{path.name}: unknown table or key {unknown[0]!r}; entries are "
                                    "[[divergence]] tables")
        entries = doc.get("divergence", [])
        if not isinstance(entries, list):
            raise BadDivergenceFile(f"{path.name}: 'divergence' must be an array of [[divergence]] tables")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise BadDivergenceFile(f"{path.name}: entry {i + 1} is not a table")
            test, reason = entry.get("test"), entry.get("reason")
            if not isinstance(test, str) or not test or not isinstance(reason, str) or not reason:
                raise BadDivergenceFile(f"{path.name}: entry {i + 1} needs a test and a reason")
            try:
                pin = _pin(entry)
            except ValueError as exc:
                raise BadDivergenceFile(f"{path.name}: entry {i + 1} ({test}): {exc}") from None
            out.setdefault(runtime, []).append(Divergence(runtime, test, reason.strip(), path.name, pin))
    return out


def _pin(entry: dict[str, Any]) -> Pin:
    unknown = sorted(set(entry) - {"test", "reason", *PIN_FIELDS})
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; a pin has {', '.join(PIN_FIELDS)}")
    given = {k: entry[k] for k in PIN_FIELDS if k in entry}
    if not given:
        raise ValueError('no pin: say which outcome diverges (op, expected and got; or kind = "crash", '
                         '"timeout" or "assertion" with a message), see conformance/divergences.py')
    for key, value in given.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be a non-empty string")
    pin = Pin(**given)
    if pin.kind not in KINDS:
        raise ValueError(f"kind {pin.kind!r} is not one of {', '.join(KINDS)}")
    if pin.kind == "mismatch":
        missing = [k for k in ("op", "expected", "got") if not getattr(pin, k)]
        if missing:
            raise ValueError(f"a mismatch pin needs op, expected and got (missing: {', '.join(missing)})")
        if pin.op not in OP_TYPES:
            raise ValueError(f"op {pin.op!r} is not one of {', '.join(OP_TYPES)}")
        if pin.func and pin.op != "call":
            raise ValueError('func goes with op = "call"')
        if pin.code and pin.op not in ("call", "instantiate"):
            raise ValueError('code goes with op = "call" or "instantiate"')
        if pin.length and (pin.length not in LENGTHS or pin.op not in ("read", "view_read")):
            raise ValueError(f'length is one of {", ".join(LENGTHS)}, with op = "read" or "view_read"')
        if pin.nan and pin.nan not in NANS:
            raise ValueError(f"nan is one of {', '.join(NANS)}")
        if pin.message:
            raise ValueError("message goes with kind crash, timeout or assertion")
    else:
        extra = [k for k in ("op", "func", "code", "script", "expected", "got", "length", "nan")
                 if getattr(pin, k)]
        if extra:
            raise ValueError(f"{extra[0]} goes with a mismatch, not kind {pin.kind!r}")
        if pin.kind == "assertion" and not pin.message:
            raise ValueError("an assertion pin needs a message")
    for key in ("func", "code", "script", "expected", "got", "message"):
        pattern = getattr(pin, key)
        try:
            re.compile(pattern, _FLAGS)
        except re.error as exc:
            raise ValueError(f"{key} is not a regular expression: {exc}") from None
    return pin


def applicable(table: dict[str, list[Divergence]], runtime: str, property_id: str,
               family: str = "") -> list[Divergence]:
    """The entries of ``runtime``, then of its ``family`` (see RuntimeSpec.base), for a property."""
    return [entry for name in dict.fromkeys((runtime, family or runtime))
            for entry in table.get(name, []) if entry.matches(property_id)]


def pinned(entries: Iterable[Divergence], seen: Seen) -> Divergence | None:
    """The first entry whose pin matches what an example showed."""
    return next((entry for entry in entries if entry.pin.matches(seen)), None)


def find(table: dict[str, list[Divergence]], runtime: str, property_id: str,
         family: str = "") -> Divergence | None:
    """The first entry for ``runtime`` (else its ``family``) that covers the property."""
    found: Sequence[Divergence] = applicable(table, runtime, property_id, family)
    return found[0] if found else None


def function_text(wat: str, export: str) -> str:
    """The text of the function exported as ``export`` in module text ``wat`` (from its ``(func``
    to the next top-level form), or "" where there is none."""
    at = wat.find(f'(export "{export}")')
    start = wat.rfind("(func", 0, at) if at >= 0 else -1
    if start < 0:
        return ""
    depth = 0
    for i in range(start, len(wat)):
        if wat[i] == "(":
            depth += 1
        elif wat[i] == ")":
            depth -= 1
            if depth == 0:
                return wat[start:i + 1]
    return wat[start:]
