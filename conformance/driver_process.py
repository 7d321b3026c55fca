"""The host side of a driver: a child process per runtime, restarted after a crash or hang.

One round trip per script. A driver that dies mid-script becomes a ``crash``
result (with the signal and the tail of its stderr), one that does not answer
in time a ``timeout``; either way the process is replaced before the next
script and the run goes on.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import IO, Any, NoReturn

from conformance.guests import Guest, module_of
from conformance.runtimes import RuntimeSpec
from conformance.script import Call, Op, Outcome, Read, Script, ScriptError, ScriptResult, ViewRead

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


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def wire_ops(ops: Iterable[Op]) -> list[dict[str, Any]]:
    """The operations as ``script.op_to_json`` writes them, each class's fields looked up once
    (dataclasses.fields per operation was a third of the suite's side of a round trip)."""
    out = []
    for op in ops:
        cls = type(op)
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(op))
        wire: dict[str, Any] = {"op": op.op}
        for name in names:
            value = getattr(op, name)
            if isinstance(value, bytes):
                wire[name] = value.hex()
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


_OK_NONE = Outcome.ok()


def _outcome(obj: Any, op: Op) -> Outcome:
    """``Outcome.from_json``, with the commonest answer, ``{"ok": null}`` to an operation whose
    value is not decoded (not a read or a call), shared: outcomes are frozen."""
    if isinstance(obj, dict) and obj.get("ok", 0) is None and not isinstance(op, Read | ViewRead | Call):
        return _OK_NONE
    return Outcome.from_json(obj, op)


class RuntimeUnavailable(Exception):
    """The runtime cannot run here; the message says why, in one line."""


@dataclass(slots=True)
class Hello:
    runtime: str
    version: str
    info: dict[str, Any] = field(default_factory=dict)


class DriverProcess:
    """A running driver for one runtime."""

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
        line = self._readline(time.monotonic() + START_TIMEOUT)
        if line is None:
            self._kill()
            tail = self._stderr_tail()
            self._give_up(f"driver gave no hello in {START_TIMEOUT:.0f}s or exited"
                          + (f": {tail}" if tail else ""))
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
        self.hello = Hello(str(hello.get("runtime", self.spec.id)), str(hello.get("version", "?")),
                           dict(hello.get("info") or {}))
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

    def _spawn(self) -> None:
        self._stderr = tempfile.TemporaryFile()
        env = {**os.environ, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        self._buffer = b""
        self.hello = None
        try:
            self.proc = subprocess.Popen(
                self.spec.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr, env=env, start_new_session=True,
            )
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
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(b'{"command":"shutdown"}\n')
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired, ValueError):
            self._kill()
        self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _kill(self) -> None:
        if self.proc is None:
            return
        self._note_peak()
        self._forget_pid()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass

    # -- scripts ----------------------------------------------------------------

    def run(self, script: Script, module: Guest | None = None) -> ScriptResult:
        """Run one script; never raises for what the runtime does.

        ``module`` overrides the guest the script names (for a module of your own).
        """
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
        request = {"id": self._next_id, "module": target.to_wire(), "ops": wire_ops(script.ops)}
        began = time.monotonic()
        try:
            for piece in request_line(request):
                self.proc.stdin.write(piece)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._crashed(began)
        line = self._readline(began + self.script_timeout)
        elapsed = time.monotonic() - began
        self.busy_seconds += elapsed
        if line is None:
            if self.proc.poll() is not None or self._eof:
                return self._crashed(began)
            self.timeouts += 1
            self._restart()
            return ScriptResult("timeout", detail=f"no answer in {self.script_timeout:.0f}s; "
                                "driver killed and restarted", seconds=elapsed)
        try:
            reply = json.loads(line)
            if "bad_request" in reply:
                raise ScriptError(f"driver refused the request: {reply['bad_request']}")
            if reply.get("id") != self._next_id:
                raise ScriptError(f"answer to request {reply.get('id')}, expected {self._next_id}")
            outcomes = tuple(_outcome(o, op)
                             for o, op in zip(reply["outcomes"], script.ops, strict=False))
            if len(reply["outcomes"]) != len(script.ops):
                raise ScriptError(f"{len(reply['outcomes'])} outcomes for {len(script.ops)} operations")
        except (ValueError, KeyError, TypeError) as exc:
            # A driver that answers garbage is as broken as one that crashed.
            self._restart()
            return ScriptResult("crash", detail=f"malformed answer: {exc}", seconds=elapsed)
        self._watch_memory()
        return ScriptResult("ok", outcomes, seconds=elapsed)

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

    def _crashed(self, began: float) -> ScriptResult:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        tail = self._stderr_tail()
        self.crashes += 1
        self._restart()
        return ScriptResult("crash", detail=f"driver {how}" + (f"; stderr: {tail}" if tail else ""),
                            seconds=time.monotonic() - began)

    def _restart(self) -> None:
        """Replace a crashed or hung driver at once, so its start-up overlaps other work."""
        self._kill()
        self.proc = None
        self.hello = None
        self.restarts += 1
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
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

    def _readline(self, deadline: float) -> str | None:
        """One line from the driver's stdout, or None at EOF or past the deadline."""
        assert self.proc is not None and self.proc.stdout is not None
        self._eof = False
        fd = self.proc.stdout.fileno()
        # Chunks are kept apart until the line is whole, and only the new one is searched: a reply
        # of megabytes of hex arrives in pipe-sized pieces, and joining and rescanning all of
        # it at each piece was quadratic.
        parts = [self._buffer]
        if b"\n" not in self._buffer:
            with selectors.DefaultSelector() as sel:
                sel.register(fd, selectors.EVENT_READ)
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not sel.select(remaining):
                        self._buffer = b"".join(parts)
                        return None
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        self._eof = True
                        self._buffer = b"".join(parts)
                        return None
                    parts.append(chunk)
                    if b"\n" in chunk:
                        break
        line, _, self._buffer = b"".join(parts).partition(b"\n")
        return line.decode("utf-8", "replace")
