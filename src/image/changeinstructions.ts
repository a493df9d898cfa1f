// `--change` instructions for import and commit: the changes are Dockerfile instructions applied to
// a container config, as dockerd's BuildFromConfig does. Only CMD, ENTRYPOINT, ENV, EXPOSE,
// HEALTHCHECK, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME and WORKDIR are accepted.

import type { ContainerConfig, HealthConfig } from '../api/types/container.js';
import { invalidParameter } from '../pkg/errors.js';
import { parseSignal } from '../pkg/signal.js';
import { parseGoDuration } from '../pkg/timeutil.js';

const VALID = new Set(['cmd', 'entrypoint', 'healthcheck', 'env', 'expose', 'label', 'onbuild', 'stopsignal', 'user', 'volume', 'workdir']);

/** An empty container config, as Go's zero container.Config marshals. */
export function emptyContainerConfig(): ContainerConfig {
  return {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: '',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: null,
  };
}

interface Line {
  cmd: string;
  rest: string;
  original: string;
}

/** Splits Dockerfile text into instructions: comments and blank lines skipped, `\` continues. */
export function splitInstructions(text: string): Line[] {
  const out: Line[] = [];
  const lines = text.split(/\r?\n/);
  let buf = '';
  let cont = false;
  for (const raw of lines) {
    const trimmed = raw.replace(/^\s+/, '');
    if (cont && (trimmed.startsWith('#') || trimmed === '')) continue;
    if (!cont && (trimmed === '' || trimmed.startsWith('#'))) continue;
    const line = cont ? raw : trimmed;
    if (/\\\s*$/.test(line)) {
      buf += line.replace(/\\\s*$/, '');
      cont = true;
      continue;
    }
    buf += line;
    cont = false;
    push(buf);
    buf = '';
  }
  if (buf.trim() !== '') push(buf);
  function push(s: string): void {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(s.trim());
    if (!m) return;
    out.push({ cmd: m[1]!, rest: m[2]!.trim(), original: s.trim() });
  }
  return out;
}

/** Splits on whitespace outside quotes; quotes and escapes are kept for processWord. */
export function parseWords(rest: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  let inWord = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    if (!inWord && /\s/.test(c)) continue;
    inWord = true;
    if (c === '\\' && quote !== "'" && i + 1 < rest.length) {
      word += c + rest[++i];
      continue;
    }
    if (quote) {
      if (c === quote) quote = '';
      word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      word += c;
      continue;
    }
    if (/\s/.test(c)) {
      words.push(word);
      word = '';
      inWord = false;
      continue;
    }
    word += c;
  }
  if (inWord) words.push(word);
  return words;
}

function envLookup(env: string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    const eq = e.indexOf('=');
    if ((eq === -1 ? e : e.slice(0, eq)) === name) return eq === -1 ? '' : e.slice(eq + 1);
  }
  return undefined;
}

