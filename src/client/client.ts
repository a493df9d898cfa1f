// A typed Docker Engine API client over a unix socket (node:http, keep-alive). Used by the
// integration tests and by the `berth` CLI. Methods follow the Go SDK's names.

import http, { type IncomingMessage, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { demux } from '../pkg/stdcopy.js';
import { filtersToJSON } from '../api/types/filters.js';
import type {
  ContainerCreateBody,
  ContainerCreateResponse,
  ContainerInspect,
  ContainersPruneReport,
  ContainerSummary,
  FilesystemChange,
  TopResponse,
  WaitResponse,
} from '../api/types/container.js';
import type { EventMessage } from '../api/types/events.js';
import type { ExecConfig, ExecInspect } from '../api/types/exec.js';
import type { ImageDeleteResponseItem, ImageInspect, ImageSummary } from '../api/types/image.js';
import type { JSONMessage } from '../api/types/jsonstream.js';
import type { Info, Version } from '../api/types/system.js';

// The wire types of the methods below, for callers of the client.
export type {
  ContainerCreateBody,
  ContainerCreateResponse,
  ContainerInspect,
  ContainersPruneReport,
  ContainerSummary,
  EventMessage,
  ExecConfig,
  ExecInspect,
  FilesystemChange,
  ImageDeleteResponseItem,
  ImageInspect,
  ImageSummary,
  Info,
  JSONMessage,
  TopResponse,
  Version,
  WaitResponse,
};

/** What `GET /_ping` answers: its body and the headers that describe the daemon. */
export interface PingResult {
  /** "OK" */
  body: string;
  apiVersion?: string;
  osType?: string;
  builderVersion?: string;
}

export const DEFAULT_API_VERSION = '1.47';

export const MEDIA_RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MEDIA_MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

/** A non-2xx/3xx answer from the daemon, with dockerd's `{"message": ...}` text. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export interface ClientOptions {
  socketPath: string;
  /** API version for the `/vX.Y` path prefix; default 1.47. */
  version?: string;
}

type QueryValue = string | number | boolean | undefined | null | readonly string[];
export type Query = Record<string, QueryValue>;
export type FiltersArg = Map<string, string[]> | Record<string, string[]>;

export interface RequestOptions {
  query?: Query;
  /** A plain value is sent as JSON; Buffers and Readables as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Skip the `/vX.Y` prefix (e.g. /_ping). */
  unversioned?: boolean;
}

export interface Hijacked {
  /** The raw connection after the 101 answer: write stdin to it, read the output from it. */
  conn: Duplex;
  /** Output is stdcopy-framed (no TTY) rather than raw. */
  multiplexed: boolean;
  headers: IncomingHttpHeaders;
  /** Half-closes the connection: the process sees EOF on stdin, output keeps coming. */
  closeWrite(): void;
  /** Reads the output to its end, demultiplexed when framed. */
  collect(): Promise<StdOutput>;
}

export interface StdOutput {
  stdout: Buffer;
  stderr: Buffer;
}

export type TimeArg = Date | number | string;

export interface LogsOptions {
  stdout?: boolean;
  stderr?: boolean;
  since?: TimeArg;
  until?: TimeArg;
  timestamps?: boolean;
  follow?: boolean;
  /** Number of lines or "all". */
  tail?: number | 'all';
  details?: boolean;
  signal?: AbortSignal;
}

export interface EventsOptions {
  since?: TimeArg;
  until?: TimeArg;
  filters?: FiltersArg;
  signal?: AbortSignal;
}

export interface ImageImportOptions {
  repo?: string;
  tag?: string;
  /** Dockerfile instructions applied to the image config (`--change`). */
  changes?: string[];
  message?: string;
  platform?: string;
}

/** Unix seconds with a nanosecond fraction, as dockerd's timestamp parser reads them. */
export function timeParam(t: TimeArg): string {
  if (typeof t === 'string') return t;
  if (typeof t === 'number') return String(t);
  const ms = t.getTime();
  const sec = Math.floor(ms / 1000);
  return `${sec}.${String((ms - sec * 1000) * 1_000_000).padStart(9, '0')}`;
}

