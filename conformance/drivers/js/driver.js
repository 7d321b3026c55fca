'use strict';
/*
 * Driver for the JavaScript engines' WebAssembly JS API (docs/protocol.md).
 *
 * One file runs unchanged on Node (V8), Bun (JavaScriptCore) and Deno (V8):
 *
 *   node driver.js node
 *   node_modules/.bin/bun driver.js bun
 *   node_modules/.bin/deno run --allow-read driver.js deno
 *
 * In a browser page (no process, Deno or Bun: browser_host.js serves it there) it
 * runs nothing by itself: it defines globalThis.wasmConformance.handle(line),
 * which takes one request line (hex payloads, modules as hex) and returns the
 * reply line, through the same per-operation code (a promise of it where a
 * component must be loaded first: the bridge transpiles it with jco and serves
 * the glue, and component_values.js, loaded before this file, converts values).
 *
 * The first argument, if any, is the runtime id put in the hello. Deno reads
 * a .js file as CommonJS only because package.json beside it says
 * "type": "commonjs"; keep the two together.
 *
 * Host API used, the way a web page or a Node program would use it:
 *   write       new Uint8Array(memory.buffer).set(bytes, addr)   (RangeError past the end)
 *   read        new Uint8Array(memory.buffer).slice(addr, addr + length)  (clamps at the end)
 *   size        memory.buffer.byteLength
 *   grow        memory.grow(delta)                                (RangeError when refused)
 *   view        a Uint8Array over memory.buffer, kept across operations; any
 *               grow, host or guest, even of 0 pages, detaches its ArrayBuffer,
 *               and the view then has length 0
 *   memory_new  new WebAssembly.Memory({initial, maximum, shared}); a 64-bit one
 *               with {address: 'i64'} and BigInt limits (or the older {index: 'i64'}),
 *               checked by linking it into a module that imports a 64-bit memory, since
 *               an engine without memory64 may ignore the option (Node 20 does)
 *   instantiate with "module", "name" or "imports": new WebAssembly.Instance(module,
 *               {[module]: {[name]: memory}}), the named module compiled and kept as the
 *               request's is; operations with "memory" / "instance" act on that memory /
 *               instance. A shared memory's buffer is a SharedArrayBuffer: never detached,
 *               a grow makes memory.buffer a new, longer one, and a view taken before it
 *               keeps its own length
 *
 * Plain CommonJS and nothing newer than ES2019 (no ?., no ??, no BigInt
 * literals, no class fields), so that old Nodes and every engine here parse it.
 * stdout carries protocol lines only; diagnostics go to stderr.
 */

// In a browser page there is no require: no fs, and the module's bytes come as hex.
var IN_PAGE = typeof process === 'undefined' && typeof Deno === 'undefined' && typeof Bun === 'undefined';
var fs = IN_PAGE ? null : require('fs');

var PROTOCOL_VERSION = 1;

// Whether an instance can be called again after one of its calls trapped.
// V8 and JavaScriptCore both unwind a trap into an ordinary JS exception and
// leave the instance usable (checked on node, bun and deno by calling again
// after every kind of trap), so no call is refused as "poisoned".
var USABLE_AFTER_TRAP = true;

// Anything that prints through console.log would corrupt the protocol: send it
// to stderr instead. Replies are written to file descriptor 1 by send() only.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

// ---------------------------------------------------------------------------
// Outcomes the driver raises inside an operation

class HostError extends Error {
  // The host API refused, or the driver could not do it (docs/protocol.md, "Outcomes").
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

class GuestTrap extends Error {
  // The guest trapped; reason is one of the protocol's trap reasons.
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

function firstLine(text) {
  var s = String(text).trim();
  var cut = s.indexOf('\n');
  return cut < 0 ? s : s.slice(0, cut).trim();
}

function describeError(err) {
  if (err instanceof Error) {
    return (err.name || 'Error') + ': ' + firstLine(err.message);
  }
  return 'thrown: ' + firstLine(String(err));
}

// ---------------------------------------------------------------------------
// The engine we run on

function detectEngine() {
  var argv = process.argv.slice(2);
  var named = argv.length > 0 && argv[0] ? argv[0] : '';
  if (typeof Bun !== 'undefined') {
    return {
      runtime: named || 'bun',
      version: String(Bun.version),
      info: {
        engine: 'JavaScriptCore',
        webkit: process.versions.webkit || '?',
        bun_revision: Bun.revision || '?',
        platform: process.platform + '-' + process.arch,
      },
    };
  }
  if (typeof Deno !== 'undefined') {
    return {
      runtime: named || 'deno',
      version: String(Deno.version.deno),
      info: {
        engine: 'V8',
        v8: Deno.version.v8,
        typescript: Deno.version.typescript,
        platform: Deno.build.os + '-' + Deno.build.arch,
      },
    };
  }
  return {
    runtime: named || 'node',
    version: String(process.version),
    info: {
      engine: 'V8',
      v8: process.versions.v8,
      platform: process.platform + '-' + process.arch,
    },
  };
}

// ---------------------------------------------------------------------------
// Hex

var HEX_DIGITS = '0123456789abcdef';
var HEX_PAIRS = null; // '00' to 'ff', for an engine without Buffer (a browser page)

// Buffer (Node, Bun and Deno all have it) converts in native code; a string of
// two characters per byte joined in JS was most of a large read's time.
var HAS_BUFFER = typeof Buffer === 'function' && typeof Buffer.from === 'function';

function bytesToHex(bytes) {
  if (HAS_BUFFER) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
  if (HEX_PAIRS === null) {
    HEX_PAIRS = [];
    for (var p = 0; p < 256; p++) HEX_PAIRS.push(HEX_DIGITS[p >> 4] + HEX_DIGITS[p & 15]);
  }
  var out = [];
  for (var at = 0; at < bytes.length; at += 8192) { // a string per 8 KiB, joined once
    var piece = '';
    var end = Math.min(bytes.length, at + 8192);
    for (var i = at; i < end; i++) piece += HEX_PAIRS[bytes[i]];
    out.push(piece);
  }
  return out.join('');
}

function hexDigit(code) { // a checked digit's value: 0-9, A-F, a-f
  return code <= 57 ? code - 48 : (code | 32) - 87;
}

// Strict: Buffer.from(text, 'hex') stops silently at the first bad digit, and
// a driver must never write fewer bytes than it was given.
function hexToBytes(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new TypeError('not a hex string: ' + JSON.stringify(text).slice(0, 40));
  }
  if (HAS_BUFFER) { // the text is checked above, so Buffer cannot stop short
    var buf = Buffer.from(text, 'hex');
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  }
  var bytes = new Uint8Array(text.length / 2);
  for (var i = 0; i < bytes.length; i++) {
    bytes[i] = (hexDigit(text.charCodeAt(2 * i)) << 4) | hexDigit(text.charCodeAt(2 * i + 1));
  }
  return bytes;
}

// An operation's data: hex in JSON, or (binary framing) the bytes of the blob
// {"blob": i} named, which the request's reader put in its place.
function payloadOf(op) {
  var data = op.data;
  if (data instanceof Uint8Array) return data;
  return hexToBytes(data);
}

// ---------------------------------------------------------------------------
// Signatures: JS cannot tell an i32 result from an f64 one by its value, so the
// driver reads each exported function's type from the module's own bytes.
// Only what that needs is decoded: sections 1 (type), 2 (import: imported
// functions come first in the function index space), 3 (function), 7 (export).

var VALUE_TYPES = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128',
  0x70: 'funcref', 0x6f: 'externref',
};

class ByteReader {
  constructor(bytes, start, end) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  byte() {
    if (this.pos >= this.end) throw new Error('module ends inside a section at byte ' + this.pos);
    return this.bytes[this.pos++];
  }

