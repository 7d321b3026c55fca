'use strict';
/*
 * Components on a JavaScript engine, through jco (docs/protocol.md, "Component calls").
 *
 * A component (its bytes) is transpiled by jco's js-component-bindgen (npm
 * @bytecodealliance/jco-transpile, the transpiler `jco transpile` runs) into an ES module whose
 * JavaScript glue does the canonical ABI's lifting and lowering itself; the files are cached by
 * the component's sha256 and the transpiler's version under $XDG_CACHE_HOME (or ~/.cache)
 * /wasm-memory-conformance/jco; deno, run with --allow-read alone, reads no environment and
 * writes nothing: it finds jco beside its own executable (the npm install of js_engines) and
 * transpiles each component in memory, importing the glue from a data: URL. The module is imported once (asynchronously: load()), and each
 * `instantiate` then instantiates it synchronously. component_call converts the protocol's JSON
 * values to jco's shapes and back, by the WIT types the operation carries:
 *
 *   s64, u64        BigInt (the wire has a decimal string)
 *   f32, f64        Number (the wire has the bit pattern; f64's as a decimal string)
 *   record          an object keyed by the fields' lowerCamelCase names
 *   variant         {tag: label, val: payload}
 *   enum            the label
 *   option<T>       undefined or the value; {tag: 'none'} / {tag: 'some', val} where T is an option
 *   result<T, E>    {tag: 'ok' | 'err', val}; as a function's own result: the value, or a thrown
 *                   ComponentError whose payload is the error
 *   flags           an object of lowerCamelCase labels to booleans
 *   tuple, list     arrays (a list of numbers comes back as a typed array)
 *
 * Nothing here is needed by driver.js until a script instantiates a component, and it is only
 * ever require()d then, so that an engine without import() still runs every other script.
 */

const fs = require('fs');
const path = require('path');
const os = require('os');
const crypto = require('crypto');
const url = require('url');

// An environment variable, or undefined where the engine may not read it (deno runs with
// --allow-read alone: reading the environment throws there).
function env(name) {
  try {
    return process.env[name];
  } catch (err) {
    return undefined;
  }
}

// Whether the environment can be read at all (not on deno without --allow-env), as it was when
// this file was loaded (transpile() may give jco an empty one later).
const ENV_READABLE = (function () {
  try {
    return typeof process.env.PATH === 'string' || process.env.PATH === undefined;
  } catch (err) {
    return false;
  }
}());

function envReadable() {
  return ENV_READABLE;
}

function jsDir() {
  if (env('WASM_CONFORMANCE_JS_DIR')) return env('WASM_CONFORMANCE_JS_DIR');
  if (!envReadable()) {
    // deno, from the npm install of conformance.js_engines: <js dir>/node_modules/.../deno
    const cut = process.execPath.lastIndexOf(path.sep + 'node_modules' + path.sep);
    if (cut >= 0) return process.execPath.slice(0, cut);
  }
  const base = env('XDG_CACHE_HOME') || path.join(os.homedir(), '.cache');
  return path.join(base, 'wasm-memory-conformance', 'js');
}

function jcoDir() {
  return path.join(jsDir(), 'node_modules', '@bytecodealliance', 'jco-transpile');
}

function jcoVersion() {
  return JSON.parse(fs.readFileSync(path.join(jcoDir(), 'package.json'), 'utf8')).version;
}

function importFile(file) {
  if (!fs.existsSync(file)) {
    throw new Error('no jco here: ' + file + ' is missing (make setup-js installs @bytecodealliance/jco-transpile)');
  }
  return import(url.pathToFileURL(file).href);
}

function wasmTools() {
  return importFile(path.join(jcoDir(), 'dist', 'wasm-tools.js'));
}

// The transpiled files' cache. Where the environment cannot be read (deno), the folder beside
// the JS engines' own (<cache>/wasm-memory-conformance/jco), read only: node fills it when it
// makes a component (component_tool.js, ensureTranspiled), and the suite for its probe's.
function cacheDir() {
  if (!envReadable()) return path.join(path.dirname(jsDir()), 'jco');
  const base = env('XDG_CACHE_HOME') || path.join(os.homedir(), '.cache');
  return path.join(base, 'wasm-memory-conformance', 'jco');
}

// Transpile the component into the cache, unless it is there (node: the environment is read).
async function ensureTranspiled(bytes) {
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  const dir = path.join(cacheDir(), sha + '-' + jcoVersion());
  if (!fs.existsSync(path.join(dir, 'guest.js'))) await writeTranspiled(bytes, dir);
  return dir;
}

