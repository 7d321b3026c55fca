"""Check one runtime's outcomes against the reference model, operation by operation.

Where the spec allows more than one outcome (a grow may fail for lack of
resources; a runtime may have no host-side grow), the model accepts each,
follows the branch the runtime took, and records which one it was: those
``choices`` go in the report, side by side for every runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from conformance.model.guests import GUEST_MODELS, Branch, GuestModel, is_nan
from conformance.model.memory import Instance, ModelTrap
from conformance.script import (
    Call,
    Grow,
    Instantiate,
    Op,
    Outcome,
    Read,
    Script,
    Size,
    Value,
    View,
    ViewLength,
    ViewRead,
    ViewWrite,
    Write,
    describe_op,
)

U32 = 0xFFFF_FFFF
RESOURCE_PAGES = 16384
"""An initial memory above this many pages (1 GiB) may be refused for lack of resources."""


@dataclass(frozen=True, slots=True)
class Alternative:
    """An outcome the model accepts, what the instance looks like after it, and its name."""

    outcome: Outcome
    commit: Callable[[], None]
    choice: str = ""
    matches: Callable[[Outcome], bool] | None = None
    """a looser test than equality with ``outcome`` (a NaN that may come back as any NaN)"""

    def accepts(self, got: Outcome) -> bool:
        return self.matches(got) if self.matches is not None else self.outcome.same_as(got)


@dataclass(frozen=True, slots=True)
class Mismatch:
    index: int
    op: Op
    expected: tuple[Outcome, ...]
    got: Outcome
    note: str = ""

    def describe(self) -> str:
        want = " or ".join(str(e) for e in self.expected)
        text = f"operation {self.index} {describe_op(self.op)}: expected {want}; got {self.got}"
        return text + (f" ({self.note})" if self.note else "")


@dataclass(slots=True)
class Verdict:
    mismatch: Mismatch | None = None
    choices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatch is None


@dataclass(slots=True)
class _ViewState:
    length: int
    generation: int


class UnknownExport(LookupError):
    pass


class Checker:
    """Steps the model through a script alongside one runtime's outcomes."""

    def __init__(self, guest: GuestModel, capacity: int | None = None,
                 absent: frozenset[str] | None = None) -> None:
        self.guest = guest
        self.absent = absent
        """the host APIs the runtime's probes found refused (``host_grow``, ``view``); None: not
        probed, every "unsupported" the spec allows is accepted"""
        self.capacity = capacity
        """the most pages this runtime's memory was measured to reach in this run (probes.py)"""
        self.instance: Instance | None = None
        self.views: dict[str, _ViewState] = {}
        self.generation = 0  # bumped by every successful grow
        self.after_trap = False  # a call trapped: the instance must keep working (no poisoning)

    # -- alternatives per operation ------------------------------------------

    def alternatives(self, op: Op) -> list[Alternative]:
        if isinstance(op, Instantiate):
            if self.guest.invalid:
                return [Alternative(Outcome.error("invalid-module", self.guest.invalid), self._no_instance)]
            alts = [Alternative(Outcome.ok(), self._instantiate)]
            reached = self.capacity is not None and self.guest.pages <= self.capacity
            if self.guest.pages > RESOURCE_PAGES and not reached:
                # A valid module whose initial memory is large may be refused for lack of
                # resources (the spec lets instantiation fail so); any error reason will do.
                alts.append(Alternative(Outcome.error("resources"), self._no_instance,
                                        "instantiation of a large memory refused",
                                        lambda got: got.kind == "error"))
            return alts
        inst = self.instance
        if inst is None:
            return [Alternative(Outcome.error("no-instance"), _nothing)]
        mem = inst.memory
        match op:
            case Write(addr, data):
                if not mem.in_bounds(addr, len(data)):
                    return [Alternative(Outcome.error("out-of-range"), _nothing)]

                def write() -> None:
                    mem.data[addr:addr + len(data)] = data

                return [Alternative(Outcome.ok(), write)]
            case Read(addr, length):
                if not mem.in_bounds(addr, length):
                    return [Alternative(Outcome.error("out-of-range"), _nothing)]
                return [Alternative(Outcome.ok(bytes(mem.data[addr:addr + length])), _nothing)]
            case Size():
                return [Alternative(Outcome.ok(len(mem.data)), _nothing)]
            case Grow(delta):
                return self._host_grow(inst, delta)
            case Call():
                return self._call(inst, op)
            case View(name):
                def take() -> None:
                    self.views[name] = _ViewState(len(mem.data), self.generation)

                return [
                    Alternative(Outcome.ok(len(mem.data)), take),
                    *self._unsupported("view", "no host memory view"),
                ]
            case ViewRead() | ViewWrite() | ViewLength():
                return self._view_op(inst, op)
        raise TypeError(f"unknown operation {op!r}")

    def _no_instance(self) -> None:
        self.instance = None
        self.views = {}

    def _instantiate(self) -> None:
        self.instance = self.guest.instantiate()
        self.views = {}
        self.after_trap = False

    def _host_grow(self, inst: Instance, delta: int) -> list[Alternative]:
        old = inst.memory.pages
        if delta < 0 or old + delta > inst.memory.limit:
            return [Alternative(Outcome.error("grow-failed"), _nothing),
                    *self._unsupported("host_grow", "no host-side grow")]

        def grow() -> None:
            # Any successful grow, of 0 pages too, may detach views (the JS API
            # refreshes the buffer on every grow); a live view is accepted as well.
            inst.memory.grow(delta)
            self.generation += 1

        alts = [Alternative(Outcome.ok(old), grow)]
        if self.believable_refusal(old, delta):
            alts.append(Alternative(Outcome.error("grow-failed"), _nothing,
                                    "host grow refused within the limit"))
        alts += self._unsupported("host_grow", "no host-side grow")
        return alts

    def _unsupported(self, api: str, choice: str) -> list[Alternative]:
        """``error unsupported`` for a host API, where the runtime's probe found it refused too (a
        runtime whose probe used the API cannot say it has none later)."""
        if self.absent is not None and api not in self.absent:
            return []
        return [Alternative(Outcome.error("unsupported"), _nothing, choice)]

    def believable_refusal(self, old: int, delta: int) -> bool:
        """May a grow of ``delta`` pages from ``old``, within the limit, fail for lack of resources?

        Not a grow of 0 pages (it needs nothing), and not one to a size the runtime was measured
        to reach in this same run (the capacity probe): that refusal is a wrong answer.
        """
        if delta == 0:
            return False
        return self.capacity is None or old + delta > self.capacity

    def _call(self, inst: Instance, op: Call) -> list[Alternative]:
        # After a trap the store stays valid (the core spec): every later call does what it says.
        # An instance a runtime cannot call again (the driver's `error poisoned`) is accepted by
        # no alternative, so it is a mismatch: a divergence, never a choice.
        try:
            export = self.guest.exports[op.func]
        except KeyError:
            raise UnknownExport(f"guest {self.guest.name!r} has no export {op.func!r}") from None
        if tuple(a.type for a in op.args) != export.params:
            raise UnknownExport(f"{op.func} takes ({' '.join(export.params)})")
        out: list[Alternative] = []
        trial = inst.clone()
        try:
            result = export.fn(trial, *(a.bits for a in op.args))
        except ModelTrap as trap:
            def commit_trap() -> None:
                self.instance = trial
                self.after_trap = True

            out.append(Alternative(Outcome.trap(trap.reason, trap.detail), commit_trap))
        else:
            branches = result if isinstance(result, list) else [Branch("", result, trial)]
            branches = [b for b in branches if b.refused is None or self.believable_refusal(*b.refused)]
            for branch in branches:
                values = tuple(Value(t, v) for t, v in zip(export.results, branch.results, strict=True))
                out.append(Alternative(
                    Outcome.ok(values),
                    self._commit_call(branch.instance),
                    branch.label,
                    _any_nan_matcher(values, branch.any_nan) if branch.any_nan else None,
                ))
        if self.after_trap:
            out = [Alternative(a.outcome, a.commit, a.choice or "instance keeps working after a trap",
                               a.matches) for a in out]
        return out

    def _commit_call(self, after: Instance) -> Callable[[], None]:
        def commit() -> None:
            grew = self.instance is not None and after.grows != self.instance.grows
            self.instance = after
            if grew:
                self.generation += 1

        return commit

    def _view_op(self, inst: Instance, op: ViewRead | ViewWrite | ViewLength) -> list[Alternative]:
        state = self.views.get(op.view)
        if state is None:  # never taken: no such view, or a runtime without views at all
            return [Alternative(Outcome.error("no-such-view"), _nothing),
                    *self._unsupported("view", "no host memory view")]
        mem = inst.memory
        stale = state.generation != self.generation
        if isinstance(op, ViewLength):
            if not stale:
                return [Alternative(Outcome.ok(state.length), _nothing)]
            if len(mem.data) == state.length:  # a grow of 0 pages: following and keeping look alike
                return [Alternative(Outcome.ok(0), _nothing, "view detached by grow"),
                        Alternative(Outcome.ok(state.length), _nothing)]
            return [
                Alternative(Outcome.ok(0), _nothing, "view detached by grow"),
                Alternative(Outcome.ok(len(mem.data)), _nothing, "view follows grow"),
                Alternative(Outcome.ok(state.length), _nothing, "view keeps its old length"),
            ]
        length = op.length if isinstance(op, ViewRead) else len(op.data)
        alts: list[Alternative] = []
        if stale:
            alts.append(Alternative(Outcome.error("detached"), _nothing, "view detached by grow"))
        limit = max(state.length, len(mem.data)) if stale else state.length
        if op.addr + length > limit or op.addr + length > len(mem.data):
            alts.append(Alternative(Outcome.error("out-of-range"), _nothing))
            return alts
        if stale and op.addr + length > state.length:
            alts.append(Alternative(Outcome.error("out-of-range"), _nothing,
                                    "view keeps its old length"))
        live = "view still shows live memory after grow" if stale else ""
        if isinstance(op, ViewRead):
            data = bytes(mem.data[op.addr:op.addr + length])
            alts.append(Alternative(Outcome.ok(data), _nothing, live))
        else:
            def write() -> None:
                mem.data[op.addr:op.addr + length] = op.data

            alts.append(Alternative(Outcome.ok(), write, live))
        return alts

    # -- stepping ---------------------------------------------------------------

    def step(self, index: int, op: Op, got: Outcome) -> tuple[Mismatch | None, str]:
        alts = self.alternatives(op)
        for alt in alts:
            if alt.accepts(got):
                alt.commit()
                if isinstance(op, Call) and got.kind == "ok":
                    self.after_trap = False
                return None, alt.choice
        return Mismatch(index, op, tuple(a.outcome for a in alts), got), ""