  // Unsigned LEB128, up to 64 bits; a Number is exact for every count and
  // index a module can have, and limits past 2**53 are only skipped.
  u32() {
    var result = 0;
    var scale = 1;
    for (var i = 0; i < 10; i++) {
      var b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error('LEB128 too long at byte ' + this.pos);
  }

  // Signed LEB128 (a heap type index); only its extent matters here.
  s33() {
    var b;
    do { b = this.byte(); } while (b & 0x80);
  }

  name() {
    var length = this.u32();
    if (this.pos + length > this.end) throw new Error('name runs past its section');
    var raw = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return decodeUtf8(raw);
  }

  valueType() {
    var code = this.byte();
    if (code === 0x63 || code === 0x64) { // (ref null? heaptype) of the GC proposal
      this.s33();
      return 'ref';
    }
    var type = VALUE_TYPES[code];
    if (type === undefined) throw new Error('unknown value type 0x' + code.toString(16));
    return type;
  }

  limits() {
    var flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

function decodeUtf8(bytes) {
  if (typeof TextDecoder !== 'undefined') return new TextDecoder('utf-8').decode(bytes);
  return Buffer.from(bytes).toString('utf8');
}

function readFunctionType(reader) {
  var form = reader.byte();
  if (form !== 0x60) throw new Error('type form 0x' + form.toString(16) + ' is not a plain function type');
  var params = [];
  var results = [];
  var n = reader.u32();
  for (var i = 0; i < n; i++) params.push(reader.valueType());
  n = reader.u32();
  for (var j = 0; j < n; j++) results.push(reader.valueType());
  return { params: params, results: results };
}

// Skips one import, returning its function type index, or -1 if it is no function.
function readImport(reader) {
  reader.name();
  reader.name();
  var kind = reader.byte();
  switch (kind) {
    case 0: return reader.u32(); // function: type index
    case 1: reader.valueType(); reader.limits(); return -1; // table
    case 2: reader.limits(); return -1; // memory
    case 3: reader.valueType(); reader.byte(); return -1; // global: type, mutability
    case 4: reader.byte(); reader.u32(); return -1; // tag: attribute, type index
    default: throw new Error('unknown import kind ' + kind);
  }
}

// { exportName: {params: [...], results: [...]} } for every exported function.
function exportedSignatures(bytes) {
  if (bytes.length < 8) throw new Error('module shorter than its header');
  var reader = new ByteReader(bytes, 8, bytes.length);
  var types = [];
  var functionTypes = []; // type index per function, imports first
  var signatures = Object.create(null); // an export may be named "__proto__"
  while (reader.pos < bytes.length) {
    var id = reader.byte();
    var size = reader.u32();
    var end = reader.pos + size;
    if (end > bytes.length) throw new Error('section ' + id + ' runs past the end of the module');
    var section = new ByteReader(bytes, reader.pos, end);
    var count = id === 1 || id === 2 || id === 3 || id === 7 ? section.u32() : 0;
    for (var i = 0; i < count; i++) {
      if (id === 1) {
        types.push(readFunctionType(section));
      } else if (id === 2) {
        var typeIndex = readImport(section);
        if (typeIndex >= 0) functionTypes.push(typeIndex);
      } else if (id === 3) {
        functionTypes.push(section.u32());
      } else {
        var name = section.name();
        var kind = section.byte();
        var index = section.u32();
        if (kind === 0) signatures[name] = types[functionTypes[index]];
      }
    }
    reader.pos = end;
  }
  return signatures;
}

// ---------------------------------------------------------------------------
// Typed values: wire {"type", "value": decimal bit pattern} <-> JS values

// A float and its bit pattern share one buffer, in the engine's own byte order on
// both sides (so no byte order is assumed). The driver never changes a float's
// bits itself: a Number goes from here straight into the call, and a result
// straight from the call to here. V8 canonicalises a NaN stored into an array of
// doubles (an array literal, push, Array.from, an apply's argument list), which
// quieted a signalling NaN on the engine's cold path; no float passes through an
// array. What is still lost is lost in the engine's Number or its boundary.
var FLOATS = new ArrayBuffer(8);
var F32 = new Float32Array(FLOATS, 0, 1);
var U32 = new Uint32Array(FLOATS, 0, 1);
var F64 = new Float64Array(FLOATS, 0, 1);
var U64 = new BigUint64Array(FLOATS, 0, 1);
var WIDTHS = { i32: 32, f32: 32, i64: 64, f64: 64 };

var DIGITS = /^[0-9]+$/;
var LARGEST = { 32: '4294967295', 64: '18446744073709551615' };

// The wire value's decimal text, checked to be a bit pattern of the type's
// width. Digits without a leading zero are compared as text (as many digits as
// the largest pattern: compared digit by digit); only a leading zero takes a
// BigInt (a BigInt per argument was a fifth of a long script's time).
function checkBits(type, wire) {
  var text = typeof wire.value === 'string' ? wire.value : String(wire.value);
  var width = WIDTHS[type];
  var fits = DIGITS.test(text);
  if (fits && width !== undefined) {
    var largest = LARGEST[width];
    if (text.length > 1 && text.charCodeAt(0) === 48) {
      fits = BigInt(text) < (BigInt(1) << BigInt(width));
    } else {
      fits = text.length < largest.length || (text.length === largest.length && text <= largest);
    }
  }
  if (!fits) throw new HostError('bad-call', 'not an ' + type + ' bit pattern: ' + JSON.stringify(wire.value));
  return text;
}

function toJs(type, wire) {
  return bitsToJs(type, checkBits(type, wire));
}

// A checked bit pattern's text as the JS value a call takes.
function bitsToJs(type, text) {
  switch (type) {
    case 'i32':
      return Number(text) | 0;
    case 'i64':
      return BigInt.asIntN(64, BigInt(text));
    case 'f32':
      U32[0] = Number(text) >>> 0;
      return F32[0];
    case 'f64':
      U64[0] = BigInt(text);
      return F64[0];
    default:
      throw new HostError('unsupported', 'the driver passes no ' + type + ' values');
  }
}

function fromJs(type, value) {
  var bits;
  switch (type) {
    case 'i32':
      bits = String(value >>> 0);
      break;
    case 'i64':
      bits = BigInt.asUintN(64, value).toString();
      break;
    case 'f32':
      F32[0] = value;
      bits = String(U32[0]);
      break;
    case 'f64':
      F64[0] = value;
      bits = U64[0].toString();
      break;
    default:
      throw new HostError('unsupported', 'the driver returns no ' + type + ' values');
  }
  return { type: type, value: bits };
}

// ---------------------------------------------------------------------------
// Traps: each engine's words for each reason. Specific phrases first, since
// JavaScriptCore says "Out of bounds" for memory, tables and truncations alike.

var TRAP_WORDS = [
  ['out of bounds trunc', 'invalid-conversion'], // JSC
  ['float unrepresentable in integer range', 'invalid-conversion'], // V8
  ['out of bounds call_indirect', 'table-out-of-bounds'], // JSC
  // SpiderMonkey (Firefox): "table index out of bounds" before its "index out of bounds" (memory)
  ['table index out of bounds', 'table-out-of-bounds'], // SpiderMonkey
  ['invalid conversion to integer', 'invalid-conversion'], // SpiderMonkey
  ['indirect call to null', 'indirect-call'], // SpiderMonkey
  ['indirect call signature mismatch', 'indirect-call'], // SpiderMonkey
  ['index out of bounds', 'out-of-bounds'], // SpiderMonkey: memory accesses and data segments
  // An active segment past the end of its memory or table traps at instantiation
  // (V8 and JSC throw a RuntimeError from new WebAssembly.Instance).
  [/data segment (\d+ )?is out of bounds/, 'out-of-bounds'], // V8 11 "data segment is ..", V8 15 "data segment 0 is .."
  ['invalid data segment initialization', 'out-of-bounds'], // JSC
  ['element is trying to set an out of bounds table index', 'table-out-of-bounds'], // JSC
  ['table index is out of bounds', 'table-out-of-bounds'], // V8
  ['invalid index into function table', 'table-out-of-bounds'], // V8 7 (Node 12)
  ['memory access out of bounds', 'out-of-bounds'], // V8
  ['out of bounds memory access', 'out-of-bounds'], // JSC
  ['unreachable', 'unreachable'], // V8 "unreachable", JSC "Unreachable code should not be executed", SpiderMonkey "unreachable executed"
  ['divide by zero', 'integer-divide-by-zero'], // V8: div; SpiderMonkey "integer divide by zero": div and rem
  ['remainder by zero', 'integer-divide-by-zero'], // V8: rem
  ['division by zero', 'integer-divide-by-zero'], // JSC: div and rem
  ['divide result unrepresentable', 'integer-overflow'], // V8: INT_MIN / -1
  ['integer overflow', 'integer-overflow'], // JSC, SpiderMonkey
  // V8 11 says "null function or function signature mismatch" for both; V8 15
  // (Deno 2.9) says "null function" or "function signature mismatch".
  ['null function', 'indirect-call'],
  ['function signature mismatch', 'indirect-call'],
  // JSC says this for a null entry too.
  ['call_indirect to a signature that does not match', 'indirect-call'],
  ['call_indirect to a null table entry', 'indirect-call'], // JSC
  // A misaligned atomic access (the threads proposal's own trap).
  ['operation does not support unaligned accesses', 'unaligned-atomic'], // V8
  ['unaligned memory access', 'unaligned-atomic'], // JSC "Unaligned memory access", SpiderMonkey
];

function trapReason(message) {
  var text = String(message).toLowerCase();
  for (var i = 0; i < TRAP_WORDS.length; i++) {
    var words = TRAP_WORDS[i][0];
    if (typeof words === 'string' ? text.indexOf(words) >= 0 : words.test(text)) return TRAP_WORDS[i][1];
  }
  return 'other';
}

// A guest's exception as an outcome: a trap, or null if the guest did not trap.
function asTrap(err) {
  if (err instanceof WebAssembly.RuntimeError) {
    return new GuestTrap(trapReason(err.message), firstLine(err.message));
  }
  // Deep recursion in wasm is the engine's JS stack limit: a RangeError.
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return new GuestTrap('stack-exhausted', firstLine(err.message));
  }
  // SpiderMonkey's is an InternalError (its own type), "too much recursion".
  if (err instanceof Error && err.name === 'InternalError' && /too much recursion/i.test(err.message)) {
    return new GuestTrap('stack-exhausted', firstLine(err.message));
  }
  return null;
}

// ---------------------------------------------------------------------------
// Fields of an operation

function intField(op, name) {
  var v = op[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TypeError(op.op + ': field ' + JSON.stringify(name) + ' is not an integer: ' + JSON.stringify(v));
  }
  return v;
}

// An address or a length: a negative one is outside memory, never an index from the end (which
// is what slice and set would make of it).
function placeField(op, name) {
  var v = intField(op, name);
  if (v < 0) throw new HostError('out-of-range', name + ' ' + v + ' is negative');
  return v;
}

function stringField(op, name) {
  var v = op[name];
  if (typeof v !== 'string') {
    throw new TypeError(op.op + ': field ' + JSON.stringify(name) + ' is not a string: ' + JSON.stringify(v));
  }
  return v;
}

// ---------------------------------------------------------------------------
// A bounded cache (a Map keeps insertion order: the first key is the least
// recently used one)

var COMPILED_MODULES = 32;

function cacheGet(map, key) {
  var value = map.get(key);
  if (value !== undefined) { // most recently used: to the end
    map.delete(key);
    map.set(key, value);
  }
  return value;
}

function cachePut(map, key, value) {
  map.delete(key);
  map.set(key, value);
  while (map.size > COMPILED_MODULES) map.delete(map.keys().next().value);
  return value;
}

// ---------------------------------------------------------------------------
// Instances and host memories

// An exception from an operation as its outcome.
function readModuleFile(path) {
  if (fs === null) throw new HostError('internal', 'no file system in a browser page: the module must come as hex');
  return fs.readFileSync(path);
}

function failure(err) {
  if (err instanceof GuestTrap) return { trap: err.reason, message: err.message };
  if (err instanceof HostError) return { error: err.reason, message: err.message };
  return { error: 'internal', message: describeError(err) };
}

// A new instance of a compiled module, its exceptions as outcomes.
function newInstance(compiled, importObject) {
  try {
    return new WebAssembly.Instance(compiled.module, importObject);
  } catch (err) {
    var trap = asTrap(err); // a data or element segment out of bounds, or the start function trapped
    if (trap !== null) throw trap;
    // The JS API throws a LinkError for an import of the wrong kind or type
    // (limits, shared), and a TypeError when an import's module is missing
    // from the import object: both mean the module cannot link.
    if (err instanceof WebAssembly.LinkError || err instanceof TypeError) {
      throw new HostError('link-error', describeError(err));
    }
    throw err;
  }
}

function describeLimits(descriptor) {
  var parts = [];
  for (var key in descriptor) {
    var v = descriptor[key];
    parts.push(key + ': ' + (typeof v === 'bigint' ? v + 'n' : typeof v === 'string' ? "'" + v + "'" : String(v)));
  }
  return '{' + parts.join(', ') + '}';
}

// (module (import "" "m" (memory i64 0))): an engine that makes a 64-bit memory must link it.
var MEMORY64_IMPORTER = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x02, 0x07, 0x01, 0x00, 0x01, 0x6d, 0x02, 0x04, 0x00]);

