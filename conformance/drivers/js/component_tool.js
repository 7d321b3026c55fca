'use strict';
/*
 * Makes guest components with jco's bundled wasm-tools (conformance/canonical_abi/guests.py):
 * a JSON line in, {"wasm": hex core module, "wit": world text, "stringEncoding": "utf16" (optional:
 * the canon lift's string-encoding, default utf8)}, a JSON line out,
 * {"component": hex} or {"error": why}; the first line out is a hello,
 * {"tool": "jco-transpile", "version": ...} or {"unavailable": why}. Each component made is also
 * transpiled into jco's cache (component_host.js), and {"transpile": hex component} does that
 * alone ({"transpiled": true}): deno reads the glue from there, since it cannot run the transpiler.
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
    if (request.transpile !== undefined) { // a component made elsewhere (the suite's probe's)
      await jco.ensureTranspiled(Uint8Array.from(Buffer.from(request.transpile, 'hex')));
      process.stdout.write(JSON.stringify({ transpiled: true }) + '\n');
      return;
    }
    const binary = Uint8Array.from(Buffer.from(request.wasm, 'hex'));
    const options = { binary, witSource: request.wit };
    if (request.stringEncoding) options.stringEncoding = request.stringEncoding;
    const embedded = await tools.componentEmbed(options);
    const component = await tools.componentNew(embedded);
    // its glue too, for a JS host that cannot run the transpiler itself (deno)
    await jco.ensureTranspiled(component);
    out = { component: Buffer.from(component).toString('hex') };
  } catch (err) {
    out = { error: String(err && err.message || err).split('\n').slice(0, 6).join(' / ') };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main();
