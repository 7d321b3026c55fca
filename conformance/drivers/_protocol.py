"""The driver side of the boundary-script protocol (see ``docs/protocol.md``).

This module is the whole of what a Python driver shares: it uses the standard
library only and no other part of the package, so a driver runs under any
CPython 3.8+ interpreter that has its runtime's library, without this package
installed there (``python path/to/drivers/wasmtime.py``).

A driver subclasses :class:`Driver`, translates its library's habits into spec
terms by raising :class:`Trap` or :class:`HostError`, and hides nothing: a read
that comes back short is returned short.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import sys
import time
import traceback
from collections import OrderedDict
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

PROTOCOL_VERSION = 1
MASKS = {"i32": 0xFFFFFFFF, "i64": 0xFFFFFFFFFFFFFFFF, "f32": 0xFFFFFFFF, "f64": 0xFFFFFFFFFFFFFFFF}

TypedValue = Tuple[str, int]  # (type, bit pattern)


class Trap(Exception):
    """A WebAssembly trap, with a normalised reason (``out-of-bounds``, ``unreachable``, ...)."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class HostError(Exception):
    """The host API refused: ``out-of-range``, ``detached``, ``unsupported``, ``grow-failed``..."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Unavailable(Exception):
    """The runtime cannot run here (library missing, wrong interpreter, ...)."""


def signed(type_: str, bits: int) -> int:
    width = 32 if type_ in ("i32", "f32") else 64
    return bits - (1 << width) if bits >> (width - 1) else bits


def to_python(type_: str, bits: int) -> Any:
    """A wire value as the Python number a binding takes: a signed int, or a float.

    A float goes through a Python float, which may quiet a signalling NaN.
    """
    if type_ in ("i32", "i64"):
        return signed(type_, bits)
    if type_ == "f32":
        return struct.unpack("<f", struct.pack("<I", bits))[0]
    if type_ == "f64":
        return struct.unpack("<d", struct.pack("<Q", bits))[0]
    raise HostError("unsupported", f"value type {type_}")


def from_python(type_: str, value: Any) -> TypedValue:
    """A binding's result as a wire value (type, bit pattern)."""
    if type_ in ("i32", "i64"):
        return (type_, int(value))
    if type_ == "f32":
        return (type_, struct.unpack("<I", struct.pack("<f", value))[0])
    if type_ == "f64":
        return (type_, struct.unpack("<Q", struct.pack("<d", value))[0])
    raise HostError("unsupported", f"result type {type_}")