async function writeTranspiled(bytes, dir) {
  const out = await transpile(bytes);
  const tmp = dir + '.' + process.pid + '.tmp';
  fs.mkdirSync(tmp, { recursive: true });
  for (const name of Object.keys(out.files)) {
    fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
    fs.writeFileSync(path.join(tmp, name), out.files[name]);
  }
  // package.json of its own: the generated guest.js is an ES module
  fs.writeFileSync(path.join(tmp, 'package.json'), '{"type": "module"}\n');
  try {
    fs.renameSync(tmp, dir);
  } catch (err) { // another process made it first
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const LOADED = new Map(); // sha256 -> {instantiate(), version}

function isComponent(bytes) {
  return bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d
    && bytes[4] === 0x0d && bytes[5] === 0 && bytes[6] === 0x01 && bytes[7] === 0;
}

// Transpile (or find the cached transpilation) and import the generated module; a failure is
// kept as {error} (the script's instantiate then answers unsupported, saying why).
async function load(bytes) {
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  if (LOADED.has(sha)) return LOADED.get(sha);
  try {
    return await loadNew(bytes, sha);
  } catch (err) {
    const entry = { error: String(err && err.message || err).split('\n')[0] };
    LOADED.set(sha, entry);
    return entry;
  }
}

async function transpile(bytes) {
  let jco;
  try {
    jco = await importFile(path.join(jcoDir(), 'dist', 'index.js'));
  } catch (err) {
    // deno with --allow-read alone: the transpiler's WASI shim (preview2-shim) reads the
    // environment when it is imported, which deno denies
    if (envReadable()) throw err;
    throw new Error('jco-transpile cannot run without access to the environment (deno --allow-read): '
      + String(err && err.message || err).split('\n')[0]);
  }
  return jco.transpileBytes(Uint8Array.from(bytes), {
    name: 'guest', instantiation: 'sync', noComponentErrorWrapping: false, emitTypescriptDeclarations: false,
  });
}

// Without a cache (deno, read-only): the glue imported from a data: URL (it imports nothing),
// its core modules compiled from the transpiler's output.
async function loadInMemory(bytes, sha, version) {
  const out = await transpile(bytes);
  const generated = await import('data:text/javascript;base64,' + Buffer.from(out.files['guest.js']).toString('base64'));
  const cores = new Map();
  const getCoreModule = (name) => {
    if (!cores.has(name)) cores.set(name, new WebAssembly.Module(out.files[name]));
    return cores.get(name);
  };
  const entry = { version: version, instantiate: () => generated.instantiate(getCoreModule, {}) };
  LOADED.set(sha, entry);
  return entry;
}

async function loadNew(bytes, sha) {
  const version = jcoVersion();
  const dir = path.join(cacheDir(), sha + '-' + version);
  if (!fs.existsSync(path.join(dir, 'guest.js'))) {
    // deno cannot run the transpiler (it reads the environment): in memory, which says why it fails
    if (!envReadable()) return loadInMemory(bytes, sha, version);
    await writeTranspiled(bytes, dir);
  }
  const generated = await importFile(path.join(dir, 'guest.js'));
  const cores = new Map();
  const getCoreModule = (name) => {
    if (!cores.has(name)) cores.set(name, new WebAssembly.Module(fs.readFileSync(path.join(dir, name))));
    return cores.get(name);
  };
  const entry = {
    version: version,
    instantiate: () => generated.instantiate(getCoreModule, {}),
  };
  LOADED.set(sha, entry);
  return entry;
}

function loaded(bytes) {
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  return LOADED.get(sha) || null;
}

// -- values: the protocol's JSON (conformance/canonical_abi/wire.py) <-> jco's shapes

function camel(label) {
  return label.split('-').map((word, i) => {
    const lower = word.toLowerCase();
    return i === 0 ? lower : lower.charAt(0).toUpperCase() + lower.slice(1);
  }).join('');
}

const F = new DataView(new ArrayBuffer(8));

function isOption(t) { return t !== null && typeof t === 'object' && t.kind === 'option'; }

function toJco(t, v) {
  if (typeof t === 'string') {
    switch (t) {
      case 's64': case 'u64': return BigInt(v);
      case 'f32': F.setUint32(0, v, true); return F.getFloat32(0, true);
      case 'f64': F.setBigUint64(0, BigInt(v), true); return F.getFloat64(0, true);
      default: return v; // bool, small integers, char, string
    }
  }
  switch (t.kind) {
    case 'list': return v.map((x) => toJco(t.element, x));
    case 'tuple': return v.map((x, i) => toJco(t.types[i], x));
    case 'record': {
      const out = {};
      for (const [label, ft] of t.fields) out[camel(label)] = toJco(ft, v[label]);
      return out;
    }
    case 'variant': {
      const c = t.cases.find((x) => x[0] === v.case);
      return c[1] === null ? { tag: v.case } : { tag: v.case, val: toJco(c[1], v.value) };
    }
    case 'enum': return v;
    case 'option':
      if (isOption(t.type)) return v === null ? { tag: 'none' } : { tag: 'some', val: toJco(t.type, v.some) };
      return v === null ? undefined : toJco(t.type, v.some);
    case 'result':
      if ('ok' in v) return t.ok === null ? { tag: 'ok' } : { tag: 'ok', val: toJco(t.ok, v.ok) };
      return t.error === null ? { tag: 'err' } : { tag: 'err', val: toJco(t.error, v.error) };
    case 'flags': {
      const out = {};
      for (const label of t.labels) out[camel(label)] = v.indexOf(label) >= 0;
      return out;
    }
  }
  throw new TypeError('not a WIT type: ' + JSON.stringify(t));
}

function bad(t, v) {
  return new TypeError('jco gave ' + String(v) + ' (' + typeof v + ') for ' + JSON.stringify(t));
}

function fromJco(t, v) {
  if (typeof t === 'string') {
    switch (t) {
      case 'bool': if (typeof v !== 'boolean') throw bad(t, v); return v;
      case 's64': case 'u64': if (typeof v !== 'bigint') throw bad(t, v); return v.toString();
      case 'f32': F.setFloat32(0, v, true); return F.getUint32(0, true);
      case 'f64': F.setFloat64(0, v, true); return F.getBigUint64(0, true).toString();
      case 'char': case 'string': if (typeof v !== 'string') throw bad(t, v); return v;
      default: if (typeof v !== 'number') throw bad(t, v); return v;
    }
  }
  switch (t.kind) {
    case 'list': return Array.from(v, (x) => fromJco(t.element, x));
    case 'tuple': return t.types.map((x, i) => fromJco(x, v[i]));
    case 'record': {
      const out = {};
      for (const [label, ft] of t.fields) out[label] = fromJco(ft, v[camel(label)]);
      return out;
    }
    case 'variant': {
      const c = t.cases.find((x) => x[0] === v.tag);
      if (c === undefined) throw bad(t, v && v.tag);
      return { case: v.tag, value: c[1] === null ? null : fromJco(c[1], v.val) };
    }
    case 'enum': return v;
    case 'option':
      if (isOption(t.type)) return v.tag === 'none' ? null : { some: fromJco(t.type, v.val) };
      return v === undefined || v === null ? null : { some: fromJco(t.type, v) };
    case 'result':
      if (v.tag === 'ok') return { ok: t.ok === null ? null : fromJco(t.ok, v.val) };
      if (v.tag === 'err') return { error: t.error === null ? null : fromJco(t.error, v.val) };
      throw bad(t, v && v.tag);
    case 'flags': return t.labels.filter((label) => v[camel(label)] === true);
  }
  throw new TypeError('not a WIT type: ' + JSON.stringify(t));
}

// Call an export of an instance (the generated instantiate()'s exports) with wire values; the
// wire value of its result. A trap propagates (a WebAssembly.RuntimeError).
function call(exports, func, params, result, args) {
  const fn = exports[camel(func)];
  if (typeof fn !== 'function') {
    const err = new Error('no exported function ' + JSON.stringify(func));
    err.reason = 'no-such-export';
    throw err;
  }
  let values;
  try {
    values = params.map((t, i) => toJco(t, args[i]));
  } catch (err) {
    err.reason = 'bad-call';
    throw err;
  }
  const isResult = result !== null && typeof result === 'object' && result.kind === 'result';
  let got;
  try {
    got = fn.apply(undefined, values);
  } catch (err) {
    if (isResult && err instanceof Error && Object.prototype.hasOwnProperty.call(err, 'payload')) {
      try {
        return fromJco(result, { tag: 'err', val: err.payload });
      } catch (inner) {
        inner.reason = 'internal';
        throw inner;
      }
    }
    throw err;
  }
  if (result === null) return null;
  try {
    return fromJco(result, isResult ? { tag: 'ok', val: got } : got);
  } catch (err) {
    err.reason = 'internal';
    throw err;
  }
}

module.exports = { isComponent, load, loaded, call, wasmTools, jcoVersion, camel, ensureTranspiled };
