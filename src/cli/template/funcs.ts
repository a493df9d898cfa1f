// Go's builtin template functions (text/template/funcs.go): and or not len index slice print
// printf println html js urlquery call eq ne lt le gt ge, with Go's argument rules and errors.

import { type GoFunc, REFLECT_VALUE, markBuiltin, toJS } from './exec.js';
import { formatValue, sprint, sprintf, sprintln } from './fmt.js';
import { isPrint } from './strconv.js';
import {
  type GoType, type MaybeValue, T, Value, assignable, indirectInterface, isTrue, lengthOf, mapIndex, sliceIndex, zeroOf,
} from './value.js';

const R = REFLECT_VALUE;

function indirect(v: MaybeValue): [MaybeValue, boolean] {
  while (v && (v.type.kind === 'iface' || v.type.kind === 'ptr')) {
    if (v.v === null) return [v, true];
    v = v.v as Value;
  }
  return [v, false];
}

function indexArg(index: MaybeValue, cap: number): number {
  if (!index) throw new Error('cannot index slice/array with nil');
  if (index.type.kind !== 'int' && index.type.kind !== 'uint') {
    throw new Error(`cannot index slice/array with type ${index.type.name}`);
  }
  const x = index.v as number;
  if (x < 0 || x > cap) throw new Error(`index out of range: ${x}`);
  return x;
}

function index(item: MaybeValue, ...indexes: MaybeValue[]): MaybeValue {
  let v = indirectInterface(item);
  if (!v) throw new Error('index of untyped nil');
  for (const i of indexes) {
    const idx = indirectInterface(i);
    let isNil: boolean;
    [v, isNil] = indirect(v);
    if (isNil || !v) throw new Error('index of nil pointer');
    switch (v.type.kind) {
      case 'slice':
      case 'string': {
        const len = lengthOf(v);
        const x = indexArg(idx, len);
        if (x === len) throw new Error(`reflect: ${v.type.kind} index out of range`);
        v = sliceIndex(v, x);
        break;
      }
      case 'map': {
        const key = v.type.key!;
        if (!idx) throw new Error(`value is nil; should be of type ${key.name}`);
        if (!assignable(idx.type, key)) throw new Error(`value has type ${idx.type.name}; should be ${key.name}`);
        v = mapIndex(v, String(idx.v)) ?? zeroOf(v.type.elem!);
        break;
      }
      default:
        throw new Error(`can't index item of type ${v.type.name}`);
    }
  }
  return v;
}

function slice(item: MaybeValue, ...indexes: MaybeValue[]): MaybeValue {
  const v = indirectInterface(item);
  if (!v) throw new Error('slice of untyped nil');
  if (indexes.length > 3) throw new Error(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  switch (v.type.kind) {
    case 'string':
      if (indexes.length === 3) throw new Error('cannot 3-index slice a string');
      cap = lengthOf(v);
      break;
    case 'slice':
      cap = lengthOf(v);
      break;
    default:
      throw new Error(`can't slice item of type ${v.type.name}`);
  }
  const idx = [0, lengthOf(v), 0];
  indexes.forEach((x, i) => (idx[i] = indexArg(indirectInterface(x), cap)));
  if (idx[0] > idx[1]) throw new Error(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1] > idx[2]) throw new Error(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (v.type.kind === 'string') {
    return new Value(v.type, Buffer.from(v.v as string).subarray(idx[0], idx[1]).toString('utf8'));
  }
  return new Value(v.type, ((v.v as unknown[] | null) ?? []).slice(idx[0], idx[1]));
}

function length(item: MaybeValue): number {
  if (!item) throw new Error('reflect: call of reflect.Value.Type on zero Value');
  const [v, isNil] = indirect(item);
  if (isNil || !v) throw new Error('len of nil pointer');
  if (['slice', 'map', 'string'].includes(v.type.kind)) return lengthOf(v);
  throw new Error(`len of type ${v.type.name}`);
}

function call(callee: MaybeValue, fn: MaybeValue, ...args: MaybeValue[]): unknown {
  const v = indirectInterface(fn);
  if (!v) throw new Error('call of nil');
  if (v.type.kind !== 'func') throw new Error(`non-function ${callee!.v as string} of type ${v.type.name}`);
  const f = v.v as (...a: unknown[]) => unknown;
  if (args.length !== f.length) throw new Error(`wrong number of args: got ${args.length} want ${f.length}`);
  return f(...args.map(toJS));
}

const truth = (v: MaybeValue): boolean => isTrue(indirectInterface(v))[0];

function andOr(): never {
  throw new Error('unreachable: and/or are evaluated by the executor');
}

type BasicKind = 'invalid' | 'bool' | 'int' | 'uint' | 'float' | 'complex' | 'string';
function basicKind(v: MaybeValue): BasicKind {
  if (!v) return 'invalid';
  const k = v.type.kind;
  return k === 'bool' || k === 'int' || k === 'uint' || k === 'float' || k === 'complex' || k === 'string' ? k : 'invalid';
}

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';

function eq(arg1: MaybeValue, ...arg2: MaybeValue[]): boolean {
  const a = indirectInterface(arg1);
  if (arg2.length === 0) throw new Error('missing argument for comparison');
  const k1 = basicKind(a);
  for (const arg of arg2) {
    const b = indirectInterface(arg);
    const k2 = basicKind(b);
    let t = false;
    if (k1 !== k2) {
      if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) t = a!.v === b!.v;
      else if (a && b) throw new Error(errBadComparison);
    } else if (k1 === 'complex') {
      const [x, y] = [a!.v as number[], b!.v as number[]];
      t = x[0] === y[0] && x[1] === y[1];
    } else if (k1 !== 'invalid') {
      t = a!.v === b!.v;
    } else {
      // Non-basic kinds: only nil-ness can be compared here.
      const nil1 = !a || a.v === null;
      const nil2 = !b || b.v === null;
      if (a && b && a.type.kind !== b.type.kind) {
        throw new Error(`non-comparable types ${formatValue(a, 's')}: ${a.type.name}, ${b.type.name}: ${formatValue(b, 'v')}`);
      }
      if (nil1 || nil2) t = nil1 === nil2;
      else if (a!.type.kind === 'slice' || a!.type.kind === 'map' || a!.type.kind === 'func') {
        throw new Error(`non-comparable type ${formatValue(b, 's')}: ${b!.type.name}`);
      } else t = a!.v === b!.v;
    }
    if (t) return true;
  }
  return false;
}