// How this engine makes a 64-bit (memory64) memory: {option, bigint}, found once. The JS API
// now says {address: 'i64'} with BigInt limits; engines before that took {index: 'i64'} (with
// Numbers at first). An engine that does not know the option ignores it and makes a 32-bit
// memory (Node 20), so each way is checked by linking the memory into a module that imports a
// 64-bit memory, not trusted. None works: HostError unsupported, with the engine's own words.
var MEMORY64 = null;

function memory64Kind() {
  if (MEMORY64 === null) MEMORY64 = findMemory64();
  if (MEMORY64.refused) throw new HostError('unsupported', MEMORY64.refused);
  return MEMORY64;
}

function findMemory64() {
  var ways = [{ option: 'address', bigint: true }, { option: 'index', bigint: true }, { option: 'index', bigint: false }];
  var said = [];
  var importer = null;
  for (var i = 0; i < ways.length; i++) {
    var way = ways[i];
    var descriptor = { initial: way.bigint ? BigInt(0) : 0 };
    descriptor[way.option] = 'i64';
    var memory;
    try {
      memory = new WebAssembly.Memory(descriptor);
    } catch (err) {
      said.push('new WebAssembly.Memory(' + describeLimits(descriptor) + '): ' + describeError(err));
      continue;
    }
    try {
      if (importer === null) importer = new WebAssembly.Module(MEMORY64_IMPORTER);
      new WebAssembly.Instance(importer, { '': { m: memory } });
      return { option: way.option, bigint: way.bigint, refused: '' };
    } catch (err) {
      if (err instanceof WebAssembly.CompileError) { // no memory64 at all
        said.push('a module importing a 64-bit memory: ' + describeError(err));
        break;
      }
      said.push('new WebAssembly.Memory(' + describeLimits(descriptor) + ') made a memory a 64-bit import refuses ('
        + describeError(err) + '): the option was ignored');
    }
  }
  return { option: '', bigint: false, refused: 'no 64-bit memory on the host: ' + said.join('; ') };
}

// ---------------------------------------------------------------------------
// One script's state: the compiled module, the instance, its memory, its views

class Session {
  constructor() {
    this.moduleBytes = new Map(); // key -> Uint8Array, the least recently used dropped
    this.compiledModules = new Map(); // key -> {key, module, signatures, signatureError}, likewise
    this.compiled = null; // the current instance's entry
    this.scripts = 0;
    this.instance = null;
    this.memory = null;
    this.views = Object.create(null); // name -> {array, buffer, taken}; any name, "__proto__" too
    this.poisoned = '';
    this.heapBuffer = null; // see heap()
    this.heapView = null;
    // Linking (docs/protocol.md, "Linking"), per script; null until a script uses it, so that
    // a plain script allocates nothing for it.
    this.extraModules = null; // the request's "modules": name -> module spec
    this.hostMemories = null; // memory_new's memories: name -> WebAssembly.Memory
    this.named = null; // named instances: name -> {instance, compiled, memory, poisoned}
    this.current = null; // the current instance's entry in named, if it has a name
  }

  run(moduleSpec, ops, modules) {
    this.scripts += 1;
    this.instance = null;
    this.memory = null;
    this.views = Object.create(null);
    this.poisoned = '';
    this.extraModules = modules === undefined ? null : modules;
    this.hostMemories = null;
    this.named = null;
    this.current = null;
    var outcomes = [];
    for (var i = 0; i < ops.length; i++) outcomes.push(this.runOp(moduleSpec, ops[i]));
    return outcomes;
  }

  runOp(moduleSpec, op) {
    try {
      if (op === null || typeof op !== 'object') throw new TypeError('an operation is not an object');
      if (op.op === 'instantiate') {
        this.instantiateOp(moduleSpec, op);
        return { ok: null };
      }
      // An operation naming an instance or a memory runs even without a current instance.
      if (op.memory || op.instance) return this.runNamed(op);
      if (op.op === 'memory_new') {
        this.memoryNew(op);
        return { ok: null };
      }
      if (this.instance === null) {
        return { error: 'no-instance', message: 'no instance: (instantiate) failed' };
      }
      return this.runHandler(op);
    } catch (err) {
      return failure(err);
    }
  }

  runHandler(op) {
    var handler = OPERATIONS[op.op];
    if (handler === undefined || !Object.prototype.hasOwnProperty.call(OPERATIONS, op.op)) {
      return { error: 'unsupported', message: 'unknown operation ' + JSON.stringify(op.op) };
    }
    var value = handler(this, op);
    return { ok: value === undefined ? null : value };
  }

  // One operation that names an instance (a call's "instance") or a memory reference (a memory
  // operation's "memory"): the session points at it for this operation, and back after.
  runNamed(op) {
    var instance = this.instance;
    var compiled = this.compiled;
    var memory = this.memory;
    var poisoned = this.poisoned;
    var entry = null;
    try {
      if (op.instance) {
        entry = this.namedInstance(stringField(op, 'instance'));
        this.instance = entry.instance;
        this.compiled = entry.compiled;
        this.memory = entry.memory;
        this.poisoned = entry.poisoned;
      }
      if (op.memory) this.memory = this.resolveMemory(stringField(op, 'memory'));
      return this.runHandler(op);
    } catch (err) {
      return failure(err);
    } finally {
      if (entry !== null && this.poisoned !== entry.poisoned) {
        entry.poisoned = this.poisoned;
        if (entry === this.current) poisoned = this.poisoned;
      }
      this.instance = instance;
      this.compiled = compiled;
      this.memory = memory;
      this.poisoned = poisoned;
    }
  }

  namedInstance(name) {
    if (this.named === null || !Object.prototype.hasOwnProperty.call(this.named, name)) {
      throw new HostError('no-instance', 'no instance ' + JSON.stringify(name) + ' in this script');
    }
    return this.named[name];
  }

