// The parts of Go's strconv the template engine needs: unquoting literals as the parser does,
// quoting as %q does, and formatting float64 exactly as strconv.FormatFloat (shortest digits
// or a precision, with round-half-even on the exact binary value).

/** strconv.ErrSyntax: a malformed quoted literal. */
export class UnquoteError extends Error {
  constructor() {
    super('invalid syntax');
  }
}

const utf8 = new TextDecoder('utf-8');

/** Go's strconv.Unquote for "…", `…` and '…' literals. */
export function unquote(s: string): string {
  const q = s[0];
  if (s.length < 2 || s[s.length - 1] !== q) throw new UnquoteError();
  const body = s.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new UnquoteError();
    return body.replace(/\r/g, '');
  }
  if (q !== '"' && q !== "'") throw new UnquoteError();
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const [r, next] = unquoteChar(body, i, q);
    if (typeof r === 'number') bytes.push(r);
    else bytes.push(...Buffer.from(r, 'utf8'));
    i = next;
  }
  const out = utf8.decode(Uint8Array.from(bytes));
  if (q === "'" && [...out].length !== 1) throw new UnquoteError();
  return out;
}

/**
 * One character of a quoted literal at s[i]: a string (a whole rune) or a number (a raw byte,
 * from \x or octal escapes), and the index after it.
 */
export function unquoteChar(s: string, i: number, quote: string): [string | number, number] {
  const c = s[i];
  if (c === quote && (quote === "'" || quote === '"')) throw new UnquoteError();
  if (c !== '\\') {
    if (c === '\n' && quote !== '`') throw new UnquoteError();
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    return [ch, i + ch.length];
  }
  const e = s[i + 1];
  if (e === undefined) throw new UnquoteError();
  const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };
  if (e in simple) return [simple[e], i + 2];
  if (e === quote) return [e, i + 2];
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
    const hex = s.slice(i + 2, i + 2 + n);
    if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) throw new UnquoteError();
    const v = parseInt(hex, 16);
    if (e === 'x') return [v, i + 2 + n];
    if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new UnquoteError();
    return [String.fromCodePoint(v), i + 2 + n];
  }
  if (e >= '0' && e <= '7') {
    const oct = s.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(oct)) throw new UnquoteError();
    const v = parseInt(oct, 8);
    if (v > 255) throw new UnquoteError();
    return [v, i + 4];
  }
  throw new UnquoteError();
}

/** unicode.IsPrint, close enough: letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c >= 0x20 && c < 0x7f;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

/** strconv.Quote (and QuoteToASCII when ascii is set). */
export function quote(s: string, ascii = false, q = '"'): string {
  let out = q;
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (ch === q || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (ascii ? r < 0x7f && isPrint(ch) : isPrint(ch)) {
      out += ch;
      continue;
    }
    switch (ch) {
      case '\x07': out += '\\a'; continue;
      case '\b': out += '\\b'; continue;
      case '\f': out += '\\f'; continue;
      case '\n': out += '\\n'; continue;
      case '\r': out += '\\r'; continue;
      case '\t': out += '\\t'; continue;
      case '\v': out += '\\v'; continue;
    }
    if (r === 0xfffd && ch !== '\ufffd') out += '\\ufffd';
    else if (r < 0x20 || r === 0x7f) out += '\\x' + r.toString(16).padStart(2, '0');
    else if (r < 0x10000) out += '\\u' + r.toString(16).padStart(4, '0');
    else out += '\\U' + r.toString(16).padStart(8, '0');
  }
  return out + q;
}

/** strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  for (const ch of s) {
    if (ch === '`' || ch === '\ufeff') return false;
    if (ch !== '\t' && (ch.codePointAt(0)! < 0x20 || ch === '\x7f')) return false;
  }
  return true;
}

/** Exact decimal digits of |x| (no leading or trailing zeros) and the decimal point position. */
interface Decimal {
  d: string;
  dp: number; // value = 0.d × 10^dp
}

function exactDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, Math.abs(x));
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (bexp === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = bexp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e >= 0) {
    digits = (mant << BigInt(e)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e)).toString();
    dp = digits.length + e; // divide by 10^-e
  }
  const trimmed = digits.replace(/0+$/, '');
  return { d: trimmed, dp };
}

