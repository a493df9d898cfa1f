// The hostile-client fuzzer: throws malformed requests at every route of a running berthd and
// reports every 5xx, crash, memory growth past a bound, and change to a sentinel tree outside the
// daemon's roots. Used by hack/fuzz/api-fuzz and by integration/stress/fuzz.test.ts.
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { readdir, readFile, lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pack } from 'tar-stream';
import type { RouteSpec } from './routes.js';
import { alive } from '../../integration/harness.js';

export interface FuzzTarget {
  socket: string;
  pid: number;
  /** A running container the fuzzer may stop, remove or write into. */
  container: string;
  /** A running container kept alive for the stream scenarios (attach, logs, exec start). */
  streamContainer: string;
  image: string;
  volume: string;
  network: string;
  /** Directory outside every root of the daemon; filled by makeSentinel. */
  sentinel: string;
}

export interface FuzzOptions {
  seconds: number;
  seed: number;
  routes: RouteSpec[];
  queryKeys: string[];
  /** Concurrent clients. */
  workers?: number;
  /** Bound on berthd's resident memory, in bytes. */
  rssLimit: number;
  log?: (line: string) => void;
}

export interface Finding {
  kind: '5xx' | 'crash' | 'unresponsive' | 'rss' | 'sentinel';
  detail: string;
}

export interface FuzzReport {
  seed: number;
  seconds: number;
  requests: number;
  /** "METHOD pattern" → status class ("2xx", "4xx", "5xx", "timeout", "reset", …) → count. */
  byRoute: Map<string, Map<string, number>>;
  classes: Map<string, number>;
  maxRss: number;
  findings: Finding[];
  /** Server errors that are not the client's doing (the runtime failing a valid request). */
  notes: string[];
}

// ---------------------------------------------------------------- deterministic randomness

class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    // mulberry32
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------- hostile values

