// Docker's template layer (docker/cli templates/templates.go and cli/command/formatter): the
// extra functions (json split join title lower upper pad truncate), the header functions used
// for `table` formats, and the formatting flow of `--format` for lists (table/json/custom).

import type { GoFunc } from './exec.js';
import { marshal } from './json.js';
import { TabWriter } from './tabwriter.js';
import { type Template, execute, parse, withFuncs } from './template.js';
import { T, type Value, asJSONData, asStruct, goValue, mapOf, stringSlice } from './value.js';

const str = (v: Value | undefined): string => (v?.v as string) ?? '';
const int = (v: Value | undefined): number => (v?.v as number) ?? 0;

/** strings.Title: upper-case the first letter of every word. */
export function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    out += isSeparator(prev) ? mapRunes(ch, (c) => c.toUpperCase()) : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c <= 0x7f) return !/[0-9A-Za-z_]/.test(ch);
  if (/^[\p{L}\p{Nd}]$/u.test(ch)) return false;
  return /^\s$/u.test(ch);
}

/** strings.Repeat, which panics on a negative count. */
function repeat(s: string, n: number): string {
  if (n < 0) throw new Error('strings: negative Repeat count');
  return s.repeat(n);
}

/** strings.ToUpper/ToLower map rune by rune: a rune with no single-rune case mapping (ß) stays. */
function mapRunes(s: string, f: (c: string) => string): string {
  let out = '';
  for (const c of s) {
    const m = f(c);
    out += [...m].length === 1 ? m : c;
  }
  return out;
}

/** strings.Split. */
export function split(s: string, sep: string): string[] {
  return sep === '' ? [...s] : s.split(sep);
}

/** truncate: the first `length` bytes, as Docker slices the string. */
export function truncate(s: string, length: number): string {
  const b = Buffer.from(s);
  if (b.length < length) return s;
  if (length < 0) throw new Error(`runtime error: slice bounds out of range [:${length}]`);
  return b.subarray(0, length).toString('utf8');
}

/** The functions docker/cli adds to every template (templates.Parse). */
export function dockerFuncs(): Map<string, GoFunc> {
  const s = T.string;
  return new Map<string, GoFunc>([
    ['json', { params: [T.iface], fn: (v) => marshal(v, false).trim() }],
    ['split', { params: [s, s], fn: (a, b) => goValue(stringSlice, split(str(a), str(b))) }],
    ['join', { params: [stringSlice, s], fn: (a, b) => ((a?.v as string[] | null) ?? []).join(str(b)) }],
    ['title', { params: [s], fn: (a) => title(str(a)) }],
    ['lower', { params: [s], fn: (a) => mapRunes(str(a), (c) => c.toLowerCase()) }],
    ['upper', { params: [s], fn: (a) => mapRunes(str(a), (c) => c.toUpperCase()) }],
    ['pad', { params: [s, T.int, T.int], fn: (a, p, q) => (str(a) === '' ? '' : repeat(' ', int(p)) + str(a) + repeat(' ', int(q))) }],
    ['truncate', { params: [s, T.int], fn: (a, n) => truncate(str(a), int(n)) }],
  ]);
}

/** templates.HeaderFunctions: headers keep their text through json/split/join/…; pad still pads. */
export function headerFuncs(): Map<string, GoFunc> {
  const s = T.string;
  const same: GoFunc['fn'] = (a) => str(a);
  return new Map<string, GoFunc>([
    ['json', { params: [s], fn: same }],
    ['split', { params: [s, s], fn: same }],
    ['join', { params: [s, s], fn: same }],
    ['title', { params: [s], fn: same }],
    ['lower', { params: [s], fn: same }],
    ['upper', { params: [s], fn: same }],
    ['truncate', { params: [s, T.int], fn: same }],
  ]);
}

/** templates.Parse: a template with Docker's functions. */
export function parseDocker(format: string): Template {
  return parse(format, dockerFuncs());
}

/** The error Docker prints for a bad --format: "template parsing error: …". */
export class FormatError extends Error {}

