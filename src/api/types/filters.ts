// The Engine API `filters` query parameter, as moby's filters.Args: a JSON object mapping
// each filter name to a set of values, `{"label":{"a=b":true}}`, or the legacy list form
// `{"label":["a=b"]}`. Parsed into a Map of name → distinct values.

import { invalidParameter } from '../../pkg/errors.js';
import { matchAllLabels } from '../../pkg/labels.js';

export type Filters = Map<string, string[]>;

/** Parses the `filters` query parameter; absent or empty means no filters. */
export function parseFilters(raw: string | null | undefined): Filters {
  const out: Filters = new Map();
  if (raw === null || raw === undefined || raw === '') return out;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    // dockerd answers every malformed filter document with this bare message.
    throw invalidParameter('invalid filter');
  }
  if (v === null) return out;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalidParameter('invalid filter');
  for (const [key, val] of Object.entries(v as Record<string, unknown>)) {
    let values: string[];
    if (val === null) values = [];
    else if (Array.isArray(val)) {
      if (!val.every((x): x is string => typeof x === 'string')) throw invalidParameter('invalid filter');
      values = val;
    } else if (typeof val === 'object') {
      const entries = Object.entries(val as Record<string, unknown>);
      if (!entries.every(([, b]) => typeof b === 'boolean')) throw invalidParameter('invalid filter');
      values = entries.map(([k]) => k);
    } else throw invalidParameter('invalid filter');
    out.set(key, [...new Set(values)]);
  }
  return out;
}

/** Encodes filters the way the docker CLI sends them (`""` when there are none). */
export function filtersToJSON(f: Filters | Record<string, string[]>): string {
  const entries = f instanceof Map ? [...f.entries()] : Object.entries(f);
  if (entries.length === 0) return '';
  const obj: Record<string, Record<string, boolean>> = {};
  for (const [k, vs] of entries) obj[k] = Object.fromEntries(vs.map((x) => [x, true]));
  return JSON.stringify(obj);
}

/** Rejects filter names outside `allowed` with dockerd's "invalid filter 'name'". */
export function validateFilters(f: Filters, allowed: readonly string[]): void {
  for (const key of f.keys()) {
    if (!allowed.includes(key)) throw invalidParameter(`invalid filter '${key}'`);
  }
}

export function filterContains(f: Filters, key: string): boolean {
  return f.has(key);
}

/** True when no values are set for `key`, or `source` is one of them. */
export function exactMatch(f: Filters, key: string, source: string): boolean {
  const values = f.get(key);
  if (!values || values.length === 0) return true;
  return values.includes(source);
}

/** exactMatch, or `source` starts with one of the values. */
export function fuzzyMatch(f: Filters, key: string, source: string): boolean {
  if (exactMatch(f, key, source)) return true;
  return f.get(key)!.some((prefix) => source.startsWith(prefix));
}

/**
 * Every value at `key` (`k` or `k=v`) must be present in `attrs`; true when none are set.
 * This is how `label` filters work everywhere in the API.
 */
export function matchKVList(f: Filters, key: string, attrs: Record<string, string> | undefined | null): boolean {
  return matchAllLabels(attrs, f.get(key) ?? []);
}

/**
 * A boolean filter (`dangling=true`): `def` when absent; invalid unless exactly one of
 * the truthy ("1", "true") or falsy ("0", "false") spellings is given.
 */
export function getBoolOrDefault(f: Filters, key: string, def: boolean): boolean {
  const values = f.get(key);
  if (values === undefined) return def;
  if (values.length === 0) throw invalidParameter(`invalid filter '${key}'`);
  const isFalse = values.includes('0') || values.includes('false');
  const isTrue = values.includes('1') || values.includes('true');
  if (isFalse === isTrue) throw invalidParameter(`invalid filter '${key}=[${values.join(' ')}]'`);
  return isTrue;
}