/** Shortest digits that read back as x (what JavaScript's own conversion produces too). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const [mant, exp] = Math.abs(x).toExponential().split('e');
  const d = mant.replace('.', '').replace(/0+$/, '');
  return { d, dp: Number(exp) + 1 };
}

/** Round to nd digits, half to even on the exact value. */
function round(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  let up = false;
  if (a.d[nd] > '5') up = true;
  else if (a.d[nd] === '5') {
    up = nd + 1 < a.d.length || (nd > 0 && Number(a.d[nd - 1]) % 2 === 1);
  }
  if (!up) return { d: a.d.slice(0, nd).replace(/0+$/, ''), dp: a.dp };
  let i = nd - 1;
  const ds = a.d.slice(0, nd).split('');
  while (i >= 0 && ds[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  ds[i] = String(Number(ds[i]) + 1);
  return { d: ds.slice(0, i + 1).join(''), dp: a.dp };
}

const digitAt = (a: Decimal, i: number): string => (i >= 0 && i < a.d.length ? a.d[i] : '0');

function fmtE(neg: boolean, a: Decimal, prec: number, ch: string): string {
  let s = neg ? '-' : '';
  s += a.d.length === 0 ? '0' : a.d[0];
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) s += digitAt(a, i);
  }
  let exp = a.d.length === 0 ? 0 : a.dp - 1;
  s += ch;
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  return s + (exp < 10 ? '0' + exp : String(exp));
}

function fmtF(neg: boolean, a: Decimal, prec: number): string {
  let s = neg ? '-' : '';
  if (a.dp > 0) {
    for (let i = 0; i < a.dp; i++) s += digitAt(a, i);
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 0; i < prec; i++) s += digitAt(a, a.dp + i);
  }
  return s;
}

/** strconv's %x/%X of a float64: hexadecimal mantissa and binary exponent (0x1.8p+01). */
function formatHexFloat(x: number, upper: boolean, prec: number): string {
  const neg = x < 0 || Object.is(x, -0);
  let mant = 0n;
  let exp = 0;
  if (x !== 0) {
    const buf = new DataView(new ArrayBuffer(8));
    buf.setFloat64(0, Math.abs(x));
    const bexp = (buf.getUint32(0) >>> 20) & 0x7ff;
    mant = (BigInt(buf.getUint32(0) & 0xfffff) << 32n) | BigInt(buf.getUint32(4));
    if (bexp === 0) {
      exp = -1022;
      while (mant < 1n << 52n) {
        mant <<= 1n;
        exp--;
      }
      mant &= (1n << 52n) - 1n;
    } else exp = bexp - 1023;
  }
  let lead = x === 0 ? 0n : 1n;
  let frac = mant.toString(16).padStart(13, '0');
  if (prec >= 0 && prec < 13) {
    // round half to even at prec hex digits
    const shift = BigInt((13 - prec) * 4);
    let m = (lead << 52n) | mant;
    const rem = m & ((1n << shift) - 1n);
    const half = 1n << (shift - 1n);
    m >>= shift;
    if (rem > half || (rem === half && (m & 1n) === 1n)) m += 1n;
    if (m >> BigInt(prec * 4) >= 2n) {
      m >>= 1n;
      exp++;
    }
    lead = m >> BigInt(prec * 4);
    frac = prec === 0 ? '' : (m & ((1n << BigInt(prec * 4)) - 1n)).toString(16).padStart(prec, '0');
  } else {
    frac = frac.replace(/0+$/, '');
    if (prec > 13) frac = frac.padEnd(prec, '0');
  }
  const e = Math.abs(exp);
  let s = `${neg ? '-' : ''}0x${lead}${frac ? '.' + frac : ''}p${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  if (upper) s = s.toUpperCase();
  return s;
}

/** strconv.FormatFloat(x, fmt, prec, 64) for fmt in e E f F g G x X; prec -1 is "shortest". */
export function formatFloat(x: number, fmt: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (fmt === 'x' || fmt === 'X') return formatHexFloat(x, fmt === 'X', prec);
  const neg = x < 0 || Object.is(x, -0);
  const shortest = prec < 0;
  let a: Decimal;
  if (shortest) {
    a = shortestDecimal(x);
    if (fmt === 'e' || fmt === 'E') prec = Math.max(a.d.length - 1, 0);
    else if (fmt === 'f' || fmt === 'F') prec = Math.max(a.d.length - a.dp, 0);
    else prec = a.d.length;
  } else {
    a = exactDecimal(x);
    if (fmt === 'e' || fmt === 'E') a = round(a, prec + 1);
    else if (fmt === 'f' || fmt === 'F') a = round(a, a.dp + prec);
    else {
      if (prec === 0) prec = 1;
      a = round(a, prec);
    }
  }
  if (fmt === 'e' || fmt === 'E') return fmtE(neg, a, prec, fmt);
  if (fmt === 'f' || fmt === 'F') return fmtF(neg, a, prec);
  // %g / %G
  let eprec = prec;
  const nd = a.d.length;
  if (eprec > nd && nd >= a.dp) eprec = nd;
  if (shortest) eprec = 6;
  const exp = a.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > nd) prec = nd;
    return fmtE(neg, a, prec - 1, fmt === 'g' ? 'e' : 'E');
  }
  if (prec > a.dp) prec = nd;
  return fmtF(neg, a, Math.max(prec - a.dp, 0));
}