function wrap<R>(f: () => R): R {
  try {
    return f();
  } catch (e) {
    throw new FormatError(`template parsing error: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export const TABLE_KEY = 'table';
export const JSON_KEY = 'json';

/** formatter.Context.preFormat: strip "table", expand "json", trim spaces, turn \t and \n escapes into characters. */
export function preFormat(format: string): string {
  let f = format;
  if (f.startsWith(TABLE_KEY)) f = f.slice(TABLE_KEY.length);
  else if (f === JSON_KEY) f = '{{json .}}';
  f = f.replace(/^ +| +$/g, '');
  return f.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

export interface ListFormat {
  /** The --format value: "table …", "json", or a custom template. */
  format: string;
  /** One object per row (formatter contexts: structs with methods, or plain data). */
  rows: unknown[];
  /** Header text per field name, as the SubContext's FullHeader() gives it (table formats). */
  header?: Record<string, string>;
  /** The command's default table format, used when --format is just "table". */
  tableFormat?: string;
}

/**
 * formatter.Context.Write: render rows with a --format, aligning `table` formats with Docker's
 * tabwriter settings (minwidth 10, tabwidth 1, padding 3, spaces) under a header row.
 */
export function formatList({ format, rows, header = {}, tableFormat }: ListFormat): string {
  if (format === TABLE_KEY && tableFormat) format = tableFormat;
  const tmpl = wrap(() => parseDocker(preFormat(format)));
  let body = '';
  for (const row of rows) body += wrap(() => execute(tmpl, row)) + '\n';
  if (!format.startsWith(TABLE_KEY)) return body;
  const tw = new TabWriter(10, 1, 3, ' ', 0);
  tw.write(renderHeader(tmpl, header));
  tw.write('\n');
  tw.write(body);
  return tw.flush();
}

/** The header row: the template run on the header map with the header functions; a failure keeps what was written (Docker ignores the error). */
function renderHeader(tmpl: Template, header: Record<string, string>): string {
  const h = withFuncs(tmpl, headerFuncs());
  const data = goValue(mapOf(T.string, T.string), header);
  try {
    return execute(h, data);
  } catch (e) {
    return (e as { partial?: string }).partial ?? '';
  }
}

/**
 * Keys whose objects are Go maps in the Engine API's types (every other object is a struct);
 * "Parent.Key" names a map only under that parent (LogConfig.Config, but not Config).
 */
export const API_MAP_KEYS = new Set([
  'Labels', 'Options', 'DriverOpts', 'Containers', 'Networks', 'Ports', 'ExposedPorts', 'Volumes',
  'Status', 'Annotations', 'Sysctls', 'StorageOpt', 'Tmpfs', 'Data', 'LogConfig.Config', 'Peers',
  'Services', 'Plugins.Options', 'BuildArgs', 'Aux',
]);

/**
 * The typed view of an Engine API object, as the docker CLI decodes it into Go structs: objects
 * are structs except under map keys, integral numbers are ints, null fields nil pointers.
 */
export function typedView(x: unknown, typeName = 'struct', mapKeys: Set<string> = API_MAP_KEYS, key = '', parent = ''): unknown {
  const isMap = mapKeys.has(key) || mapKeys.has(`${parent}.${key}`);
  if (x === null && isMap) return goValue(stringMap, null); // a nil map prints map[]
  if (Array.isArray(x)) return x.map((e) => typedView(e, 'struct', mapKeys, '', key));
  if (x === null || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) out[k] = isMap ? typedView(v, 'struct', mapKeys, '', key) : typedView(v, 'struct', mapKeys, k, key);
  if (!isMap) return asStruct(out, typeName);
  // Most of the API's maps are map[string]string: a missing key indexes as "".
  return Object.values(out).every((v) => typeof v === 'string') ? goValue(stringMap, out) : out;
}

const stringMap = mapOf(T.string, T.string);

/**
 * `docker inspect --format` over Engine API objects (their JSON). Like Docker: the template runs
 * on the typed view first (a key missing from a map prints <no value>, an unknown struct field
 * fails); when that fails it runs on the raw JSON, numbers as json.Number and missingkey=error,
 * and that run's error is the one reported (`map has no entry for key "X"`). Each object's output
 * ends with a newline.
 */
export function inspectFormat(format: string, elements: unknown[], opts: InspectOptions = {}): string {
  const { typeName, rawFallback = true } = opts;
  const tmpl = wrap(() => parseDocker(format));
  let out = '';
  for (const e of elements) {
    try {
      out += execute(tmpl, typedView(e, typeName)) + '\n';
    } catch (err) {
      if (!rawFallback) throw new FormatError(`template parsing error: ${(err as Error).message}`);
      out += wrap(() => execute(tmpl, asJSONData(e, true), { missingKey: 'error' })) + '\n';
    }
  }
  return out;
}

export interface InspectOptions {
  /** Go type of the inspected objects, named in errors ("volume.Volume"). */
  typeName?: string;
  /** Whether a failed run is retried on the raw JSON: `docker inspect`, `container|image|network inspect` do; `volume inspect` does not. */
  rawFallback?: boolean;
}