  // A memory reference: a host memory's name, or "INSTANCE.EXPORT".
  resolveMemory(ref) {
    if (this.hostMemories !== null && Object.prototype.hasOwnProperty.call(this.hostMemories, ref)) {
      return this.hostMemories[ref];
    }
    var dot = ref.indexOf('.');
    if (dot > 0 && this.named !== null) {
      var name = ref.slice(0, dot);
      var field = ref.slice(dot + 1);
      if (Object.prototype.hasOwnProperty.call(this.named, name)) {
        var exports = this.named[name].instance.exports;
        var found = Object.prototype.hasOwnProperty.call(exports, field) ? exports[field] : undefined;
        if (found instanceof WebAssembly.Memory) return found;
      }
    }
    throw new HostError('no-memory', 'no memory ' + JSON.stringify(ref) + ' in this script');
  }

  // -- module and instance ------------------------------------------------

  // The module's bytes, and the key its compiled form is kept under: its sha256
  // (or path, or hex), the same for every script, so a module is compiled once
  // and instantiated again by later scripts; with "fresh": true, a key of this
  // script's own (a property that needs a fresh compile).
  bytesOf(moduleSpec) {
    if (moduleSpec === null || typeof moduleSpec !== 'object') throw new TypeError('module is not an object');
    var key = String(moduleSpec.sha256 || moduleSpec.path || moduleSpec.hex);
    var bytes = cacheGet(this.moduleBytes, key);
    if (bytes === undefined) {
      bytes = typeof moduleSpec.hex === 'string'
        ? hexToBytes(moduleSpec.hex)
        : new Uint8Array(readModuleFile(stringField(moduleSpec, 'path')));
      cachePut(this.moduleBytes, key, bytes);
    }
    return { bytes: bytes, key: moduleSpec.fresh === true ? key + '#' + this.scripts : key };
  }

  // A second (instantiate), in this script or a later one, makes a new
  // Instance of the same WebAssembly.Module, as an embedder reusing a compiled
  // module would. Only a module that compiled is kept.
  compiledModule(moduleSpec) {
    var source = this.bytesOf(moduleSpec);
    var found = cacheGet(this.compiledModules, source.key);
    if (found !== undefined) return found;
    var module;
    try {
      module = new WebAssembly.Module(source.bytes);
    } catch (err) {
      if (err instanceof WebAssembly.CompileError) throw new HostError('invalid-module', firstLine(err.message));
      throw err;
    }
    var signatures = null;
    var signatureError = '';
    try {
      signatures = exportedSignatures(source.bytes);
    } catch (err) {
      signatureError = describeError(err);
    }
    return cachePut(this.compiledModules, source.key,
      { key: source.key, module: module, signatures: signatures, signatureError: signatureError });
  }

  instantiate(moduleSpec) {
    this.instance = null;
    this.memory = null;
    this.heapBuffer = null;
    this.heapView = null;
    this.views = Object.create(null);
    this.poisoned = '';
    this.current = null;
    if (componentHost(this.bytesOf(moduleSpec).bytes) !== null) return this.instantiateComponent(moduleSpec);
    var compiled = this.compiledModule(moduleSpec);
    this.compiled = compiled;
    var instance = newInstance(compiled, {});
    this.instance = instance;
    var memory = instance.exports.memory;
    this.memory = memory instanceof WebAssembly.Memory ? memory : null;
  }

  // A component (component_host.js, or in a page PAGE_COMPONENTS, loaded before the script ran):
  // the instance's exports are the glue's functions, for component_call; it has no core exports
  // and no memory.
  instantiateComponent(moduleSpec) {
    var entry = componentHost(null).loaded(this.bytesOf(moduleSpec).bytes, moduleSpec);
    if (entry === null || entry.error) {
      throw new HostError('unsupported', 'jco could not load the component: ' + (entry ? entry.error : 'not loaded'));
    }
    var exports;
    try {
      exports = entry.instantiate();
    } catch (err) {
      var trap = asTrap(err);
      if (trap !== null) throw trap;
      throw new HostError('link-error', describeError(err));
    }
    this.compiled = null;
    this.instance = { exports: {}, component: exports };
  }

  // An (instantiate): plain (a new instance of the request's module, as always), or linking,
  // with any of "module", "name", "imports".
  instantiateOp(moduleSpec, op) {
    var imports = op.imports;
    if (!op.module && !op.name && !(Array.isArray(imports) && imports.length > 0)) {
      this.instantiate(moduleSpec);
      return;
    }
    // Host memories and views of them outlive the current instance: views are kept.
    this.instance = null;
    this.memory = null;
    this.heapBuffer = null;
    this.heapView = null;
    this.poisoned = '';
    this.current = null;
    var name = op.name ? stringField(op, 'name') : '';
    var spec = moduleSpec;
    if (op.module) {
      var moduleName = stringField(op, 'module');
      var extra = this.extraModules;
      if (extra === null || typeof extra !== 'object' || !Object.prototype.hasOwnProperty.call(extra, moduleName)) {
        throw new HostError('link-error', 'the request carries no module ' + JSON.stringify(moduleName));
      }
      spec = extra[moduleName];
    }
    var compiled = this.compiledModule(spec);
    this.compiled = compiled;
    var importObject = this.importObject(compiled, imports === undefined || imports === null ? [] : imports);
    var instance = newInstance(compiled, importObject);
    var memory = instance.exports.memory;
    var entry = { instance: instance, compiled: compiled, memory: memory instanceof WebAssembly.Memory ? memory : null,
      poisoned: '' };
    this.instance = instance;
    this.memory = entry.memory;
    if (name) {
      if (this.named === null) this.named = Object.create(null);
      this.named[name] = entry;
      this.current = entry;
    }
  }

  // The import object for a module's imports, each given the memory the script names for it
  // (only memories are given): {module: {name: memory}}. Taken in the module's import order;
  // an import the script does not give is a link error, an unknown memory reference no-memory.
  importObject(compiled, given) {
    if (!Array.isArray(given)) throw new TypeError('instantiate: imports is not a list');
    if (compiled.imports === undefined) compiled.imports = WebAssembly.Module.imports(compiled.module);
    var out = Object.create(null);
    for (var i = 0; i < compiled.imports.length; i++) {
      var wanted = compiled.imports[i];
      var ref = null;
      for (var j = 0; j < given.length; j++) {
        var g = given[j];
        if (g === null || typeof g !== 'object') throw new TypeError('instantiate: import ' + j + ' is not an object');
        if (g.module === wanted.module && g.name === wanted.name) {
          ref = stringField(g, 'memory');
          break;
        }
      }
      if (ref === null) {
        throw new HostError('link-error', 'the script gives no import ' + JSON.stringify(wanted.module) + ' '
          + JSON.stringify(wanted.name) + ' (a ' + wanted.kind + ')');
      }
      var memory = this.resolveMemory(ref);
      if (!Object.prototype.hasOwnProperty.call(out, wanted.module)) out[wanted.module] = Object.create(null);
      out[wanted.module][wanted.name] = memory;
    }
    return out;
  }

  // memory_new: a memory the host makes, outside any instance (new WebAssembly.Memory).
  memoryNew(op) {
    var name = stringField(op, 'name');
    var minimum = intField(op, 'min');
    var maximum = op.max === undefined || op.max === null ? null : intField(op, 'max');
    var shared = op.shared === true;
    var index = op.index === undefined || op.index === null ? 'i32' : stringField(op, 'index');
    if (index !== 'i32' && index !== 'i64') throw new HostError('unsupported', 'no index type ' + JSON.stringify(index));
    if (shared && !canShare()) {
      throw new HostError('unsupported', 'no shared memory: this engine has no SharedArrayBuffer');
    }
    var descriptor;
    if (index === 'i64') {
      var kind = memory64Kind(); // throws unsupported where the engine makes no 64-bit memory
      var big = function (n) { return kind.bigint ? BigInt(n) : n; };
      descriptor = { initial: big(minimum) };
      if (maximum !== null) descriptor.maximum = big(maximum);
      descriptor[kind.option] = 'i64';
    } else {
      descriptor = { initial: minimum };
      if (maximum !== null) descriptor.maximum = maximum;
    }
    if (shared) descriptor.shared = true;
    var memory;
    try {
      memory = new WebAssembly.Memory(descriptor);
    } catch (err) {
      // RangeError: limits past what the JS API or the engine allows, or a minimum above the
      // maximum. TypeError: a limit that is no integer of the index type's range, or a shared
      // memory without a maximum. Both are the host API refusing these limits.
      if (err instanceof RangeError || err instanceof TypeError) {
        throw new HostError('bad-limits', 'new WebAssembly.Memory(' + describeLimits(descriptor) + '): ' + describeError(err));
      }
      throw err;
    }
    if (shared && !isSharedBuffer(memory.buffer)) {
      throw new HostError('unsupported', 'no shared memory: new WebAssembly.Memory ignored shared: true (its buffer is an '
        + memory.buffer.constructor.name + ')');
    }
    if (this.hostMemories === null) this.hostMemories = Object.create(null);
    this.hostMemories[name] = memory;
  }

