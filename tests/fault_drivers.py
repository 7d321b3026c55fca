"""Drivers that break the protocol or misbehave as processes, for the harness's own tests.

    python tests/fault_drivers.py MODE [N]

Before it misbehaves a driver says a correct hello and answers each request with an outcome of
the right type for every operation (``ok`` of a zero value). ``$FAULT_PIDS``, if set, names a
file each process it starts appends its pid to (one a line), so a test can check none is left.
MODE is one of:

- crash:         exit with status 3 at request N (default 1)
- hang:          never answer request N (default 1)
- hang-hello:    say nothing, ever
- garbage:       answer request N with a line that is not JSON
- list:          answer with a JSON list;  string: a JSON string;  number: a JSON number
- bad-outcomes:  ``outcomes`` a string;  bad-outcome: an outcome with both ok and trap
- wrong-type:    every outcome ``{"ok": "zz"}`` (a string where null or an int is due)
- bad-info:      a hello whose ``info`` is a list
- stream:        answer with bytes and no newline, forever
- ignore-term:   ignore SIGTERM and never answer
- fork-keep:     fork a child that keeps stdout open and sleeps; exit at request N
- setsid:        fork a child that forks a grandchild which calls setsid(); all sleep; never answer
- close-stdout:  close stdout at request N and sleep
- close-hello:   close stdout before the hello and sleep
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Any

SLEEP = 3600.0


def note_pid() -> None:
    path = os.environ.get("FAULT_PIDS")
    if path:
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")


def fine(op: dict[str, Any]) -> dict[str, Any]:
    """A well-typed ``ok`` for one operation."""
    kind = op.get("op")
    if kind in ("read", "view_read"):
        return {"ok": "00" * int(op.get("length", 0))}
    if kind == "call":
        return {"ok": []}
    if kind in ("grow", "size", "view", "view_length"):
        return {"ok": 0}
    return {"ok": None}


def say(out: Any, text: str) -> None:
    out.write(text + "\n")
    out.flush()


def forked(then_setsid: bool) -> None:
    """Fork a child that sleeps (and, with ``then_setsid``, a grandchild in a session of its own)."""
    if os.fork() == 0:
        if then_setsid and os.fork() == 0:
            os.setsid()
            note_pid()
            time.sleep(SLEEP)
            os._exit(0)
        note_pid()
        time.sleep(SLEEP)
        os._exit(0)


def main() -> None:
    mode = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    note_pid()
    out = sys.stdout
    if mode == "hang-hello":
        time.sleep(SLEEP)
    if mode == "close-hello":
        os.close(1)
        time.sleep(SLEEP)
    if mode == "ignore-term":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode in ("fork-keep", "setsid"):
        forked(mode == "setsid")
    info: Any = [1, 2] if mode == "bad-info" else {"fault": mode}
    say(out, json.dumps({"protocol": 1, "runtime": "fault", "version": "0", "pid": os.getpid(),
                         "info": info}))
    seen = 0
    for line in sys.stdin:
        request = json.loads(line)
        if "command" in request and request["command"] == "shutdown":
            return
        seen += 1
        ops = request.get("ops", [])
        outcomes = [fine(op) for op in ops]
        reply: Any = {"id": request.get("id"), "outcomes": outcomes}
        if seen >= n or mode in ("ignore-term", "setsid"):
            if mode in ("crash", "fork-keep"):
                os._exit(3)
            if mode in ("hang", "ignore-term", "setsid"):
                time.sleep(SLEEP)
            if mode == "close-stdout":
                out.close()
                os.close(1)
                time.sleep(SLEEP)
            if mode == "stream":
                chunk = "7" * 65536
                while True:
                    out.write(chunk)
            text = {"garbage": "this is not JSON {", "list": "[1, 2]", "string": '"hello"',
                    "number": "42"}.get(mode)
            if text is not None:
                say(out, text)
                continue
            if mode == "bad-outcomes":
                reply["outcomes"] = "none"
            elif mode == "bad-outcome":
                reply["outcomes"] = [{"ok": None, "trap": "other"} for _ in ops]
            elif mode == "wrong-type":
                reply["outcomes"] = [{"ok": "zz"} for _ in ops]
        say(out, json.dumps(reply))


if __name__ == "__main__":
    main()
