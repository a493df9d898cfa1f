// RUN's BuildKit-era flags: --mount (cache, bind, tmpfs, secret, ssh), --network and --security,
// parsed and validated with BuildKit's messages.

import { withSuggestion } from './bflags.js';
import { goQuote } from './goquote.js';

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type CacheSharing = 'shared' | 'private' | 'locked';
export type NetworkMode = 'default' | 'none' | 'host';
export type SecurityMode = 'sandbox' | 'insecure';

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly CacheSharing[] = ['shared', 'private', 'locked'];
const NETWORKS: readonly NetworkMode[] = ['default', 'none', 'host'];
const SECURITY: readonly SecurityMode[] = ['sandbox', 'insecure'];
const MOUNT_KEYS = [
  'type', 'from', 'source', 'target', 'readonly', 'id', 'sharing', 'required', 'size', 'mode', 'uid', 'gid',
  'src', 'dst', 'destination', 'ro', 'rw', 'readwrite', 'env',
];

export interface Mount {
  type: MountType;
  /** A stage name or an image to mount from (bind, cache). */
  from: string;
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs size in bytes; 0 when not given. */
  sizeLimit: number;
  /** cache id (defaults to the target when empty) or secret id. */
  cacheId: string;
  cacheSharing: CacheSharing | '';
  required: boolean;
  env?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

export type Expander = (word: string) => string;

/**
 * Parses one --mount value (comma-separated key=value fields, CSV quoting). Without an expander
 * (at parse time) only `from` is read, and refused if it holds a variable; with one (when the step
 * runs) every value is expanded and the whole mount validated.
 */
export function parseMount(value: string, expand?: Expander): Mount {
  let fields: string[];
  try {
    fields = csvFields(value);
  } catch (err) {
    throw new Error(`failed to parse csv mounts: ${(err as Error).message}`);
  }
  const m: Mount = {
    type: 'bind', from: '', source: '', target: '', readOnly: false, sizeLimit: 0, cacheId: '', cacheSharing: '', required: false,
  };
  let roAuto = true;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    let val = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (!expand) continue;
      if (key === 'readonly' || key === 'ro') {
        m.readOnly = true;
        roAuto = false;
      } else if (key === 'readwrite' || key === 'rw') {
        m.readOnly = false;
        roAuto = false;
      } else if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = true;
      } else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    if (expand) val = expand(val);
    else if (key === 'from') {
      const d = val.indexOf('$');
      if (d !== -1 && d !== val.length - 1) {
        throw new Error(`'${key}' doesn't support variable expansion, define alias stage instead`);
      }
    } else continue;
    switch (key) {
      case 'type': {
        const t = val.toLowerCase() as MountType;
        if (!MOUNT_TYPES.includes(t)) throw withSuggestion(`unsupported mount type ${goQuote(val)}`, val, MOUNT_TYPES, true);
        m.type = t;
        break;
      }
      case 'from':
        m.from = val;
        break;
      case 'source':
      case 'src':
        m.source = val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = val;
        break;
      case 'readonly':
      case 'ro':
        m.readOnly = parseGoBool(val, key);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readOnly = !parseGoBool(val, key);
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        m.required = parseGoBool(val, key);
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new Error(`unexpected key '${key}' for mount type '${m.type}'`);
        m.sizeLimit = ramInBytes(val, key);
        break;
      case 'id':
        m.cacheId = val;
        break;
      case 'sharing': {
        const s = val.toLowerCase() as CacheSharing;
        if (!SHARING.includes(s)) throw withSuggestion(`unsupported sharing value ${goQuote(val)}`, val, SHARING, true);
        m.cacheSharing = s;
        break;
      }
      case 'mode':
        m.mode = parseUint(val, 8, 'mode');
        break;
      case 'uid':
        m.uid = parseUint(val, 10, 'uid');
        break;
      case 'gid':
        m.gid = parseUint(val, 10, 'gid');
        break;
      case 'env':
        m.env = val;
        break;
      default:
        throw withSuggestion(`unexpected key '${key}' in '${field}'`, key, MOUNT_KEYS, true);
    }
  }
  if (m.type !== 'secret' && m.type !== 'ssh' && m.type !== 'cache') {
    for (const k of ['mode', 'uid', 'gid'] as const) {
      if (m[k] !== undefined) throw new Error(`${k} not allowed for ${goQuote(m.type)} type mounts`);
    }
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== '') throw new Error('secret mount should not have a from');
    if (m.cacheSharing !== '') throw new Error('secret mount should not define sharing');
    if (m.source === '' && m.target === '' && m.cacheId === '') throw new Error('invalid secret mount. one of source, target required');
    if (m.source !== '' && m.cacheId !== '') throw new Error("both source and id can't be set");
  }
  if (m.cacheSharing !== '' && m.type !== 'cache') throw new Error(`invalid cache sharing set for ${m.type} mount`);
  return m;
}

