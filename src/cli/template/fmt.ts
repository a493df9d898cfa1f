// Go's fmt (Sprint, Sprintln, Sprintf) over template values: %v of maps as map[k:v], slices as
// [a b], nil as <nil>, float64 in shortest %g form (1e+06), Go's verbs and flags, and its
// error notations (%!d(string=x), %!v(MISSING), %!(EXTRA …)).

import { canBackquote, formatFloat, isPrint, quote } from './strconv.js';
import { type MaybeValue, T, Value, fromJS, indirectInterface, mapIndex, mapKeys, sliceIndex } from './value.js';

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  width: number | undefined;
  prec: number | undefined;
}

const noFlags = (): Flags => ({
  plus: false, minus: false, sharp: false, space: false, zero: false, plusV: false, sharpV: false,
  width: undefined, prec: undefined,
});

const runeCount = (s: string): number => [...s].length;

function pad(f: Flags, s: string): string {
  if (f.width === undefined) return s;
  const n = f.width - runeCount(s);
  if (n <= 0) return s;
  if (f.minus) return s + ' '.repeat(n);
  return (f.zero ? '0' : ' ').repeat(n) + s;
}

/** Pad a number: zero padding goes after the sign. */
function padNumber(f: Flags, s: string): string {
  if (f.width === undefined || f.minus || !f.zero) return pad(f, s);
  const n = f.width - runeCount(s);
  if (n <= 0) return s;
  const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : '';
  return sign + '0'.repeat(n) + s.slice(sign.length);
}

function fmtInteger(f: Flags, n: number, verb: string, unsigned: boolean): string {
  const neg = n < 0;
  let abs = BigInt(Math.abs(n));
  if (neg && unsigned) abs = BigInt.asUintN(64, BigInt(n));
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v': case 'd': digits = abs.toString(10); break;
    case 'b': digits = abs.toString(2); if (f.sharp) prefix = '0b'; break;
    case 'o': digits = abs.toString(8); if (f.sharp) prefix = '0'; break;
    case 'O': digits = abs.toString(8); prefix = '0o'; break;
    case 'x': digits = abs.toString(16); if (f.sharp) prefix = '0x'; break;
    case 'X': digits = abs.toString(16).toUpperCase(); if (f.sharp) prefix = '0X'; break;
    case 'c': return pad(f, String.fromCodePoint(validRune(n)));
    case 'q':
      return pad(f, quote(String.fromCodePoint(validRune(n)), f.plus, "'"));
    case 'U': {
      let s = 'U+' + abs.toString(16).toUpperCase().padStart(4, '0');
      const r = String.fromCodePoint(validRune(n));
      if (f.sharp && isPrint(r)) s += ` '${r}'`;
      return pad(f, s);
    }
    default: return badVerb(verb, new Value(T.int, n));
  }
  let prec = f.prec;
  if (prec === undefined && f.zero && !f.minus && f.width !== undefined) {
    prec = f.width - (neg || f.plus || f.space ? 1 : 0) - prefix.length;
  }
  if (prec !== undefined) {
    if (prec === 0 && abs === 0n) digits = '';
    digits = digits.padStart(prec, '0');
  }
  if (prefix === '0' && digits.startsWith('0')) prefix = '';
  const sign = neg && !unsigned ? '-' : f.plus ? '+' : f.space ? ' ' : '';
  return pad({ ...f, zero: false }, sign + prefix + digits);
}

function validRune(n: number): number {
  return n < 0 || n > 0x10ffff || (n >= 0xd800 && n < 0xe000) ? 0xfffd : n;
}

function fmtFloat(f: Flags, x: number, verb: string, defPrec: number): string {
  let prec = f.prec ?? defPrec;
  let v = verb;
  if (v === 'v') {
    v = 'g';
    prec = f.prec ?? -1;
  }
  if (v === 'F') v = 'f';
  let s = formatFloat(x, v, prec);
  if (f.sharp && !/Inf|NaN/.test(s)) s = sharpFloat(s, 'gGx'.includes(v) ? (prec === -1 ? 6 : prec) : 0, v);
  if (s[0] !== '-' && s[0] !== '+') s = (f.plus ? '+' : f.space ? ' ' : '') + s;
  else if (s[0] === '+' && !f.plus) s = f.space ? ' ' + s.slice(1) : s.slice(1);
  if (/Inf|NaN/.test(s)) return pad({ ...f, zero: false }, s);
  return padNumber(f, s);
}

