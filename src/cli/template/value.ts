// How the executor sees JavaScript data as Go values. Templates run on JSON-shaped data (what
// the Engine API returns) and on formatter objects with methods; Go's rules depend on types
// (printing, comparisons, error texts), so every value carries the Go type Docker would have:
//
//   string → string        boolean → bool          integral number → int    other number → float64
//   array → []interface {} plain object → map[string]interface {}
//   null (inside a map or slice) → a nil interface {} (printed "<no value>" at the top level)
//   function → a method: called with the command's arguments
//   object carrying GO_TYPE → a struct (or pointer to struct) of that type name: unknown
//       fields are an error ("can't evaluate field X in type T"), as for Docker's own structs
//   new JSONNumber("12") → encoding/json's Number, what `docker inspect` sees in its raw
//       fallback (decoded with UseNumber)
//   goValue(type, v) → an explicitly typed value (e.g. a []string returned by `split`)

export type Kind =
  | 'bool' | 'int' | 'uint' | 'float' | 'complex' | 'string' | 'slice' | 'map' | 'struct' | 'iface' | 'func' | 'ptr';

export interface GoType {
  name: string;
  kind: Kind;
  elem?: GoType;
  key?: GoType;
  /** Has a String() method: fmt prints it through that (json.Number). */
  stringer?: boolean;
}

export const T = {
  bool: { name: 'bool', kind: 'bool' } as GoType,
  int: { name: 'int', kind: 'int' } as GoType,
  uint8: { name: 'uint8', kind: 'uint' } as GoType,
  float64: { name: 'float64', kind: 'float' } as GoType,
  /** Payload: [real, imaginary]. */
  complex128: { name: 'complex128', kind: 'complex' } as GoType,
  string: { name: 'string', kind: 'string' } as GoType,
  iface: { name: 'interface {}', kind: 'iface' } as GoType,
  jsonNumber: { name: 'json.Number', kind: 'string', stringer: true } as GoType,
  func: { name: 'func(...interface {}) interface {}', kind: 'func' } as GoType,
  /** A null field of a struct: Go would have a nil pointer (or slice/map) there. */
  nilPtr: { name: '*struct {}', kind: 'ptr' } as GoType,
};
export const sliceOf = (elem: GoType): GoType => ({ name: `[]${elem.name}`, kind: 'slice', elem });
export const mapOf = (key: GoType, elem: GoType): GoType => ({ name: `map[${key.name}]${elem.name}`, kind: 'map', key, elem });
export const anySlice = sliceOf(T.iface);
export const anyMap = mapOf(T.string, T.iface);
export const stringSlice = sliceOf(T.string);

/** A Go value: its type and its JavaScript payload. Invalid (reflect's zero Value) is undefined. */
export class Value {
  constructor(
    readonly type: GoType,
    /** bool: boolean; int/uint/float: number; string: string; slice: unknown[];
     *  map/struct: object; iface: Value | null (nil); func: Function */
    readonly v: unknown,
  ) {}
}
export type MaybeValue = Value | undefined;

/** Marks an object as a Go struct of the given type name (e.g. "*formatter.ContainerContext"). */
export const GO_TYPE = Symbol('goType');

/** encoding/json's Number: a string holding the number's JSON text. */
export class JSONNumber {
  constructor(readonly text: string) {}
}

/** An explicitly typed value, for data whose Go type the default mapping would get wrong. */
export function goValue(type: GoType, v: unknown): Value {
  return new Value(type, v);
}

/** Give a struct type name to a plain object (see GO_TYPE). */
export function asStruct<O extends object>(obj: O, typeName: string): O {
  Object.defineProperty(obj, GO_TYPE, { value: typeName, enumerable: false });
  return obj;
}

const structTypes = new Map<string, GoType>();
function structType(name: string): GoType {
  let t = structTypes.get(name);
  if (!t) structTypes.set(name, (t = { name, kind: 'struct' }));
  return t;
}

/** The Go value of a piece of JavaScript data (the dynamic type: never an interface). */
export function fromJS(x: unknown): MaybeValue {
  if (x instanceof Value) return x;
  switch (typeof x) {
    case 'undefined':
      return undefined;
    case 'string':
      return new Value(T.string, x);
    case 'boolean':
      return new Value(T.bool, x);
    case 'number':
      return new Value(Number.isInteger(x) ? T.int : T.float64, x);
    case 'bigint':
      return new Value(T.int, Number(x));
    case 'function':
      return new Value(T.func, x);
    case 'object':
      if (x === null) return undefined;
      if (x instanceof JSONNumber) return new Value(T.jsonNumber, x.text);
      if (Array.isArray(x)) return new Value(anySlice, x);
      if (GO_TYPE in x) return new Value(structType(String((x as Record<symbol, unknown>)[GO_TYPE])), x);
      return new Value(anyMap, x);
  }
  return undefined;
}