class Driver:
    """One runtime. Methods act on the current instance; the loop calls them in script order."""

    runtime_id = "?"

    def version(self) -> str:
        raise NotImplementedError

    def info(self) -> Dict[str, Any]:
        """Anything else worth a line in the report (engine settings, library path)."""
        return {}

    def instantiate(self, wasm: bytes, key: str) -> None:
        """Instantiate ``wasm`` afresh.

        ``key`` names the compiled module: the module's sha256 (so every script
        of the same module has the same key, and a driver compiles it once and
        instantiates that compiled module again, as an embedder reusing a module
        would), or, for a module the request marks ``"fresh"``, a key of that
        script's own. Keep compiled modules in a :class:`CompiledModules`; every
        call must still make a new instance.
        """
        raise NotImplementedError

    def new_script(self) -> None:
        """A new script begins (its first operation is an ``instantiate``); for a driver whose
        state per script is more than its instance."""

    def write(self, addr: int, data: bytes) -> None:
        raise NotImplementedError

    def read(self, addr: int, length: int) -> bytes:
        raise NotImplementedError

    def call(self, func: str, args: List[TypedValue]) -> List[TypedValue]:
        raise NotImplementedError

    def grow(self, delta: int) -> int:
        raise HostError("unsupported", f"{self.runtime_id} has no host-side memory.grow")

    def size(self) -> int:
        raise NotImplementedError

    def view(self, name: str) -> int:
        raise HostError("unsupported", f"{self.runtime_id} has no memory view")

    def view_of_kind(self, name: str, kind: str) -> int:
        """A view of another kind than the host's usual one (``resizable``, ``resizable-fixed``: views
        over the resizable buffer of the JavaScript API's ``Memory.prototype.toResizableBuffer``)."""
        raise HostError("unsupported", f"{self.runtime_id} has no {kind} view (a JavaScript Memory's "
                        "toResizableBuffer)")

    def view_read(self, name: str, addr: int, length: int) -> bytes:
        raise HostError("unsupported", f"{self.runtime_id} has no memory view")

    def view_write(self, name: str, addr: int, data: bytes) -> None:
        raise HostError("unsupported", f"{self.runtime_id} has no memory view")

    def view_length(self, name: str) -> int:
        raise HostError("unsupported", f"{self.runtime_id} has no memory view")

    # -- linking (docs/protocol.md, "Linking"): a driver that implements these overrides all
    # three; the defaults say the runtime's binding cannot.

    def memory_new(self, name: str, minimum: int, maximum: Optional[int], shared: bool,
                   index: str) -> None:
        """Create a memory on the host, outside any instance, kept as ``name`` for the script.
        ``HostError("bad-limits")`` for limits the host API refuses; ``unsupported`` for a kind
        of memory (shared, 64-bit) it cannot make."""
        raise HostError("unsupported", f"{self.runtime_id}'s driver cannot create a memory on the host")

    def link(self, wasm: bytes, key: str, name: str, imports: List[Tuple[str, str, str]]) -> None:
        """Instantiate ``wasm`` in the script's shared store, named ``name`` (may be ""), its
        imports ``(module, name, memory reference)`` given, and make it the current instance."""
        raise HostError("unsupported", f"{self.runtime_id}'s driver cannot give a module imports")

    def select(self, instance: str, memory: str) -> None:
        """Point the next operation at the named instance (a ``call``) or memory reference (a
        memory operation); ``select("", "")`` points back at the current instance.
        ``HostError("no-instance")`` / ``("no-memory")`` for a name the script did not make."""
        if instance or memory:
            raise HostError("unsupported", f"{self.runtime_id}'s driver has no named instances or "
                            "host memories")

    def component_call(self, func: str, params: List[Any], result: Any, args: List[Any]) -> Any:
        """Call a component instance's export (docs/protocol.md, "Component calls"): ``params``
        and ``result`` are WIT types as JSON, ``args`` and the answer wire values."""
        raise HostError("unsupported", f"{self.runtime_id}'s driver runs no components")

    def usable_after_trap(self) -> bool:
        """Whether the instance's exports can still be called after a trap."""
        return True

    def raw_call(self, func: str, args: List[TypedValue]) -> Callable[[], Any]:
        """For the bench: a callable that calls ``func`` by the runtime's own API, arguments
        converted once (the default goes through :meth:`call`, translation included)."""
        return lambda: self.call(func, args)


COMPILED_MODULES = 32
"""how many compiled modules a driver keeps, the least recently used dropped first"""


class CompiledModules:
    """A bounded cache of compiled modules by key, least recently used dropped first.

    Only a successful compile goes in: a module the runtime refused is refused
    again at its next (instantiate).
    """

    def __init__(self, size: int = COMPILED_MODULES) -> None:
        self.size = size
        self.entries: "OrderedDict[str, Any]" = OrderedDict()

    def get(self, key: str) -> Any:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: str, compiled: Any) -> Any:
        self.entries[key] = compiled
        self.entries.move_to_end(key)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self.entries)


class BufferViews:
    """Views that are Python buffers (``memoryview``, a binding's byte array): mixed into a Driver.

    Reads and writes go through the object kept under the view's name, bounded
    by that object's own length now, as a host holding it would be.
    """

    views: Dict[str, Any]

    def _kept(self, name: str, addr: int, length: int) -> Any:
        view = self.views.get(name)
        if view is None:
            raise HostError("no-such-view", f"no view named {name!r}")
        if addr + length > len(view):
            raise HostError("out-of-range", f"view {name} is {len(view)} bytes")
        return view

    def view_read(self, name: str, addr: int, length: int) -> bytes:
        return bytes(self._kept(name, addr, length)[addr:addr + length])

    def view_write(self, name: str, addr: int, data: bytes) -> None:
        self._kept(name, addr, len(data))[addr:addr + len(data)] = data

    def view_length(self, name: str) -> int:
        return len(self._kept(name, 0, 0))


