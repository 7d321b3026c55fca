'use strict';
/*
 * A browser as a runtime (docs/protocol.md): this bridge is the driver command the suite starts,
 *
 *   node browser_host.js firefox     SpiderMonkey: Debian's firefox-esr, puppeteer-core over WebDriver BiDi
 *   node browser_host.js chromium    V8: Debian's chromium, puppeteer-core over CDP (a pipe)
 *   node browser_host.js webkit      JavaScriptCore in WebKitGTK: WebKitWebDriver and MiniBrowser, WebDriver
 *                                    classic over HTTP, under an Xvfb the bridge starts
 *
 * It speaks the protocol on stdin/stdout (hex payloads only: its hello offers no framing), serves a
 * page and driver.js (the very file node, bun and deno run) from 127.0.0.1 on an ephemeral port with
 * COOP/COEP headers (the page is cross-origin isolated, so SharedArrayBuffer and shared memories
 * work), starts one headless browser on that page, and hands each request line to the page's
 * globalThis.wasmConformance.handle(line) over the automation channel; the page's reply line comes
 * back here and goes to stdout. A module the request names by path is read here and sent as hex.
 *
 * Components (docs/protocol.md, "Component calls"): the page cannot run jco's transpiler, so this
 * process does, for a request that calls a component (component_host.js's ensureTranspiled, into
 * jco's cache), and serves the cache's files to the page under /jco/<sha256>-<jco version>/ (the
 * glue guest.js as text/javascript, its core modules as application/wasm). It tells the page
 * where, in the request's module: "jco": {"base": "/jco/<dir>/", "cores": [...]}, or
 * {"error": why}. The page compiles the core modules, imports the glue and converts values with
 * component_values.js (served as a classic script before driver.js, the file component_host.js
 * requires on node); handle(line) answers such a request with a promise, which the bridge awaits.
 *
 * Crashes and hangs are the suite's to see: a crashed page or a browser that goes away ends this
 * process with status 1 (the suite sees a crash and starts another); a page that never answers is
 * killed with this process's group at the script timeout. The browser is started in a session of
 * its own (puppeteer detaches it), so it gets SIGKILL when this process dies, however it dies
 * (setpriv --pdeathsig), and the suite also kills it as this process's descendant.
 *
 * Without the browser, its driver or puppeteer-core, the hello says "unavailable" with the reason
 * and the bridge exits 0. stdout carries protocol lines only; diagnostics go to stderr.
 *
 * puppeteer-core is the JavaScript driver's npm dependency (package.json beside this file): it is
 * looked for beside this file, then in the user cache where `make setup-js` (conformance/js_engines.py)
 * installs the lockfile ($WASM_CONFORMANCE_JS_DIR, else $XDG_CACHE_HOME or ~/.cache, then
 * wasm-memory-conformance/js). A browser's executable may be given by $WASM_CONFORMANCE_FIREFOX,
 * $WASM_CONFORMANCE_CHROMIUM, $WASM_CONFORMANCE_MINIBROWSER and $WASM_CONFORMANCE_WEBKITWEBDRIVER.
 */

const childProcess = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const PROTOCOL_VERSION = 1;
const RUNTIME = process.argv[2] || 'chromium';
const DRIVER_JS = path.join(__dirname, 'driver.js');
const COMPONENT_VALUES_JS = path.join(__dirname, 'component_values.js');
const TMP_PREFIX = 'wasm-conformance-browser-';

console.log = console.error;
console.info = console.error;
console.debug = console.error;

// Lines go to file descriptor 1 whole: a write may take only part of them (and throws EAGAIN
// where the pipe is non-blocking and full), so write until all is out. process.stdout is never
// touched: making it would turn the pipe non-blocking.
const NAP = new Int32Array(new SharedArrayBuffer(4));

function writeLine(text) {
  const bytes = Buffer.from(text + '\n', 'utf8');
  let done = 0;
  while (done < bytes.length) {
    try {
      done += fs.writeSync(1, bytes, done, bytes.length - done);
    } catch (err) {
      if (err.code === 'EAGAIN') {
        Atomics.wait(NAP, 0, 0, 1);
      } else if (err.code === 'EPIPE') { // the suite went away
        process.exit(0);
      } else {
        throw err;
      }
    }
  }
}

function say(obj) {
  writeLine(JSON.stringify(obj));
}