/** Shell-style word processing: quotes removed, escapes applied, $VAR / ${VAR…} expanded. */
export function processWord(word: string, env: string[]): string {
  let out = '';
  let i = 0;
  const expand = (inDouble: boolean): string => {
    // at '$'
    i++;
    if (word[i] === '{') {
      const end = word.indexOf('}', i);
      if (end === -1) throw invalidParameter(`missing ':' in substitution`);
      const inner = word.slice(i + 1, end);
      i = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::?([-+])([\s\S]*))?$/.exec(inner);
      if (!m) throw invalidParameter(`bad substitution: \${${inner}}`);
      const val = envLookup(env, m[1]!);
      if (m[2] === '-') return val === undefined || val === '' ? processWord(m[3] ?? '', env) : val;
      if (m[2] === '+') return val !== undefined && val !== '' ? processWord(m[3] ?? '', env) : '';
      return val ?? '';
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i));
    if (!m) return '$';
    i += m[0].length;
    void inDouble;
    return envLookup(env, m[0]) ?? '';
  };
  while (i < word.length) {
    const c = word[i]!;
    if (c === "'") {
      const end = word.indexOf("'", i + 1);
      if (end === -1) throw invalidParameter('unexpected end of statement while looking for matching single-quote');
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < word.length && word[i] !== '"') {
        if (word[i] === '\\' && i + 1 < word.length && '"\\$`'.includes(word[i + 1]!)) {
          out += word[i + 1];
          i += 2;
        } else if (word[i] === '$') out += expand(true);
        else out += word[i++];
      }
      if (i >= word.length) throw invalidParameter('unexpected end of statement while looking for matching double-quote');
      i++;
    } else if (c === '\\') {
      if (i + 1 < word.length) out += word[i + 1];
      i += 2;
    } else if (c === '$') {
      out += expand(false);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** JSON form (`["a","b"]`) when it parses as an array of strings, else undefined. */
function parseJSONArray(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

function parseKeyValues(instr: string, rest: string, env: string[]): [string, string][] {
  const words = parseWords(rest);
  if (words.length === 0) throw invalidParameter(`${instr} requires at least one argument`);
  const out: [string, string][] = [];
  if (!words[0]!.includes('=')) {
    // legacy form: NAME value with spaces
    const m = /^(\S+)\s+([\s\S]+)$/.exec(rest);
    if (!m) throw invalidParameter(`${instr} must have two arguments`);
    out.push([processWord(m[1]!, env), processWord(m[2]!, env)]);
  } else {
    for (const w of words) {
      const eq = w.indexOf('=');
      if (eq === -1) throw invalidParameter(`Syntax error - can't find = in ${JSON.stringify(w)}. Must be of the form: name=value`);
      out.push([processWord(w.slice(0, eq), env), processWord(w.slice(eq + 1), env)]);
    }
  }
  for (const [k] of out) if (k === '') throw invalidParameter(`${instr} names can not be blank`);
  return out;
}

function parsePorts(spec: string): string[] {
  // [ip:[hostPort]:]containerPort[/proto]
  let proto = 'tcp';
  let s = spec;
  const slash = s.lastIndexOf('/');
  if (slash !== -1) {
    proto = s.slice(slash + 1).toLowerCase();
    s = s.slice(0, slash);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw invalidParameter(`invalid proto: ${proto}`);
  const colon = s.lastIndexOf(':');
  const cport = colon === -1 ? s : s.slice(colon + 1);
  const m = /^(\d+)(?:-(\d+))?$/.exec(cport);
  if (!m) throw invalidParameter(`invalid containerPort: ${cport}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (start > 65535 || end > 65535 || end < start) throw invalidParameter(`invalid containerPort: ${cport}`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

function parseHealthcheck(rest: string, shell: string[]): HealthConfig {
  const words = rest.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words.length && words[0]!.startsWith('--')) {
    const f = words.shift()!;
    const m = /^--([a-z-]+)=(.*)$/.exec(f);
    if (!m || !['interval', 'timeout', 'start-period', 'start-interval', 'retries'].includes(m[1]!)) {
      throw invalidParameter(`Unknown flag: ${f.replace(/^--/, '').replace(/=.*$/, '')}`);
    }
    flags[m[1]!] = m[2]!;
  }
  const typ = (words.shift() ?? '').toUpperCase();
  const args = words.join(' ').trim();
  if (typ === 'NONE') {
    if (args !== '' || Object.keys(flags).length) throw invalidParameter('HEALTHCHECK NONE takes no arguments');
    return { Test: ['NONE'] };
  }
  if (typ !== 'CMD') throw invalidParameter(`Unknown type "${typ}" in HEALTHCHECK (try CMD)`);
  const cmdRest = rest.slice(rest.search(/CMD/i) + 3).trim();
  const json = parseJSONArray(cmdRest);
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', cmdRest] };
  void shell;
  const dur = (name: string, key: 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval'): void => {
    const v = flags[name];
    if (v === undefined) return;
    const d = parseGoDuration(v);
    if (d !== 0 && d < 1e6) throw invalidParameter(`Interval "${name}" cannot be less than 1ms`);
    hc[key] = d;
  };
  dur('interval', 'Interval');
  dur('timeout', 'Timeout');
  dur('start-period', 'StartPeriod');
  dur('start-interval', 'StartInterval');
  if (flags.retries !== undefined) {
    const r = Number(flags.retries);
    if (!Number.isInteger(r)) throw invalidParameter(`strconv.ParseInt: parsing "${flags.retries}": invalid syntax`);
    if (r < 0) throw invalidParameter('--retries cannot be negative');
    hc.Retries = r;
  }
  return hc;
}

/**
 * Applies `changes` to a copy of `config` (dockerd's BuildFromConfig). Errors are
 * invalid-parameter errors worded as dockerd's.
 */
export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  if (changes.length === 0) return config;
  const c: ContainerConfig = JSON.parse(JSON.stringify(config)) as ContainerConfig;
  const lines = splitInstructions(changes.join('\n'));
  for (const l of lines) {
    if (!VALID.has(l.cmd.toLowerCase())) throw invalidParameter(`${l.cmd} is not a valid change command`);
  }
  let cmdSet = false;
  const shell = c.Shell && c.Shell.length ? c.Shell : ['/bin/sh', '-c'];
  for (const l of lines) {
    const instr = l.cmd.toUpperCase();
    const env = c.Env ?? [];
    switch (instr) {
      case 'CMD': {
        const json = parseJSONArray(l.rest);
        c.Cmd = json ?? [...shell, l.rest];
        cmdSet = true;
        break;
      }
      case 'ENTRYPOINT': {
        const json = parseJSONArray(l.rest);
        c.Entrypoint = json ?? (l.rest === '' ? null : [...shell, l.rest]);
        if (!cmdSet) c.Cmd = null;
        break;
      }
      case 'ENV': {
        for (const [k, v] of parseKeyValues('ENV', l.rest, env)) {
          const list = c.Env ?? [];
          const idx = list.findIndex((e) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e) === k);
          if (idx >= 0) list[idx] = `${k}=${v}`;
          else list.push(`${k}=${v}`);
          c.Env = list;
        }
        break;
      }
      case 'LABEL': {
        for (const [k, v] of parseKeyValues('LABEL', l.rest, env)) {
          c.Labels = { ...(c.Labels ?? {}), [k]: v };
        }
        break;
      }
      case 'EXPOSE': {
        const words = parseWords(l.rest);
        if (words.length === 0) throw invalidParameter('EXPOSE requires at least one argument');
        const ports = { ...(c.ExposedPorts ?? {}) };
        for (const w of words) for (const p of parsePorts(processWord(w, env))) ports[p] = {};
        c.ExposedPorts = ports;
        break;
      }
      case 'USER': {
        if (l.rest === '') throw invalidParameter('USER requires exactly one argument');
        c.User = processWord(l.rest, env);
        break;
      }
      case 'WORKDIR': {
        if (l.rest === '') throw invalidParameter('WORKDIR requires exactly one argument');
        const w = processWord(l.rest, env);
        if (w === '') throw invalidParameter('cannot normalize nothing');
        c.WorkingDir = normalizeWorkdir(c.WorkingDir, w);
        break;
      }
      case 'STOPSIGNAL': {
        if (l.rest === '') throw invalidParameter('STOPSIGNAL requires exactly one argument');
        const s = processWord(l.rest, env);
        parseSignal(s);
        c.StopSignal = s;
        break;
      }
      case 'VOLUME': {
        const json = parseJSONArray(l.rest);
        const vols = json ?? parseWords(l.rest).map((w) => processWord(w, env));
        if (vols.length === 0) throw invalidParameter('VOLUME requires at least one argument');
        const map = { ...(c.Volumes ?? {}) };
        for (const v of vols) {
          if (v.trim() === '') throw invalidParameter('VOLUME specified can not be an empty string');
          map[v.trim()] = {};
        }
        c.Volumes = map;
        break;
      }
      case 'ONBUILD': {
        if (l.rest === '') throw invalidParameter('ONBUILD requires at least one argument');
        const trigger = l.rest.split(/\s+/)[0]!.toUpperCase();
        if (trigger === 'ONBUILD') throw invalidParameter('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
        if (trigger === 'MAINTAINER' || trigger === 'FROM') throw invalidParameter(`${trigger} isn't allowed as an ONBUILD trigger`);
        c.OnBuild = [...(c.OnBuild ?? []), l.original.replace(/^\s*ONBUILD\s*/i, '')];
        break;
      }
      case 'HEALTHCHECK': {
        if (l.rest === '') throw invalidParameter('HEALTHCHECK requires at least one argument');
        c.Healthcheck = parseHealthcheck(l.rest, shell);
        break;
      }
    }
  }
  return c;
}

function normalizeWorkdir(current: string, requested: string): string {
  const join = (...p: string[]): string => {
    const parts: string[] = [];
    for (const seg of p.join('/').split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg === '..') parts.pop();
      else parts.push(seg);
    }
    return '/' + parts.join('/');
  };
  return requested.startsWith('/') ? join(requested) : join('/', current, requested);
}

