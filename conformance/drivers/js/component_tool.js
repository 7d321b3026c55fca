'use strict';
/*
 * Makes guest components with jco's bundled wasm-tools (conformance/canonical_abi/guests.py):
 * a JSON line in, {"wasm": hex core module, "wit": world text, "stringEncoding": "utf16" (optional:
 * the canon lift's string-encoding, default utf8)}, a JSON line out,
 * {"component": hex} or {"error": why}; the first line out is a hello,
 * {"tool": "jco-transpile", "version": ...} or {"unavailable": why}.
 * componentEmbed({binary, witSource}) then componentNew(embedded): deterministic, the same
 * bytes for the same input. jco-transpile comes from the npm install `make setup-js` puts in
 * $WASM_CONFORMANCE_JS_DIR (else $XDG_CACHE_HOME or ~/.cache, then wasm-memory-conformance/js).
 */

const jco = require('./component_host.js');

async function main() {
  let tools;
  try {
    tools = await jco.wasmTools();
  } catch (err) {
    process.stdout.write(JSON.stringify({ unavailable: String(err && err.message || err) }) + '\n');
    return;
  }
  process.stdout.write(JSON.stringify({ tool: 'jco-transpile', version: jco.jcoVersion() }) + '\n');
  let pending = '';
  let chain = Promise.resolve();
  process.stdin.on('data', (chunk) => {
    pending += chunk.toString('utf8');
    let cut;
    while ((cut = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, cut);
      pending = pending.slice(cut + 1);
      if (!line.trim()) continue;
      chain = chain.then(() => answer(tools, line));
    }
  });
}

async function answer(tools, line) {
  let out;
  try {
    const request = JSON.parse(line);
    const binary = Uint8Array.from(Buffer.from(request.wasm, 'hex'));
    const options = { binary, witSource: request.wit };
    if (request.stringEncoding) options.stringEncoding = request.stringEncoding;
    const embedded = await tools.componentEmbed(options);
    const component = await tools.componentNew(embedded);
    out = { component: Buffer.from(component).toString('hex') };
  } catch (err) {
    out = { error: String(err && err.message || err).split('\n').slice(0, 6).join(' / ') };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
