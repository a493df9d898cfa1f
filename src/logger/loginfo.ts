// What a log driver knows about its container (dockerd's logger.Info), the extra attributes
// selected by the `labels`, `labels-regex`, `env` and `env-regex` log options, and the `tag`
// option's Go template ({{.Name}}, {{.ID}}, {{.ImageName}}, {{.FullID}}, {{.DaemonName}}…).

import { hostname as osHostname } from 'node:os';

export interface LogInfo {
  /** The container's LogConfig.Config (log options). */
  Config: Record<string, string>;
  ContainerID: string;
  /** With the leading '/'. */
  ContainerName: string;
  ContainerEntrypoint: string;
  ContainerArgs: string[];
  /** "sha256:…" */
  ContainerImageID: string;
  /** Config.Image as the user gave it. */
  ContainerImageName: string;
  ContainerCreated: Date;
  ContainerEnv: string[];
  ContainerLabels: Record<string, string>;
  LogPath: string;
  DaemonName: string;
}

/** The template methods dockerd's logger.Info offers, besides its fields. */
function infoMethods(info: LogInfo): Record<string, () => string> {
  return {
    ID: () => info.ContainerID.slice(0, 12),
    FullID: () => info.ContainerID,
    Name: () => info.ContainerName.replace(/^\//, ''),
    ImageID: () => info.ContainerImageID.replace(/^sha256:/, '').slice(0, 12),
    ImageFullID: () => info.ContainerImageID,
    ImageName: () => info.ContainerImageName,
    Command: () => [info.ContainerEntrypoint, ...info.ContainerArgs].join(' '),
    Hostname: () => hostname(),
  };
}

let hostnameCache: string | undefined;
function hostname(): string {
  hostnameCache ??= osHostname();
  return hostnameCache;
}

/** dockerd's Info.ExtraAttributes: labels/labels-regex/env/env-regex picked from the container. */
export function extraAttributes(info: LogInfo, keyMod?: (k: string) => string): Record<string, string> {
  const extra: Record<string, string> = {};
  const put = (k: string, v: string): void => {
    extra[keyMod ? keyMod(k) : k] = v;
  };
  const cfg = info.Config;
  const labels = info.ContainerLabels ?? {};
  if (cfg.labels) for (const l of cfg.labels.split(',')) if (Object.hasOwn(labels, l)) put(l, labels[l]!);
  if (cfg['labels-regex']) {
    const re = new RegExp(cfg['labels-regex']);
    for (const [k, v] of Object.entries(labels)) if (re.test(k)) put(k, v);
  }
  const env = new Map<string, string>();
  for (const e of info.ContainerEnv ?? []) {
    const i = e.indexOf('=');
    if (i >= 0) env.set(e.slice(0, i), e.slice(i + 1));
  }
  if (env.size === 0) return extra;
  if (cfg.env) for (const k of cfg.env.split(',')) if (env.has(k)) put(k, env.get(k)!);
  if (cfg['env-regex']) {
    const re = new RegExp(cfg['env-regex']);
    for (const [k, v] of env) if (re.test(k)) put(k, v);
  }
  return extra;
}

// ---------------------------------------------------------------------------------------
// A small Go text/template, enough for log tags.

type Value = string | number | boolean | string[] | Record<string, string> | Date | null | undefined;

class TemplateError extends Error {}

const FUNCS: Record<string, (...args: Value[]) => Value> = {
  lower: (s) => String(s ?? '').toLowerCase(),
  upper: (s) => String(s ?? '').toUpperCase(),
  title: (s) => String(s ?? '').replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, a: string, b: string) => a + b.toUpperCase()),
  split: (s, sep) => String(s ?? '').split(String(sep ?? '')),
  join: (a, sep) => (Array.isArray(a) ? a.join(String(sep ?? '')) : String(a ?? '')),
  pad: (s, pre, suf) => {
    const str = String(s ?? '');
    return str === '' ? str : ' '.repeat(Number(pre)) + str + ' '.repeat(Number(suf));
  },
  truncate: (s, n) => {
    const str = String(s ?? '');
    return str.length < Number(n) ? str : str.slice(0, Number(n));
  },
  json: (v) => JSON.stringify(v instanceof Date ? v.toISOString() : v ?? null),
  index: (m, k) => {
    if (Array.isArray(m)) return m[Number(k)];
    if (m && typeof m === 'object' && !(m instanceof Date)) return (m as Record<string, string>)[String(k)] ?? '';
    return '';
  },
  printf: (fmt, ...args) => {
    let i = 0;
    return String(fmt ?? '').replace(/%[sdvq%]/g, (m) => (m === '%%' ? '%' : m === '%q' ? JSON.stringify(String(args[i++] ?? '')) : String(args[i++] ?? '')));
  },
};