function log(text) {
  try {
    fs.writeSync(2, 'browser_host.js (' + RUNTIME + '): ' + text + '\n');
  } catch (err) { /* stderr gone */ }
}

function firstLine(text) {
  const s = String(text).trim();
  const cut = s.indexOf('\n');
  return cut < 0 ? s : s.slice(0, cut).trim();
}

function errorText(err) {
  return err instanceof Error ? (err.name || 'Error') + ': ' + firstLine(err.message) : firstLine(String(err));
}

// ---------------------------------------------------------------------------------------------
// What this process leaves behind: a temporary directory (profiles, the launcher, Xvfb's files)
// and processes; both go at exit, however this process ends short of SIGKILL.

let tmpDir = '';
const children = []; // ChildProcess objects (or {pid}) to kill at exit
let closing = false;

function killChildren() {
  for (const child of children) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    } catch (err) { /* gone */ }
  }
}

process.on('exit', function () {
  closing = true;
  killChildren();
  if (tmpDir) {
    try {
      fs.rmSync(tmpDir, { recursive: true, force: true, maxRetries: 3 });
    } catch (err) { /* a dying browser may still write there: the next bridge sweeps it */ }
  }
});
for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT']) {
  process.on(signal, function () { process.exit(128 + os.constants.signals[signal]); });
}

// The directories of bridges that died by SIGKILL (their exit handler never ran).
function sweepStale() {
  const base = os.tmpdir();
  let names = [];
  try {
    names = fs.readdirSync(base);
  } catch (err) {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const pid = parseInt(name.slice(TMP_PREFIX.length), 10);
    if (!(pid > 0) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
      continue; // alive
    } catch (err) {
      if (err.code !== 'ESRCH') continue;
    }
    try {
      fs.rmSync(path.join(base, name), { recursive: true, force: true });
    } catch (err) { /* someone else's */ }
  }
}

// Exit with status 1: the suite sees the pipe close, a crash, and starts another bridge. A browser
// or page that dies between scripts ends the bridge when the next request comes, so that the
// suite sees that script crash (a driver gone before it was sent a request would be taken for one
// that cannot start).
let busy = false;
let broken = '';

function die(why) {
  if (closing) return;
  if (!busy && !broken) {
    broken = why;
    log(why + '; the next request ends this bridge');
    return;
  }
  closing = true;
  log(why);
  process.exit(1);
}

class Unavailable extends Error {}

function unavailable(reason) {
  closing = true;
  say({ protocol: PROTOCOL_VERSION, runtime: RUNTIME, unavailable: firstLine(reason) });
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Finding things

function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch (err) { /* not here */ }
  }
  return '';
}

function executable(envName, names, fixed) {
  const given = process.env[envName];
  if (given) return given;
  for (const name of names) {
    const found = which(name);
    if (found) return found;
  }
  for (const file of fixed || []) {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch (err) { /* not here */ }
  }
  return '';
}

function jsCacheDir() {
  if (process.env.WASM_CONFORMANCE_JS_DIR) return process.env.WASM_CONFORMANCE_JS_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'wasm-memory-conformance', 'js');
}

function loadPuppeteer() {
  const places = [__dirname, jsCacheDir()];
  let where;
  try {
    where = require.resolve('puppeteer-core', { paths: places });
  } catch (err) {
    throw new Unavailable('no npm package puppeteer-core beside ' + __dirname + ' or in ' + jsCacheDir()
      + ' (make setup-js installs the JavaScript driver\'s lockfile)');
  }
  const puppeteer = require(where);
  let version = '?';
  for (let dir = path.dirname(where); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
      if (meta.name === 'puppeteer-core') {
        version = meta.version;
        break;
      }
    } catch (err) { /* not the package's root */ }
  }
  return { puppeteer: puppeteer.default || puppeteer, version: version };
}

// A launcher that makes the browser die with this process: puppeteer starts the browser in a
// session of its own, which the suite's kill of this process's group does not reach.
function launcher(exe) {
  const setpriv = which('setpriv');
  if (!setpriv) return exe;
  const file = path.join(tmpDir, path.basename(exe) + '-launcher');
  fs.writeFileSync(file, '#!/bin/sh\nexec ' + JSON.stringify(setpriv) + ' --pdeathsig KILL -- '
    + JSON.stringify(exe) + ' "$@"\n', { mode: 0o755 });
  return file;
}

