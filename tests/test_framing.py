"""Binary framing on the pipe (docs/protocol.md, "Binary framing"): negotiated by the hello.

A driver whose hello offers ``"framing": "binary"`` gets a script's payloads as raw bytes after
the request's line and answers reads the same way; one that does not (a third-party driver that
knows only JSON lines) still gets hex, and works as before. A blob count that lies, or a driver
that dies or stops inside its blobs, is a crash or a timeout, never a hang or a wrong answer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.driver_process import DriverProcess, RuntimeUnavailable
from conformance.runtimes import BUILTIN, RuntimeSpec
from conformance.script import Call, Op, Outcome, Read, Script, Value, View, ViewRead, ViewWrite, Write

MIB = 1 << 20

# A driver of its own, standard library only: memory is a bytearray of 2 MiB. MODE:
#   hex          no framing in its hello; refuses (bad_request) any payload that is not hex
#   binary       binary framing, correct
#   claim-more   its reply's blobs claim one byte more than it read
#   claim-less   claims one byte less than it sends
#   die-mid-blob sends its line and half its blob, then exits
#   stall        sends its line and half its blob, then sleeps
FAKE = r'''
import json, os, sys, time
mode = sys.argv[1]
out = os.fdopen(os.dup(1), "wb")
binary = mode != "hex"
hello = {"protocol": 1, "runtime": "fake", "version": "0", "pid": os.getpid(), "info": {}}
if binary:
    hello["framing"] = "binary"
out.write((json.dumps(hello) + "\n").encode()); out.flush()
memory = bytearray(2 << 20)
inp = sys.stdin.buffer
while True:
    line = inp.readline()
    if not line:
        break
    request = json.loads(line)
    if request.get("command") == "shutdown":
        break
    sizes = request.get("blobs", [])
    if sizes and not binary:
        out.write((json.dumps({"id": request["id"], "bad_request": "blobs to a hex driver"}) + "\n").encode())
        out.flush()
        continue
    payload = inp.read(sum(sizes))
    blobs, at = [], 0
    for n in sizes:
        blobs.append(payload[at:at + n]); at += n
    outcomes, sent = [], []
    bad = ""
    for op in request["ops"]:
        kind = op["op"]
        if kind in ("write", "view_write"):
            data = op["data"]
            if isinstance(data, str):
                data = bytes.fromhex(data)
            elif mode == "hex":
                bad = f"a payload that is not hex: {data!r}"
            else:
                data = blobs[data["blob"]]
            memory[op["addr"]:op["addr"] + len(data)] = data
            outcomes.append({"ok": None})
        elif kind in ("read", "view_read"):
            data = bytes(memory[op["addr"]:op["addr"] + op["length"]])
            if binary:
                outcomes.append({"ok": {"blob": len(sent)}}); sent.append(data)
            else:
                outcomes.append({"ok": data.hex()})
        elif kind == "view":
            outcomes.append({"ok": len(memory)})
        else:
            outcomes.append({"ok": None} if kind == "instantiate" else {"ok": []})
    if bad:
        out.write((json.dumps({"id": request["id"], "bad_request": bad}) + "\n").encode()); out.flush()
        continue
    reply = {"id": request["id"], "outcomes": outcomes}
    body = b"".join(sent)
    if sent:
        reply["blobs"] = [len(b) for b in sent]
        if mode == "claim-more":
            reply["blobs"][-1] += 1
        if mode == "claim-less":
            reply["blobs"][-1] -= 1
    message = (json.dumps(reply) + "\n").encode()
    if mode in ("die-mid-blob", "stall") and sent:
        out.write(message + body[:len(body) // 2]); out.flush()
        if mode == "stall":
            time.sleep(3600)
        os._exit(3)
    out.write(message + body); out.flush()
'''


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "fake_driver.py"
    path.write_text(FAKE)
    yield path


def process_of(fake: Path, mode: str, timeout: float = 60.0) -> DriverProcess:
    return DriverProcess(RuntimeSpec("fake", (sys.executable, str(fake), mode)), script_timeout=timeout)


def pattern(n: int) -> bytes:
    """Bytes that would break a line protocol: every value, newlines and NULs among them."""
    if n < 512:
        return (bytes(range(256)) * 2)[:n]
    return os.urandom(n - 512) + bytes(range(256)) * 2


def big_script(data: bytes) -> Script:
    return Script.of("bytes", [Write(0, data), Read(0, len(data)), Write(len(data), b"\n\n"),
                               Read(len(data) - 1, 3)])


def test_a_driver_that_speaks_only_hex_still_works(fake: Path) -> None:
    process = process_of(fake, "hex")
    try:
        process.start()
        assert not process.binary
        data = pattern(MIB)
        result = process.run(big_script(data))
        assert result.status == "ok", result.detail
        assert result.outcomes[2].value == data and result.outcomes[4].value == data[-1:] + b"\n\n"
    finally:
        process.close()


def test_a_binary_framed_fake_round_trips(fake: Path) -> None:
    process = process_of(fake, "binary")
    try:
        process.start()
        assert process.binary
        data = pattern(MIB)
        for _ in range(2):  # and the stream is still in step for the next script
            result = process.run(big_script(data))
            assert result.status == "ok", result.detail
            assert result.outcomes[2].value == data and result.outcomes[4].value == data[-1:] + b"\n\n"
    finally:
        process.close()


BUILT_IN = ["wasmtime", "node", "deno", "bun", "wasm3", "pywasm", "wasmer-cranelift"]


@pytest.mark.parametrize("runtime", BUILT_IN)
def test_a_binary_framed_mib_round_trips_byte_exact(runtime: str) -> None:
    """Through each built-in driver: 1 MiB written and read back, and through a view, exactly."""
    process = DriverProcess(BUILTIN[runtime])
    try:
        try:
            process.start()
        except RuntimeUnavailable as exc:
            pytest.skip(str(exc))
        assert process.binary, f"{runtime}'s driver offers no binary framing"
        data = pattern(MIB)
        ops: list[Op] = [Call("grow", (Value.i32(32),)), Write(0, data), Read(0, MIB), View("v"),
               ViewWrite("v", MIB, data[::-1]), ViewRead("v", MIB, MIB), Write(5, b""), Read(7, 0)]
        result = process.run(Script.of("bytes", ops))
        assert result.status == "ok", result.detail
        got = result.outcomes
        assert got[3].value == data
        if got[5].kind == "ok":  # a runtime without a view says so; the write is then refused too
            assert got[6].value == data[::-1]
        assert got[8].value == b""
    finally:
        process.close()


def test_a_blob_count_that_claims_more_than_was_read_is_a_crash(fake: Path) -> None:
    process = process_of(fake, "claim-more")
    try:
        result = process.run(big_script(pattern(4096)))
        assert result.status == "crash" and "malformed answer" in result.detail, result.detail
        assert "blobs claim" in result.detail
    finally:
        process.close()


def test_a_blob_count_that_claims_less_than_was_sent_is_a_crash(fake: Path) -> None:
    """The bytes past the claim are no message: the reply, or at the latest the next one, is a
    crash, never an answer taken from another message's bytes."""
    process = process_of(fake, "claim-less")
    try:
        first = process.run(big_script(pattern(4096)))
        second = process.run(big_script(pattern(4096)))
        assert "crash" in (first.status, second.status), (first, second)
        crash = first if first.status == "crash" else second
        assert "malformed answer" in crash.detail, crash.detail
    finally:
        process.close()