/** The '#' flag on floats: always a decimal point, and %g keeps its trailing zeros. */
function sharpFloat(num: string, digits: number, verb: string): string {
  const sign = num[0] === '-' ? '-' : '';
  let body = sign ? num.slice(1) : num;
  let tail = '';
  const t = verb === 'x' || verb === 'X' ? body.search(/[pP]/) : body.search(/[eEpP]/);
  if (t >= 0) [body, tail] = [body.slice(0, t), body.slice(t)];
  let sawNonzero = false;
  for (const c of body.replace(/^0[xX]/, '')) {
    if (c === '.') continue;
    if (c !== '0') sawNonzero = true;
    if (sawNonzero) digits--;
  }
  if (!body.includes('.')) {
    if (body === '0') digits--;
    body += '.';
  }
  if (digits > 0) body += '0'.repeat(digits);
  return sign + body + tail;
}

function fmtString(f: Flags, s: string, verb: string): string {
  switch (verb) {
    case 'v':
      if (f.sharpV) return quote(s);
      return pad(f, truncate(s, f.prec));
    case 's':
      return pad(f, truncate(s, f.prec));
    case 'q': {
      const t = truncate(s, f.prec);
      if (f.sharp && canBackquote(t)) return pad(f, '`' + t + '`');
      return pad(f, quote(t, f.plus));
    }
    case 'x': case 'X': {
      let bytes = Buffer.from(s);
      if (f.prec !== undefined && f.prec < bytes.length) bytes = bytes.subarray(0, f.prec);
      const hex = (b: number): string => {
        const h = b.toString(16).padStart(2, '0');
        return verb === 'X' ? h.toUpperCase() : h;
      };
      const pre = verb === 'X' ? '0X' : '0x';
      let out = '';
      bytes.forEach((b, i) => {
        if (f.space && i > 0) out += ' ';
        if (f.sharp && (f.space || i === 0)) out += pre;
        out += hex(b);
      });
      return pad(f, out);
    }
  }
  return '';
}

function truncate(s: string, prec: number | undefined): string {
  if (prec === undefined) return s;
  const runes = [...s];
  return runes.length > prec ? runes.slice(0, prec).join('') : s;
}

export function typeName(v: MaybeValue): string {
  const c = indirectInterface(v);
  return c ? c.type.name : '<nil>';
}

function badVerb(verb: string, v: MaybeValue): string {
  const c = indirectInterface(v);
  if (!c) return `%!${verb}(<nil>)`;
  return `%!${verb}(${c.type.name}=${printArg(noFlags(), c, 'v', 0)})`;
}

/** Print one operand with a verb, as fmt's printArg/printValue do. */
function printArg(f: Flags, arg: MaybeValue, verb: string, depth: number): string {
  const v = indirectInterface(arg);
  if (!v) {
    if (f.sharpV && arg && depth > 0) return `${arg.type.name}(nil)`;
    if (verb === 'T' || verb === 'v' || depth > 0) return pad(f, '<nil>');
    return badVerb(verb, v);
  }
  if (verb === 'T') return pad(f, v.type.name);
  if (v.type.stringer && 'vsxXq'.includes(verb) && !f.sharpV) return fmtString(f, String(v.v), verb);
  switch (v.type.kind) {
    case 'bool':
      if (verb === 't' || verb === 'v') return pad(f, v.v ? 'true' : 'false');
      return badVerb(verb, v);
    case 'int': case 'uint':
      if ('bcdoOqxXUv'.includes(verb)) return fmtInteger(f, v.v as number, verb, v.type.kind === 'uint');
      return badVerb(verb, v);
    case 'float':
      if ('vgGeEfFxX'.includes(verb)) return fmtFloat(f, v.v as number, verb, 'vgGxX'.includes(verb) ? -1 : 6);
      return badVerb(verb, v);
    case 'complex': {
      if (!'vbgGxXfFeE'.includes(verb)) return badVerb(verb, v);
      const [re, im] = v.v as number[];
      const def = 'vgGxX'.includes(verb) ? -1 : 6;
      return `(${fmtFloat(f, re, verb, def)}${fmtFloat({ ...f, plus: true }, im, verb, def)}i)`;
    }
    case 'string':
      if ('vsxXq'.includes(verb)) return fmtString(f, v.v as string, verb);
      return badVerb(verb, v);
    case 'slice': {
      if (f.sharpV) {
        if (v.v === null) return `${v.type.name}(nil)`;
        const items = (v.v as unknown[]).map((_, i) => printArg(f, sliceIndex(v, i), verb, depth + 1));
        return `${v.type.name}{${items.join(', ')}}`;
      }
      const n = v.v === null ? 0 : (v.v as unknown[]).length;
      const items: string[] = [];
      for (let i = 0; i < n; i++) items.push(printArg(f, sliceIndex(v, i), verb, depth + 1));
      return `[${items.join(' ')}]`;
    }
    case 'map': {
      if (f.sharpV) {
        if (v.v === null) return `${v.type.name}(nil)`;
        const items = mapKeys(v).map((k) => `${quote(k)}:${printArg(f, mapIndex(v, k), verb, depth + 1)}`);
        return `${v.type.name}{${items.join(', ')}}`;
      }
      const items = mapKeys(v).map(
        (k) => `${printArg(f, new Value(v.type.key!, k), verb, depth + 1)}:${printArg(f, mapIndex(v, k), verb, depth + 1)}`,
      );
      return `map[${items.join(' ')}]`;
    }
    case 'struct': {
      const obj = v.v as Record<string, unknown>;
      const items = Object.keys(obj)
        .filter((k) => typeof obj[k] !== 'function')
        .map((k) => {
          const fv = obj[k] === null ? new Value(T.nilPtr, null) : new Value(T.iface, fromJS(obj[k]) ?? null);
          const s = printArg(f, fv, verb, depth + 1);
          return f.plusV || f.sharpV ? `${k}:${s}` : s;
        });
      const body = `{${items.join(f.sharpV ? ', ' : ' ')}}`;
      return depth === 0 && v.type.name.startsWith('*') ? '&' + body : body;
    }
    case 'ptr':
      return depth === 0 || verb !== 'v' ? pad(f, '<nil>') : '<nil>';
    case 'func':
      return pad(f, '0x0');
    case 'iface':
      return printArg(f, v, verb, depth);
  }
}