  // A Uint8Array over the memory's buffer now, made again only when the buffer
  // is another (a grow, by host or guest, detaches it and makes a new one):
  // what new Uint8Array(memory.buffer) gives, without an allocation per operation.
  heap() {
    var buffer = this.requireMemory().buffer;
    if (this.heapBuffer !== buffer) {
      this.heapView = new Uint8Array(buffer);
      this.heapBuffer = buffer;
    }
    return this.heapView;
  }

  requireMemory() {
    if (this.memory === null) throw new HostError('no-memory', "the module exports no memory named 'memory'");
    return this.memory;
  }

  // -- calls ----------------------------------------------------------------

  signatureOf(name) {
    var compiled = this.compiled;
    if (compiled.signatures === null) {
      throw new HostError('internal', 'cannot read the module\'s function types: ' + compiled.signatureError);
    }
    if (!Object.prototype.hasOwnProperty.call(compiled.signatures, name)) {
      throw new HostError('internal', 'no function type found for export ' + JSON.stringify(name));
    }
    return compiled.signatures[name];
  }

  call(name, wireArgs) {
    if (this.poisoned) throw new HostError('poisoned', this.poisoned);
    var exports = this.instance.exports;
    var fn = Object.prototype.hasOwnProperty.call(exports, name) ? exports[name] : undefined;
    if (typeof fn !== 'function') throw new HostError('no-such-export', 'no exported function ' + JSON.stringify(name));
    var sig = this.signatureOf(name);
    checkArgs(name, sig, wireArgs);
    var result;
    try {
      result = callWith(fn, wireArgs);
    } catch (err) {
      var trap = asTrap(err);
      if (trap === null && err instanceof TypeError) {
        // The JS API refused the call before the guest ran: an engine with no
        // BigInt integration (Node 12: "wasm function signature contains
        // illegal type" for any i64), or a type JS cannot pass (v128).
        throw new HostError('bad-call', describeError(err));
      }
      if (trap === null) throw err;
      if (!USABLE_AFTER_TRAP) this.poisoned = 'the instance cannot be called after the trap: ' + trap.message;
      throw trap;
    }
    return convertResults(sig.results, result);
  }
}

// JS would quietly turn a missing argument into undefined (that is, 0) and
// coerce a wrong one: the wire's typed arguments are checked against the
// function's type instead, as a typed host API would.
function checkArgs(name, sig, wireArgs) {
  if (!Array.isArray(wireArgs)) throw new TypeError('call: args is not a list');
  if (wireArgs.length !== sig.params.length) {
    throw new HostError('bad-call', name + ' takes ' + sig.params.length + ' arguments, got ' + wireArgs.length);
  }
  for (var i = 0; i < wireArgs.length; i++) {
    var wire = wireArgs[i];
    if (wire === null || typeof wire !== 'object') throw new TypeError('call: argument ' + i + ' is not a typed value');
    if (wire.type !== sig.params[i]) {
      throw new HostError('bad-call', name + ' argument ' + i + ' is ' + sig.params[i] + ', got ' + wire.type);
    }
    checkBits(wire.type, wire);
  }
}

// Calls fn with the wire's arguments, each converted in the call expression
// itself: a list of Numbers (for fn.apply) would be an array of doubles, whose
// NaNs V8 canonicalises. Past four arguments, each is bound in turn (a bound
// function keeps its arguments as values, not as an array of doubles).
function callWith(fn, wire) { // checkArgs has checked every argument
  var a = function (i) { return bitsToJs(wire[i].type, String(wire[i].value)); };
  switch (wire.length) {
    case 0: return fn();
    case 1: return fn(a(0));
    case 2: return fn(a(0), a(1));
    case 3: return fn(a(0), a(1), a(2));
    case 4: return fn(a(0), a(1), a(2), a(3));
    default: {
      var bound = fn;
      for (var i = 0; i < wire.length; i++) bound = bound.bind(undefined, a(i));
      return bound();
    }
  }
}

// One result comes back bare, several as an array (the JS API's multi-value):
// each is converted where it is, never copied into another array first.
function convertResults(types, result) {
  if (types.length === 0) return [];
  var out = [];
  if (types.length === 1) {
    out.push(fromJs(types[0], result));
    return out;
  }
  for (var i = 0; i < types.length; i++) out.push(fromJs(types[i], result[i]));
  return out;
}

// ---------------------------------------------------------------------------
// Operations: each returns the ok value or throws HostError / GuestTrap

var HAS_SAB = typeof SharedArrayBuffer === 'function';

// A SharedArrayBuffer, asked so that it also works where the engine makes them (a shared memory's
// buffer) but the global constructor is not exposed: WebKitGTK's pages, where JavaScriptCore's
// SharedArrayBuffer is off (no global SharedArrayBuffer) and shared memories still work.
function isSharedBuffer(buffer) {
  if (HAS_SAB) return buffer instanceof SharedArrayBuffer;
  return Object.prototype.toString.call(buffer) === '[object SharedArrayBuffer]';
}

var CAN_SHARE = null;

// Whether new WebAssembly.Memory makes shared memories here (asked once where there is no
// global SharedArrayBuffer).
function canShare() {
  if (CAN_SHARE === null) {
    CAN_SHARE = HAS_SAB;
    if (!CAN_SHARE) {
      try {
        CAN_SHARE = isSharedBuffer(new WebAssembly.Memory({ initial: 0, maximum: 0, shared: true }).buffer);
      } catch (err) {
        CAN_SHARE = false;
      }
    }
  }
  return CAN_SHARE;
}

function isDetached(view) {
  // A shared memory's SharedArrayBuffer is never detached: a grow makes memory.buffer a new,
  // longer one, and a view taken before keeps its own length.
  if (view.shared) return false;
  // ArrayBuffer.prototype.detached is recent (ES2024: Bun and Deno have it,
  // Node 20 not). Before it, a byteLength of 0 where there were bytes says
  // detached, but a memory of 0 pages has no bytes to lose; slicing a detached
  // ArrayBuffer throws a TypeError on every engine, so ask that way.
  if (typeof view.buffer.detached === 'boolean') return view.buffer.detached;
  if (view.taken > 0 && view.buffer.byteLength === 0) return true;
  try {
    view.buffer.slice(0, 0);
    return false;
  } catch (err) {
    return err instanceof TypeError;
  }
}

function keptView(session, name) {
  if (!Object.prototype.hasOwnProperty.call(session.views, name)) {
    throw new HostError('no-such-view', 'no view named ' + JSON.stringify(name));
  }
  return session.views[name];
}

// A view access: refused when the buffer is gone or the span passes the
// view's current length (a typed array's own slice would clamp, set would throw).
function checkedView(session, name, addr, length) {
  var view = keptView(session, name);
  if (isDetached(view)) {
    throw new HostError('detached', 'view ' + name + ': its ArrayBuffer was detached (by a memory.grow since the view was taken)');
  }
  if (addr < 0 || addr + length > view.array.length) {
    throw new HostError('out-of-range', 'view ' + name + ' is ' + view.array.length + ' bytes');
  }
  return view.array;
}

// memory.grow takes a Number for a 32-bit memory and a BigInt for a memory64
// one (the JS API's index type), and answers in the same kind.
function growMemory(memory, delta) {
  try {
    return memory.grow(delta);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/.test(err.message)) throw err;
    return Number(memory.grow(BigInt(delta)));
  }
}

