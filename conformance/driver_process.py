"""The host side of a driver: a child process per runtime, restarted after a crash or hang.

One round trip per script. A driver that dies mid-script becomes a ``crash``
result (with the signal and the tail of its stderr), one that does not answer
in time a ``timeout``; either way the process is replaced before the next
script and the run goes on.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import IO, Any, NoReturn

from conformance.drivers._protocol import split_blobs
from conformance.guests import Guest, module_of
from conformance.runtimes import RuntimeSpec
from conformance.script import (
    OPTIONAL,
    Call,
    ComponentCall,
    Grow,
    Instantiate,
    MemoryNew,
    Op,
    Outcome,
    Read,
    Script,
    ScriptError,
    ScriptResult,
    Size,
    Value,
    View,
    ViewLength,
    ViewRead,
    ViewWrite,
    Write,
)

START_TIMEOUT = 60.0
SCRIPT_TIMEOUT = 60.0
RSS_GROWTH_LIMIT = 2 << 30
"""A driver whose resident memory has grown this much since its start is recycled between
scripts (``$WASM_CONFORMANCE_RSS_LIMIT_MIB`` sets it in MiB; 0 never recycles)."""


def _rss_limit() -> int:
    given = os.environ.get("WASM_CONFORMANCE_RSS_LIMIT_MIB", "").strip()
    return int(float(given) * (1 << 20)) if given else RSS_GROWTH_LIMIT


def memory_of(pid: int) -> tuple[int, int]:
    """(resident, peak resident) bytes of process ``pid``, from /proc; (0, 0) where unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            text = f.read()
    except OSError:
        return 0, 0
    found = {}
    for line in text.splitlines():
        if line.startswith((b"VmRSS:", b"VmHWM:")):
            key, _, value = line.partition(b":")
            found[key] = int(value.split()[0]) * 1024
    return found.get(b"VmRSS", 0), found.get(b"VmHWM", 0)


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

REPLY_LIMIT = 64 << 20
"""A reply may be this long without its newline, plus twice the bytes the script reads (hex);
past that the driver is killed and the script is a ``crash`` (pytest's memory stays bounded)."""
HELLO_LIMIT = 1 << 20
STREAK_LIMIT = 3
"""A runtime that crashes or times out this many scripts in a row in one property runs no more
scripts of that property: each later one is answered with the same kind at once, "not run"."""


# -- no orphans ---------------------------------------------------------------------------------
#
# Each driver starts in a session (so a process group) of its own, and every way out of the
# harness kills that group: close(), kill_all_drivers() at exit and from the SIGTERM/SIGHUP
# handlers, and on Linux the kernel itself (PR_SET_PDEATHSIG: the driver gets SIGKILL when the
# pytest process dies, even by SIGKILL). Descendants that left the group (setsid()) are found
# through /proc/<pid>/task/*/children and killed too, as long as their parent is still alive
# when the driver is killed. Not covered: a descendant whose parent has already exited (it was
# reparented to init or a subreaper, and nothing links it to the driver any more), a descendant
# of a driver whose harness died by SIGKILL (only the driver itself gets PDEATHSIG), and
# platforms without /proc (the group alone is killed).

