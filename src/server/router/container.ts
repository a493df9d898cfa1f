// /containers/…: create, lifecycle, inspect/list, attach, logs, wait, exec create.
import type { Router, RouteContext } from '../router.js';
import { boolValue, expectObject, intValue, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { versionAtLeast } from '../version.js';
import { parseFilters } from '../../api/types/filters.js';
import { invalidParameter, conflict, BerthError } from '../../pkg/errors.js';
import { parseSignal, SIGKILL } from '../../pkg/signal.js';
import type { Daemon } from '../../daemon/daemon.js';
import { normalizeConfig, normalizeHostConfig } from '../../daemon/config.js';
import { createContainer } from '../../daemon/create.js';
import type { EndpointSettings } from '../../api/types/network.js';
import { startContainer } from '../../daemon/start.js';
import { killContainer, parseWaitCondition, restartContainer, stopContainer, waitContainer, waitStopped } from '../../daemon/stop.js';
import { pruneContainers, removeContainer } from '../../daemon/delete.js';
import { inspectContainer, listContainers, topContainer } from '../../daemon/inspect.js';
import { renameContainer } from '../../daemon/rename.js';
import { attachConnection, parseDetachKeys, DEFAULT_DETACH_KEYS } from '../../daemon/attach.js';
import { parseLogBounds, streamLogs } from '../../daemon/logs.js';
import { ReadLogsNotSupportedError, supportsReading } from '../../logger/drivers.js';
import { createExec, type ExecCreateOptions } from '../../daemon/exec.js';

/** Raw stream with a TTY, multiplexed without; API < 1.42 called both raw-stream. */
export function streamContentType(tty: boolean, version: string): string {
  return !tty && versionAtLeast(version, '1.42') ? 'application/vnd.docker.multiplexed-stream' : 'application/vnd.docker.raw-stream';
}

function stopOptions(ctx: RouteContext): { timeout?: number; signal?: string } {
  const t = ctx.query.get('t');
  return {
    timeout: t === null || t === '' ? undefined : intValue(ctx.query, 't', 0),
    signal: ctx.query.get('signal') ?? undefined,
  };
}

export function containerRoutes(r: Router, d: Daemon): void {
  const get = (ctx: RouteContext) => d.containers.get(ctx.params.name);

  r.post('/containers/create', async (ctx) => {
    const body = expectObject(await readJSONBody(ctx.req), 'container.CreateRequest');
    const config = normalizeConfig(body);
    const hostConfig = normalizeHostConfig(body.HostConfig);
    if (ctx.query.get('platform') && !/^linux(\/|$)/.test(ctx.query.get('platform')!)) {
      throw invalidParameter(`"${ctx.query.get('platform')}": unknown operating system or architecture: invalid argument`);
    }
    let endpointsConfig =
      (body.NetworkingConfig as { EndpointsConfig?: Record<string, Partial<EndpointSettings> | null> } | null | undefined)?.EndpointsConfig ?? null;
    // As dockerd's postContainersCreate: with the default network mode (the CLI sends "default"
    // and an EndpointsConfig keyed "default"), that endpoint config belongs to the default network.
    const rawMode = (body.HostConfig as { NetworkMode?: unknown } | null | undefined)?.NetworkMode;
    if ((rawMode === undefined || rawMode === '' || rawMode === 'default') && endpointsConfig && 'default' in endpointsConfig) {
      const { default: ep, ...rest } = endpointsConfig;
      endpointsConfig = { ...rest, [hostConfig.NetworkMode]: ep ?? null };
    }
    writeJSON(ctx.res, 201, await createContainer(d, ctx.query.get('name') ?? '', config, hostConfig, { version: ctx.version, endpointsConfig }));
  });

  r.get('/containers/json', async (ctx) => {
    const list = await listContainers(d, {
      all: boolValue(ctx.query, 'all'),
      limit: intValue(ctx.query, 'limit', -1),
      size: boolValue(ctx.query, 'size'),
      filters: parseFilters(ctx.query.get('filters')),
    });
    writeJSON(ctx.res, 200, list);
  });

  r.get('/containers/{name}/json', async (ctx) => {
    writeJSON(ctx.res, 200, await inspectContainer(d, get(ctx), { size: boolValue(ctx.query, 'size'), version: ctx.version }));
  });

  r.post('/containers/{name}/start', async (ctx) => {
    if (ctx.query.get('checkpoint')) throw invalidParameter('checkpoints are not supported');
    await startContainer(d, get(ctx));
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/stop', async (ctx) => {
    await stopContainer(d, get(ctx), stopOptions(ctx));
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/restart', async (ctx) => {
    await restartContainer(d, get(ctx), stopOptions(ctx));
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/kill', async (ctx) => {
    const name = ctx.params.name;
    try {
      const signal = ctx.query.get('signal') || undefined;
      if (signal) parseSignal(signal);
      const c = get(ctx);
      if (!c.running) throw conflict(`container ${c.id} is not running`);
      await killContainer(d, c, signal);
      // As dockerd's ContainerKill: SIGKILL (the default) waits until the container is gone.
      if (!signal || parseSignal(signal) === SIGKILL) await waitStopped(c, 10_000);
    } catch (err) {
      // dockerd wraps every kill error: errors.Wrapf(err, "cannot kill container: %s", name).
      if (err instanceof BerthError) throw new BerthError(err.kind, `cannot kill container: ${name}: ${err.message}`, { cause: err });
      throw err;
    }
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/wait', async (ctx) => {
    const c = get(ctx);
    const condition = parseWaitCondition(ctx.query.get('condition'));
    // Headers go out at once so that the client knows the wait is in place before it starts the container.
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    const ac = new AbortController();
    ctx.req.socket.once('close', () => ac.abort());
    try {
      const code = await waitContainer(c, condition, ac.signal);
      const body: Record<string, unknown> = { StatusCode: code };
      // `Error` is omitempty in dockerd's WaitResponse (API 1.30+).
      if (versionAtLeast(ctx.version, '1.30') && c.state.Error && code !== 0) body.Error = { Message: c.state.Error };
      ctx.res.end(JSON.stringify(body) + '\n');
    } catch {
      ctx.res.destroy();
    }
  });

  r.delete('/containers/{name}', async (ctx) => {
    const c = get(ctx);
    if (boolValue(ctx.query, 'link')) throw invalidParameter('legacy links are not supported yet');
    await removeContainer(d, c, { force: boolValue(ctx.query, 'force'), volumes: boolValue(ctx.query, 'v') });
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/rename', async (ctx) => {
    await renameContainer(d, get(ctx), ctx.query.get('name') ?? '');
    writeNoContent(ctx.res);
  });

  r.get('/containers/{name}/top', async (ctx) => {
    writeJSON(ctx.res, 200, await topContainer(d, get(ctx), ctx.query.get('ps_args') ?? ''));
  });

  r.get('/containers/{name}/changes', async (ctx) => {
    const changes = await d.images.changes(get(ctx).id);
    writeJSON(ctx.res, 200, changes.length ? changes : null);
  });

  r.post('/containers/prune', async (ctx) => {
    writeJSON(ctx.res, 200, await pruneContainers(d, parseFilters(ctx.query.get('filters'))));
  });

  r.post('/containers/{name}/resize', async (ctx) => {
    const c = get(ctx);
    const h = intValue(ctx.query, 'h', 0);
    const w = intValue(ctx.query, 'w', 0);
    if (!c.running) throw conflict(`Container ${c.id} is not running`);
    await d.ctd.resizePty(c.id, undefined, w, h);
    writeNoContent(ctx.res, 200);
  });

  r.post('/containers/{name}/attach', async (ctx) => {
    const c = get(ctx);
    const q = ctx.query;
    if (c.removing) throw conflict(`container ${c.id} is being removed`);
    const detachKeys = parseDetachKeys(q.get('detachKeys') || DEFAULT_DETACH_KEYS);
    if (!boolValue(q, 'stream') && !boolValue(q, 'logs')) throw invalidParameter('either logs or stream is required');
    const tty = c.record.Config.Tty;
    const conn = ctx.hijack(streamContentType(tty, ctx.version));
    // A client that hangs up mid-stream must not take the daemon down with an EPIPE.
    conn.on('error', () => conn.destroy());
    const opts = {
      stdin: boolValue(q, 'stdin') && c.record.Config.OpenStdin,
      stdout: boolValue(q, 'stdout'),
      stderr: boolValue(q, 'stderr'),
    };
    if (boolValue(q, 'logs')) {
      const ac = new AbortController();
      conn.once('close', () => ac.abort());
      await streamLogs(c, conn, { ...opts, follow: false, timestamps: false, tail: -1 }, ac.signal, !tty);
    }
    if (!boolValue(q, 'stream')) {
      conn.end();
      return;
    }
    d.containerEvent(c, 'attach');
    await attachConnection(c.streams, conn, {
      ...opts,
      multiplexed: !tty,
      closeStdinOnEOF: c.record.Config.StdinOnce && !tty,
      detachKeys,
      onDetach: () => d.containerEvent(c, 'detach'),
    });
  });

  r.get('/containers/{name}/logs', async (ctx) => {
    const c = get(ctx);
    const q = ctx.query;
    const stdout = boolValue(q, 'stdout');
    const stderr = boolValue(q, 'stderr');
    if (!stdout && !stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
    if (!supportsReading(c.hostConfig.LogConfig.Type || 'json-file')) throw new ReadLogsNotSupportedError();
    // dockerd reads an unparsable tail as "all".
    const tailRaw = Number(q.get('tail') ?? 'all');
    const tail = Number.isInteger(tailRaw) ? tailRaw : -1;
    const bounds = parseLogBounds(q.get('since') ?? undefined, q.get('until') ?? undefined);
    const tty = c.record.Config.Tty;
    ctx.res.writeHead(200, { 'Content-Type': streamContentType(tty, ctx.version) });
    ctx.res.flushHeaders();
    const ac = new AbortController();
    ctx.req.socket.once('close', () => ac.abort());
    await streamLogs(c, ctx.res, {
      stdout, stderr, follow: boolValue(q, 'follow'), timestamps: boolValue(q, 'timestamps'), tail,
      ...bounds, details: boolValue(q, 'details'),
    }, ac.signal, !tty);
    ctx.res.end();
  });

  r.post('/containers/{name}/exec', async (ctx) => {
    const c = get(ctx);
    const body = expectObject(await readJSONBody(ctx.req), 'container.ExecOptions');
    const opts: ExecCreateOptions = {
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
    if (opts.DetachKeys) {
      try {
        parseDetachKeys(opts.DetachKeys);
      } catch {
        throw invalidParameter(`Invalid escape keys (${opts.DetachKeys}) provided`);
      }
    }
    writeJSON(ctx.res, 201, { Id: createExec(d, c, opts) });
  });

}