/** A JavaScript element stored with static type `t` (interface elements wrap their value). */
export function elemValue(t: GoType, x: unknown): Value {
  if (t.kind === 'iface') return new Value(t, x === null || x === undefined ? null : fromJS(x) ?? null);
  if (x instanceof Value) return x;
  if (t.kind === 'slice' || t.kind === 'map') return new Value(t, x ?? null);
  return new Value(t, x);
}

export function isNilable(t: GoType): boolean {
  return t.kind === 'iface' || t.kind === 'slice' || t.kind === 'map' || t.kind === 'func' || t.kind === 'ptr';
}

/** reflect.Zero(t). */
export function zeroOf(t: GoType): Value {
  switch (t.kind) {
    case 'bool': return new Value(t, false);
    case 'int': case 'uint': case 'float': return new Value(t, 0);
    case 'complex': return new Value(t, [0, 0]);
    case 'string': return new Value(t, '');
    case 'struct': return new Value(t, {});
    default: return new Value(t, null);
  }
}

/** indirectInterface: the concrete value inside an interface, or invalid for a nil one. */
export function indirectInterface(v: MaybeValue): MaybeValue {
  if (!v || v.type.kind !== 'iface') return v;
  return (v.v as Value | null) ?? undefined;
}

/** Go's Value.Len for strings (bytes), slices and maps. */
export function lengthOf(v: Value): number {
  switch (v.type.kind) {
    case 'string': return Buffer.byteLength(v.v as string);
    case 'slice': return v.v === null ? 0 : (v.v as unknown[]).length;
    case 'map': return v.v === null ? 0 : mapKeys(v).length;
    default: throw new Error(`len of ${v.type.name}`);
  }
}

/** Map keys in Go's sorted order (fmtsort: strings lexically by bytes). */
export function mapKeys(v: Value): string[] {
  if (v.v === null) return [];
  const obj = v.v as Record<string, unknown>;
  return Object.keys(obj).filter((k) => obj[k] !== undefined).sort(compareBytes);
}

export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ab, bb);
}

export function mapIndex(v: Value, key: string): MaybeValue {
  if (v.v === null) return undefined;
  const obj = v.v as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(obj, key) || obj[key] === undefined) return undefined;
  return elemValue(v.type.elem!, obj[key]);
}

export function sliceIndex(v: Value, i: number): Value {
  if (v.type.kind === 'string') return new Value(T.uint8, Buffer.from(v.v as string)[i]);
  return elemValue(v.type.elem!, (v.v as unknown[])[i]);
}

/** isTrue from exec.go: [truth, ok]. */
export function isTrue(v: MaybeValue): [boolean, boolean] {
  if (!v) return [false, true];
  switch (v.type.kind) {
    case 'slice': case 'map': case 'string': return [v.v !== null && lengthOf(v) > 0, true];
    case 'bool': return [v.v as boolean, true];
    case 'int': case 'uint': case 'float': return [(v.v as number) !== 0, true];
    case 'complex': return [(v.v as number[]).some((x) => x !== 0), true];
    case 'iface': case 'func': case 'ptr': return [v.v !== null, true];
    case 'struct': return [true, true];
  }
}

/** Whether a value of type `from` is assignable to a parameter of type `to` (Go's rule, simplified to names). */
export function assignable(from: GoType, to: GoType): boolean {
  return to.kind === 'iface' || from.name === to.name;
}

/**
 * Data as encoding/json decodes it into interface{}: every number a float64, or with
 * useNumber a json.Number (how `docker inspect` decodes for its raw fallback). Plain JavaScript
 * numbers otherwise count as int when integral, like the integer fields of Docker's structs.
 */
export function asJSONData(x: unknown, useNumber = false): unknown {
  if (typeof x === 'number') return useNumber ? new JSONNumber(String(x)) : new Value(T.float64, x);
  if (Array.isArray(x)) return x.map((e) => asJSONData(e, useNumber));
  if (x !== null && typeof x === 'object' && !(x instanceof Value) && !(x instanceof JSONNumber)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) out[k] = asJSONData(v, useNumber);
    if (GO_TYPE in x) asStruct(out, String((x as Record<symbol, unknown>)[GO_TYPE]));
    return out;
  }
  return x;
}