/** Marshals a container config with Go's field order and omitempty rules (for image JSON). */
export function orderedContainerConfig(c: ContainerConfig): Record<string, unknown> {
  const o: Record<string, unknown> = {
    Hostname: c.Hostname ?? '',
    Domainname: c.Domainname ?? '',
    User: c.User ?? '',
    AttachStdin: c.AttachStdin ?? false,
    AttachStdout: c.AttachStdout ?? false,
    AttachStderr: c.AttachStderr ?? false,
  };
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) o.ExposedPorts = c.ExposedPorts;
  o.Tty = c.Tty ?? false;
  o.OpenStdin = c.OpenStdin ?? false;
  o.StdinOnce = c.StdinOnce ?? false;
  o.Env = c.Env ?? null;
  o.Cmd = c.Cmd ?? null;
  if (c.Healthcheck) o.Healthcheck = c.Healthcheck;
  if (c.ArgsEscaped) o.ArgsEscaped = c.ArgsEscaped;
  o.Image = c.Image ?? '';
  o.Volumes = c.Volumes ?? null;
  o.WorkingDir = c.WorkingDir ?? '';
  o.Entrypoint = c.Entrypoint ?? null;
  if (c.NetworkDisabled) o.NetworkDisabled = c.NetworkDisabled;
  if (c.MacAddress) o.MacAddress = c.MacAddress;
  o.OnBuild = c.OnBuild ?? null;
  o.Labels = c.Labels ?? null;
  if (c.StopSignal) o.StopSignal = c.StopSignal;
  if (c.StopTimeout !== undefined && c.StopTimeout !== null) o.StopTimeout = c.StopTimeout;
  if (c.Shell && c.Shell.length) o.Shell = c.Shell;
  return o;
}