function lt(arg1: MaybeValue, arg2: MaybeValue): boolean {
  const a = indirectInterface(arg1);
  const k1 = basicKind(a);
  if (k1 === 'invalid') throw new Error(errBadComparisonType);
  const b = indirectInterface(arg2);
  const k2 = basicKind(b);
  if (k2 === 'invalid') throw new Error(errBadComparisonType);
  if (k1 !== k2) {
    if ((k1 === 'int' && k2 === 'uint') || (k1 === 'uint' && k2 === 'int')) return (a!.v as number) < (b!.v as number);
    throw new Error(errBadComparison);
  }
  if (k1 === 'bool' || k1 === 'complex') throw new Error(errBadComparisonType);
  if (k1 === 'string') return Buffer.compare(Buffer.from(a!.v as string), Buffer.from(b!.v as string)) < 0;
  return (a!.v as number) < (b!.v as number);
}

const le = (a: MaybeValue, b: MaybeValue): boolean => lt(a, b) || eq(a, b);

// Escapers: html, js, urlquery.

/** The textual form of the arguments (evalArgs in funcs.go). */
function evalArgs(args: MaybeValue[]): string {
  if (args.length === 1) {
    const a = indirectInterface(args[0]);
    if (a && a.type.name === 'string') return a.v as string;
  }
  return sprint(args);
}

export function htmlEscape(s: string): string {
  const map: Record<string, string> = { '\0': '\ufffd', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' };
  return s.replace(/[\0"'&<>]/g, (c) => map[c]);
}

export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c < 0x80 || isPrint(ch)) out += ch;
    else out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** net/url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

const fixed = (params: GoType[], fn: GoFunc['fn'], variadic?: GoType): GoFunc => ({ params, fn, variadic });

/** The builtin functions every template has. */
export function builtins(): Map<string, GoFunc> {
  const any = T.iface;
  return new Map<string, GoFunc>([
    // and/or evaluate lazily: the executor runs them itself (evalCall).
    ['and', markBuiltin(fixed([R], andOr, R))],
    ['or', markBuiltin(fixed([R], andOr, R))],
    ['not', fixed([R], (a) => !truth(a))],
    ['len', fixed([R], length)],
    ['index', fixed([R], index, R)],
    ['slice', fixed([R], slice, R)],
    ['call', { ...fixed([R], call, R), withCallee: true }],
    ['print', fixed([], (...a) => sprint(a), any)],
    ['printf', fixed([T.string], (f, ...a) => sprintf(f!.v as string, a), any)],
    ['println', fixed([], (...a) => sprintln(a), any)],
    ['html', fixed([], (...a) => htmlEscape(evalArgs(a)), any)],
    ['js', fixed([], (...a) => jsEscape(evalArgs(a)), any)],
    ['urlquery', fixed([], (...a) => queryEscape(evalArgs(a)), any)],
    ['eq', fixed([R], eq, R)],
    ['ne', fixed([R, R], (a, b) => !eq(a, b))],
    ['lt', fixed([R, R], lt)],
    ['le', fixed([R, R], le)],
    ['gt', fixed([R, R], (a, b) => !le(a, b))],
    ['ge', fixed([R, R], (a, b) => !lt(a, b))],
  ]);
}
