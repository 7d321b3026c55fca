'use strict';
/*
 * The JavaScript driver's jco host made wrong in one way, for the suite's own tests
 * (tests/test_faults.py): a node preload,
 *
 *   JCO_FAULT=realloc-worst-case node -r tests/jco_faults.js conformance/drivers/js/driver.js
 *
 * It replaces component_host.js's load() (the driver's, found beside the script node runs) with
 * one that loads jco's real glue for the component, edited as a host wrong in that way would have
 * it, from a folder of its own (removed at exit): the component runs on node, lowered and lifted
 * by jco's code, the edit alone differs. Glue without the code a fault edits (a component that lowers
 * no strings) runs as it is; glue with that code in another form (another jco version) refuses the
 * component, saying so, rather than run unedited.
 *
 *   realloc-worst-case   a string's lowering asks cabi_realloc for 3 times its bytes, UTF-8 or UTF-16
 *                        (as a host that allocates for UTF-8's worst case and never shrinks would)
 */

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

// fault -> [where (the function the edit is in), the text there, what it becomes]
const EDITS = {
  'realloc-worst-case': [
    ['function _utf8AllocateAndEncode(', 'const ptr = realloc(0, 0, 1, len);', 'const ptr = realloc(0, 0, 1, 3 * len);'],
    ['function _utf16AllocateAndEncode(', 'const ptr = realloc(0, 0, 2, len * 2);',
      'const ptr = realloc(0, 0, 2, 3 * len * 2);'],
  ],
};

const FAULT = process.env.JCO_FAULT || '';
if (!Object.prototype.hasOwnProperty.call(EDITS, FAULT)) {
  process.stderr.write('jco_faults.js: JCO_FAULT is one of ' + Object.keys(EDITS).join(', ') + ', not '
    + JSON.stringify(FAULT) + '\n');
  process.exit(2);
}

const host = require(path.join(path.dirname(path.resolve(process.argv[1])), 'component_host.js'));
const LOADED = new Map();
let workDir = null;

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function faultyCopy(dir, sha) {
  if (workDir === null) {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-conformance-jco-fault-'));
    process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true }));
  }
  const out = path.join(workDir, sha);
  fs.mkdirSync(out, { recursive: true });
  for (const name of fs.readdirSync(dir)) {
    let data = fs.readFileSync(path.join(dir, name));
    if (name === 'guest.js') {
      let text = data.toString('utf8');
      for (const [where, from, to] of EDITS[FAULT]) {
        if (!text.includes(where)) continue;
        if (!text.includes(from)) throw new Error(FAULT + ': the glue\'s ' + where + ') has no `' + from + '` to edit');
        text = text.split(from).join(to);
      }
      data = Buffer.from(text, 'utf8');
    }
    fs.writeFileSync(path.join(out, name), data);
  }
  return out;
}

async function loadFaulty(bytes, sha) {
  return host.importTranspiled(faultyCopy(await host.ensureTranspiled(bytes), sha), host.jcoVersion());
}

host.load = async function load(bytes) {
  const sha = sha256(bytes);
  if (!LOADED.has(sha)) {
    let entry;
    try {
      entry = await loadFaulty(bytes, sha);
    } catch (err) {
      entry = { error: String(err && err.message || err).split('\n')[0] };
    }
    LOADED.set(sha, entry);
  }
  return LOADED.get(sha);
};

host.loaded = function loaded(bytes) {
  return LOADED.get(sha256(bytes)) || null;
};