// ---------------------------------------------------------------------------------------------
// The page's server: 127.0.0.1, an ephemeral port, cross-origin isolated

const PAGE = '<!doctype html>\n<meta charset="utf-8">\n<title>wasm-memory-conformance</title>\n'
  + '<script src="/component_values.js"></script>\n'
  + '<script src="/driver.js"></script>\n';

// A file of jco's cache the page may load: /jco/<sha256>-<jco version>/<name>.js or .wasm, a file
// directly inside one transpiled component's folder; its path and content type, or null.
const JCO_ROUTE = /^\/jco\/([0-9a-f]{64}-[0-9A-Za-z.+-]+)\/([0-9A-Za-z_.-]+\.(js|wasm))$/;

function jcoFile(route) {
  const m = JCO_ROUTE.exec(route);
  if (m === null || m[2].startsWith('.')) return null;
  const file = path.join(components().cacheDir(), m[1], m[2]);
  return { file: file, type: m[3] === 'js' ? 'text/javascript; charset=utf-8' : 'application/wasm' };
}

function serve() {
  const driver = fs.readFileSync(DRIVER_JS);
  const componentValues = fs.readFileSync(COMPONENT_VALUES_JS);
  const server = http.createServer(function (req, res) {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    const url = (req.url || '/').split('?')[0];
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (url === '/driver.js') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(driver);
    } else if (url === '/component_values.js') {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(componentValues);
    } else if (url.startsWith('/jco/')) {
      let found = null;
      let body = null;
      try {
        found = jcoFile(url);
        if (found !== null) body = fs.readFileSync(found.file);
      } catch (err) { /* not there: 404 */ }
      if (body === null) {
        res.writeHead(404, headers);
        res.end();
      } else {
        res.writeHead(200, { ...headers, 'Content-Type': found.type });
        res.end(body);
      }
    } else if (url === '/favicon.ico') {
      res.writeHead(204, headers);
      res.end();
    } else {
      res.writeHead(404, headers);
      res.end();
    }
  });
  return new Promise(function (resolve, reject) {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', function () {
      resolve({ server: server, url: 'http://127.0.0.1:' + server.address().port + '/' });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Which process runs the page: the descendant of the browser whose resident memory grows when the
// page fills a buffer (the suite watches that pid's memory, as it does an engine's own).

function descendants(pid) {
  const out = [];
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    let tasks = [];
    try {
      tasks = fs.readdirSync('/proc/' + p + '/task');
    } catch (err) {
      continue;
    }
    for (const task of tasks) {
      let text = '';
      try {
        text = fs.readFileSync('/proc/' + p + '/task/' + task + '/children', 'utf8');
      } catch (err) {
        continue;
      }
      for (const c of text.split(/\s+/)) {
        if (c) {
          out.push(Number(c));
          todo.push(Number(c));
        }
      }
    }
  }
  return out;
}

function rss(pid) {
  try {
    return Number(fs.readFileSync('/proc/' + pid + '/statm', 'utf8').split(' ')[1]) * 4096;
  } catch (err) {
    return 0;
  }
}

const FILL_MIB = 64;

async function pagePid(rootPid, evaluate) {
  if (!rootPid || !fs.existsSync('/proc/self/statm')) return 0;
  const pids = [rootPid].concat(descendants(rootPid));
  const before = pids.map(rss);
  await evaluate('(globalThis.__wasmConformanceFill = new Uint8Array(' + FILL_MIB + ' << 20).fill(1)).length');
  const after = pids.map(rss);
  await evaluate('(globalThis.__wasmConformanceFill = null, 0)');
  let best = 0;
  let grown = 0;
  for (let i = 0; i < pids.length; i++) {
    if (after[i] - before[i] > grown) {
      grown = after[i] - before[i];
      best = pids[i];
    }
  }
  return grown > (FILL_MIB / 2) * (1 << 20) ? best : 0;
}

// ---------------------------------------------------------------------------------------------
// Chromium and Firefox: puppeteer-core

async function startPuppeteer(kind, url) {
  const isFirefox = kind === 'firefox';
  const exe = isFirefox
    ? executable('WASM_CONFORMANCE_FIREFOX', ['firefox-esr', 'firefox'], ['/usr/lib/firefox-esr/firefox-esr'])
    : executable('WASM_CONFORMANCE_CHROMIUM', ['chromium', 'chromium-browser'], ['/usr/lib/chromium/chromium']);
  if (!exe) {
    throw new Unavailable(isFirefox
      ? 'no firefox-esr or firefox on PATH (Debian package firefox-esr; make setup-browsers)'
      : 'no chromium on PATH (Debian package chromium; make setup-browsers)');
  }
  const found = loadPuppeteer();
  const options = {
    browser: isFirefox ? 'firefox' : 'chrome',
    executablePath: launcher(exe),
    headless: true,
    userDataDir: path.join(tmpDir, 'profile'),
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    protocolTimeout: 0, // a script may run as long as the suite lets it
    env: { ...process.env, TMPDIR: tmpDir }, // what the browser leaves in a temporary directory goes with ours
    timeout: 50000,
    defaultViewport: null,
  };
  if (isFirefox) {
    options.extraPrefsFirefox = {
      'dom.ipc.processPrelaunch.enabled': false, // no spare content process to tell apart
      'browser.shell.checkDefaultBrowser': false,
    };
  } else {
    options.pipe = true;
    options.args = ['--no-first-run', '--no-default-browser-check', '--disable-gpu'];
    if (process.getuid && process.getuid() === 0) options.args.push('--no-sandbox'); // its sandbox refuses root
  }
  const browser = await found.puppeteer.launch(options);
  const proc = browser.process();
  if (proc) children.push(proc);
  browser.on('disconnected', function () {
    const how = !proc ? '' : proc.signalCode ? ', killed by ' + proc.signalCode
      : proc.exitCode !== null ? ', exited with status ' + proc.exitCode : '';
    die('the browser went away (disconnected' + how + ')');
  });
  const pages = await browser.pages();
  const page = pages.length ? pages[0] : await browser.newPage();
  page.on('error', function (err) { die('the page crashed: ' + errorText(err)); });
  page.on('pageerror', function (err) { log('page error: ' + errorText(err)); });
  page.on('console', function (msg) { log('page console: ' + firstLine(msg.text())); });
  await page.goto(url, { waitUntil: 'load' });
  const evaluate = function (expr) { return page.evaluate(expr); };
  const pageInfo = await evaluate('globalThis.wasmConformance ? globalThis.wasmConformance.info : null');
  if (pageInfo === null) throw new Error('driver.js did not define wasmConformance in the page');
  const version = await browser.version();
  let pid = 0;
  try {
    pid = await pagePid(proc ? proc.pid : 0, evaluate);
  } catch (err) {
    log('could not tell which process runs the page: ' + errorText(err));
  }
  return {
    version: version,
    pid: pid,
    info: {
      engine: isFirefox ? 'SpiderMonkey' : 'V8',
      automation: isFirefox ? 'puppeteer-core ' + found.version + ', WebDriver BiDi'
        : 'puppeteer-core ' + found.version + ', CDP over a pipe',
      executable: exe,
      user_agent: pageInfo.userAgent,
      cross_origin_isolated: pageInfo.crossOriginIsolated,
      shared_array_buffer: pageInfo.sharedArrayBuffer,
      shared_memory: pageInfo.sharedMemory,
      browser_pid: proc ? proc.pid : null,
      page_pid: pid || null,
      framing: 'hex only',
    },
    run: function (line) {
      return page.evaluate(function (l) { return globalThis.wasmConformance.handle(l); }, line);
    },
    close: async function () {
      closing = true;
      try {
        await browser.close();
      } catch (err) { /* killed at exit anyway */ }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// WebKit: WebKitWebDriver (WebDriver classic over HTTP) driving MiniBrowser, under Xvfb

const WEBKIT_MINIBROWSERS = [
  '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
  '/usr/lib/x86_64-linux-gnu/webkitgtk-6.0/MiniBrowser',
  '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.0/MiniBrowser',
  '/usr/lib/aarch64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
  '/usr/lib/aarch64-linux-gnu/webkitgtk-6.0/MiniBrowser',
];

function freePort() {
  return new Promise(function (resolve, reject) {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', function () {
      const port = s.address().port;
      s.close(function () { resolve(port); });
    });
  });
}

function httpJson(port, method, route, body, timeoutMs) {
  return new Promise(function (resolve, reject) {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body), 'utf8');
    const req = http.request({
      host: '127.0.0.1', port: port, method: method, path: route,
      headers: data ? { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': data.length } : {},
    }, function (res) {
      const chunks = [];
      res.on('data', function (c) { chunks.push(c); });
      res.on('end', function () {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          reject(new Error('WebDriver answered ' + res.statusCode + ' with ' + text.slice(0, 200)));
          return;
        }
        resolve({ status: res.statusCode, body: parsed });
      });
    });
    req.on('error', reject);
    if (timeoutMs) {
      req.setTimeout(timeoutMs, function () {
        req.destroy(new Error(method + ' ' + route + ': no answer in ' + (timeoutMs / 1000) + ' s'));
      });
    }
    if (data) req.write(data);
    req.end();
  });
}