function buildQuery(q: Query | undefined): string {
  if (!q) return '';
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const x of v as readonly string[]) sp.append(k, x);
    else if (typeof v === 'boolean') sp.set(k, v ? '1' : '0');
    else sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : '';
}

/** Path segment escaping that keeps image references (`a/b:c`) readable, as the CLI sends them. */
function seg(s: string): string {
  return encodeURIComponent(s).replace(/%2F/gi, '/').replace(/%3A/gi, ':');
}

async function readBody(res: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function errorFrom(res: IncomingMessage): Promise<ApiError> {
  const text = (await readBody(res).catch(() => Buffer.alloc(0))).toString('utf8');
  let message = text.trim();
  try {
    const v = JSON.parse(text) as { message?: unknown };
    if (typeof v.message === 'string') message = v.message;
  } catch {
    // Not JSON: keep the text.
  }
  return new ApiError(res.statusCode ?? 0, message || `HTTP ${res.statusCode}`);
}

function isMultiplexed(headers: IncomingHttpHeaders, fallback: boolean): boolean {
  const ct = headers['content-type'] ?? '';
  if (ct.startsWith(MEDIA_MULTIPLEXED_STREAM)) return true;
  if (ct.startsWith(MEDIA_RAW_STREAM)) return false;
  return fallback;
}

/** Reads a (possibly framed) stream to its end. */
export async function collectOutput(stream: Readable, multiplexed: boolean): Promise<StdOutput> {
  if (!multiplexed) return { stdout: await readBody(stream), stderr: Buffer.alloc(0) };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  await demux(stream, (s, c) => (s === 1 ? out : err).push(c));
  return { stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
}

/** Splits a stream of newline-separated JSON values. */
export async function* jsonStream<T>(res: Readable): AsyncGenerator<T> {
  const dec = new StringDecoder('utf8');
  let buf = '';
  for await (const chunk of res) {
    buf += dec.write(chunk as Buffer);
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) yield JSON.parse(line) as T;
    }
  }
  buf += dec.end();
  if (buf.trim()) yield JSON.parse(buf) as T;
}

export class Client {
  readonly socketPath: string;
  readonly apiVersion: string;
  private readonly agent: http.Agent;

