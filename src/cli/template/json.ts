// encoding/json's Marshal over template values: sorted map keys, Go's float formatting, and
// Go's string escaping (\u2028/\u2029 always; <, >, & only when escapeHTML is set, which
// Docker's `json` function turns off).

import { type MaybeValue, Value, fromJS, indirectInterface, mapIndex, mapKeys, sliceIndex } from './value.js';

const hex = (c: number): string => '\\u' + c.toString(16).padStart(4, '0');

export function encodeString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; continue;
      case '\\': out += '\\\\'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
    }
    if (c < 0x20 || c === 0x2028 || c === 0x2029) out += hex(c);
    else if (escapeHTML && (ch === '<' || ch === '>' || ch === '&')) out += hex(c);
    else if (c >= 0xd800 && c < 0xe000) out += '\ufffd'; // lone surrogate: invalid UTF-8 in Go
    else out += ch;
  }
  return out + '"';
}

function encodeFloat(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`json: unsupported value: ${Number.isNaN(x) ? 'NaN' : x > 0 ? '+Inf' : '-Inf'}`);
  // JavaScript's shortest form switches to exponents at the same bounds as Go (1e-6, 1e21).
  return Object.is(x, -0) ? '-0' : String(x);
}

/** json.Marshal of a template value. */
export function marshal(v: MaybeValue, escapeHTML = true): string {
  const c = indirectInterface(v);
  if (!c) return 'null';
  switch (c.type.kind) {
    case 'bool':
      return c.v ? 'true' : 'false';
    case 'int':
    case 'uint':
      return String(c.v);
    case 'float':
      return encodeFloat(c.v as number);
    case 'string':
      return c.type.name === 'json.Number' ? String(c.v) : encodeString(c.v as string, escapeHTML);
    case 'slice': {
      if (c.v === null) return 'null';
      const n = (c.v as unknown[]).length;
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(marshal(sliceIndex(c, i), escapeHTML));
      return `[${items.join(',')}]`;
    }
    case 'map':
      if (c.v === null) return 'null';
      return `{${mapKeys(c).map((k) => `${encodeString(k, escapeHTML)}:${marshal(mapIndex(c, k), escapeHTML)}`).join(',')}}`;
    case 'struct': {
      const obj = c.v as Record<string, unknown>;
      // A struct may marshal itself, as Go types implementing json.Marshaler do.
      if (typeof obj.MarshalJSON === 'function') return JSON.stringify(JSON.parse(String(obj.MarshalJSON())));
      const fields = Object.keys(obj).filter((k) => typeof obj[k] !== 'function' && obj[k] !== undefined);
      return `{${fields.map((k) => `${encodeString(k, escapeHTML)}:${marshal(fromJS(obj[k]), escapeHTML)}`).join(',')}}`;
    }
    case 'ptr':
      return 'null';
    case 'func':
    case 'complex':
      throw new Error(`json: unsupported type: ${c.type.name}`);
    case 'iface':
      return marshal(c.v as Value | null ?? undefined, escapeHTML);
  }
}