/** One value printed with a verb and no flags (fmt's %s, %v … of a single operand). */
export function formatValue(v: MaybeValue, verb: string): string {
  return printArg(noFlags(), v, verb, 0);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: MaybeValue[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const c = indirectInterface(a);
    const isString = !!c && c.type.kind === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += printArg(noFlags(), a, 'v', 0);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln. */
export function sprintln(args: MaybeValue[]): string {
  return args.map((a) => printArg(noFlags(), a, 'v', 0)).join(' ') + '\n';
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: MaybeValue[]): string {
  let out = '';
  let argNum = 0;
  let reordered = false;
  let goodArgNum = true;
  let i = 0;
  const intArg = (): number | undefined => {
    if (argNum >= args.length) return undefined;
    const a = indirectInterface(args[argNum++]);
    if (a && (a.type.kind === 'int' || a.type.kind === 'uint')) return a.v as number;
    return undefined;
  };
  const argIndex = (): void => {
    if (format[i] !== '[') return;
    reordered = true;
    const close = format.indexOf(']', i);
    const n = close > i ? Number(format.slice(i + 1, close)) : NaN;
    if (close < 0 || !Number.isInteger(n) || n < 1 || n > args.length || format.slice(i + 1, close) === '') {
      goodArgNum = false;
      i = close < 0 ? format.length : close + 1;
      return;
    }
    argNum = n - 1;
    i = close + 1;
  };
  while (i < format.length) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f = noFlags();
    goodArgNum = true;
    flags: for (; i < format.length; i++) {
      switch (format[i]) {
        case '#': f.sharp = true; break;
        case '0': f.zero = true; break;
        case '+': f.plus = true; break;
        case '-': f.minus = true; break;
        case ' ': f.space = true; break;
        default: break flags;
      }
    }
    argIndex();
    if (format[i] === '*') {
      i++;
      const w = intArg();
      if (w === undefined) out += '%!(BADWIDTH)';
      else {
        f.width = Math.abs(w);
        if (w < 0) f.minus = true;
      }
    } else {
      const m = /^\d+/.exec(format.slice(i));
      if (m) {
        f.width = Number(m[0]);
        i += m[0].length;
      }
    }
    if (format[i] === '.') {
      i++;
      argIndex();
      if (format[i] === '*') {
        i++;
        const p = intArg();
        if (p === undefined || p < 0) out += '%!(BADPREC)';
        else f.prec = p;
      } else {
        const m = /^\d+/.exec(format.slice(i));
        f.prec = m ? Number(m[0]) : 0;
        if (m) i += m[0].length;
      }
    }
    argIndex();
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (!goodArgNum) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    if (verb === 'w') {
      out += badVerb(verb, args[argNum++]);
      continue;
    }
    if (verb === 'v') {
      if (f.sharp) [f.sharp, f.sharpV] = [false, true];
      if (f.plus) [f.plus, f.plusV] = [false, true];
    }
    out += printArg(f, args[argNum++], verb, 0);
  }
  if (!reordered && argNum < args.length) {
    const extra = (a: MaybeValue): string => (indirectInterface(a) ? `${typeName(a)}=${printArg(noFlags(), a, 'v', 0)}` : '<nil>');
    out += '%!(EXTRA ' + args.slice(argNum).map(extra).join(', ') + ')';
  }
  return out;
}