function webdriverValue(reply, what) {
  const value = reply.body && reply.body.value;
  if (reply.status !== 200 || (value && typeof value === 'object' && value.error)) {
    const msg = value && value.message ? value.message : JSON.stringify(reply.body).slice(0, 200);
    throw new Error(what + ': ' + (value && value.error ? value.error + ': ' : '') + firstLine(msg));
  }
  return value;
}

function sleep(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

// A child that gets SIGKILL when this process dies (setpriv --pdeathsig, where there is setpriv).
function spawnDying(exe, args, options) {
  const setpriv = which('setpriv');
  if (!setpriv) return childProcess.spawn(exe, args, options);
  return childProcess.spawn(setpriv, ['--pdeathsig', 'KILL', '--', exe].concat(args), options);
}

// A child whose stderr is kept (its tail goes into the reason it failed) and copied to ours.
function spawnLogged(name, exe, args, env) {
  const child = spawnDying(exe, args, { env: env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const tail = [];
  const keep = function (chunk) {
    for (const line of String(chunk).split('\n')) {
      if (!line.trim()) continue;
      tail.push(line.trim());
      if (tail.length > 20) tail.shift();
      log(name + ': ' + line.trim());
    }
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', function (err) { keep('cannot start: ' + err.message); });
  return { child: child, tail: tail };
}

async function startXvfb() {
  const xvfb = executable('WASM_CONFORMANCE_XVFB', ['Xvfb'], []);
  if (!xvfb) throw new Unavailable('no Xvfb on PATH (Debian package xvfb; make setup-browsers)');
  // -displayfd: Xvfb picks a free display and writes its number to that fd once it listens
  const child = spawnDying(xvfb, ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  children.push(child);
  let errText = '';
  child.stderr.on('data', function (c) { errText += c; });
  const display = await new Promise(function (resolve, reject) {
    let got = '';
    const timer = setTimeout(function () { reject(new Error('Xvfb gave no display in 10 s: ' + firstLine(errText))); }, 10000);
    child.stdio[3].on('data', function (c) {
      got += c;
      if (got.indexOf('\n') >= 0) {
        clearTimeout(timer);
        resolve(':' + got.trim());
      }
    });
    child.on('exit', function (code) {
      clearTimeout(timer);
      reject(new Error('Xvfb exited with status ' + code + ': ' + firstLine(errText)));
    });
  });
  return display;
}

async function startWebKit(url) {
  const driverExe = executable('WASM_CONFORMANCE_WEBKITWEBDRIVER', ['WebKitWebDriver'], []);
  if (!driverExe) throw new Unavailable('no WebKitWebDriver on PATH (Debian package webkit2gtk-driver; make setup-browsers)');
  const mini = executable('WASM_CONFORMANCE_MINIBROWSER', [], WEBKIT_MINIBROWSERS);
  if (!mini) {
    throw new Unavailable('no MiniBrowser (looked in ' + WEBKIT_MINIBROWSERS.join(', ')
      + '; Debian package webkit2gtk-driver brings it)');
  }
  const display = await startXvfb();
  const port = await freePort();
  const env = {
    ...process.env,
    DISPLAY: display,
    WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS: '1',
    WEBKIT_DISABLE_COMPOSITING_MODE: '1',
    GDK_BACKEND: 'x11',
    LIBGL_ALWAYS_SOFTWARE: '1',
    XDG_RUNTIME_DIR: tmpDir,
    HOME: tmpDir,
    TMPDIR: tmpDir,
    NO_AT_BRIDGE: '1',
  };
  delete env.WAYLAND_DISPLAY;
  const driver = spawnLogged('WebKitWebDriver', driverExe, ['--host=127.0.0.1', '--port=' + port], env);
  // wait for it to listen
  const began = Date.now();
  for (;;) {
    try {
      await httpJson(port, 'GET', '/status', undefined, 2000);
      break;
    } catch (err) {
      if (driver.child.exitCode !== null || Date.now() - began > 10000) {
        throw new Error('WebKitWebDriver does not answer on port ' + port + ': ' + (driver.tail.slice(-1)[0] || errorText(err)));
      }
      await sleep(100);
    }
  }
  const wd = function (method, route, body, timeoutMs) { return httpJson(port, method, route, body, timeoutMs); };
  const capabilities = {
    capabilities: {
      alwaysMatch: {
        browserName: 'MiniBrowser',
        'webkitgtk:browserOptions': { binary: mini, args: ['--automation'] },
      },
    },
  };
  let session;
  try {
    session = webdriverValue(await wd('POST', '/session', capabilities, 45000), 'new session');
  } catch (err) {
    throw new Error(errorText(err) + (driver.tail.length ? ' (WebKitWebDriver: ' + driver.tail.slice(-1)[0] + ')' : ''));
  }
  const sid = session.sessionId;
  const caps = session.capabilities || {};
  driver.child.on('exit', function (code, signal) { die('WebKitWebDriver exited (' + (signal || code) + ')'); });
  await wd('POST', '/session/' + sid + '/timeouts', { script: null, pageLoad: 30000 }, 10000);
  webdriverValue(await wd('POST', '/session/' + sid + '/url', { url: url }, 40000), 'load the page');
  const execute = async function (body, timeoutMs) {
    return webdriverValue(await wd('POST', '/session/' + sid + '/execute/sync', body, timeoutMs), 'execute');
  };
  const evaluate = function (expr) { return execute({ script: 'return (' + expr + ');', args: [] }, 30000); };
  const pageInfo = await evaluate('globalThis.wasmConformance ? globalThis.wasmConformance.info : null');
  if (pageInfo === null) throw new Error('driver.js did not define wasmConformance in the page');
  let browserPid = 0;
  for (const d of descendants(driver.child.pid)) {
    try {
      if (fs.readFileSync('/proc/' + d + '/cmdline', 'utf8').split('\0')[0] === mini) {
        browserPid = d;
        break;
      }
    } catch (err) { /* gone */ }
  }
  let pid = 0;
  try {
    pid = await pagePid(driver.child.pid, evaluate);
  } catch (err) {
    log('could not tell which process runs the page: ' + errorText(err));
  }
  return {
    version: String(caps.browserVersion || '?'),
    pid: pid,
    info: {
      engine: 'JavaScriptCore (WebKitGTK)',
      automation: 'WebKitWebDriver, WebDriver classic over HTTP, MiniBrowser under Xvfb ' + display,
      executable: mini,
      user_agent: pageInfo.userAgent,
      cross_origin_isolated: pageInfo.crossOriginIsolated,
      shared_array_buffer: pageInfo.sharedArrayBuffer,
      shared_memory: pageInfo.sharedMemory,
      browser_pid: browserPid || null,
      webdriver_pid: driver.child.pid,
      page_pid: pid || null,
      framing: 'hex only',
    },
    run: function (line) {
      return execute({ script: 'return globalThis.wasmConformance.handle(arguments[0]);', args: [line] }, 0);
    },
    close: async function () {
      closing = true;
      try {
        await wd('DELETE', '/session/' + sid, undefined, 5000);
      } catch (err) { /* killed at exit anyway */ }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Requests: a module named by path goes to the page as hex (it has no file system)

const moduleHex = new Map(); // path -> {mtimeMs, size, hex}

function inlineModule(spec) {
  if (spec === null || typeof spec !== 'object' || typeof spec.hex === 'string' || typeof spec.path !== 'string') {
    return spec;
  }
  let st;
  try {
    st = fs.statSync(spec.path);
  } catch (err) {
    return spec; // the page says it cannot read it
  }
  let known = moduleHex.get(spec.path);
  if (!known || known.mtimeMs !== st.mtimeMs || known.size !== st.size) {
    known = { mtimeMs: st.mtimeMs, size: st.size, hex: fs.readFileSync(spec.path).toString('hex') };
    moduleHex.set(spec.path, known);
    if (moduleHex.size > 64) moduleHex.delete(moduleHex.keys().next().value);
  }
  const out = { ...spec, hex: known.hex };
  delete out.path;
  return out;
}

// component_host.js, required at the first component (it finds jco where make setup-js put it).
let componentHostModule = null;
function components() {
  if (componentHostModule === null) componentHostModule = require('./component_host.js');
  return componentHostModule;
}

const COMPONENT_HEADER = '0061736d0d000100'; // \0asm, version 0x0d, layer 1: a component
const transpiled = new Map(); // the component's hex -> the module's "jco" for the page

// Where the page finds the component a request calls: transpiled here into jco's cache (once per
// component and bridge; another process may have done it already), its files listed.
async function jcoFor(hex) {
  let known = transpiled.get(hex);
  if (known) return known;
  try {
    const dir = await components().ensureTranspiled(Buffer.from(hex, 'hex'));
    const cores = fs.readdirSync(dir).filter(function (name) { return name.endsWith('.wasm'); }).sort();
    known = { base: '/jco/' + path.basename(dir) + '/', cores: cores };
  } catch (err) {
    known = { error: 'the bridge could not transpile it: ' + errorText(err) };
  }
  transpiled.set(hex, known);
  if (transpiled.size > 256) transpiled.delete(transpiled.keys().next().value);
  return known;
}

// The request line for the page, or null for a shutdown.
async function prepare(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {
    return line; // the page answers bad_request, as driver.js does on node
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return line;
  if (request.command === 'shutdown') return null;
  let changed = false;
  if (request.module && typeof request.module === 'object' && typeof request.module.path === 'string') {
    request.module = inlineModule(request.module);
    changed = true;
  }
  const modules = request.modules;
  if (modules && typeof modules === 'object' && !Array.isArray(modules)) {
    for (const name of Object.keys(modules)) {
      if (modules[name] && typeof modules[name] === 'object' && typeof modules[name].path === 'string') {
        modules[name] = inlineModule(modules[name]);
        changed = true;
      }
    }
  }
  const module = request.module;
  if (module && typeof module === 'object' && typeof module.hex === 'string'
      && module.hex.slice(0, COMPONENT_HEADER.length).toLowerCase() === COMPONENT_HEADER
      && Array.isArray(request.ops) && request.ops.some(function (op) { return op && op.op === 'component_call'; })) {
    module.jco = await jcoFor(module.hex);
    changed = true;
  }
  return changed ? JSON.stringify(request) : line;
}

function serveRequests(host) {
  let buffer = '';
  const queue = [];
  let ended = false;
  const pump = async function () {
    if (busy) return;
    busy = true;
    while (queue.length) {
      const line = queue.shift();
      if (!line.trim()) continue;
      if (broken) die(broken);
      const prepared = await prepare(line);
      if (prepared === null) break;
      let reply;
      try {
        reply = await host.run(prepared);
      } catch (err) {
        die('the page did not answer: ' + errorText(err));
        return;
      }
      if (reply === null || reply === undefined) break; // driver.js saw a shutdown
      writeLine(String(reply));
    }
    busy = false;
    if (queue.length === 0 && !ended) return;
    await host.close();
    process.exit(0);
  };
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', function (chunk) {
    buffer += chunk;
    let cut;
    while ((cut = buffer.indexOf('\n')) >= 0) {
      queue.push(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 1);
    }
    pump();
  });
  process.stdin.on('end', function () {
    ended = true;
    if (buffer.trim()) queue.push(buffer);
    buffer = '';
    pump();
  });
}

async function main() {
  const kinds = { firefox: 'firefox', chromium: 'chromium', webkit: 'webkit' };
  const kind = kinds[RUNTIME.split('@')[0]] || (RUNTIME.indexOf('firefox') >= 0 ? 'firefox'
    : RUNTIME.indexOf('webkit') >= 0 ? 'webkit' : 'chromium');
  busy = true; // starting: a browser that dies now ends the bridge at once
  sweepStale();
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX + process.pid + '-'));
  let host;
  try {
    const page = await serve();
    host = kind === 'webkit' ? await startWebKit(page.url) : await startPuppeteer(kind, page.url);
  } catch (err) {
    unavailable(err instanceof Unavailable ? err.message : kind + ' does not start here: ' + errorText(err));
    return;
  }
  say({ protocol: PROTOCOL_VERSION, runtime: RUNTIME, version: host.version, pid: host.pid || process.pid,
    info: host.info });
  busy = false;
  serveRequests(host);
}

main().catch(function (err) { die('bridge failed: ' + errorText(err)); });