export function parseNetwork(value: string): NetworkMode {
  if (!NETWORKS.includes(value as NetworkMode)) throw new Error(`invalid network mode ${goQuote(value)}`);
  return value as NetworkMode;
}

export function parseSecurity(value: string): SecurityMode {
  if (!SECURITY.includes(value as SecurityMode)) throw new Error(`security ${goQuote(value)} is not valid`);
  return value as SecurityMode;
}

// strconv.ParseBool's spellings.
function parseGoBool(v: string, key: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new Error(`invalid value for ${key}: ${v}`);
}

function parseUint(v: string, base: 8 | 10, key: string): number {
  const ok = base === 8 ? /^[0-7]+$/.test(v) : /^[0-9]+$/.test(v);
  const n = ok ? parseInt(v, base) : NaN;
  if (!ok || n > 0xffffffff) throw new Error(`invalid value ${v} for ${key}`);
  return n;
}

// go-units RAMInBytes: a number with an optional binary unit (k, m, g, t, p; "i" and "b" optional).
function ramInBytes(v: string, key: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!m || Number.isNaN(n)) throw new Error(`invalid value for ${key}: ${v}`);
  const exp = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.trunc(n * 1024 ** exp);
}

/** One CSV record (RFC 4180 quoting, as Go's encoding/csv reads it). */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let f = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) throw new Error(`extraneous or missing " in quoted-field`);
        f += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          f += '"';
          i++;
        } else if (i === line.length || line[i] === ',') break;
        else throw new Error(`extraneous or missing " in quoted-field`);
      }
      fields.push(f);
    } else {
      const c = line.indexOf(',', i);
      const f = c < 0 ? line.slice(i) : line.slice(i, c);
      if (f.includes('"')) throw new Error(`bare " in non-quoted-field`);
      fields.push(f);
      i = c < 0 ? line.length : c;
    }
    if (i >= line.length) return fields;
    i++; // the comma
    if (i === line.length) {
      fields.push('');
      return fields;
    }
  }
}

export interface Device {
  name: string;
  required: boolean;
}

/** One --device value: `name[,required[=bool]]` or `name=...,required=...`. */
export function parseDevice(value: string): Device {
  let fields: string[];
  try {
    fields = csvFields(value);
  } catch (err) {
    throw new Error(`failed to parse csv devices: ${(err as Error).message}`);
  }
  const d: Device = { name: '', required: false };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (key === 'required') d.required = true;
      else if (d.name === '') d.name = field;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    if (key === 'name') {
      if (d.name !== '') throw new Error(`device name already set to ${d.name}`);
      d.name = val;
    } else if (key === 'required') d.required = parseGoBool(val, key);
    else if (d.name === '') d.name = field;
    else throw withSuggestion(`unexpected key '${key}' in '${field}'`, key, ['name', 'required'], true);
  }
  return d;
}