/** Strings aimed at names, references, paths: traversal toward the sentinel, NULs, bad escapes, length. */
function hostileStrings(t: FuzzTarget): string[] {
  const rel = t.sentinel.replace(/^\//, '');
  const ups = [1, 2, 3, 4, 6, 10].map((n) => '../'.repeat(n) + rel + '/victim');
  return [
    '..', '.', '../', '../..', '%2e%2e', '%2e%2e%2f%2e%2e', ...ups,
    t.sentinel, `${t.sentinel}/victim`, `${t.sentinel}/a/file`, `/../../..${t.sentinel}/victim`,
    '%00', 'a%00b', 'x\0y', '%', '%zz', '%c3%28', '%ff%fe', '%ed%a0%80', '%c0%af', '%e2%82',
    'a'.repeat(300), 'a'.repeat(5000), 'A'.repeat(70000).slice(0, 60000),
    '', ' ', '-', '--rm', 'UPPER', 'ñame', '😀', 'name:tag', 'name@sha256:xyz', 'sha256:', 'sha256:' + '0'.repeat(64),
    'a/b/c', '/abs', 'a..b', 'a//b', '\\..\\..\\', 'registry:5000/x', 'localhost/../../x', '..:latest',
    // No short hex strings: they are ID prefixes, and would remove the stream container.
    '-1', '0x', '99999999999999999999', 'NaN', 'true', '{}', '[]', 'null', "'", '"', '<script>', '$(id)', '*',
  ];
}

function hostileJSONValue(rng: Rng, t: FuzzTarget, strs: string[], depth = 0): unknown {
  switch (rng.int(depth > 2 ? 6 : 9)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick([0, -1, 1, 1e300, -1e300, 2 ** 63, 0.5, -0.000001, 9007199254740993]);
    case 3: case 4: case 5: return rng.pick(strs);
    case 6: return Array.from({ length: rng.int(4) }, () => hostileJSONValue(rng, t, strs, depth + 1));
    default: return hostileObject(rng, t, strs, depth + 1);
  }
}

// Fields berthd's bodies carry, so random bodies reach past the first check. Bind-mount fields
// (Binds, Mounts, DriverOpts) are left out: a bind of the sentinel is a legitimate request.
const FIELDS = [
  'Image', 'Cmd', 'Entrypoint', 'Env', 'Labels', 'Name', 'WorkingDir', 'User', 'Tty', 'OpenStdin', 'AttachStdin',
  'AttachStdout', 'AttachStderr', 'Detach', 'DetachKeys', 'Privileged', 'ConsoleSize', 'ExposedPorts', 'StopSignal',
  'StopTimeout', 'Healthcheck', 'Test', 'Interval', 'Timeout', 'Retries', 'HostConfig', 'NetworkingConfig',
  'EndpointsConfig', 'IPAMConfig', 'IPv4Address', 'Aliases', 'Links', 'PortBindings', 'RestartPolicy',
  'MaximumRetryCount', 'Memory', 'MemorySwap', 'CpuShares', 'NanoCpus', 'PidsLimit', 'Ulimits', 'CapAdd',
  'CapDrop', 'Dns', 'ExtraHosts', 'NetworkMode', 'LogConfig', 'Tmpfs', 'ShmSize', 'Sysctls', 'SecurityOpt',
  'Driver', 'Options', 'IPAM', 'Config', 'Subnet', 'Gateway', 'IPRange', 'Internal', 'Attachable', 'EnableIPv6',
  'Container', 'EndpointConfig', 'Force', 'Height', 'Width', 'Signal', 'Platform', 'Repo', 'Tag', 'username',
  'password', 'serveraddress', 'Changes', 'Comment', 'Author', 'MacAddress', 'Volumes', 'Devices',
];

function hostileObject(rng: Rng, t: FuzzTarget, strs: string[], depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const n = rng.int(6);
  for (let i = 0; i < n; i++) o[rng.chance(0.85) ? rng.pick(FIELDS) : rng.pick(strs)] = hostileJSONValue(rng, t, strs, depth);
  return o;
}

/** A tar whose entries try to leave the directory they are extracted into. */
async function hostileTar(rng: Rng, t: FuzzTarget): Promise<Buffer> {
  const p = pack();
  const rel = t.sentinel.replace(/^\//, '');
  const name = rng.pick([
    `../../../../../../../../${rel}/victim`, `${t.sentinel}/victim`, `./../${rel}/x`, 'a/../../../../../../..' + t.sentinel + '/victim',
    'manifest.json', 'repositories', 'ok.txt', 'etc/passwd',
  ]);
  const kind = rng.int(4);
  if (kind === 0) p.entry({ name: 'link', type: 'symlink', linkname: `${t.sentinel}` });
  if (kind === 1) p.entry({ name: 'hard', type: 'link', linkname: `../../../../../..${t.sentinel}/victim` });
  if (kind === 2) p.entry({ name: 'link', type: 'symlink', linkname: '../../../../../../..' + t.sentinel });
  if (kind !== 3) p.entry({ name: 'link/victim' }, 'overwritten through a link');
  if (name === 'manifest.json') {
    p.entry({ name }, JSON.stringify([{ Config: `../../../..${t.sentinel}/victim`, RepoTags: ['x:y'], Layers: [`../../..${t.sentinel}/a/file`] }]));
  } else {
    p.entry({ name }, 'escaped');
  }
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as AsyncIterable<Buffer>) chunks.push(c);
  const whole = Buffer.concat(chunks);
  // Sometimes cut short or garbled, as a broken client would send it.
  if (rng.chance(0.2)) return whole.subarray(0, rng.int(whole.length));
  if (rng.chance(0.1)) return Buffer.concat([whole.subarray(0, 512), rng.bytes(600)]);
  return whole;
}

// ---------------------------------------------------------------- requests

function encodeSegment(rng: Rng, s: string): string {
  // Hostile strings already holding escapes go raw; others are escaped as a client would, or not.
  if (/%/.test(s) && rng.chance(0.7)) return s.replace(/[\0\s?#]/g, (c) => encodeURIComponent(c));
  return rng.chance(0.8) ? encodeURIComponent(s) : s.replace(/[\0\s?#/]/g, (c) => encodeURIComponent(c));
}

/** Half the time the name of an object that exists, so requests get past the lookup. */
function paramValue(rng: Rng, pattern: string, t: FuzzTarget, strs: string[]): string {
  if (rng.chance(0.5)) {
    const kind = pattern.split('/')[1];
    const real: Record<string, string> = { containers: t.container, images: t.image, volumes: t.volume, networks: t.network };
    if (real[kind]) return real[kind];
  }
  return rng.pick(strs);
}

function buildPath(rng: Rng, route: RouteSpec, t: FuzzTarget, strs: string[]): string {
  const version = rng.chance(0.85) ? rng.pick(['', '/v1.41', '/v1.45', '/v1.47']) : rng.pick(['/v1.12', '/v99.0', '/v1.x', '/v', '/v1.41.1']);
  const path = route.pattern.replace(/\{(\w+)(:\.\*)?\}/g, () => encodeSegment(rng, paramValue(rng, route.pattern, t, strs)));
  const extra = rng.chance(0.05) ? rng.pick(['/..', '/../_ping', '/%2e%2e/', '//', '/extra']) : '';
  // Request targets in other forms than a plain path, some of them unparseable.
  if (rng.chance(0.02)) return rng.pick(['http://[', 'http://berth' + path, '*', '//' + path, '%', 'http://:0/_ping']);
  return version + path + extra;
}

function buildQuery(rng: Rng, keys: string[], t: FuzzTarget, strs: string[]): string {
  const parts: string[] = [];
  const n = rng.int(5);
  for (let i = 0; i < n; i++) {
    const key = rng.chance(0.9) ? rng.pick(keys) : rng.pick(strs);
    let value: string;
    switch (rng.int(6)) {
      case 0: value = rng.pick(['1', '0', 'true', 'false', '-1', '', 'yes', '99999999999999999999999', '1.5', '0x10']); break;
      case 1: value = JSON.stringify(hostileJSONValue(rng, t, strs)); break;
      case 2: value = JSON.stringify({ [rng.pick(['label', 'name', 'id', 'status', 'dangling', 'before', 'since', 'reference', 'driver', 'type', 'until'])]: rng.chance(0.5) ? [rng.pick(strs)] : { [rng.pick(strs)]: rng.chance(0.5) } }); break;
      default: value = rng.pick(strs);
    }
    parts.push(`${encodeSegment(rng, key)}=${encodeSegment(rng, value)}`);
  }
  if (rng.chance(0.05)) parts.push(rng.pick(['%', '&&&', '=', 'a=%zz', 'filters=%7B', 'a' + '=b'.repeat(1000)]));
  return parts.length ? '?' + parts.join('&') : '';
}

async function buildBody(rng: Rng, t: FuzzTarget, strs: string[]): Promise<Buffer | undefined> {
  switch (rng.int(10)) {
    case 0: return undefined;
    case 1: return rng.bytes(rng.int(2000));
    case 2: return Buffer.from(rng.pick(['{', '[', '{"a":', 'nul', '"unterminated', '{"Image":"x"}garbage', '\ufeff{}', '{}{}', '1e999999']));
    case 3: return await hostileTar(rng, t);
    case 4: return Buffer.from(JSON.stringify(hostileJSONValue(rng, t, strs)));
    default: return Buffer.from(JSON.stringify(hostileObject(rng, t, strs, 0)));
  }
}

interface Outcome {
  /** "2xx"…"5xx", or what became of the request. */
  cls: string;
  status?: number;
  body?: string;
}

/**
 * Sends raw bytes on a fresh connection and reads the status line, then lets go. Streams (events,
 * logs, attach) never end by themselves: only the head and a little of the body are waited for.
 */
function rawExchange(socketPath: string, head: string, body: Buffer | undefined, opts: { timeoutMs?: number; trickleMs?: number; vanishAfter?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock: Socket = connect(socketPath);
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ cls: 'timeout' }), opts.timeoutMs ?? 15_000);
    const parse = (final: boolean) => {
      const text = got.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!m) {
        if (final) finish({ cls: got.length ? 'garbled' : 'closed' });
        return;
      }
      const status = Number(m[1]);
      const end = text.indexOf('\r\n\r\n');
      if (end < 0 && !final) return;
      const bodyText = end >= 0 ? text.slice(end + 4, end + 4 + 400) : '';
      // Enough of the body for a report, or the whole of a short one.
      if (final || status >= 500 || bodyText.length > 0 || status === 101 || status === 204 || status === 304) {
        finish({ cls: `${Math.floor(status / 100)}xx`, status, body: bodyText });
      } else {
        setTimeout(() => finish({ cls: `${Math.floor(status / 100)}xx`, status, body: '' }), 300);
      }
    };
    sock.on('data', (c: Buffer) => {
      if (got.length < 8192) got = Buffer.concat([got, c]);
      parse(false);
    });
    sock.on('end', () => parse(true));
    sock.on('error', () => finish({ cls: got.length ? `${got.toString('latin1').slice(9, 10)}xx` : 'reset' }));
    sock.on('connect', () => {
      void (async () => {
        const data = body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
        const limit = opts.vanishAfter ?? data.length;
        if (opts.trickleMs) {
          for (let i = 0; i < limit && !done; i += 7) {
            sock.write(data.subarray(i, Math.min(i + 7, limit)));
            await delay(opts.trickleMs);
          }
        } else {
          // Large bodies go in slices so backpressure, not memory, paces them.
          for (let i = 0; i < limit && !done; i += 1 << 20) {
            if (!sock.write(data.subarray(i, Math.min(i + (1 << 20), limit)))) await new Promise((r) => sock.once('drain', r));
          }
        }
        if (opts.vanishAfter !== undefined) finish({ cls: 'vanished' });
      })().catch(() => finish({ cls: 'reset' }));
    });
  });
}

