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
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn

from conformance.guests import Guest, module_of
from conformance.runtimes import RuntimeSpec
from conformance.script import Outcome, Script, ScriptError, ScriptResult

START_TIMEOUT = 60.0
SCRIPT_TIMEOUT = 60.0


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
        self.restarts = 0
        self.crashes = 0
        self.timeouts = 0
        self.busy_seconds = 0.0
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
            return ScriptResult("unavailable", detail=str(exc))
        assert self.proc is not None and self.proc.stdin is not None
        self._next_id += 1
        target = module or module_of(script.guest, script.module, script.wat)
        request = {"id": self._next_id, "module": target.to_wire(), "ops": script.to_json()["ops"]}
        began = time.monotonic()
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
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
            outcomes = tuple(Outcome.from_json(o, op)
                             for o, op in zip(reply["outcomes"], script.ops, strict=False))
            if len(reply["outcomes"]) != len(script.ops):
                raise ScriptError(f"{len(reply['outcomes'])} outcomes for {len(script.ops)} operations")
        except (ValueError, KeyError, TypeError) as exc:
            # A driver that answers garbage is as broken as one that crashed.
            self._restart()
            return ScriptResult("crash", detail=f"malformed answer: {exc}", seconds=elapsed)
        return ScriptResult("ok", outcomes, seconds=elapsed)

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
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    return None
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    self._eof = True
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace")