def _nothing() -> None:
    return None


def _any_nan_matcher(expected: tuple[Value, ...], float_type: str) -> Callable[[Outcome], bool]:
    """ok, each result a NaN of ``float_type`` where one is expected, else exactly as expected."""

    def matches(got: Outcome) -> bool:
        if got.kind != "ok" or not isinstance(got.value, tuple) or len(got.value) != len(expected):
            return False
        for want, have in zip(expected, got.value, strict=True):
            if want.type != have.type:
                return False
            if is_nan(float_type, want.bits) and is_nan(float_type, have.bits):
                continue
            if want.bits != have.bits:
                return False
        return True

    return matches


def guest_model(name: str) -> GuestModel:
    try:
        return GUEST_MODELS[name]
    except KeyError:
        raise UnknownExport(f"the model knows no guest {name!r}") from None


def check(script: Script, outcomes: Sequence[Outcome], capacity: int | None = None,
          absent: frozenset[str] | None = None) -> Verdict:
    """Compare ``outcomes`` with the model, stopping at the first difference.

    ``capacity``: the most pages the runtime's memory reached in the capacity probe of this run;
    a grow refused below it (or of 0 pages) is not believed to be for lack of resources.
    ``absent``: the host APIs the probes found refused; "unsupported" is accepted only for those.
    """
    verdict = Verdict()
    if len(outcomes) != len(script.ops):
        verdict.mismatch = Mismatch(
            len(outcomes), script.ops[min(len(outcomes), len(script.ops) - 1)], (),
            Outcome.error("protocol"),
            f"the driver answered {len(outcomes)} outcomes for {len(script.ops)} operations",
        )
        return verdict
    checker = Checker(guest_model(script.guest), capacity, absent)
    for index, (op, got) in enumerate(zip(script.ops, outcomes, strict=True)):
        mismatch, choice = checker.step(index, op, got)
        if mismatch is not None:
            verdict.mismatch = mismatch
            return verdict
        if choice and choice not in verdict.choices:
            verdict.choices.append(choice)
    return verdict


def check_against(script: Script, expected: Sequence[Outcome], outcomes: Sequence[Outcome],
                  source: str) -> Verdict:
    """Compare ``outcomes`` with another runtime's (``source``), operation by operation."""
    for index, (op, want, got) in enumerate(zip(script.ops, expected, outcomes, strict=True)):
        if not want.same_as(got):
            return Verdict(Mismatch(index, op, (want,), got, f"what {source} did"))
    return Verdict()
