/*
 * The JavaScript side of a component call (docs/protocol.md, "Component calls"), the same code on
 * every JavaScript host: node, bun and deno require() it (component_host.js), and a browser page
 * loads it as a classic script the bridge serves (browser_host.js), where it is
 * globalThis.wasmConformanceComponents.
 *
 * component_call converts the protocol's JSON values (conformance/canonical_abi/wire.py) to the
 * shapes of jco's transpiled glue and back, by the WIT types the operation carries:
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
 * In a page, loadServed() also loads a component the bridge transpiled (its glue and core
 * modules served from jco's cache under /jco/<sha256>-<jco version>/): the core modules are
 * fetched and compiled first, since the glue (instantiation: 'sync') asks for them synchronously.
 *
 * Nothing here reads a file or the environment. Only loaded where a script instantiates a
 * component on node, bun and deno (it uses BigInt and, in loadServed, import()).
 */
(function (root, make) {
  if (typeof module === 'object' && module !== null && module.exports) module.exports = make();
  else root.wasmConformanceComponents = make();
}(typeof globalThis !== 'undefined' ? globalThis : this, function () {
'use strict';

function isComponent(bytes) {
  return bytes.length >= 8 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d
    && bytes[4] === 0x0d && bytes[5] === 0 && bytes[6] === 0x01 && bytes[7] === 0;
}

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

// A page's component, which the bridge transpiled and serves under base (a URL path ending in
// '/'): the core modules (cores, their file names) fetched and compiled, then the glue
// (base + 'guest.js') imported; {instantiate()} as component_host.js's load() gives on node.
function loadServed(base, cores) {
  const compiled = Promise.all(cores.map((name) => fetch(base + name).then((res) => {
    if (!res.ok) throw new Error('GET ' + base + name + ': ' + res.status);
    return res.arrayBuffer();
  }).then((bytes) => WebAssembly.compile(bytes)).then((module) => [name, module])));
  return Promise.all([compiled, import(base + 'guest.js')]).then(([modules, generated]) => {
    const byName = new Map(modules);
    const getCoreModule = (name) => {
      if (!byName.has(name)) throw new Error('the bridge served no core module ' + JSON.stringify(name));
      return byName.get(name);
    };
    return { instantiate: () => generated.instantiate(getCoreModule, {}) };
  });
}

return { isComponent, camel, toJco, fromJco, call, loadServed };
}));