function requestHead(method: string, path: string, body: Buffer | undefined, extra: Record<string, string> = {}, contentLength?: number): string {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: berth'];
  const len = contentLength ?? body?.length;
  if (len !== undefined) lines.push(`Content-Length: ${len}`);
  for (const [k, v] of Object.entries(extra)) lines.push(`${k}: ${v}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

// ---------------------------------------------------------------- sentinel

/** Fills the sentinel tree; its snapshot must be the same after the run. */
export async function makeSentinel(dir: string): Promise<void> {
  await mkdir(join(dir, 'a', 'b'), { recursive: true });
  await writeFile(join(dir, 'victim'), 'must not change\n');
  await writeFile(join(dir, 'a', 'file'), 'must not change either\n');
  await writeFile(join(dir, 'a', 'b', 'deep'), 'nor this\n');
}

export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    let sum = `${st.mode}:${st.size}:${st.mtimeMs}:${st.uid}:${st.gid}`;
    if (st.isFile()) sum += ':' + createHash('sha256').update(await readFile(p)).digest('hex');
    out.set(p, sum);
    if (st.isDirectory()) for (const e of await readdir(p)) await walk(join(p, e));
  };
  await walk(dir);
  return out;
}

function diffSnapshots(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, s] of a) if (b.get(p) !== s) out.push(b.has(p) ? `changed: ${p}` : `removed: ${p}`);
  for (const p of b.keys()) if (!a.has(p)) out.push(`created: ${p}`);
  return out;
}

// ---------------------------------------------------------------- the run

export async function rss(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const m = status && /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

const STREAM_ROUTES = [
  (t: FuzzTarget) => `/containers/${t.streamContainer}/attach?stream=1&stdout=1&stderr=1&stdin=1`,
  (t: FuzzTarget) => `/containers/${t.streamContainer}/logs?follow=1&stdout=1&stderr=1`,
  (t: FuzzTarget) => `/containers/${t.streamContainer}/stats?stream=1`,
  (t: FuzzTarget) => `/containers/${t.streamContainer}/wait`,
  () => '/events',
];

export async function fuzz(t: FuzzTarget, o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => undefined);
  const strs = hostileStrings(t);
  const report: FuzzReport = { seed: o.seed, seconds: o.seconds, requests: 0, byRoute: new Map(), classes: new Map(), maxRss: 0, findings: [], notes: [] };
  const count = (route: string, cls: string) => {
    report.requests++;
    const m = report.byRoute.get(route) ?? new Map<string, number>();
    m.set(cls, (m.get(cls) ?? 0) + 1);
    report.byRoute.set(route, m);
    report.classes.set(cls, (report.classes.get(cls) ?? 0) + 1);
  };
  const fiveXX = new Map<string, number>();
  const record5xx = (route: string, method: string, path: string, body: Buffer | undefined, out: Outcome) => {
    const key = `${route} ${out.status}`;
    fiveXX.set(key, (fiveXX.get(key) ?? 0) + 1);
    // Each distinct route and status once, with the first request that caused it.
    if (fiveXX.get(key) === 1) {
      report.findings.push({
        kind: '5xx',
        detail: `${out.status} ${method} ${path.slice(0, 300)} body=${JSON.stringify((body ?? Buffer.alloc(0)).subarray(0, 200).toString('latin1'))} → ${(out.body ?? '').trim().slice(0, 300)}`,
      });
      log(`finding: ${report.findings[report.findings.length - 1].detail}`);
    }
  };

  const before = await snapshot(t.sentinel);
  const deadline = Date.now() + o.seconds * 1000;
  let stopped = false;

  const sampler = (async () => {
    while (!stopped) {
      const r = await rss(t.pid);
      if (r === undefined) break;
      report.maxRss = Math.max(report.maxRss, r);
      await delay(250);
    }
  })();

  // Liveness: the process stays up and answers /_ping within a bound.
  const watchdog = (async () => {
    while (!stopped) {
      if (!alive(t.pid)) {
        report.findings.push({ kind: 'crash', detail: `berthd (pid ${t.pid}) exited` });
        stopped = true;
        break;
      }
      const out = await rawExchange(t.socket, requestHead('GET', '/_ping', undefined), undefined, { timeoutMs: 20_000 });
      if (out.status !== 200) report.findings.push({ kind: 'unresponsive', detail: `/_ping answered ${out.cls} during the run` });
      await delay(1000);
    }
  })();

  const worker = async (w: number) => {
    const rng = new Rng((o.seed * 7919 + w * 104729) >>> 0);
    while (!stopped && Date.now() < deadline) {
      const scenario = rng.int(100);
      if (scenario < 8) {
        // A stream opened and dropped: mid-stream vanish on attach, logs, stats, wait, events.
        const path = rng.pick(STREAM_ROUTES)(t);
        const upgrade: Record<string, string> = path.includes('attach') && rng.chance(0.5) ? { Connection: 'Upgrade', Upgrade: 'tcp' } : {};
        const out = await rawExchange(t.socket, requestHead(path.includes('attach') || path.includes('wait') ? 'POST' : 'GET', path, undefined, upgrade), undefined, { timeoutMs: 1000 + rng.int(1000) });
        count(`stream ${path.split('?')[0].replace(t.streamContainer, '{name}')}`, out.cls === 'timeout' ? 'dropped' : out.cls);
        if (out.status && out.status >= 500) record5xx('stream', 'POST', path, undefined, out);
        continue;
      }
      if (scenario < 12) {
        // Exec start, dropped mid-stream.
        const create = await rawExchange(t.socket, requestHead('POST', `/containers/${t.streamContainer}/exec`, Buffer.from('{"Cmd":["sh","-c","while true; do echo e; sleep 0.2; done"],"AttachStdout":true,"AttachStderr":true,"AttachStdin":true}'), { 'Content-Type': 'application/json' }), Buffer.from('{"Cmd":["sh","-c","while true; do echo e; sleep 0.2; done"],"AttachStdout":true,"AttachStderr":true,"AttachStdin":true}'), { timeoutMs: 15_000 });
        const id = /"Id":"([0-9a-f]+)"/.exec(create.body ?? '')?.[1];
        count('stream POST /exec/{id}/start', create.status === 201 && id ? 'created' : create.cls);
        if (!id) continue;
        const startBody = Buffer.from(JSON.stringify({ Detach: false, Tty: rng.chance(0.5) }));
        const upgrade: Record<string, string> = rng.chance(0.5) ? { Connection: 'Upgrade', Upgrade: 'tcp' } : {};
        const out = await rawExchange(t.socket, requestHead('POST', `/exec/${id}/start`, startBody, { 'Content-Type': 'application/json', ...upgrade }), startBody, { timeoutMs: 500 + rng.int(1500) });
        count('stream POST /exec/{id}/start', out.cls === 'timeout' ? 'dropped' : out.cls);
        if (out.status && out.status >= 500) record5xx('stream POST /exec/{id}/start', 'POST', `/exec/${id}/start`, startBody, out);
        continue;
      }
      const route = rng.pick(o.routes);
      const key = `${route.method} ${route.pattern}`;
      const method = rng.chance(0.03) ? rng.pick(['PATCH', 'OPTIONS', 'TRACE', 'FOO', 'GET']) : route.method;
      const path = buildPath(rng, route, t, strs) + buildQuery(rng, o.queryKeys, t, strs);
      const headers: Record<string, string> = {};
      if (rng.chance(0.5)) headers['Content-Type'] = rng.pick(['application/json', 'application/x-tar', 'text/plain', 'application/json; charset=latin1', '']);
      if (rng.chance(0.1)) headers['X-Registry-Auth'] = rng.pick(['%%%', 'e30=', Buffer.from(JSON.stringify(hostileJSONValue(rng, t, strs))).toString('base64'), 'not base64!']);
      if (rng.chance(0.05)) headers['Accept-Encoding'] = 'gzip';
      if (rng.chance(0.05)) Object.assign(headers, { Connection: 'Upgrade', Upgrade: 'tcp' });
      if (rng.chance(0.05)) headers['Transfer-Encoding'] = 'chunked';
      let body = await buildBody(rng, t, strs);
      let out: Outcome;
      const shape = rng.int(100);
      if (shape < 4) {
        // Huge: past the JSON body limit (16 MiB).
        body = Buffer.alloc(17 * 1024 * 1024, rng.pick(['{', ' ', 'a']));
        out = await rawExchange(t.socket, requestHead(method, path, body, headers), body, { timeoutMs: 30_000 });
      } else if (shape < 10) {
        // Truncated: Content-Length larger than what comes, then the client vanishes.
        body ??= Buffer.from('{"Image":');
        const head = requestHead(method, path, body, headers, body.length + 1 + rng.int(1 << 30));
        out = await rawExchange(t.socket, head, body, { vanishAfter: head.length + rng.int(body.length + 1) });
      } else if (shape < 13) {
        // Slow: the request trickles in, and sometimes the client leaves half-way.
        const head = requestHead(method, path, body, headers);
        out = await rawExchange(t.socket, head, body, { trickleMs: 20 + rng.int(80), vanishAfter: rng.chance(0.5) ? rng.int(head.length) : undefined, timeoutMs: 20_000 });
      } else {
        out = await rawExchange(t.socket, requestHead(method, path, body, headers), body, { timeoutMs: 4000 + rng.int(4000) });
      }
      const expected = out.status !== undefined && out.status === route.expected5xx;
      // The runtime failing a valid request (a freeze that does not complete while processes are
      // starting) is not the client's mistake: dockerd answers 500 too. Counted and listed, not a finding.
      const runtime = out.status === 500 && /"message":"OCI runtime \w+ failed/.test(out.body ?? '');
      count(key, expected ? `${out.status} as dockerd` : runtime ? '500 runtime' : out.cls);
      if (runtime) report.notes.push(`${method} ${path.slice(0, 120)} → ${(out.body ?? '').trim().slice(0, 200)}`);
      else if (out.status !== undefined && out.status >= 500 && !expected) record5xx(key, method, path, body, out);
    }
  };

  await Promise.all(Array.from({ length: o.workers ?? 4 }, (_, w) => worker(w)));
  stopped = true;
  await Promise.all([sampler, watchdog]);

  if (alive(t.pid)) {
    const out = await rawExchange(t.socket, requestHead('GET', '/_ping', undefined), undefined, { timeoutMs: 20_000 });
    if (out.status !== 200) report.findings.push({ kind: 'unresponsive', detail: `/_ping answered ${out.cls} after the run` });
  } else if (!report.findings.some((f) => f.kind === 'crash')) {
    report.findings.push({ kind: 'crash', detail: `berthd (pid ${t.pid}) exited` });
  }
  if (report.maxRss > o.rssLimit) {
    report.findings.push({ kind: 'rss', detail: `berthd's RSS reached ${mib(report.maxRss)}, over the bound of ${mib(o.rssLimit)}` });
  }
  for (const d of diffSnapshots(before, await snapshot(t.sentinel))) report.findings.push({ kind: 'sentinel', detail: d });
  for (const [k, n] of fiveXX) if (n > 1) log(`${k}: ${n} times`);
  return report;
}

export const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

export function formatReport(r: FuzzReport): string {
  const lines = [`seed ${r.seed}, ${r.seconds} s, ${r.requests} requests, max RSS ${mib(r.maxRss)}`];
  lines.push('status classes: ' + [...r.classes].sort().map(([c, n]) => `${c} ${n}`).join(', '));
  lines.push('per route:');
  for (const [route, m] of [...r.byRoute].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`  ${route.padEnd(52)} ${[...m].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`);
  }
  if (r.notes.length) lines.push(`runtime failures (not client mistakes):`, ...r.notes.map((n) => `  ${n}`));
  lines.push(r.findings.length ? `${r.findings.length} finding(s):` : 'no findings');
  for (const f of r.findings) lines.push(`  [${f.kind}] ${f.detail}`);
  return lines.join('\n');
}