_LIVE: dict[int, subprocess.Popen[bytes]] = {}
"""every driver process started and not yet killed or closed, by pid (held here even where its
DriverProcess was dropped without close())"""


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as f:
                found += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            pass
    return found


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` that /proc can still link to it, parents first."""
    seen: list[int] = []
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in seen:
                seen.append(child)
                todo.append(child)
    return seen


def _started(pid: int) -> str:
    """The start time of process ``pid`` (field 22 of /proc/<pid>/stat), "" where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


def kill_tree(pid: int) -> None:
    """SIGKILL process ``pid``, its process group (if it leads one) and every descendant /proc
    can find. The tree is stopped first, so nothing forks while it is being walked."""
    stopped: set[int] = set()
    for _ in range(4):
        found = [p for p in [pid, *descendants(pid)] if p not in stopped]
        if not found:
            break
        for p in found:
            try:
                os.kill(p, signal.SIGSTOP)
            except OSError:
                pass
            stopped.add(p)
    for p in stopped:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_all_drivers() -> None:
    """Kill every driver process this process started, with its group and descendants, at once
    (no shutdown request, no waiting for them to exit). Safe from a signal handler and at exit;
    each DriverProcess stays usable (its next script starts a new driver)."""
    for proc in list(_LIVE.values()):
        if proc.returncode is None:
            kill_tree(proc.pid)


atexit.register(kill_all_drivers)

_HANDLED: set[int] = set()


def _on_signal(signum: int, frame: Any) -> None:
    kill_all_drivers()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)  # what the signal would have done without us


def install_signal_handlers() -> None:
    """For SIGTERM and SIGHUP, where no handler is installed: kill every driver, then die of the
    signal as before. Only from the main thread (elsewhere Python refuses handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None or sig in _HANDLED:
            continue
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _on_signal)
            _HANDLED.add(sig)


def _death_signal() -> Callable[[], None] | None:
    """A preexec_fn that asks Linux to SIGKILL the child when its parent dies (the ctypes call
    is looked up here, in the parent: only the call itself runs between fork and exec).

    Only from the main thread: the kernel sends the signal when the *thread* that forked the
    child ends, so a driver started from a worker thread would die with that thread."""
    if not sys.platform.startswith("linux") or threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the prctl: die now
            os._exit(1)

    return preexec


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_FIELD_DEFAULTS: dict[type, dict[str, Any]] = {}


def wire_ops(ops: Iterable[Op], blobs: list[bytes] | None = None) -> list[dict[str, Any]]:
    """The operations as ``script.op_to_json`` writes them, each class's fields looked up once
    (dataclasses.fields per operation was a third of the suite's side of a round trip).

    With ``blobs`` (binary framing), a payload is not hex but ``{"blob": i}``, its bytes
    appended to ``blobs``."""
    out = []
    for op in ops:
        cls = type(op)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(op))
            _FIELD_DEFAULTS[cls] = {f.name: f.default for f in fields(op)}
        defaults = _FIELD_DEFAULTS[cls]
        wire: dict[str, Any] = {"op": op.op}
        for name in names:
            value = getattr(op, name)
            if name in OPTIONAL or name == "imports":  # left out at its default, as op_to_json does
                default = defaults[name]
                if value == default and type(value) is type(default):
                    continue
                wire[name] = [i.to_json() for i in value] if name == "imports" else value
                continue
            if isinstance(value, bytes):
                if blobs is None:
                    wire[name] = value.hex()
                else:
                    wire[name] = {"blob": len(blobs)}
                    blobs.append(value)
            elif type(op) is ComponentCall:  # wire values and types: JSON already
                wire[name] = list(value) if isinstance(value, tuple) else value
            elif name == "args":
                wire[name] = [v.to_json() for v in value]
            else:
                wire[name] = value
        out.append(wire)
    return out


_SPLICE = 4096


def request_line(request: dict[str, Any]) -> list[bytes]:
    """A script request as one JSON line, in pieces written one after another. The hex of a long
    write goes out as it is, not through the JSON encoder (hex needs no escaping; escaping and
    copying megabytes of it was a quarter of a large script's round trip); the object is the same."""
    ops = request["ops"]
    if not any(len(op.get("data") or "") >= _SPLICE for op in ops):
        return [(json.dumps(request) + "\n").encode()]
    head = json.dumps({k: v for k, v in request.items() if k != "ops"})
    pieces = [(head[:-1] + ', "ops": [').encode()]
    for i, op in enumerate(ops):
        sep = ", " if i else ""
        data = op.get("data")
        if isinstance(data, str) and len(data) >= _SPLICE:  # wire_ops made it from bytes: hex
            rest = json.dumps({k: v for k, v in op.items() if k != "data"})
            pieces += [(sep + rest[:-1] + ', "data": "').encode(), data.encode("ascii"), b'"}']
        else:
            pieces.append((sep + json.dumps(op)).encode())
    pieces.append(b"]}\n")
    return pieces


_QUOTED: dict[str, str] = {}


def _quoted(text: str) -> str:
    """``json.dumps(text)``, remembered (export and view names recur in every script)."""
    found = _QUOTED.get(text)
    if found is None:
        found = json.dumps(text)
        if len(_QUOTED) > 4096:
            _QUOTED.clear()
        _QUOTED[text] = found
    return found


def _op_text(op: Op, blobs: list[bytes]) -> str:
    """One operation as ``json.dumps(wire_ops([op], blobs)[0])`` would write it, formatted
    directly (building a dict per operation and encoding it was a third of a long script's
    round trip on this side); anything unusual goes the long way."""
    if getattr(op, "memory", "") or getattr(op, "instance", ""):
        return json.dumps(wire_ops([op], blobs)[0])
    if type(op) is Write and type(op.addr) is int:
        blobs.append(op.data)
        return f'{{"op": "write", "addr": {op.addr}, "data": {{"blob": {len(blobs) - 1}}}}}'
    if type(op) is Read and type(op.addr) is int and type(op.length) is int:
        return f'{{"op": "read", "addr": {op.addr}, "length": {op.length}}}'
    if type(op) is Call and all(type(v) is Value and type(v.bits) is int for v in op.args):
        args = ", ".join([f'{{"type": {_quoted(v.type)}, "value": "{v.bits}"}}' for v in op.args])
        return f'{{"op": "call", "func": {_quoted(op.func)}, "args": [{args}]}}'
    if type(op) is Instantiate and not op.linking:
        return '{"op": "instantiate"}'
    if type(op) is ViewRead and type(op.addr) is int and type(op.length) is int:
        return f'{{"op": "view_read", "view": {_quoted(op.view)}, "addr": {op.addr}, "length": {op.length}}}'
    if type(op) is ViewWrite and type(op.addr) is int:
        blobs.append(op.data)
        return (f'{{"op": "view_write", "view": {_quoted(op.view)}, "addr": {op.addr}, '
                f'"data": {{"blob": {len(blobs) - 1}}}}}')
    return json.dumps(wire_ops([op], blobs)[0])


_MODULE_TEXT: dict[tuple[int, bool], tuple[Guest, str]] = {}


def _module_text(target: Guest, fresh: bool) -> str:
    """The request's ``module``, as JSON text, remembered per guest (an inline module's hex is
    encoded once, not per script)."""
    found = _MODULE_TEXT.get((id(target), fresh))
    if found is not None and found[0] is target:
        return found[1]
    wire: dict[str, Any] = target.to_wire()
    if fresh:
        wire = {**wire, "fresh": True}
    text = json.dumps(wire)
    if len(_MODULE_TEXT) > 256:
        _MODULE_TEXT.clear()
    _MODULE_TEXT[(id(target), fresh)] = (target, text)  # the guest is held: its id is not reused
    return text


def framed_script(rid: int, target: Guest, ops: Iterable[Op], fresh: bool,
                  modules: dict[str, Guest] | None = None) -> list[bytes]:
    """A script's request in binary framing: the line (as ``framed_request`` makes it from the
    request's dict) and its blobs."""
    blobs: list[bytes] = []
    texts = ", ".join([_op_text(op, blobs) for op in ops])
    tail = (', "blobs": [' + ", ".join([str(len(b)) for b in blobs]) + "]}\n") if blobs else "}\n"
    extra = ""
    if modules:
        extra = ', "modules": {' + ", ".join(f"{json.dumps(name)}: {_module_text(g, fresh)}"
                                             for name, g in modules.items()) + "}"
    line = f'{{"id": {rid}, "module": {_module_text(target, fresh)}{extra}, "ops": [{texts}]{tail}'
    return [line.encode(), *blobs]


def script_modules(script: Script) -> dict[str, Guest]:
    """The further modules a script instantiates by name, assembled (``Script.modules``)."""
    return {name: module_of(f"{script.guest}.{name}", wat=wat) for name, wat in script.modules}


_COALESCE = 1 << 16


def _coalesced(pieces: list[bytes]) -> list[bytes]:
    """The pieces of a message with the small ones joined to their neighbours: the driver's stdin
    is unbuffered, and a write per small blob was a system call (and a wake-up of the driver)
    each; a large piece still goes out as it is, not copied."""
    if len(pieces) == 1:
        return pieces
    out: list[bytes] = []
    run: list[bytes] = []
    size = 0
    for piece in pieces:
        if len(piece) >= _COALESCE:
            if run:
                out.append(b"".join(run))
                run, size = [], 0
            out.append(piece)
            continue
        run.append(piece)
        size += len(piece)
        if size >= _COALESCE:
            out.append(b"".join(run))
            run, size = [], 0
    if run:
        out.append(b"".join(run))
    return out


def framed_request(request: dict[str, Any], blobs: list[bytes]) -> list[bytes]:
    """A request in binary framing: its JSON line, carrying ``"blobs"`` (each blob's length)
    when it has any, then the blobs' bytes, one after another (docs/protocol.md)."""
    if not blobs:
        return [(json.dumps(request) + "\n").encode()]
    return [(json.dumps({**request, "blobs": [len(b) for b in blobs]}) + "\n").encode(), *blobs]


_OK_NONE = Outcome.ok()


def _outcome(obj: Any, op: Op, blobs: list[bytes]) -> Outcome:
    """``Outcome.from_json``, with the commonest answer, ``{"ok": null}`` to an operation whose
    value is not decoded (not a read or a call), shared: outcomes are frozen. A read's blob
    (binary framing) is its bytes, as its hex would have been."""
    if isinstance(obj, dict) and obj.get("ok", 0) is None and not isinstance(op, Read | ViewRead | Call):
        return _OK_NONE
    if blobs and isinstance(obj.get("ok"), dict):  # _checked let only a read's blob through
        return Outcome.ok(blobs[obj["ok"]["blob"]])
    return Outcome.from_json(obj, op)


_REASONED = ("trap", "error")

_NULL_OPS = frozenset({Instantiate, Write, ViewWrite, MemoryNew})
"""operations whose ok value is null (Grow, Size, View and ViewLength answer an int)"""

_RESULTS: dict[tuple[Any, Any], Outcome] = {}
"""a call's ok outcome of one typed value, by its wire (type, value): outcomes are frozen"""


def _fast(obj: Any, op: Op, blobs: list[bytes]) -> Outcome | None:
    """The outcome of the commonest well-formed answers, what ``_checked`` and ``_outcome`` make
    of them, without their generality (they were most of a long script's parse); None for
    anything else, which goes the long way."""
    if type(obj) is not dict or len(obj) != 1 or "ok" not in obj:
        return None
    value = obj["ok"]
    cls = type(op)
    if value is None:
        return _OK_NONE if cls in _NULL_OPS else None
    if type(op) is Read or type(op) is ViewRead:
        if type(value) is dict and len(value) == 1:
            index = value.get("blob")
            if type(index) is int and 0 <= index < len(blobs) and len(blobs[index]) <= op.length:
                return Outcome.ok(blobs[index])
        return None
    if cls is Call and type(value) is list and len(value) == 1:
        wire = value[0]
        if type(wire) is not dict or len(wire) != 2:
            return None
        key = (wire.get("type"), wire.get("value"))
        if type(key[0]) is not str or type(key[1]) is not str:
            return None
        found = _RESULTS.get(key)
        if found is None:
            found = Outcome.ok((Value.from_json(wire),))  # a ScriptError for a bad one
            if len(_RESULTS) > 4096:
                _RESULTS.clear()
            _RESULTS[key] = found
        return found
    return None


def _checked(obj: Any, op: Op, blobs: list[bytes]) -> dict[str, Any]:
    """One outcome as the protocol has it, or a ScriptError saying how it is not: an object with
    exactly one of ok, trap, error; a trap or error a string (and its message one); an ok value
    of the operation's type (for a read: hex, or one of the reply's ``blobs`` no longer than
    the read asked for)."""
    if not isinstance(obj, dict):
        raise ScriptError(f"{op.op}: the outcome is a JSON {type(obj).__name__}, not an object: {obj!r:.80}")
    kinds = [k for k in ("ok", *_REASONED) if k in obj]
    if len(kinds) != 1:
        raise ScriptError(f"{op.op}: an outcome has exactly one of ok, trap, error: {obj!r:.80}")
    (kind,) = kinds
    if kind != "ok":
        if not isinstance(obj[kind], str) or not isinstance(obj.get("message", ""), str):
            raise ScriptError(f"{op.op}: {kind} and its message are strings: {obj!r:.80}")
        return obj
    value = obj["ok"]
    if isinstance(op, Read | ViewRead):
        if isinstance(value, dict):
            index = value.get("blob")
            good = (set(value) == {"blob"} and type(index) is int and 0 <= index < len(blobs)
                    and len(blobs[index]) <= op.length)
            if not good:
                raise ScriptError(f"{op.op}: ok value is no blob of the reply of at most {op.length} "
                                  f"bytes: {value!r:.80}")
        else:
            good = isinstance(value, str)
    elif isinstance(op, Call):
        good = isinstance(value, list) and all(isinstance(v, dict) for v in value)
    elif isinstance(op, Grow | Size | View | ViewLength):
        good = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(op, ComponentCall):
        good = True  # a wire value of the call's result type: any JSON
    else:
        good = value is None
    if not good:
        raise ScriptError(f"{op.op}: ok value of the wrong type: {value!r:.80}")
    return obj


class RuntimeUnavailable(Exception):
    """The runtime cannot run here; the message says why, in one line."""


@dataclass(slots=True)
class Hello:
    runtime: str
    version: str
    info: dict[str, Any] = field(default_factory=dict)


class DriverProcess:
    """A running driver for one runtime."""

    _test = 0
    """bumped by new_test(): each instance's streak of crashes and timeouts ends there"""

    @classmethod
    def new_test(cls) -> None:
        """A new property begins: every runtime's streak of crashes and timeouts starts over."""
        cls._test += 1

    def __init__(self, spec: RuntimeSpec, *, script_timeout: float = SCRIPT_TIMEOUT) -> None:
        self.spec = spec
        self.script_timeout = script_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.hello: Hello | None = None
        self.unavailable: str | None = None
        self.ever_started = False
        """a driver of this runtime said hello once: if it cannot start again, that is a crash"""
        self.restarts = 0
        self.crashes = 0
        self.timeouts = 0
        self.busy_seconds = 0.0
        self.rss_limit = _rss_limit()
        self._peak_rss = 0
        self.recycles = 0
        """driver processes replaced between scripts because their memory grew past rss_limit"""
        self._pid = 0
        self._start_rss = 0
        self._statm: int | None = None  # /proc/<pid>/statm, kept open: one pread per script
        self._watched = 0
        self._buffer = b""
        self._next_id = 0
        self._stderr: IO[bytes] | None = None
        self._limit = REPLY_LIMIT
        self._overflow = 0
        self._streak: tuple[int, int, str] = (0, 0, "")  # (test, how many in a row, kind)
        self.binary = False
        """the driver's hello offered binary framing: payloads go as raw bytes after the line"""

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Hello:
        """Start the driver and read its hello; raise RuntimeUnavailable with the reason."""
        if self.unavailable is None and self.spec.missing:
            self.unavailable = f"{self.spec.id}: {self.spec.missing}"
        if self.unavailable is not None:
            raise RuntimeUnavailable(self.unavailable)
        if self.proc is not None and self.proc.poll() is None and self.hello is not None:
            return self.hello
        if self.proc is None:
            self._spawn()
        assert self.proc is not None
        wait = self.hello_timeout
        self._limit = HELLO_LIMIT
        line = self._readline(time.monotonic() + wait)
        if line is None:
            if self._overflow:
                why = f"driver sent {self._overflow} bytes without a newline and no hello"
            elif self._eof and self.proc.poll() is None:
                why = "driver closed its stdout without a hello (it was still running; killed)"
            elif self._eof or self.proc.poll() is not None:
                try:
                    code = self.proc.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    code = None
                why = f"driver exited with status {code} before its hello"
            else:
                why = f"driver gave no hello in {wait:.0f}s"
            self._kill()
            tail = self._stderr_tail()
            self._give_up(why + (f": {tail}" if tail else ""))
        try:
            hello = json.loads(line)
            assert isinstance(hello, dict)
        except (ValueError, AssertionError):
            self._kill()
            self._give_up(f"driver does not speak the protocol; its first line was {line[:120]!r}")
        if "unavailable" in hello:
            self._kill()
            self._give_up(str(hello["unavailable"]))
        if hello.get("protocol") != 1:
            self._kill()
            self._give_up(f"driver speaks protocol {hello.get('protocol')!r}, not 1")
        info = hello.get("info", {})
        if not isinstance(info, dict):
            self._kill()
            self._give_up(f"driver's hello has an info that is not an object: {info!r:.120}")
        self.hello = Hello(str(hello.get("runtime", self.spec.id)), str(hello.get("version", "?")),
                           dict(info))
        self.binary = hello.get("framing") == "binary"
        self.ever_started = True
        # the driver's own pid (a launcher script may stand between it and proc.pid)
        self._pid = hello["pid"] if isinstance(hello.get("pid"), int) else self.proc.pid
        self._forget_pid()
        try:
            self._statm = os.open(f"/proc/{self._pid}/statm", os.O_RDONLY)
        except OSError:
            self._statm = None
        self._start_rss = self._rss()
        return self.hello

    @property
    def hello_timeout(self) -> float:
        """How long a starting driver may take to say hello: the script timeout, at least 10 s
        (an engine's start-up is not a script) and at most 60."""
        return min(START_TIMEOUT, max(10.0, self.script_timeout))

    def launch(self) -> None:
        """Start the driver's process without waiting for its hello (``start`` then reads it). Call
        it from a thread that outlives the driver: Linux sends PR_SET_PDEATHSIG when the *thread*
        that forked exits, so a driver forked by a pool's thread would be killed with it."""
        if self.proc is None and self.unavailable is None and not self.spec.missing:
            self._spawn()

    def _spawn(self) -> None:
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        self._buffer = b""
        self.hello = None
        try:
            self.proc = subprocess.Popen(
                self.spec.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, env=env, start_new_session=True, preexec_fn=_death_signal(),
            )
            _LIVE[self.proc.pid] = self.proc
        except OSError as exc:
            self.proc = None
            self._give_up(f"cannot start driver {self.spec.command[0]!r}: {exc.strerror or exc}")

    def _give_up(self, reason: str) -> NoReturn:
        first = reason.strip().splitlines()[-1] if reason.strip() else "unknown reason"
        self.unavailable = f"{self.spec.id}: {first}"
        raise RuntimeUnavailable(self.unavailable)

    def close(self) -> None:
        if self.proc is None:
            return
        self._note_peak()
        self._forget_pid()
        left = [(p, _started(p)) for p in descendants(self.proc.pid)]
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b'{"command":"shutdown"}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            pass
        # whatever it leaves behind goes too: its group, and the descendants it had (the same
        # processes still: a pid is only killed if its start time is the one seen before)
        self._kill()
        for pid, began in left:
            if began and _started(pid) == began:
                kill_tree(pid)
        _LIVE.pop(self.proc.pid, None)
        self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _kill(self) -> None:
        if self.proc is None:
            return
        self._note_peak()
        self._forget_pid()
        if self.proc.poll() is None:
            kill_tree(self.proc.pid)
        else:  # reaped: its pid may be anyone's now, but not its group's while the group lives
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if self.proc.returncode is not None:
            _LIVE.pop(self.proc.pid, None)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    # -- scripts ----------------------------------------------------------------

    def expected(self) -> None:
        """The last crash or timeout was an expected outcome (a pinned known divergence): it does
        not count towards the streak that stops a property, whose other examples must still run."""
        self._streak = (DriverProcess._test, 0, "")

    def run(self, script: Script, module: Guest | None = None, *, fresh: bool = False) -> ScriptResult:
        """Run one script; never raises for what the runtime does.

        ``module`` overrides the guest the script names (for a module of your own). The driver
        reuses a module it compiled for an earlier script; ``fresh`` asks it to compile the
        module afresh for this one (``"fresh": true`` in the request, docs/protocol.md).
        """
        test, streak, kind = self._streak
        if test == DriverProcess._test and streak >= STREAK_LIMIT:
            plural = "crashes" if kind == "crash" else "timeouts"
            return ScriptResult("crash" if kind == "crash" else "timeout",
                                detail=f"{streak} {plural} in a row in this property: not run")
        result = self._run(script, module, fresh)
        if result.status in ("crash", "timeout"):
            self._streak = (DriverProcess._test, (streak if test == DriverProcess._test else 0) + 1,
                            result.status)
        elif result.status == "ok":
            self._streak = (DriverProcess._test, 0, "")
        return result

    def _run(self, script: Script, module: Guest | None, fresh: bool = False) -> ScriptResult:
        if self.proc is not None and self.hello is not None and self.proc.poll() is not None:
            # It died while idle, after its last reply (a thread of the runtime, a browser that went
            # away): a crash, this script's, and a new driver for the next one; never a driver that
            # "gave no hello" (which would make the runtime unavailable for the rest of the run).
            result = self._crashed(time.monotonic(), spawn=False)  # the next start() makes a new one
            return ScriptResult("crash", detail=f"{result.detail} (between scripts, before this one)")
        try:
            self.start()
        except RuntimeUnavailable as exc:
            if self.ever_started:
                # It ran, then died and will not come back: every script is a crash from now on
                # (a skip would turn a runtime that kills itself into a green run).
                self.crashes += 1
                return ScriptResult("crash", detail=f"the driver ran before, and cannot be restarted: {exc}")
            return ScriptResult("unavailable", detail=str(exc))
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        target = module or module_of(script.guest, script.module, script.wat)
        modules = script_modules(script) if script.modules else None
        if self.binary:
            pieces = framed_script(self._next_id, target, script.ops, fresh, modules)
        else:
            wire_module: dict[str, Any] = target.to_wire()
            if fresh:
                wire_module = {**wire_module, "fresh": True}
            request: dict[str, Any] = {"id": self._next_id, "module": wire_module}
            if modules:
                request["modules"] = {name: {**g.to_wire(), **({"fresh": True} if fresh else {})}
                                      for name, g in modules.items()}
            pieces = request_line({**request, "ops": wire_ops(script.ops)})
        began = time.monotonic()
        try:
            for piece in _coalesced(pieces):
                self.proc.stdin.write(piece)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return self._crashed(began)
        reads = sum(op.length for op in script.ops if isinstance(op, Read | ViewRead))
        self._limit = REPLY_LIMIT + 2 * reads
        deadline = began + self.script_timeout
        line = self._readline(deadline)
        elapsed = time.monotonic() - began
        self.busy_seconds += elapsed
        if line is None:
            if self._overflow:
                self.crashes += 1
                self._restart()
                return ScriptResult("crash", detail=f"reply exceeded {self._limit} bytes without a "
                                    "newline; driver killed and restarted", seconds=elapsed)
            if self.proc.poll() is not None or self._eof:
                return self._crashed(began)
            self.timeouts += 1
            self._restart()
            return ScriptResult("timeout", detail=f"no answer in {self.script_timeout:.0f}s; "
                                "driver killed and restarted", seconds=elapsed)
        try:
            reply = json.loads(line)
            got: list[bytes] = []
            if isinstance(reply, dict) and "blobs" in reply:
                sizes = self._blob_sizes(reply["blobs"], reads)
                payload = self._readexact(sum(sizes), deadline)
                more = time.monotonic() - began - elapsed
                self.busy_seconds += more
                elapsed += more
                if payload is None:
                    return self._cut_short(began, sum(sizes), elapsed)
                got = split_blobs(payload, sizes)
                if self._buffer:  # the driver sent more than its blobs claim: the count lied
                    raise ScriptError(f"{len(self._buffer)} bytes came after the reply's blobs")
            outcomes = self._outcomes(reply, script.ops, got)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # A driver that answers garbage is as broken as one that crashed.
            self.crashes += 1
            self._restart()
            return ScriptResult("crash", detail=f"malformed answer: {exc}; the driver said {line[:200]!r}"
                                + ("..." if len(line) > 200 else "") + "; driver restarted",
                                seconds=elapsed)
        self._watch_memory()
        return ScriptResult("ok", outcomes, seconds=elapsed)

    def _cut_short(self, began: float, size: int, elapsed: float) -> ScriptResult:
        """The reply's line came, and its blobs did not: the driver died, or stopped, mid-message."""
        assert self.proc is not None
        if self.proc.poll() is not None or self._eof:
            crash = self._crashed(began)
            return ScriptResult("crash", detail=f"{crash.detail} (in the middle of its reply's {size} bytes "
                                "of blobs)", seconds=crash.seconds)
        self.timeouts += 1
        self._restart()
        return ScriptResult("timeout", detail=f"the reply's {size} bytes of blobs did not all come in "
                            f"{self.script_timeout:.0f}s; driver killed and restarted", seconds=elapsed)

    def _blob_sizes(self, sizes: Any, reads: int) -> list[int]:
        """A reply's ``blobs``: byte counts, only from a driver that offered binary framing, and
        no more in all than the script reads (a lying count is a broken driver, not a hang)."""
        if not self.binary:
            raise ScriptError("the reply carries blobs, but the driver's hello offered no binary framing")
        if not isinstance(sizes, list) or not all(type(n) is int and n >= 0 for n in sizes):
            raise ScriptError(f"blobs is not a list of byte counts: {sizes!r:.80}")
        if sum(sizes) > reads:
            raise ScriptError(f"the reply's blobs claim {sum(sizes)} bytes; the script reads at most {reads}")
        return sizes

    def _outcomes(self, reply: Any, ops: tuple[Op, ...],
                  blobs: list[bytes] | None = None) -> tuple[Outcome, ...]:
        """The reply's outcomes, checked against the protocol; ScriptError says what is wrong."""
        if not isinstance(reply, dict):
            raise ScriptError(f"the reply is a JSON {type(reply).__name__}, not an object")
        if "bad_request" in reply:
            raise ScriptError(f"driver refused the request: {reply['bad_request']}")
        if reply.get("id") != self._next_id:
            raise ScriptError(f"answer to request {reply.get('id')!r}, expected {self._next_id}")
        raw = reply.get("outcomes")
        if not isinstance(raw, list):
            raise ScriptError(f"outcomes is {type(raw).__name__}, not a list")
        if len(raw) != len(ops):
            raise ScriptError(f"{len(raw)} outcomes for {len(ops)} operations")
        blobs = blobs or []
        outcomes = tuple([_fast(o, op, blobs) or _outcome(_checked(o, op, blobs), op, blobs)
                          for o, op in zip(raw, ops, strict=True)])
        if blobs:
            used = sorted(o["ok"]["blob"] for o in raw if isinstance(o.get("ok"), dict))
            if used != list(range(len(blobs))):
                raise ScriptError(f"the reply's {len(blobs)} blobs are not each an outcome's: {used!r:.80}")
        return outcomes

    def _rss(self) -> int:
        if self._statm is None:
            return 0
        try:
            return int(os.pread(self._statm, 128, 0).split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0

    def _forget_pid(self) -> None:
        if self._statm is not None:
            os.close(self._statm)
            self._statm = None

    @property
    def peak_rss(self) -> int:
        """The largest peak resident memory (VmHWM), in bytes, any of this runtime's driver
        processes reached, the running one's up to now."""
        self._note_peak()
        return self._peak_rss

    def _note_peak(self) -> None:
        """The kernel's own peak (VmHWM): it sees inside a script; dearer to read than statm."""
        if self._statm is not None:
            self._peak_rss = max(self._peak_rss, memory_of(self._pid)[1])

    def _watch_memory(self) -> None:
        """Note the driver's peak memory; recycle it, between scripts, once it has grown too much.

        Resident memory after each script (a pread of statm, about a microsecond); the
        peak (VmHWM) every 32 scripts and before the process is let go.
        """
        rss = self._rss()
        self._peak_rss = max(self._peak_rss, rss)
        self._watched += 1
        if self._watched % 32 == 1:
            self._note_peak()
        if self.rss_limit > 0 and rss - self._start_rss > self.rss_limit:
            self.recycles += 1
            self.close()
            try:
                self._spawn()  # its start-up overlaps the suite's own work
            except RuntimeUnavailable:
                pass  # reported by the next start()

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request of another kind (``{"command": "bench", ...}``) and return the reply.

        Raises ScriptError when the driver dies, says nothing in ``timeout`` seconds, or
        answers garbage (the driver is then restarted).
        """
        self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        try:
            self.proc.stdin.write((json.dumps({"id": self._next_id, **message}) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            self._crashed(time.monotonic())
            raise ScriptError("the driver died before the request went out") from None
        self._limit = REPLY_LIMIT
        line = self._readline(time.monotonic() + timeout)
        if line is None:
            detail = self._crashed(time.monotonic()).detail if self._eof else f"no answer in {timeout:.0f}s"
            if not self._eof:
                self.timeouts += 1
                self._restart()
            raise ScriptError(detail)
        try:
            reply = json.loads(line)
            assert isinstance(reply, dict) and reply.get("id") == self._next_id
        except (ValueError, AssertionError):
            self._restart()
            raise ScriptError(f"malformed answer: {line[:200]!r}") from None
        self._watch_memory()
        return reply

    def _crashed(self, began: float, spawn: bool = True) -> ScriptResult:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=1 if self._eof else 10)
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            how = "closed its stdout (still running; killed)" if self._eof else "did not exit (killed)"
        elif code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        tail = self._stderr_tail()
        self.crashes += 1
        self._restart(spawn)
        return ScriptResult("crash", detail=f"driver {how}" + (f"; stderr: {tail}" if tail else ""),
                            seconds=time.monotonic() - began)

    def _restart(self, spawn: bool = True) -> None:
        """Replace a crashed or hung driver at once, so its start-up overlaps other work (``spawn``
        False: at the next start)."""
        self._kill()
        self.proc = None
        self.hello = None
        self.restarts += 1
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if not spawn:
            return
        try:
            self._spawn()
        except RuntimeUnavailable:
            pass  # reported by the next start()

    def _stderr_tail(self, limit: int = 600) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - limit))
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        return " | ".join(lines[-4:])

    _eof = False
    _poller: tuple[int, Any] | None = None

    def _readable(self, fd: int, timeout: float) -> bool:
        """Whether ``fd`` has something to read (or its writer is gone) within ``timeout`` seconds.
        One poll object per file descriptor, kept: a selector made and closed per reply cost an
        epoll_create, a register and a close for every script."""
        if self._poller is None or self._poller[0] != fd:
            poller = select.poll()
            poller.register(fd, select.POLLIN | select.POLLPRI)
            self._poller = (fd, poller)
        return bool(self._poller[1].poll(max(timeout, 0.0) * 1000))

    def _readexact(self, n: int, deadline: float) -> bytes | None:
        """``n`` bytes from the driver's stdout (a reply's blobs), or None at EOF, past the
        deadline, or once the driver has exited (``self._eof`` says which)."""
        assert self.proc is not None and self.proc.stdout is not None
        self._eof = False
        parts = [self._buffer[:n]]
        got = len(parts[0])
        self._buffer = self._buffer[n:]
        if got < n:
            fd = self.proc.stdout.fileno()
            while got < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                if not self._readable(fd, min(remaining, 1.0)):
                    if self.proc.poll() is not None:
                        return None
                    continue
                chunk = os.read(fd, max(n - got, 1 << 16))
                if not chunk:
                    self._eof = True
                    return None
                if got + len(chunk) > n:  # what follows the blobs is the next message's
                    self._buffer = chunk[n - got:]
                    chunk = chunk[:n - got]
                parts.append(chunk)
                got += len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _readline(self, deadline: float) -> str | None:
        """One line from the driver's stdout, or None at EOF, past the deadline, once the driver
        has exited (a descendant may hold its stdout open), or once more than ``self._limit``
        bytes came without a newline (``self._overflow`` then says how many)."""
        assert self.proc is not None and self.proc.stdout is not None
        self._eof = False
        self._overflow = 0
        size = len(self._buffer)
        fd = self.proc.stdout.fileno()
        # Chunks are kept apart until the line is whole, and only the new one is searched: a reply
        # of megabytes of hex arrives in pipe-sized pieces, and joining and rescanning all of
        # it at each piece was quadratic.
        parts = [self._buffer]
        if b"\n" not in self._buffer:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._buffer = b"".join(parts)
                    return None
                if not self._readable(fd, min(remaining, 1.0)):
                    if self.proc.poll() is not None:
                        self._buffer = b"".join(parts)
                        return None
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self._eof = True
                    self._buffer = b"".join(parts)
                    return None
                parts.append(chunk)
                if b"\n" in chunk:
                    break
                size += len(chunk)
                if size > self._limit:
                    self._overflow = size
                    self._buffer = b""
                    return None
        line, _, self._buffer = b"".join(parts).partition(b"\n")
        return line.decode("utf-8", "replace")
