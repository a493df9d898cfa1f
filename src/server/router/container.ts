// /containers/…: create, lifecycle, inspect/list, attach, logs, wait, resize, update, pause,
// stats, export and exec create (dockerd's router/container). The routes parse the request and
// write the answer; the engine work is the ContainerBackend's.
import type { Duplex, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Router, RouteContext } from '../router.js';
import { boolValue, boolValueOr, expectObject, intValue, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { versionAtLeast } from '../version.js';
import type { ContainerInspect, ContainerSummary } from '../../api/types/container.js';
import { parseFilters, type Filters } from '../../api/types/filters.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { ExecCreateOptions } from '../../daemon/exec.js';

/** Stop and restart: ?t= (seconds) and ?signal=. */
export interface StopOptions {
  timeout?: number;
  signal?: string;
}

export interface ContainerCreateRequest {
  /** ?name= ("" for a generated one). */
  name: string;
  /** The decoded container.CreateRequest: Config fields, HostConfig and NetworkingConfig. */
  body: Record<string, unknown>;
  /** ?platform=, if given. */
  platform: string | null;
  version: string;
}

export interface ContainerListOptions {
  all: boolean;
  limit: number;
  size: boolean;
  filters: Filters;
}

/** One entry of GET /containers/{id}/changes. */
export interface ContainerChange {
  Path: string;
  Kind: number;
}

/** Create, start, stop, remove and the other state changes. */
export interface ContainerLifecycleBackend {
  containerCreate(req: ContainerCreateRequest): Promise<{ Id: string; Warnings: string[] }>;
  containerStart(name: string): Promise<void>;
  containerStop(name: string, opts: StopOptions): Promise<void>;
  containerRestart(name: string, opts: StopOptions): Promise<void>;
  /** No signal: SIGKILL, which also waits for the container to be gone. */
  containerKill(name: string, signal: string | undefined): Promise<void>;
  containerRemove(name: string, opts: { force: boolean; removeVolumes: boolean; removeLink: boolean }): Promise<void>;
  containerRename(name: string, newName: string): Promise<void>;
  containerPause(name: string): Promise<void>;
  containerUnpause(name: string): Promise<void>;
  /** The decoded container.UpdateConfig body; resolves to the warnings. */
  containerUpdate(name: string, body: unknown, version: string): Promise<string[]>;
  containersPrune(filters: Filters): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }>;
}

/** What a container is and holds. */
export interface ContainerQueryBackend {
  containers(opts: ContainerListOptions): Promise<ContainerSummary[]>;
  containerInspect(name: string, opts: { size: boolean; version: string }): Promise<ContainerInspect>;
  containerTop(name: string, psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }>;
  containerChanges(name: string): Promise<ContainerChange[]>;
  containerExport(name: string): Promise<Readable>;
}

export interface AttachConfig {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  logs: boolean;
  stream: boolean;
  /** ?detachKeys= ("" for the default). */
  detachKeys: string;
  /** Called once the request is known to be valid: takes over the connection for the container's TTY mode. */
  getStream(tty: boolean): Duplex;
}

export interface LogsConfig {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  details: boolean;
  /** Lines from the end; -1 for all. */
  tail: number;
  since?: string;
  until?: string;
}

/** Logs that passed validation: the container's TTY mode, and the writer of the lines (until `signal`). */
export interface LogsStream {
  tty: boolean;
  write(out: Writable, signal: AbortSignal): Promise<void>;
}

export interface WaitResult {
  StatusCode: number;
  /** The container's error, if any. */
  Error?: string;
}

/** A not-running container gets one empty frame (idle); a running one a stream of frames (until `signal`). */
export type StatsStream = { idle: string } | { frames(signal: AbortSignal): AsyncIterable<string> };

/** Attach, logs, wait, stats and resize: the routes that stream or follow a running container. */
export interface ContainerStreamBackend {
  containerAttach(name: string, cfg: AttachConfig): Promise<void>;
  // Logs, wait and stats check the request first, so that a bad one gets an error status; the
  // route then sends its headers and streams.
  containerLogs(name: string, cfg: LogsConfig): Promise<LogsStream>;
  /** `wait` resolves once the condition ("not-running", "next-exit", "removed"; default not-running) holds. */
  containerWait(name: string, condition: string | null): Promise<{ wait(signal: AbortSignal): Promise<WaitResult> }>;
  containerStats(name: string, opts: { stream: boolean; oneShot: boolean }): Promise<StatsStream>;
  containerResize(name: string, height: number, width: number): Promise<void>;
}