  constructor(opts: ClientOptions) {
    this.socketPath = opts.socketPath;
    this.apiVersion = opts.version ?? DEFAULT_API_VERSION;
    this.agent = new http.Agent({ keepAlive: true });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private url(path: string, opts: RequestOptions): string {
    return (opts.unversioned ? '' : `/v${this.apiVersion}`) + path + buildQuery(opts.query);
  }

  private encodeBody(opts: RequestOptions): { headers: Record<string, string>; data?: Buffer; stream?: Readable } {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const b = opts.body;
    if (b === undefined) return { headers };
    if (b instanceof Readable) {
      headers['Content-Type'] ??= 'application/x-tar';
      return { headers, stream: b };
    }
    if (Buffer.isBuffer(b)) return { headers, data: b };
    headers['Content-Type'] ??= 'application/json';
    return { headers, data: Buffer.from(JSON.stringify(b)) };
  }

  /**
   * Sends a request and resolves with the response once its headers arrive; a status of
   * 400 or more rejects with ApiError (304, as for starting a running container, does not).
   */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<IncomingMessage> {
    const { headers, data, stream } = this.encodeBody(opts);
    if (data) headers['Content-Length'] = String(data.length);
    return new Promise((resolve, reject) => {
      const req = http.request({
        socketPath: this.socketPath,
        agent: this.agent,
        method,
        path: this.url(path, opts),
        headers,
        signal: opts.signal,
      });
      req.on('error', reject);
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 400) errorFrom(res).then(reject, reject);
        else resolve(res);
      });
      if (stream) pipeline(stream, req).catch((err: unknown) => req.destroy(err as Error));
      else req.end(data);
    });
  }

  /** A request whose answer is JSON (or empty: then undefined). */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    const body = await readBody(res);
    if (body.length === 0) return undefined as T;
    return JSON.parse(body.toString('utf8')) as T;
  }

  /** A request whose answer is discarded. */
  async call(method: string, path: string, opts: RequestOptions = {}): Promise<void> {
    const res = await this.request(method, path, opts);
    res.resume();
    await new Promise<void>((resolve, reject) => {
      res.on('end', resolve);
      res.on('error', reject);
    });
  }

  /**
   * Hijacks a connection as `docker attach`/`docker exec` do: asks for `Upgrade: tcp`,
   * expects 101, then hands over the raw socket. Bytes the daemon sent right behind the
   * headers (Node's `head`) are put back in front of the socket's data.
   */
  hijack(method: string, path: string, opts: RequestOptions & { tty?: boolean } = {}): Promise<Hijacked> {
    const { headers, data } = this.encodeBody(opts);
    headers['Connection'] = 'Upgrade';
    headers['Upgrade'] = 'tcp';
    headers['Content-Length'] = String(data?.length ?? 0);
    return new Promise((resolve, reject) => {
      // Own connection: it leaves HTTP for good, so it must not come from the pool.
      const req = http.request({
        socketPath: this.socketPath,
        agent: false,
        method,
        path: this.url(path, opts),
        headers,
        signal: opts.signal,
      });
      req.on('error', reject);
      req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
        if (head.length > 0) socket.unshift(head);
        socket.setTimeout(0);
        const multiplexed = isMultiplexed(res.headers, !opts.tty);
        resolve({
          conn: socket,
          multiplexed,
          headers: res.headers,
          closeWrite: () => socket.end(),
          collect: () => collectOutput(socket, multiplexed),
        });
      });
      req.on('response', (res) => {
        if ((res.statusCode ?? 0) >= 400) errorFrom(res).then(reject, reject);
        else {
          res.resume();
          reject(new ApiError(res.statusCode ?? 0, `expected 101 Switching Protocols, got ${res.statusCode}`));
        }
      });
      req.end(data);
    });
  }

  // --- system -----------------------------------------------------------------------------

  async ping(signal?: AbortSignal): Promise<PingResult> {
    const res = await this.request('GET', '/_ping', { unversioned: true, signal });
    const body = (await readBody(res)).toString('utf8');
    const h = (k: string): string | undefined => {
      const v = res.headers[k];
      return Array.isArray(v) ? v[0] : v;
    };
    return { body, apiVersion: h('api-version'), osType: h('ostype'), builderVersion: h('builder-version') };
  }

  version(): Promise<Version> {
    return this.json('GET', '/version');
  }

  info(): Promise<Info> {
    return this.json('GET', '/info');
  }

  /** Streams events until the daemon ends the stream (`until`) or `signal` aborts. */
  async *events(opts: EventsOptions = {}): AsyncGenerator<EventMessage> {
    const query: Query = {
      since: opts.since !== undefined ? timeParam(opts.since) : undefined,
      until: opts.until !== undefined ? timeParam(opts.until) : undefined,
      filters: opts.filters ? filtersToJSON(opts.filters) || undefined : undefined,
    };
    let res: IncomingMessage;
    try {
      res = await this.request('GET', '/events', { query, signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    }
    try {
      yield* jsonStream<EventMessage>(res);
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw err;
    } finally {
      res.destroy();
    }
  }

  // --- containers -------------------------------------------------------------------------

  containerCreate(body: ContainerCreateBody, opts: { name?: string; platform?: string } = {}): Promise<ContainerCreateResponse> {
    return this.json('POST', '/containers/create', { query: { name: opts.name, platform: opts.platform }, body });
  }

  containerStart(id: string, opts: { detachKeys?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${seg(id)}/start`, { query: { detachKeys: opts.detachKeys } });
  }

  /** `t`: seconds to wait before killing (-1 waits forever); `signal`: stop signal. */
  containerStop(id: string, opts: { t?: number; signal?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${seg(id)}/stop`, { query: { t: opts.t, signal: opts.signal } });
  }

  containerRestart(id: string, opts: { t?: number; signal?: string } = {}): Promise<void> {
    return this.call('POST', `/containers/${seg(id)}/restart`, { query: { t: opts.t, signal: opts.signal } });
  }

  containerKill(id: string, signal?: string): Promise<void> {
    return this.call('POST', `/containers/${seg(id)}/kill`, { query: { signal } });
  }

  containerWait(id: string, condition?: 'not-running' | 'next-exit' | 'removed', signal?: AbortSignal): Promise<WaitResponse> {
    return this.json('POST', `/containers/${seg(id)}/wait`, { query: { condition }, signal });
  }

  containerRemove(id: string, opts: { force?: boolean; volumes?: boolean; link?: boolean } = {}): Promise<void> {
    return this.call('DELETE', `/containers/${seg(id)}`, { query: { force: opts.force, v: opts.volumes, link: opts.link } });
  }

  containerRename(id: string, name: string): Promise<void> {
    return this.call('POST', `/containers/${seg(id)}/rename`, { query: { name } });
  }

  containerList(opts: { all?: boolean; limit?: number; size?: boolean; filters?: FiltersArg } = {}): Promise<ContainerSummary[]> {
    return this.json('GET', '/containers/json', {
      query: {
        all: opts.all,
        limit: opts.limit,
        size: opts.size,
        filters: opts.filters ? filtersToJSON(opts.filters) || undefined : undefined,
      },
    });
  }

  containerInspect(id: string, opts: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.json('GET', `/containers/${seg(id)}/json`, { query: { size: opts.size } });
  }

  containerTop(id: string, psArgs?: string): Promise<TopResponse> {
    return this.json('GET', `/containers/${seg(id)}/top`, { query: { ps_args: psArgs } });
  }

  containerChanges(id: string): Promise<FilesystemChange[] | null> {
    return this.json('GET', `/containers/${seg(id)}/changes`);
  }

  containersPrune(filters?: FiltersArg): Promise<ContainersPruneReport> {
    return this.json('POST', '/containers/prune', { query: { filters: filters ? filtersToJSON(filters) || undefined : undefined } });
  }

  containerResize(id: string, height: number, width: number): Promise<void> {
    return this.call('POST', `/containers/${seg(id)}/resize`, { query: { h: height, w: width } });
  }

  /**
   * The logs as a stream: framed unless the container has a TTY (told by the answer's
   * Content-Type, else by inspecting the container).
   */
  async containerLogsStream(id: string, opts: LogsOptions = {}): Promise<{ stream: IncomingMessage; multiplexed: boolean }> {
    const res = await this.request('GET', `/containers/${seg(id)}/logs`, {
      query: {
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        since: opts.since !== undefined ? timeParam(opts.since) : undefined,
        until: opts.until !== undefined ? timeParam(opts.until) : undefined,
        timestamps: opts.timestamps,
        follow: opts.follow,
        tail: opts.tail,
        details: opts.details,
      },
      signal: opts.signal,
    });
    const ct = res.headers['content-type'] ?? '';
    let multiplexed: boolean;
    if (ct.startsWith(MEDIA_MULTIPLEXED_STREAM)) multiplexed = true;
    else if (ct.startsWith(MEDIA_RAW_STREAM)) multiplexed = false;
    else multiplexed = !(await this.containerInspect(id)).Config.Tty;
    return { stream: res, multiplexed };
  }

  /** The logs read to the end, split into stdout and stderr (all in stdout with a TTY). */
  async containerLogs(id: string, opts: LogsOptions = {}): Promise<StdOutput & { tty: boolean }> {
    const { stream, multiplexed } = await this.containerLogsStream(id, opts);
    return { ...(await collectOutput(stream, multiplexed)), tty: !multiplexed };
  }

  containerAttach(
    id: string,
    opts: { stream?: boolean; stdin?: boolean; stdout?: boolean; stderr?: boolean; logs?: boolean; detachKeys?: string; tty?: boolean } = {},
  ): Promise<Hijacked> {
    return this.hijack('POST', `/containers/${seg(id)}/attach`, {
      query: {
        stream: opts.stream ?? true,
        stdin: opts.stdin ?? false,
        stdout: opts.stdout ?? true,
        stderr: opts.stderr ?? true,
        logs: opts.logs,
        detachKeys: opts.detachKeys,
      },
      tty: opts.tty,
    });
  }

  // --- exec -------------------------------------------------------------------------------

  execCreate(containerId: string, config: ExecConfig): Promise<{ Id: string }> {
    return this.json('POST', `/containers/${seg(containerId)}/exec`, { body: config });
  }

  /** Starts an exec in the background (`docker exec -d`). */
  execStart(execId: string, opts: { tty?: boolean; consoleSize?: [number, number] } = {}): Promise<void> {
    return this.call('POST', `/exec/${seg(execId)}/start`, {
      body: { Detach: true, Tty: opts.tty ?? false, ConsoleSize: opts.consoleSize },
    });
  }

  /** Starts an exec attached: stdin/stdout/stderr over the hijacked connection. */
  execStartAttached(execId: string, opts: { tty?: boolean; consoleSize?: [number, number] } = {}): Promise<Hijacked> {
    return this.hijack('POST', `/exec/${seg(execId)}/start`, {
      body: { Detach: false, Tty: opts.tty ?? false, ConsoleSize: opts.consoleSize },
      tty: opts.tty,
    });
  }

  execInspect(execId: string): Promise<ExecInspect> {
    return this.json('GET', `/exec/${seg(execId)}/json`);
  }

  execResize(execId: string, height: number, width: number): Promise<void> {
    return this.call('POST', `/exec/${seg(execId)}/resize`, { query: { h: height, w: width } });
  }

  // --- images -----------------------------------------------------------------------------

  /**
   * Imports a rootfs tarball (`docker import`). The daemon answers with a progress stream
   * that can carry an error after a 200; that error is thrown. Resolves with the messages
   * (the last `status` is the new image ID).
   */
  async imageImport(source: Readable, opts: ImageImportOptions = {}): Promise<JSONMessage[]> {
    const res = await this.request('POST', '/images/create', {
      query: {
        fromSrc: '-',
        repo: opts.repo,
        tag: opts.tag,
        message: opts.message,
        changes: opts.changes,
        platform: opts.platform,
      },
      body: source,
    });
    const msgs: JSONMessage[] = [];
    for await (const m of jsonStream<JSONMessage>(res)) {
      if (m.error || m.errorDetail) throw new ApiError(500, m.errorDetail?.message ?? m.error ?? 'import failed');
      msgs.push(m);
    }
    return msgs;
  }

  imageList(opts: { all?: boolean; filters?: FiltersArg; digests?: boolean } = {}): Promise<ImageSummary[]> {
    return this.json('GET', '/images/json', {
      query: { all: opts.all, digests: opts.digests, filters: opts.filters ? filtersToJSON(opts.filters) || undefined : undefined },
    });
  }

  imageInspect(name: string): Promise<ImageInspect> {
    return this.json('GET', `/images/${seg(name)}/json`);
  }

  imageTag(source: string, repo: string, tag?: string): Promise<void> {
    return this.call('POST', `/images/${seg(source)}/tag`, { query: { repo, tag } });
  }

  imageRemove(name: string, opts: { force?: boolean; noprune?: boolean } = {}): Promise<ImageDeleteResponseItem[]> {
    return this.json('DELETE', `/images/${seg(name)}`, { query: { force: opts.force, noprune: opts.noprune } });
  }
}