var OPERATIONS = {
  write: function (session, op) {
    var addr = placeField(op, 'addr');
    var data = payloadOf(op);
    var heap = session.heap();
    try {
      heap.set(data, addr);
    } catch (err) {
      if (err instanceof RangeError) throw new HostError('out-of-range', 'Uint8Array.set: ' + firstLine(err.message));
      throw err;
    }
    return null;
  },

  read: function (session, op) {
    var addr = placeField(op, 'addr');
    var length = placeField(op, 'length');
    // slice clamps at the end of the buffer: a short read is reported short.
    return session.heap().slice(addr, addr + length);
  },

  call: function (session, op) {
    return session.call(stringField(op, 'func'), op.args === undefined ? [] : op.args);
  },

  grow: function (session, op) {
    // A delta past 2**53 arrives as an inexact double: it is past any memory's
    // limit, and the engine's own argument conversion is what this checks.
    var delta = typeof op.delta === 'number' && op.delta > Number.MAX_SAFE_INTEGER ? op.delta : intField(op, 'delta');
    var memory = session.requireMemory();
    try {
      return growMemory(memory, delta);
    } catch (err) {
      // RangeError: past the maximum, or no memory for it. TypeError: a delta
      // that is no u32 (the API's [EnforceRange] refuses it). Both are the
      // host API refusing the grow; the message keeps which.
      if (err instanceof RangeError || err instanceof TypeError) {
        throw new HostError('grow-failed', 'Memory.grow: ' + describeError(err));
      }
      throw err;
    }
  },

  size: function (session) {
    return session.requireMemory().buffer.byteLength;
  },

  view: function (session, op) {
    var name = stringField(op, 'view');
    var kind = op.kind === undefined ? '' : stringField(op, 'kind');
    var memory = session.requireMemory();
    var array;
    if (kind === '') {
      array = new Uint8Array(memory.buffer);
    } else if (kind === 'resizable' || kind === 'resizable-fixed') {
      // The JS API's answer to the detached buffer: the memory's buffer made resizable (the
      // fixed-length one it had is detached), which a grow resizes in place.
      if (typeof memory.toResizableBuffer !== 'function') {
        throw new HostError('unsupported', 'this engine has no Memory.prototype.toResizableBuffer');
      }
      var resizable;
      try {
        resizable = memory.toResizableBuffer();
      } catch (err) {
        // the JS API makes only a memory with a maximum resizable
        if (err instanceof TypeError) throw new HostError('bad-limits', 'Memory.toResizableBuffer: ' + firstLine(err.message));
        throw err;
      }
      // length-tracking, or of the length it has now
      array = kind === 'resizable' ? new Uint8Array(resizable) : new Uint8Array(resizable, 0, resizable.byteLength);
    } else {
      throw new HostError('unsupported', 'no view of kind ' + JSON.stringify(kind));
    }
    session.views[name] = { array: array, buffer: array.buffer, taken: array.length,
      shared: isSharedBuffer(array.buffer) };
    return array.length;
  },

  view_read: function (session, op) {
    var addr = intField(op, 'addr');
    var length = intField(op, 'length');
    var array = checkedView(session, stringField(op, 'view'), addr, length);
    return array.slice(addr, addr + length);
  },

  view_write: function (session, op) {
    var addr = intField(op, 'addr');
    var data = payloadOf(op);
    checkedView(session, stringField(op, 'view'), addr, data.length).set(data, addr);
    return null;
  },

  view_length: function (session, op) {
    return keptView(session, stringField(op, 'view')).array.length;
  },

  component_call: function (session, op) {
    if (!session.instance.component) throw new HostError('unsupported', 'the instance is no component');
    try {
      return componentHost(null).call(session.instance.component, stringField(op, 'func'), op.params || [],
        op.result === undefined ? null : op.result, op.args || []);
    } catch (err) {
      var trap = asTrap(err);
      if (trap !== null) throw trap;
      if (err && err.reason) throw new HostError(err.reason, describeError(err));
      // the glue's own checks while lifting or lowering (jco throws a TypeError or RangeError where
      // the canonical ABI traps): docs/protocol.md, "Component calls"
      throw new GuestTrap('canonical-abi', describeError(err));
    }
  },
};

// component_host.js (jco), required at the first component; in a page, PAGE_COMPONENTS (where
// the bridge served component_values.js); null where there is none or, given bytes, where they are
// no component.
var COMPONENT_HOST = null;
function componentHost(bytes) {
  if (bytes !== null && !(bytes.length >= 8 && bytes[4] === 0x0d && bytes[6] === 0x01)) return null;
  if (IN_PAGE) return PAGE_COMPONENTS;
  if (COMPONENT_HOST === null) COMPONENT_HOST = require('./component_host.js');
  return COMPONENT_HOST;
}

// A promise that loads (transpiles, imports) the request's component, or null when there is
// nothing to load: jco's glue is an ES module, imported asynchronously, once per component.
function componentToLoad(session, request) {
  if (!request.ops.some(function (op) { return op && op.op === 'component_call'; })) return null;
  var bytes;
  try {
    bytes = session.bytesOf(request.module).bytes;
  } catch (err) {
    return null;
  }
  var host = componentHost(bytes);
  if (host === null || host.loaded(bytes, request.module) !== null) return null;
  return host.load(bytes, request.module);
}

// Components in a page (docs/protocol.md, "Browsers"): the bridge (browser_host.js, node) has
// transpiled the request's component with jco and put where its files are served in the module's
// "jco": {"base": "/jco/<sha256>-<jco version>/", "cores": [core module file names]}, or
// {"error": why} where it could not. The page loads each once, by its base
// (component_values.js's loadServed: the core modules compiled, the glue imported), and converts
// values with the same component_values.js as node, bun and deno.
var PAGE_COMPONENTS = !IN_PAGE || typeof globalThis.wasmConformanceComponents !== 'object' ? null : {
  values: globalThis.wasmConformanceComponents,
  byBase: new Map(),

  loaded: function (bytes, moduleSpec) {
    var jco = moduleSpec && moduleSpec.jco;
    if (jco === null || typeof jco !== 'object') return { error: 'the bridge sent no transpiled glue for it' };
    if (typeof jco.error === 'string') return { error: jco.error };
    return this.byBase.get(String(jco.base)) || null;
  },

  load: function (bytes, moduleSpec) {
    var byBase = this.byBase;
    var base = String(moduleSpec.jco.base);
    var cores = Array.isArray(moduleSpec.jco.cores) ? moduleSpec.jco.cores.map(String) : [];
    return this.values.loadServed(base, cores).then(function (entry) {
      byBase.set(base, entry);
      return entry;
    }, function (err) {
      var entry = { error: describeError(err) };
      byBase.set(base, entry);
      return entry;
    });
  },

  call: function (exports, func, params, result, args) {
    return this.values.call(exports, func, params, result, args);
  },
};

// ---------------------------------------------------------------------------
// The bench command (conformance/bench.py): timing loops beside the engine, not
// across the pipe. {"command": "bench", "module": .., "cases": [..], "target": s,
// "samples": n} -> {"bench": [{"name", "median", "min", "max", "repeat", "samples"} |
// {"name", "error", "message"}]}, times in nanoseconds per operation.

var BENCH_SINK = { value: null };

function clockNs() {
  if (IN_PAGE) return performance.now() * 1e6; // coarser: a page's clock is (at best) microseconds
  var t = process.hrtime();
  return t[0] * 1e9 + t[1];
}

// Every timed loop consumes what each call returns (a count of the results that
// were not undefined, returned with the figures): no engine may drop a call
// whose result is used. (Deno's V8 inlined an empty export into a loop that
// dropped its result, and timed "call nop" at 1 ns.)
function timedLoop(fn, repeat) {
  var sink = 0;
  for (var i = 0; i < repeat; i++) { if (fn() !== undefined) sink++; }
  return sink;
}

// The loop's call site sees several functions before any case is timed, so the
// optimiser cannot inline the first case's function into it (with an empty
// export inlined in turn, "call nop" was a loop of nothing).
(function () {
  var shapes = [function () { return 1; }, function () { return 'a'; }, function () { return null; },
    function () { return undefined; }, function () { return [0]; }, function () { return {}; }];
  for (var k = 0; k < 2000; k++) timedLoop(shapes[k % shapes.length], 10);
})();

function measure(fn, target, samples, setup, maxRepeat) {
  var repeat = 1;
  var limit = maxRepeat || 1073741824;
  var began;
  var sink = 0;
  for (;;) { // calibrate: grow the repeat count until a sample takes about target
    if (setup) setup();
    began = clockNs();
    sink += timedLoop(fn, repeat);
    var spent = clockNs() - began;
    if (spent >= target * 1e9 || repeat >= limit) break;
    var guess = Math.floor(repeat * target * 1e9 / Math.max(spent, 1)) + 1;
    repeat = Math.min(limit, Math.max(repeat * 2, Math.min(guess, repeat * 100)));
  }
  var per = [];
  for (var s = 0; s < samples; s++) {
    if (setup) setup();
    began = clockNs();
    sink += timedLoop(fn, repeat);
    per.push((clockNs() - began) / repeat);
  }
  BENCH_SINK.value = sink;
  per.sort(function (a, b) { return a - b; });
  var n = per.length;
  var median = n % 2 ? per[(n - 1) / 2] : (per[n / 2 - 1] + per[n / 2]) / 2;
  return { median: median, min: per[0], max: per[n - 1], repeat: repeat, samples: n, results: sink };
}

function benchPattern(size) {
  var out = new Uint8Array(size);
  for (var i = 0; i < size; i++) out[i] = i & 255;
  return out;
}