def test_a_driver_dying_mid_blob_is_a_crash(fake: Path) -> None:
    process = process_of(fake, "die-mid-blob")
    try:
        result = process.run(big_script(pattern(MIB)))
        assert result.status == "crash", result
        assert "exited with status 3" in result.detail and "in the middle of its reply's" in result.detail
    finally:
        process.close()


def test_a_driver_stalling_mid_blob_is_a_timeout(fake: Path) -> None:
    process = process_of(fake, "stall", timeout=2.0)
    try:
        result = process.run(big_script(pattern(MIB)))
        assert result.status == "timeout", result
        assert "bytes of blobs did not all come" in result.detail
    finally:
        process.close()


def test_a_python_driver_reads_blobs_and_stops_at_a_request_cut_short() -> None:
    """The Python drivers' side: a blob a request does not have is that operation's error, and
    input that ends inside a request's blobs ends the driver (nobody is left to answer)."""
    spec = BUILTIN["wasmtime"]
    proc = subprocess.Popen(spec.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env={**os.environ, **spec.env})
    assert proc.stdin is not None and proc.stdout is not None
    try:
        hello = json.loads(proc.stdout.readline())
        if "unavailable" in hello:
            pytest.skip(hello["unavailable"])
        assert hello["framing"] == "binary"
        module = {"name": "bytes", "path": str(Path("guest-modules/bytes.wasm").resolve())}
        ops = [{"op": "instantiate"}, {"op": "write", "addr": 0, "data": {"blob": 0}},
               {"op": "write", "addr": 0, "data": {"blob": 1}}, {"op": "read", "addr": 0, "length": 3}]
        line = json.dumps({"id": 1, "module": module, "ops": ops, "blobs": [3]}) + "\n"
        proc.stdin.write(line.encode() + b"a\nc")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        assert [next(iter(o)) for o in reply["outcomes"]] == ["ok", "ok", "error", "ok"], reply
        assert reply["outcomes"][2]["error"] == "internal" and reply["blobs"] == [3]
        assert proc.stdout.read(3) == b"a\nc"
        cut = json.dumps({"id": 2, "module": module, "ops": ops, "blobs": [9]}) + "\n"
        proc.stdin.write(cut.encode() + b"ab")
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
        assert proc.stdout.read() == b""
    finally:
        proc.kill()
        proc.wait()


