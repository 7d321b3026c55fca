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
 * transpiles each component in memory, importing the glue from a data: URL. The module is imported
 * once (asynchronously: load()), and each `instantiate` then instantiates it synchronously.
 * component_call converts the protocol's JSON values to jco's shapes and back with
 * component_values.js, the code a browser page runs too (there browser_host.js, a node process,
 * transpiles with ensureTranspiled() and serves the cache's files to the page).
 *
 * Nothing here is needed by driver.js until a script instantiates a component, and it is only
 * ever require()d then, so that an engine without import() still runs every other script.
 */

const fs = require('fs');
const path = require('path');
const os = require('os');
const crypto = require('crypto');
const url = require('url');
const values = require('./component_values.js');

const isComponent = values.isComponent;

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
  const entry = await importTranspiled(dir, version);
  LOADED.set(sha, entry);
  return entry;
}

// The glue in a folder of transpiled files: {version, instantiate()}, its core modules compiled
// from the folder when the glue first asks for each.
async function importTranspiled(dir, version) {
  const generated = await importFile(path.join(dir, 'guest.js'));
  const cores = new Map();
  const getCoreModule = (name) => {
    if (!cores.has(name)) cores.set(name, new WebAssembly.Module(fs.readFileSync(path.join(dir, name))));
    return cores.get(name);
  };
  return { version: version, instantiate: () => generated.instantiate(getCoreModule, {}) };
}

function loaded(bytes) {
  const sha = crypto.createHash('sha256').update(bytes).digest('hex');
  return LOADED.get(sha) || null;
}

module.exports = {
  isComponent, load, loaded, call: values.call, wasmTools, jcoVersion, camel: values.camel, ensureTranspiled, cacheDir,
  importTranspiled,
};