export interface ContainerExecBackend {
  containerExecCreate(name: string, opts: ExecCreateOptions): Promise<string>;
}

export interface ContainerBackend extends ContainerLifecycleBackend, ContainerQueryBackend, ContainerStreamBackend, ContainerExecBackend {}

/** Raw stream with a TTY, multiplexed without; API < 1.42 called both raw-stream. */
export function streamContentType(tty: boolean, version: string): string {
  return !tty && versionAtLeast(version, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

function stopOptions(ctx: RouteContext): StopOptions {
  const t = ctx.query.get('t');
  return {
    timeout: t === null || t === '' ? undefined : intValue(ctx.query, 't', 0),
    signal: ctx.query.get('signal') ?? undefined,
  };
}

/** An AbortSignal that fires when the client's connection closes. */
function clientGone(ctx: RouteContext): AbortSignal {
  const ac = new AbortController();
  ctx.req.socket.once('close', () => ac.abort());
  return ac.signal;
}

function execCreateOptions(body: Record<string, unknown>): ExecCreateOptions {
  return {
    AttachStdin: body.AttachStdin === true,
    AttachStdout: body.AttachStdout === true,
    AttachStderr: body.AttachStderr === true,
    DetachKeys: typeof body.DetachKeys === 'string' ? body.DetachKeys : '',
    Tty: body.Tty === true,
    Env: Array.isArray(body.Env) ? (body.Env as string[]) : [],
    Cmd: Array.isArray(body.Cmd) ? (body.Cmd as string[]) : typeof body.Cmd === 'string' ? [body.Cmd] : [],
    Privileged: body.Privileged === true,
    User: typeof body.User === 'string' ? body.User : '',
    WorkingDir: typeof body.WorkingDir === 'string' ? body.WorkingDir : '',
    ConsoleSize: Array.isArray(body.ConsoleSize) ? (body.ConsoleSize as [number, number]) : undefined,
  };
}

export function containerRoutes(r: Router, b: ContainerBackend): void {
  r.post('/containers/create', async (ctx) => {
    const body = expectObject(await readJSONBody(ctx.req), 'container.CreateRequest');
    const req = { name: ctx.query.get('name') ?? '', body, platform: ctx.query.get('platform'), version: ctx.version };
    writeJSON(ctx.res, 201, await b.containerCreate(req));
  });

  r.get('/containers/json', async (ctx) => {
    const list = await b.containers({
      all: boolValue(ctx.query, 'all'),
      limit: intValue(ctx.query, 'limit', -1),
      size: boolValue(ctx.query, 'size'),
      filters: parseFilters(ctx.query.get('filters')),
    });
    writeJSON(ctx.res, 200, list);
  });

  r.get('/containers/{name}/json', async (ctx) => {
    writeJSON(ctx.res, 200, await b.containerInspect(ctx.params.name, { size: boolValue(ctx.query, 'size'), version: ctx.version }));
  });

  r.post('/containers/{name}/start', async (ctx) => {
    if (ctx.query.get('checkpoint')) throw invalidParameter('checkpoints are not supported');
    await b.containerStart(ctx.params.name);
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/stop', async (ctx) => {
    await b.containerStop(ctx.params.name, stopOptions(ctx));
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/restart', async (ctx) => {
    await b.containerRestart(ctx.params.name, stopOptions(ctx));
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/kill', async (ctx) => {
    await b.containerKill(ctx.params.name, ctx.query.get('signal') || undefined);
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/wait', async (ctx) => {
    const waiter = await b.containerWait(ctx.params.name, ctx.query.get('condition'));
    // Headers go out at once so that the client knows the wait is in place before it starts the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    const signal = clientGone(ctx);
    try {
      const { StatusCode, Error } = await waiter.wait(signal);
      const body: { StatusCode: number; Error?: { Message: string } } = { StatusCode };
      // `Error` is omitempty in dockerd's WaitResponse (API 1.30+).
      if (versionAtLeast(ctx.version, '1.30') && Error && StatusCode !== 0) body.Error = { Message: Error };
      ctx.res.end(JSON.stringify(body) + '\n');
    } catch {
      ctx.res.destroy();
    }
  });

  // {name:.*}: a legacy link is named /parent/alias (docker rm --link).
  r.delete('/containers/{name:.*}', async (ctx) => {
    await b.containerRemove(ctx.params.name, {
      force: boolValue(ctx.query, 'force'),
      removeVolumes: boolValue(ctx.query, 'v'),
      removeLink: boolValue(ctx.query, 'link'),
    });
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/rename', async (ctx) => {
    await b.containerRename(ctx.params.name, ctx.query.get('name') ?? '');
    writeNoContent(ctx.res);
  });

  r.get('/containers/{name}/top', async (ctx) => {
    writeJSON(ctx.res, 200, await b.containerTop(ctx.params.name, ctx.query.get('ps_args') ?? ''));
  });

  r.get('/containers/{name}/changes', async (ctx) => {
    const changes = await b.containerChanges(ctx.params.name);
    writeJSON(ctx.res, 200, changes.length ? changes : null);
  });

  r.post('/containers/prune', async (ctx) => {
    writeJSON(ctx.res, 200, await b.containersPrune(parseFilters(ctx.query.get('filters'))));
  });

  r.post('/containers/{name}/resize', async (ctx) => {
    await b.containerResize(ctx.params.name, intValue(ctx.query, 'h', 0), intValue(ctx.query, 'w', 0));
    writeNoContent(ctx.res, 200);
  });

  r.post('/containers/{name}/attach', async (ctx) => {
    const q = ctx.query;
    await b.containerAttach(ctx.params.name, {
      stdin: boolValue(q, 'stdin'),
      stdout: boolValue(q, 'stdout'),
      stderr: boolValue(q, 'stderr'),
      logs: boolValue(q, 'logs'),
      stream: boolValue(q, 'stream'),
      detachKeys: q.get('detachKeys') ?? '',
      getStream: (tty) => {
        const conn = ctx.hijack(streamContentType(tty, ctx.version));
        // A client that hangs up mid-stream must not take the daemon down with an EPIPE.
        conn.on('error', () => conn.destroy());
        return conn;
      },
    });
  });

  r.get('/containers/{name}/logs', async (ctx) => {
    const q = ctx.query;
    // dockerd reads an unparsable tail as "all".
    const tailRaw = Number(q.get('tail') ?? 'all');
    const logs = await b.containerLogs(ctx.params.name, {
      stdout: boolValue(q, 'stdout'),
      stderr: boolValue(q, 'stderr'),
      follow: boolValue(q, 'follow'),
      timestamps: boolValue(q, 'timestamps'),
      details: boolValue(q, 'details'),
      tail: Number.isInteger(tailRaw) ? tailRaw : -1,
      since: q.get('since') ?? undefined,
      until: q.get('until') ?? undefined,
    });
    ctx.res.writeHead(200, { 'Content-Type': streamContentType(logs.tty, ctx.version) });
    ctx.res.flushHeaders();
    await logs.write(ctx.res, clientGone(ctx));
    ctx.res.end();
  });

  r.post('/containers/{name}/exec', async (ctx) => {
    const body = expectObject(await readJSONBody(ctx.req), 'container.ExecOptions');
    writeJSON(ctx.res, 201, { Id: await b.containerExecCreate(ctx.params.name, execCreateOptions(body)) });
  });

  r.post('/containers/{name}/update', async (ctx) => {
    const warnings = await b.containerUpdate(ctx.params.name, await readJSONBody(ctx.req), ctx.version);
    writeJSON(ctx.res, 200, { Warnings: warnings });
  });

  r.post('/containers/{name}/pause', async (ctx) => {
    await b.containerPause(ctx.params.name);
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/unpause', async (ctx) => {
    await b.containerUnpause(ctx.params.name);
    writeNoContent(ctx.res);
  });

  r.get('/containers/{name}/stats', async (ctx) => {
    const opts = { stream: boolValueOr(ctx.query, 'stream', true), oneShot: boolValue(ctx.query, 'one-shot') };
    const stats = await b.containerStats(ctx.params.name, opts);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    if ('idle' in stats) {
      ctx.res.end(stats.idle);
      return;
    }
    ctx.res.flushHeaders();
    for await (const frame of stats.frames(clientGone(ctx))) {
      if (!ctx.res.write(frame)) await new Promise<void>((res) => ctx.res.once('drain', res));
    }
    ctx.res.end();
  });

  r.get('/containers/{name}/export', async ({ res, params }) => {
    const stream = await b.containerExport(params.name);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(stream, res).catch(() => res.destroy());
  });
}