def test_the_formatted_request_is_the_requests_json() -> None:
    """The suite formats a binary-framed request's line directly: the same JSON, and the same
    blobs, as encoding the request's dict gives, for every kind of operation."""
    from conformance.driver_process import framed_request, framed_script, wire_ops
    from conformance.guests import guest, inline_guest
    from conformance.script import Grow, Instantiate, Size, ViewLength

    ops: list[Op] = [Instantiate(), Write(-1, b"\n\x00"), Write(0, b""), Read(3, 9), Call("nop"),
           Call('qu"o\\te\u00e9', (Value.i32(-1), Value("i64", 2**64 - 1), Value("f32", 0x7FC00001),
                                   Value("f64", 1))),
           Grow(2**40), Size(), View("v\n"), ViewRead("v\n", 1, 2), ViewWrite("v\n", 4, b"xy"),
           ViewLength("v\n")]
    for target in (guest("bytes"), inline_guest("tiny", '(module (memory (export "memory") 1))')):
        for fresh in (False, True):
            blobs: list[bytes] = []
            module = {**target.to_wire(), **({"fresh": True} if fresh else {})}
            want = framed_request({"id": 9, "module": module, "ops": wire_ops(ops, blobs)}, blobs)
            got = framed_script(9, target, ops, fresh)
            assert json.loads(got[0]) == json.loads(want[0])
            assert got[1:] == want[1:] == [b"\n\x00", b"", b"xy"]
            assert got[0].endswith(b"\n") and got[0].count(b"\n") == 1


def test_the_fast_outcomes_are_the_checked_ones() -> None:
    """The commonest answers are decoded on a short path: to the same outcomes as the checked
    path, and anything it does not know (a bad blob, a bad value) still goes the long way."""
    from conformance.driver_process import _checked, _fast, _outcome
    from conformance.script import Instantiate, ScriptError, Size

    blobs = [b"ab", b""]
    cases: list[tuple[dict[str, Any], Op]] = [
             ({"ok": None}, Instantiate()), ({"ok": None}, Write(0, b"ab")), ({"ok": None}, Read(0, 2)),
             ({"ok": {"blob": 0}}, Read(0, 2)), ({"ok": {"blob": 1}}, ViewRead("v", 0, 0)),
             ({"ok": {"blob": 0}}, Read(0, 1)), ({"ok": {"blob": 2}}, Read(0, 2)),
             ({"ok": {"blob": True}}, Read(0, 2)), ({"ok": "6162"}, Read(0, 2)),
             ({"ok": [{"type": "i32", "value": "7"}]}, Call("f")),
             ({"ok": [{"type": "i32", "value": "4294967296"}]}, Call("f")),
             ({"ok": [{"type": "i33", "value": "1"}]}, Call("f")),
             ({"ok": [{"type": "i32", "value": 7}]}, Call("f")), ({"ok": []}, Call("f")),
             ({"ok": 3}, Size()), ({"trap": "unreachable", "message": "x"}, Call("f"))]
    for obj, op in cases:
        try:
            slow: Outcome | str = _outcome(_checked(obj, op, blobs), op, blobs)
        except ScriptError as exc:
            slow = f"refused: {exc}"
        try:
            fast: Outcome | str | None = _fast(obj, op, blobs)
        except ScriptError as exc:
            fast = f"refused: {exc}"
        assert fast is None or fast == slow, (obj, op, fast, slow)
        if isinstance(slow, str):
            assert fast is None or isinstance(fast, str), (obj, op, fast)