def _place(op: Dict[str, Any], key: str) -> int:
    """An address or a length of ``op``: a negative one is outside memory, never a Python index
    from the end (a memoryview's ``[-8:-4]``) nor a raw pointer before it."""
    value = int(op[key])
    if value < 0:
        raise HostError("out-of-range", f"{key} {value} is negative")
    return value


def _bytes(data: Any) -> bytes:
    return data if type(data) is bytes else bytes(data)


def _payload(op: Dict[str, Any], blobs: List[bytes]) -> bytes:
    """An operation's ``data``: hex in JSON, or ``{"blob": i}``, the request's i-th blob."""
    data = op["data"]
    if isinstance(data, str):
        return bytes.fromhex(data)
    if isinstance(data, dict) and set(data) == {"blob"} and type(data["blob"]) is int \
            and 0 <= data["blob"] < len(blobs):
        return blobs[data["blob"]]
    raise ValueError(f"data is neither hex nor a blob of this request: {data!r:.60}")


class _Session:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.modules = CompiledModules()  # the modules' bytes, by key
        self.instantiated = False
        self.poisoned = ""
        self.scripts = 0
        self.blobs: List[bytes] = []  # the current request's

    def module_bytes(self, module: Dict[str, Any]) -> Tuple[bytes, str]:
        """The module's bytes, and the key its compiled form is kept under: its sha256 (or path,
        or the sha256 of its hex), the same for every script; with ``"fresh": true``, a key of
        this script's own, so that it is compiled afresh."""
        key = module.get("sha256") or module.get("path")
        key = str(key) if key else hashlib.sha256(str(module["hex"]).encode()).hexdigest()
        wasm = self.modules.get(key)
        if wasm is None:
            if "hex" in module:
                wasm = bytes.fromhex(module["hex"])
            else:
                with open(module["path"], "rb") as f:
                    wasm = f.read()
            self.modules.put(key, wasm)
        return wasm, (f"{key}#{self.scripts}" if module.get("fresh") is True else key)

    def run(self, module: Dict[str, Any], ops: List[Dict[str, Any]],
            blobs: Optional[List[bytes]] = None,
            modules: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """The outcomes of ``ops``; a read's ``ok`` value is bytes (the reply makes it hex or a
        blob)."""
        self.blobs = blobs or []
        self.extra = modules or {}
        self.scripts += 1
        self.instantiated = False
        self.poisoned = ""
        self.poisoned_named: Dict[str, str] = {}
        self.current = ""
        self.driver.new_script()
        return [self.run_named(module, op) for op in ops]

    def run_named(self, module: Dict[str, Any], op: Dict[str, Any]) -> Dict[str, Any]:
        """One operation that may name an instance or a memory (linking): the driver is pointed at
        it for this operation, and back at the current instance after."""
        instance, memory = op.get("instance") or "", op.get("memory") or ""
        if not instance and not memory:
            return self.run_op(module, op)
        d = self.driver
        try:
            d.select(str(instance), str(memory))
        except HostError as err:
            return {"error": err.reason, "message": err.message}
        try:
            if instance and op.get("op") == "call" and self.poisoned_named.get(instance):
                return {"error": "poisoned", "message": self.poisoned_named[instance]}
            return self.run_op(module, op, named=True)
        finally:
            d.select("", "")

    def run_op(self, module: Dict[str, Any], op: Dict[str, Any], named: bool = False) -> Dict[str, Any]:
        d = self.driver
        kind = op.get("op")
        try:
            if kind == "instantiate":
                if self.current and self.poisoned:
                    self.poisoned_named[self.current] = self.poisoned
                self.instantiated = False
                self.poisoned = ""
                self.current = str(op.get("name") or "")
                linking = any(op.get(k) for k in ("module", "name", "imports"))
                if op.get("module"):
                    if op["module"] not in self.extra:
                        raise HostError("link-error", f"the request carries no module {op['module']!r}")
                    wasm, key = self.module_bytes(self.extra[op["module"]])
                else:
                    wasm, key = self.module_bytes(module)
                if linking:
                    imports = [(str(i["module"]), str(i["name"]), str(i["memory"]))
                               for i in op.get("imports") or []]
                    d.link(wasm, key, self.current, imports)
                else:
                    d.instantiate(wasm, key)
                self.instantiated = True
                return {"ok": None}
            if kind == "memory_new":
                maximum = op.get("max")
                d.memory_new(str(op["name"]), int(op["min"]), None if maximum is None else int(maximum),
                             bool(op.get("shared", False)), str(op.get("index", "i32")))
                return {"ok": None}
            if not self.instantiated and not named:
                return {"error": "no-instance", "message": "no instance: (instantiate) failed"}
            if kind == "write":
                d.write(_place(op, "addr"), _payload(op, self.blobs))
                return {"ok": None}
            if kind == "read":
                return {"ok": _bytes(d.read(_place(op, "addr"), _place(op, "length")))}
            if kind == "call":
                instance = op.get("instance") or ""
                if self.poisoned and not (named and instance != self.current):
                    return {"error": "poisoned", "message": self.poisoned}
                args = [(a["type"], int(a["value"])) for a in op.get("args", [])]
                try:
                    results = d.call(str(op["func"]), args)
                except Trap as trap:
                    if not d.usable_after_trap():
                        said = f"the instance cannot be called after the trap: {trap.message}"
                        if named and instance != self.current:
                            self.poisoned_named[instance] = said
                        else:
                            self.poisoned = said
                    raise
                return {"ok": [{"type": t, "value": str(v & MASKS[t])} for t, v in results]}
            if kind == "grow":
                return {"ok": d.grow(int(op["delta"]))}
            if kind == "size":
                return {"ok": d.size()}
            if kind == "view":
                if op.get("kind"):
                    return {"ok": d.view_of_kind(str(op["view"]), str(op["kind"]))}
                return {"ok": d.view(str(op["view"]))}
            if kind == "view_read":
                return {"ok": _bytes(d.view_read(str(op["view"]), _place(op, "addr"), _place(op, "length")))}
            if kind == "view_write":
                d.view_write(str(op["view"]), _place(op, "addr"), _payload(op, self.blobs))
                return {"ok": None}
            if kind == "view_length":
                return {"ok": d.view_length(str(op["view"]))}
            if kind == "component_call":
                return {"ok": d.component_call(str(op["func"]), list(op.get("params") or []),
                                               op.get("result"), list(op.get("args") or []))}
            return {"error": "unsupported", "message": f"unknown operation {kind!r}"}
        except Trap as trap:
            return {"trap": trap.reason, "message": trap.message}
        except HostError as err:
            return {"error": err.reason, "message": err.message}
        except Exception as exc:  # the library failed in a way the driver does not know
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
            return {"error": "internal", "message": f"{type(exc).__name__}: {exc} (at {where})"}


def _send(out: IO[bytes], obj: Dict[str, Any]) -> None:
    out.write((json.dumps(obj, separators=(",", ":")) + "\n").encode())
    out.flush()


_SPLICE = 4096


def _reply(rid: Any, outcomes: List[Dict[str, Any]], binary: bool) -> List[bytes]:
    """The reply, in pieces written one after another. A read's ``ok`` bytes become a blob
    after the line (binary framing), or hex in it; a long read's hex goes out as it is, not
    through the JSON encoder (hex needs no escaping, and escaping and copying megabytes of it
    was most of the reply's cost)."""
    pieces = ['{"id":' + json.dumps(rid) + ',"outcomes":[']
    blobs: List[bytes] = []
    for i, o in enumerate(outcomes):
        sep = "," if i else ""
        value = o.get("ok")
        if isinstance(value, bytes):  # only reads answer bytes
            if binary:
                pieces.append(sep + '{"ok":{"blob":%d}}' % len(blobs))
                blobs.append(value)
            elif len(value) >= _SPLICE:
                pieces += [sep + '{"ok":"', value.hex(), '"}']
            else:
                pieces.append(sep + '{"ok":"' + value.hex() + '"}')
        else:
            pieces.append(sep + _outcome_text(o))
    if blobs:
        pieces.append('],"blobs":[' + ",".join(str(len(b)) for b in blobs) + "]}\n")
    else:
        pieces.append("]}\n")
    return ["".join(pieces).encode(), *blobs]


def _outcome_text(o: Dict[str, Any]) -> str:
    """``json.dumps(o)`` of an outcome; the commonest (``ok`` null, an int, a call's typed values)
    formatted directly (the encoder's setup per outcome was most of a long script's reply)."""
    if len(o) == 1 and "ok" in o:
        value = o["ok"]
        if value is None:
            return '{"ok":null}'
        if type(value) is int:
            return '{"ok":%d}' % value
        if type(value) is list and all(type(v) is dict and len(v) == 2 and v.get("type") in MASKS
                                       and type(v.get("value")) is str and v["value"].isdigit()
                                       and v["value"].isascii() for v in value):
            return '{"ok":[' + ",".join(['{"type":"%s","value":"%s"}' % (v["type"], v["value"])
                                         for v in value]) + "]}"
    return json.dumps(o, separators=(",", ":"))


def _read_blobs(inp: IO[bytes], request: Dict[str, Any]) -> Optional[List[bytes]]:
    """The blobs that follow a request's line (binary framing), or None at end of input."""
    sizes = request.get("blobs")
    if sizes is None:
        return []
    if not isinstance(sizes, list) or not all(type(n) is int and n >= 0 for n in sizes):
        raise ValueError(f"blobs is not a list of byte counts: {sizes!r:.60}")
    total = sum(sizes)
    payload = inp.read(total) if total else b""
    if len(payload) < total:
        return None
    return split_blobs(payload, sizes)


def split_blobs(payload: bytes, sizes: List[int]) -> List[bytes]:
    """A message's blobs, cut from the bytes that followed its line (the suite's side uses it too)."""
    if len(sizes) == 1:
        return [payload]
    blobs, at = [], 0
    view = memoryview(payload)
    for n in sizes:
        blobs.append(bytes(view[at:at + n]))
        at += n
    return blobs


def serve(make_driver: Callable[[], Driver], runtime_id: str, framing: str = "binary") -> int:
    """Answer scripts from stdin until it closes. The first line out is the hello.

    ``framing`` is what the hello offers: "binary" (payloads as raw bytes after the line, see
    docs/protocol.md) or "" (hex in JSON only, as a driver that knows no framing).
    """
    # A runtime that prints to stdout (wasm3's C code prints backtraces there)
    # must not corrupt the protocol: replies keep the real stdout on a file
    # descriptor of their own, and file descriptor 1 becomes stderr.
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    try:
        driver = make_driver()
        version = driver.version()
        info = driver.info()
    except Unavailable as exc:
        _send(out, {"protocol": PROTOCOL_VERSION, "runtime": runtime_id, "unavailable": str(exc)})
        return 0
    binary = framing == "binary"
    _send(out, {"protocol": PROTOCOL_VERSION, "runtime": runtime_id, "version": version,
                "pid": os.getpid(), "info": info, **({"framing": "binary"} if binary else {})})
    session = _Session(driver)
    while True:
        line = inp.readline()
        if not line:
            break
        if not line.strip():
            continue
        request: Optional[Dict[str, Any]] = None
        try:
            request = json.loads(line)
            assert isinstance(request, dict), "a request is a JSON object"
            blobs = _read_blobs(inp, request) if binary else []
            if blobs is None:
                break  # the input ended inside the request's blobs: nobody to answer
            if request.get("command") == "shutdown":
                break
            if request.get("command") == "bench":
                _send(out, {"id": request.get("id"), "bench": run_bench(session, request)})
                continue
            outcomes = session.run(request["module"], request["ops"], blobs, request.get("modules"))
            out.writelines(_reply(request.get("id"), outcomes, binary))
            out.flush()
        except Exception as exc:
            rid = request.get("id") if isinstance(request, dict) else None
            _send(out, {"id": rid, "bad_request": f"{type(exc).__name__}: {exc}"})
    return 0


# -- the bench command (conformance/bench.py) -----------------------------------
#
# {"id": N, "command": "bench", "module": {...}, "cases": [{"name": .., "kind": .., ...}],
#  "target": 0.05, "samples": 5}  ->  {"id": N, "bench": [{"name": .., "ns": {...}, ...} | {"name": ..,
#  "error": reason, "message": ..}]}. Timing loops run here, beside the runtime, not across the pipe.

def _clock_ns() -> int:
    return time.perf_counter_ns()


def _measure(fn: Callable[[], Any], target: float, samples: int,
             setup: Optional[Callable[[], None]] = None, max_repeat: int = 1 << 30) -> Dict[str, Any]:
    """Nanoseconds per call of ``fn``: ``samples`` samples of about ``target`` seconds each.

    ``setup`` (untimed) runs before each sample, for cases that use up state (a grow). Every
    timed loop consumes what each call returns (``results``: how many were not None), as the
    JavaScript driver's must (an engine may drop a call whose result is unused).
    """
    repeat = 1
    sink = 0
    while True:  # calibrate: grow the repeat count until a sample takes about target
        if setup is not None:
            setup()
        began = _clock_ns()
        for _ in range(repeat):
            if fn() is not None:
                sink += 1
        spent = _clock_ns() - began
        if spent >= target * 1e9 or repeat >= max_repeat:
            break
        guess = int(repeat * target * 1e9 / max(spent, 1)) + 1
        repeat = min(max_repeat, max(repeat * 2, min(guess, repeat * 100)))
    per: List[float] = []
    for _ in range(samples):
        if setup is not None:
            setup()
        began = _clock_ns()
        for _ in range(repeat):
            if fn() is not None:
                sink += 1
        per.append((_clock_ns() - began) / repeat)
    per.sort()
    n = len(per)
    median = per[n // 2] if n % 2 else (per[n // 2 - 1] + per[n // 2]) / 2
    return {"median": median, "min": per[0], "max": per[-1], "repeat": repeat, "samples": n, "results": sink}


def _pattern(size: int) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(range(size % 256))


def _bench_case(session: "_Session", module: Dict[str, Any], case: Dict[str, Any],
                target: float, samples: int) -> Dict[str, Any]:
    d = session.driver
    kind = str(case["kind"])
    size = int(case.get("size", 0))
    wasm, key = session.module_bytes(module)

    def instantiate() -> None:  # a new instance of the compiled module, as a script's is
        d.instantiate(wasm, key)

    session.scripts += 1
    instantiate()
    data = _pattern(size)
    if kind == "memcpy":  # the physical reference: a plain copy of the same bytes, in this process
        dst = memoryview(bytearray(size))
        return _measure(lambda: dst.__setitem__(slice(0, size), data), target, samples)
    if kind == "call":
        args = [(a["type"], int(a["value"])) for a in case.get("args", [])]
        return _measure(d.raw_call(str(case["func"]), args), target, samples)
    if kind == "write":
        return _measure(lambda: d.write(0, data), target, samples)
    if kind == "read":
        return _measure(lambda: d.read(0, size), target, samples)
    if kind in ("view_write", "view_read"):
        d.view("bench")
        if kind == "view_write":
            return _measure(lambda: d.view_write("bench", 0, data), target, samples)
        return _measure(lambda: d.view_read("bench", 0, size), target, samples)
    if kind == "string":  # encode, write, the guest takes (ptr, len), read back, decode
        text = ("héllo wörld " * (size // 13 + 1)).encode()[:size].decode("utf-8", "ignore")
        echo = d.raw_call(str(case["func"]), [("i32", 0), ("i32", len(text.encode()))])

        def round_trip() -> Any:
            raw = text.encode()
            d.write(0, raw)
            result = echo()
            if d.read(0, len(raw)).decode() != text:
                raise HostError("internal", "string round trip lost bytes")
            return result
        return _measure(round_trip, target, samples)
    if kind in ("grow", "grow_to"):
        # The host's grow, or the guest's memory.grow through its export "grow" (a runtime
        # with no host-side grow still has that one); a fresh instance per sample.
        by_guest = case.get("via") == "guest"

        def grow(delta: int) -> Any:
            if by_guest:
                before = d.size()
                old = d.raw_call("grow", [("i32", delta)])()
                if d.size() == before and delta:
                    raise HostError("grow-failed", f"the guest's memory.grow({delta}) answered -1")
                return old
            return d.grow(delta)
        if kind == "grow":
            delta = int(case.get("delta", 1))
            grow(delta)  # refused here: reported as the case's error
            return _measure(lambda: grow(delta), target, samples, setup=instantiate,
                            max_repeat=int(case.get("max_repeat", 1000)))
        pages = int(case["pages"])
        start = d.size() // 65536
        times: List[float] = []
        for _ in range(samples):
            instantiate()
            began = _clock_ns()
            grow(pages - start)
            times.append(float(_clock_ns() - began))
            if d.size() != pages * 65536:
                raise HostError("grow-failed", f"grew to {d.size()} bytes, not {pages} pages")
        instantiate()  # let the big memory go
        times.sort()
        return {"median": times[len(times) // 2], "min": times[0], "max": times[-1], "repeat": 1,
                "samples": len(times), "pages": pages}
    if kind == "script":  # the harness's own path through this process, in three depths
        ops = case["ops"]
        depth = str(case.get("depth", "raw"))
        if depth == "raw":
            steps = [_raw_step(d, wasm, key, op) for op in ops]
            return _measure(lambda: [step() for step in steps], target, samples)
        if depth == "session":
            return _measure(lambda: session.run(module, ops, []), target, samples)
        # the line as binary framing has it: payloads as blobs
        blobs = [bytes.fromhex(op["data"]) for op in ops if "data" in op]
        framed, n = [], 0
        for op in ops:
            if "data" in op:
                op = {**op, "data": {"blob": n}}
                n += 1
            framed.append(op)
        line = json.dumps({"id": 1, "module": module, "ops": framed, "blobs": [len(b) for b in blobs]})

        def whole() -> List[bytes]:
            request = json.loads(line)
            return _reply(request["id"], session.run(request["module"], request["ops"], blobs), True)
        return _measure(whole, target, samples)
    raise HostError("unsupported", f"unknown bench case kind {kind!r}")


def _raw_step(d: Driver, wasm: bytes, key: str, op: Dict[str, Any]) -> Callable[[], Any]:
    """One script operation as a direct call of the driver's host API (no dispatch, hex, JSON)."""
    kind = op["op"]
    if kind == "instantiate":  # a new instance of the module compiled once, as the protocol's path
        return lambda: d.instantiate(wasm, key)
    if kind == "write":
        addr, data = int(op["addr"]), bytes.fromhex(op["data"])
        return lambda: d.write(addr, data)
    if kind == "read":
        addr, length = int(op["addr"]), int(op["length"])
        return lambda: d.read(addr, length)
    if kind == "call":
        func = str(op["func"])
        args = [(a["type"], int(a["value"])) for a in op.get("args", [])]
        return lambda: d.call(func, args)
    if kind == "grow":
        delta = int(op["delta"])
        return lambda: d.grow(delta)
    if kind == "size":
        return d.size
    raise HostError("unsupported", f"the raw script bench has no {kind!r}")


def run_bench(session: _Session, request: Dict[str, Any]) -> List[Dict[str, Any]]:
    target = float(request.get("target", 0.05))
    samples = int(request.get("samples", 5))
    results: List[Dict[str, Any]] = []
    for case in request["cases"]:
        entry: Dict[str, Any] = {"name": case.get("name", case.get("kind"))}
        try:
            entry.update(_bench_case(session, request["module"], case, target, samples))
        except Trap as trap:
            entry.update({"error": "trap " + trap.reason, "message": trap.message})
        except HostError as err:
            entry.update({"error": err.reason, "message": err.message})
        except Exception as exc:
            entry.update({"error": "internal", "message": f"{type(exc).__name__}: {exc}"})
        results.append(entry)
    session.instantiated = False
    return results