function tokenize(src: string, line: number, name: string): string[] {
  const toks: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||\.[A-Za-z_][\w.]*|\.|-?\d+(?:\.\d+)?|[A-Za-z_]\w*)/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new TemplateError(`template: ${name}:${line}: unexpected "${src.slice(pos).trim()[0]}" in command`);
    toks.push(m[1]!);
    pos = re.lastIndex;
  }
  return toks;
}

function evalOperand(tok: string, info: LogInfo, name: string, line: number): Value {
  if (tok.startsWith('"')) return JSON.parse(tok) as string;
  if (tok.startsWith('`')) return tok.slice(1, -1);
  if (/^-?\d/.test(tok)) return Number(tok);
  if (tok === '.') return '{}';
  if (tok.startsWith('.')) {
    const [field, ...rest] = tok.slice(1).split('.');
    const methods = infoMethods(info);
    let v: Value;
    if (field! in methods) v = methods[field!]!();
    else if (field! in info) v = (info as unknown as Record<string, Value>)[field!];
    else throw new TemplateError(`template: ${name}:${line}:${3}: executing "${name}" at <${tok}>: can't evaluate field ${field} in type *logger.Info`);
    for (const k of rest) v = v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) ? (v as Record<string, string>)[k] ?? '' : '';
    return v;
  }
  throw new TemplateError(`template: ${name}:${line}: function "${tok}" not defined`);
}

function evalCommand(toks: string[], piped: Value | typeof NONE, info: LogInfo, name: string, line: number): Value {
  if (toks.length === 0) throw new TemplateError(`template: ${name}:${line}: missing value for command`);
  const [head, ...rest] = toks;
  if (/^[A-Za-z_]\w*$/.test(head!)) {
    const fn = FUNCS[head!];
    if (!fn) throw new TemplateError(`template: ${name}:${line}: function "${head}" not defined`);
    const args = rest.map((t) => evalOperand(t, info, name, line));
    if (piped !== NONE) args.push(piped as Value);
    return fn(...args);
  }
  if (rest.length > 0 || piped !== NONE) {
    throw new TemplateError(`template: ${name}:${line}: can't give argument to non-function ${head}`);
  }
  return evalOperand(head!, info, name, line);
}

const NONE = Symbol('none');

function show(v: Value): string {
  if (v === null || v === undefined) return '<no value>';
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.join(' ')}]`;
  if (typeof v === 'object') return `map[${Object.entries(v).sort().map(([k, x]) => `${k}:${x}`).join(' ')}]`;
  return String(v);
}

/** Renders a Go-template log tag against the container's info. Throws with Go-like messages. */
export function renderTemplate(tmpl: string, info: LogInfo, name = 'log-tag'): string {
  let out = '';
  let pos = 0;
  while (pos < tmpl.length) {
    const open = tmpl.indexOf('{{', pos);
    if (open < 0) {
      out += tmpl.slice(pos);
      break;
    }
    let text = tmpl.slice(pos, open);
    let body0 = open + 2;
    if (tmpl[body0] === '-' && tmpl[body0 + 1] === ' ') {
      text = text.replace(/\s+$/, '');
      body0 += 2;
    }
    out += text;
    const close = tmpl.indexOf('}}', body0);
    const line = tmpl.slice(0, open).split('\n').length;
    if (close < 0) throw new TemplateError(`template: ${name}:${line}: unclosed action`);
    let body = tmpl.slice(body0, close);
    let next = close + 2;
    if (body.endsWith(' -')) {
      body = body.slice(0, -2);
      while (next < tmpl.length && /\s/.test(tmpl[next]!)) next++;
    }
    const toks = tokenize(body, line, name);
    if (toks.length === 0) throw new TemplateError(`template: ${name}:${line}: missing value for command`);
    const cmds: string[][] = [[]];
    for (const t of toks) {
      if (t === '|') cmds.push([]);
      else cmds[cmds.length - 1]!.push(t);
    }
    let v: Value | typeof NONE = NONE;
    for (const c of cmds) v = evalCommand(c, v, info, name, line);
    out += show(v as Value);
    pos = next;
  }
  return out;
}

/** dockerd's loggerutils.ParseLogTag: the `tag` option rendered, or the default template's result. */
export function parseLogTag(info: LogInfo, defaultTemplate: string): string {
  const t = info.Config.tag || defaultTemplate;
  return renderTemplate(t, info);
}

export const DEFAULT_TAG_TEMPLATE = '{{.ID}}';

/**
 * `docker logs --details`: the attrs rendered as dockerd's attrsByteSlice does — sorted by key,
 * query-escaped, "k=v,k2=v2", then a space before the line.
 */
export function detailsPrefix(attrs: Record<string, string> | undefined): Buffer {
  const keys = Object.keys(attrs ?? {}).sort();
  const s = keys.map((k) => `${queryEscape(k)}=${queryEscape(attrs![k]!)}`).join(',');
  return Buffer.from(s + ' ');
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