function benchCase(session, moduleSpec, spec, target, samples) {
  var kind = String(spec.kind);
  var size = spec.size === undefined ? 0 : intField(spec, 'size');
  var instantiate = function () {
    session.instantiate(moduleSpec); // a new instance of the module compiled once, as a script's is
  };
  instantiate();
  var data = benchPattern(size);
  var memory = function () { return session.requireMemory(); };
  if (kind === 'memcpy') { // the physical reference: a plain copy of the same bytes, in this process
    var dst = new Uint8Array(size);
    return measure(function () { dst.set(data, 0); return dst[size - 1]; }, target, samples);
  }
  if (kind === 'call') {
    var fn = session.instance.exports[stringField(spec, 'func')];
    var args = (spec.args || []).map(function (a) { return toJs(a.type, a); });
    // the result is kept where the optimiser cannot drop it (V8 inlines a small export)
    return measure(function () { return fn.apply(undefined, args); }, target, samples);
  }
  if (kind === 'write') {
    return measure(function () { var heap = new Uint8Array(memory().buffer); heap.set(data, 0); return heap[0]; },
      target, samples);
  }
  if (kind === 'read') return measure(function () { return new Uint8Array(memory().buffer).slice(0, size); }, target, samples);
  if (kind === 'view_write' || kind === 'view_read') {
    var view = new Uint8Array(memory().buffer); // kept, as a zero-copy host holds it
    if (kind === 'view_write') return measure(function () { view.set(data, 0); return view[0]; }, target, samples);
    return measure(function () { return view.slice(0, size); }, target, samples);
  }
  if (kind === 'string') {
    var text = decodeUtf8(new TextEncoder().encode(new Array(Math.floor(size / 13) + 2).join('héllo wörld ')).slice(0, size));
    text = text.replace(/\uFFFD+$/, '');
    var textEncoder = new TextEncoder();
    var textDecoder = new TextDecoder('utf-8');
    var echo = session.instance.exports[stringField(spec, 'func')];
    return measure(function () {
      var raw = textEncoder.encode(text);
      new Uint8Array(memory().buffer).set(raw, 0);
      BENCH_SINK.value = echo(0, raw.length);
      if (textDecoder.decode(new Uint8Array(memory().buffer).slice(0, raw.length)) !== text) {
        throw new HostError('internal', 'string round trip lost bytes');
      }
    }, target, samples);
  }
  if (kind === 'grow' || kind === 'grow_to') {
    // The host's Memory.grow, or the guest's memory.grow through its export "grow".
    var byGuest = spec.via === 'guest';
    var grow = function (delta) {
      if (byGuest) {
        var old = session.instance.exports.grow(delta);
        if (old === -1 && delta) {
          throw new HostError('grow-failed', "the guest's memory.grow(" + delta + ') answered -1');
        }
        return old;
      }
      try {
        return growMemory(memory(), delta);
      } catch (err) {
        if (err instanceof RangeError || err instanceof TypeError) throw new HostError('grow-failed', 'Memory.grow: ' + describeError(err));
        throw err;
      }
    };
    if (kind === 'grow') {
      var delta = spec.delta === undefined ? 1 : intField(spec, 'delta');
      grow(delta);
      return measure(function () { return grow(delta); }, target, samples, instantiate, spec.max_repeat || 1000);
    }
    var pages = intField(spec, 'pages');
    var start = memory().buffer.byteLength / 65536;
    var times = [];
    for (var s = 0; s < samples; s++) {
      instantiate();
      var began = clockNs();
      grow(pages - start);
      times.push(clockNs() - began);
      if (memory().buffer.byteLength !== pages * 65536) {
        throw new HostError('grow-failed', 'grew to ' + memory().buffer.byteLength + ' bytes, not ' + pages + ' pages');
      }
    }
    instantiate(); // let the big memory go
    times.sort(function (a, b) { return a - b; });
    return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1],
      repeat: 1, samples: times.length, pages: pages };
  }
  if (kind === 'script') { // the harness's own path through this process, in three depths
    var ops = spec.ops;
    var depth = spec.depth || 'raw';
    if (depth === 'raw') {
      var steps = ops.map(function (op) { return rawStep(session, moduleSpec, op); });
      return measure(function () {
        var last;
        for (var k = 0; k < steps.length; k++) last = steps[k]();
        return last;
      }, target, samples);
    }
    if (depth === 'session') return measure(function () { return session.run(moduleSpec, ops); }, target, samples);
    // the line as binary framing has it: payloads as blobs
    var blobs = [];
    var framed = ops.map(function (op) {
      if (typeof op.data !== 'string') return op;
      var copy = {};
      for (var k in op) copy[k] = op[k];
      copy.data = { blob: blobs.length };
      blobs.push(hexToBytes(op.data));
      return copy;
    });
    var line = JSON.stringify({ id: 1, module: moduleSpec, ops: framed, blobs: blobs.map(function (b) { return b.length; }) });
    return measure(function () {
      var request = JSON.parse(line);
      placeBlobs(request, blobs);
      return encodeReply(request.id, session.run(request.module, request.ops), true);
    }, target, samples);
  }
  throw new HostError('unsupported', 'unknown bench case kind ' + JSON.stringify(kind));
}

// One script operation as a direct use of the JS API (no dispatch, hex or JSON).
function rawStep(session, moduleSpec, op) {
  var memory = function () { return session.requireMemory(); };
  if (op.op === 'instantiate') {
    return function () { session.instantiate(moduleSpec); }; // compiled once, as the protocol's path
  }
  if (op.op === 'write') {
    var addr = intField(op, 'addr');
    var data = hexToBytes(op.data);
    return function () { var heap = new Uint8Array(memory().buffer); heap.set(data, addr); return heap[addr]; };
  }
  if (op.op === 'read') {
    var from = intField(op, 'addr');
    var to = from + intField(op, 'length');
    return function () { return new Uint8Array(memory().buffer).slice(from, to); };
  }
  if (op.op === 'call') {
    var name = stringField(op, 'func');
    var wire = op.args || [];
    return function () { return session.call(name, wire); };
  }
  throw new HostError('unsupported', 'the raw script bench has no ' + JSON.stringify(op.op));
}

function runBench(session, request) {
  var target = typeof request.target === 'number' ? request.target : 0.05;
  var samples = typeof request.samples === 'number' ? request.samples : 5;
  var results = [];
  for (var i = 0; i < request.cases.length; i++) {
    var spec = request.cases[i];
    var entry = { name: spec.name || spec.kind };
    try {
      var figures = benchCase(session, request.module, spec, target, samples);
      for (var key in figures) entry[key] = figures[key];
    } catch (err) {
      if (err instanceof GuestTrap) { entry.error = 'trap ' + err.reason; entry.message = err.message; }
      else if (err instanceof HostError) { entry.error = err.reason; entry.message = err.message; }
      else { entry.error = 'internal'; entry.message = describeError(err); }
    }
    results.push(entry);
  }
  session.instance = null;
  session.memory = null;
  return results;
}

// ---------------------------------------------------------------------------
// The loop: a hello, then one reply line per request line

// Replies are written to file descriptor 1 synchronously, whole, before the
// next line is read. process.stdout.write would queue them instead, and Bun
// exits without writing the queue out (a write's callback there does not wait
// for the pipe), so a reply larger than the pipe could be cut at exit.
var encoder = typeof TextEncoder !== 'undefined' ? new TextEncoder() : null;

// Sleeps about a millisecond, without an event loop turn.
function nap() {
  if (typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object') {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  } else {
    var until = Date.now() + 1;
    while (Date.now() < until) { /* wait */ }
  }
}

// On a full non-blocking pipe, Node's and Bun's fs.writeSync throw EAGAIN
// having written nothing, so writing again is exact. Deno's throws EAGAIN
// after a partial write without saying how much went out (its stdout is
// Rust's, buffered and flushed inside the call), so writing again would repeat
// bytes: there the driver stops instead. The suite's pipes are blocking; this
// only happens when a caller hands over a non-blocking stdout.
var ON_DENO = typeof Deno !== 'undefined';

function writeAll(bytes) {
  var done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(1, bytes, done, bytes.length - done);
    } catch (err) {
      if (err.code === 'EAGAIN' && !ON_DENO) { // a non-blocking pipe that is full: wait a moment
        nap();
      } else if (err.code === 'EAGAIN') {
        process.stderr.write('driver.js: stdout is a full non-blocking pipe, and Deno does not tell how much '
          + 'of a write went out; stopping rather than repeating bytes\n');
        process.exit(70);
      } else if (err.code === 'EPIPE') { // the suite went away: nobody to answer
        process.exit(0);
      } else {
        throw err;
      }
    }
  }
}

function encodeText(text) {
  return encoder !== null ? encoder.encode(text) : Buffer.from(text, 'utf8');
}

function send(obj) {
  writeAll(encodeText(JSON.stringify(obj) + '\n'));
}

// The hello offers binary framing (docs/protocol.md): a request's payloads may
// come as raw bytes after its line, and a read's bytes go back that way.
var FRAMING = 'binary';

// A reply: its line, and (binary framing) the blobs that follow it. A read's
// bytes are a blob {"blob": i}, or hex where the framing is not binary.
function encodeReply(id, outcomes, binary) {
  var blobs = [];
  var sizes = [];
  var parts = [];
  for (var i = 0; i < outcomes.length; i++) {
    var o = outcomes[i];
    if (o.ok instanceof Uint8Array) {
      if (binary) {
        parts.push('{"ok":{"blob":' + blobs.length + '}}');
        sizes.push(o.ok.length);
        blobs.push(o.ok);
      } else {
        parts.push('{"ok":"' + bytesToHex(o.ok) + '"}');
      }
    } else {
      parts.push(JSON.stringify(o));
    }
  }
  var line = '{"id":' + JSON.stringify(id === undefined ? null : id) + ',"outcomes":[' + parts.join(',') + ']'
    + (blobs.length ? ',"blobs":[' + sizes.join(',') + ']' : '') + '}\n';
  return { line: line, blobs: blobs };
}

// Small blobs go out in one write with the line (a write each was a system
// call each); a large one is written as it is, not copied.
var COALESCE = 65536;

function sendReply(id, outcomes, binary) {
  var reply = encodeReply(id, outcomes, binary);
  var pending = [encodeText(reply.line)];
  var size = pending[0].length;
  var flush = function () {
    if (pending.length) writeAll(pending.length === 1 ? pending[0] : Buffer.concat(pending, size));
    pending = [];
    size = 0;
  };
  for (var i = 0; i < reply.blobs.length; i++) {
    var blob = reply.blobs[i];
    if (blob.length >= COALESCE) {
      flush();
      writeAll(blob);
    } else {
      pending.push(blob);
      size += blob.length;
      if (size >= COALESCE) flush();
    }
  }
  flush();
}

// Every reply is already written (send is synchronous), so exiting loses nothing.
function finish() {
  process.exit(0);
}

// The byte counts of a request's blobs (binary framing), checked.
function blobSizes(request) {
  var sizes = request.blobs;
  if (sizes === undefined) return [];
  if (!Array.isArray(sizes)) throw new TypeError('blobs is not a list of byte counts');
  for (var i = 0; i < sizes.length; i++) {
    if (typeof sizes[i] !== 'number' || !Number.isInteger(sizes[i]) || sizes[i] < 0) {
      throw new TypeError('blobs is not a list of byte counts: ' + JSON.stringify(sizes).slice(0, 60));
    }
  }
  return sizes;
}

// Each {"blob": i} of the request's ops becomes the bytes of its blob.
function placeBlobs(request, blobs) {
  if (!Array.isArray(request.ops)) return;
  for (var i = 0; i < request.ops.length; i++) {
    var op = request.ops[i];
    if (op === null || typeof op !== 'object') continue;
    var data = op.data;
    if (data !== null && typeof data === 'object' && !(data instanceof Uint8Array)) {
      var index = data.blob;
      if (typeof index === 'number' && index >= 0 && index < blobs.length && Object.keys(data).length === 1
          && Math.floor(index) === index) {
        op.data = blobs[index];
      }
    }
  }
}

// Where a request's reply goes: out.send(obj) for a whole message, out.reply(id, outcomes) for a
// script's outcomes. On stdout (STDOUT) with binary framing; in a page, back to the caller.
var STDOUT = {
  send: send,
  reply: function (id, outcomes) { sendReply(id, outcomes, true); },
};

function handleRequest(session, request, blobs, out) {
  try {
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      throw new TypeError('a request is a JSON object');
    }
    if (request.command === 'shutdown') return false;
    if (request.command === 'bench') {
      out.send({ id: request.id, bench: runBench(session, request) });
      return true;
    }
    if (!Array.isArray(request.ops)) throw new TypeError('request has no list of ops');
    if (request.module === null || typeof request.module !== 'object') throw new TypeError('request has no module');
    if (blobs.length) placeBlobs(request, blobs);
    var modules = request.modules;
    if (modules !== undefined && (modules === null || typeof modules !== 'object' || Array.isArray(modules))) {
      throw new TypeError('modules is not an object of modules by name');
    }
    var loading = componentToLoad(session, request);
    if (loading !== null) {
      var run = function () { return handleRequest(session, request, [], out); };
      return loading.then(run, run);
    }
    out.reply(request.id, session.run(request.module, request.ops, modules));
  } catch (err) {
    var id = request !== null && typeof request === 'object' && request.id !== undefined ? request.id : null;
    out.send({ id: id, bad_request: describeError(err) });
  }
  return true;
}

// The input, read as bytes: lines of JSON, each followed by the blobs its
// "blobs" counts. Chunks are kept apart until a message is whole, and only new
// bytes are searched for the newline (a line of megabytes of hex arrives in
// pipe-sized pieces; joining and searching it all again at each was quadratic).
class Input {
  constructor(session) {
    this.session = session;
    this.chunks = [];
    this.length = 0; // bytes in chunks
    this.searched = 0; // bytes of chunks known to hold no newline
    this.waiting = null; // {request, sizes, total}: a line read, its blobs not yet whole
    this.done = false;
  }

  // The first n bytes of the chunks, taken out of them.
  take(n) {
    var out;
    if (this.chunks.length && this.chunks[0].length >= n) {
      var first = this.chunks[0];
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      var all = Buffer.concat(this.chunks, this.length);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.length -= n;
    return out;
  }

  // The index of the first newline in the chunks, or -1; searches new bytes only.
  newline() {
    var offset = 0;
    for (var i = 0; i < this.chunks.length; i++) {
      var chunk = this.chunks[i];
      if (offset + chunk.length > this.searched) {
        var cut = chunk.indexOf(10, Math.max(0, this.searched - offset));
        if (cut >= 0) return offset + cut;
      }
      offset += chunk.length;
    }
    this.searched = this.length;
    return -1;
  }

  push(chunk) {
    if (this.done) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.pump();
  }

  pump() {
    while (!this.done && !this.paused) {
      if (this.waiting !== null) {
        if (this.length < this.waiting.total) return;
        var payload = this.take(this.waiting.total);
        var blobs = [];
        var at = 0;
        for (var b = 0; b < this.waiting.sizes.length; b++) {
          blobs.push(payload.subarray(at, at + this.waiting.sizes[b]));
          at += this.waiting.sizes[b];
        }
        var request = this.waiting.request;
        this.waiting = null;
        this.handle(request, blobs);
        continue;
      }
      var cut = this.newline();
      if (cut < 0) return;
      var line = this.take(cut + 1);
      this.searched = 0;
      this.line(line.toString('utf8', 0, cut));
    }
  }

  line(text) {
    if (!text.trim()) return;
    var request = null;
    var sizes;
    try {
      request = JSON.parse(text);
      sizes = request !== null && typeof request === 'object' && !Array.isArray(request) ? blobSizes(request) : [];
    } catch (err) {
      var id = request !== null && typeof request === 'object' && request.id !== undefined ? request.id : null;
      send({ id: id, bad_request: describeError(err) });
      return;
    }
    var total = 0;
    for (var i = 0; i < sizes.length; i++) total += sizes[i];
    if (total > 0) this.waiting = { request: request, sizes: sizes, total: total };
    else this.handle(request, sizes.length ? sizes.map(function () { return new Uint8Array(0); }) : []);
  }

  handle(request, blobs) {
    var going = handleRequest(this.session, request, blobs, STDOUT);
    if (going !== null && typeof going === 'object' && typeof going.then === 'function') {
      this.paused = true; // a component loading: the next request waits for it
      var self = this;
      going.then(function (more) {
        self.paused = false;
        if (!more) {
          self.done = true;
          finish();
        } else if (self.ended) {
          self.end();
        } else {
          self.pump();
        }
      });
      return;
    }
    if (!going) {
      this.done = true;
      finish();
    }
  }

  end() {
    if (this.paused) {
      this.ended = true;
      return;
    }
    if (this.done) return;
    this.done = true;
    // a last line without its newline is answered; a request whose blobs were cut short is not
    if (this.waiting === null && this.length) this.line(this.take(this.length).toString('utf8'));
    finish();
  }
}

function main() {
  var engine = detectEngine();
  if (typeof WebAssembly === 'undefined' || typeof WebAssembly.Module !== 'function') {
    send({ protocol: PROTOCOL_VERSION, runtime: engine.runtime, unavailable: 'this JavaScript engine has no WebAssembly' });
    finish();
    return;
  }
  send({ protocol: PROTOCOL_VERSION, runtime: engine.runtime, version: engine.version, pid: process.pid, info: engine.info,
    framing: FRAMING });
  var input = new Input(new Session());
  process.stdin.on('data', function (chunk) {
    input.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  });
  process.stdin.on('end', function () { input.end(); });
}

// In a browser page: globalThis.wasmConformance.handle(line) answers one request line (no binary
// framing: payloads and modules are hex) with its reply line, or null for a shutdown; a request
// whose component must be loaded first gets a promise of them instead. The host (browser_host.js)
// calls it over the browser's automation channel, awaits the promise, and speaks the protocol.
function pageEntry() {
  var session = new Session();
  var replies = [];
  var out = {
    send: function (obj) { replies.push(JSON.stringify(obj)); },
    reply: function (id, outcomes) {
      var line = encodeReply(id, outcomes, false).line;
      replies.push(line.slice(0, line.length - 1));
    },
  };
  globalThis.wasmConformance = {
    handle: function (line) {
      replies = [];
      var request;
      try {
        request = JSON.parse(line);
      } catch (err) {
        return JSON.stringify({ id: null, bad_request: describeError(err) });
      }
      var going = handleRequest(session, request, [], out);
      if (going !== null && typeof going === 'object' && typeof going.then === 'function') {
        return going.then(function (more) { return more ? replies.join('\n') : null; });
      }
      if (!going) return null;
      return replies.join('\n');
    },
    info: {
      userAgent: typeof navigator === 'object' ? String(navigator.userAgent) : '?',
      crossOriginIsolated: typeof crossOriginIsolated === 'boolean' ? crossOriginIsolated : null,
      sharedArrayBuffer: HAS_SAB,
      sharedMemory: canShare(),
    },
  };
}

if (IN_PAGE) pageEntry();
else main();
