// Small helpers shared by the integration/*.test.ts files: raw requests that expose status
// and headers, error assertions, polling, and "run a container to its end".

import http, { type IncomingHttpHeaders } from 'node:http';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { demux } from '../src/pkg/stdcopy.js';
import { ApiError, jsonStream, type Client, type ContainerCreateBody, type EventMessage, type StdOutput, type WaitResponse } from '../src/client/client.js';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/**
 * One HTTP request on its own connection, whatever the status: for tests that look at
 * status codes, headers or bodies the typed client would turn into exceptions.
 */
export function raw(
  socketPath: string,
  method: string,
  path: string,
  opts: { body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) {
      headers['Content-Length'] = String(Buffer.byteLength(opts.body));
      headers['Content-Type'] ??= 'application/json';
    }
    const req = http.request({ socketPath, method, path, headers, agent: false, timeout: opts.timeoutMs ?? 20_000 });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        let json: unknown;
        try {
          json = text.trim() ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
      });
    });
    req.end(opts.body);
  });
}

/** Asserts that `p` rejects with an ApiError of `status`, and a message equal to / matching `message`. */
export async function rejectsApi(p: Promise<unknown>, status: number, message?: string | RegExp): Promise<ApiError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ApiError, `expected an API error ${status}, got ${err === undefined ? 'success' : String(err)}`);
  assert.equal(err.status, status, `status (message: ${err.message})`);
  if (typeof message === 'string') assert.equal(err.message, message);
  else if (message) assert.match(err.message, message);
  return err;
}

/** Polls `fn` until it returns a truthy value (which it resolves with), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await delay(intervalMs);
  }
}

/** Rejects if `p` takes longer than `ms`. */
export async function within<T>(ms: number, p: Promise<T>, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RunResult extends StdOutput {
  id: string;
  exitCode: number;
}

/**
 * Sends POST /containers/{id}/wait and resolves once its headers arrive. berthd registers the
 * wait before it flushes them, so an exit that happens after this resolves is seen by `exited`.
 */
export async function waitRegistered(
  client: Client,
  id: string,
  condition: 'not-running' | 'next-exit' | 'removed' = 'next-exit',
): Promise<{ exited: Promise<WaitResponse> }> {
  const res = await client.request('POST', `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
  const exited = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as WaitResponse;
  })();
  // Not every caller awaits the exit; an unobserved rejection must not end the test process.
  exited.catch(() => undefined);
  return { exited };
}

/** Creates, starts and waits for a container; resolves with its exit code and logs. */
export async function runToExit(client: Client, body: ContainerCreateBody, opts: { name?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const { Id } = await client.containerCreate({ Image: 'busybox:latest', ...body }, { name: opts.name });
  const { exited } = await waitRegistered(client, Id);
  await client.containerStart(Id);
  const { StatusCode } = await within(opts.timeoutMs ?? 20_000, exited, `container ${Id.slice(0, 12)} exit`);
  const logs = await client.containerLogs(Id);
  return { id: Id, exitCode: StatusCode, stdout: logs.stdout, stderr: logs.stderr };
}

/** A live /events subscription: every event received so far, and a way to wait for one. */
export interface EventFeed {
  readonly events: readonly EventMessage[];
  /** Resolves with the first event (received already or later) that matches; fails after `timeoutMs`. */
  next(what: string, match: (e: EventMessage) => boolean, timeoutMs?: number): Promise<EventMessage>;
  close(): void;
}

/**
 * Subscribes to GET /events and resolves once its headers arrive: berthd subscribes before it
 * flushes them, so every event published after this resolves reaches the feed.
 */
export async function subscribeEvents(client: Client, filters?: Record<string, string[]>): Promise<EventFeed> {
  const ac = new AbortController();
  const res = await client.request('GET', '/events', { query: { filters: filters ? JSON.stringify(filters) : undefined }, signal: ac.signal });
  const events: EventMessage[] = [];
  const conditions = new Conditions();
  let failure: Error | undefined;
  void (async () => {
    try {
      for await (const e of jsonStream<EventMessage>(res)) {
        events.push(e);
        conditions.recheck();
      }
      if (!ac.signal.aborted) failure = new Error('the event stream ended');
    } catch (err) {
      if (!ac.signal.aborted) failure = err as Error;
    }
    conditions.recheck();
  })();
  return {
    events,
    next(what, match, timeoutMs = 20_000) {
      return conditions.wait<EventMessage>(() => {
        const hit = events.find(match);
        if (hit) return { value: hit };
        if (failure) return { error: new Error(`waiting for ${what}: ${failure.message}`) };
        return undefined;
      }, timeoutMs, () => `timed out waiting for the event: ${what}`);
    },
    close: () => ac.abort(),
  };
}

// berthd compares `since`/`until` in milliseconds, and `timeNano` read as a JSON number is
// rounded to a few hundred nanoseconds: one millisecond of margin on each side keeps the event.
/** A millisecond Date at or before an event's time (for `since`). */
export const msBefore = (e: EventMessage): Date => new Date(Math.floor(e.timeNano / 1e6) - 1);
/** A millisecond Date after an event's time (for `until`). */
export const msAfter = (e: EventMessage): Date => new Date(Math.floor(e.timeNano / 1e6) + 2);

/** Output read from a stream as it arrives (an attach, a followed log). */
export interface OutputWatch {
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout + stderr so far satisfy `test`; fails if the stream ends first or after `timeoutMs`. */
  until(what: string, test: (out: { stdout: string; stderr: string }) => boolean, timeoutMs?: number): Promise<void>;
  /** Resolves when the stream ends. */
  readonly ended: Promise<void>;
}

/** Reads `stream` (framed when `multiplexed`) in the background, for tests that act on what arrived. */
export function watchOutput(stream: Readable, multiplexed: boolean): OutputWatch {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const conditions = new Conditions();
  let finished = false;
  const onData = (s: 1 | 2, c: Buffer): void => {
    (s === 1 ? out : err).push(c);
    conditions.recheck();
  };
  const reading = multiplexed
    ? demux(stream, onData)
    : new Promise<void>((resolve, reject) => {
        stream.on('data', (c: Buffer) => onData(1, c));
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', reject);
      });
  const ended = reading.finally(() => {
    finished = true;
    conditions.recheck();
  });
  ended.catch(() => undefined);
  const stdout = (): string => Buffer.concat(out).toString();
  const stderr = (): string => Buffer.concat(err).toString();
  const seen = (): string => JSON.stringify({ stdout: stdout(), stderr: stderr() });
  return {
    stdout,
    stderr,
    ended,
    until(what, test, timeoutMs = 10_000) {
      return conditions.wait(() => {
        if (test({ stdout: stdout(), stderr: stderr() })) return { value: undefined };
        if (finished) return { error: new Error(`the stream ended before ${what}: ${seen()}`) };
        return undefined;
      }, timeoutMs, () => `timed out waiting for ${what}: ${seen()}`);
    },
  };
}

/**
 * Waits on conditions over data that arrives in the background (events, output): each is checked
 * at once and again at every `recheck`, until it holds, fails, or times out.
 */
class Conditions {
  private readonly checks = new Set<() => void>();

  recheck(): void {
    for (const check of [...this.checks]) check();
  }

  /** `check` answers a value, an error, or undefined to keep waiting. */
  wait<T>(check: () => { value: T } | { error: Error } | undefined, timeoutMs: number, timeoutMessage: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        this.checks.delete(run);
      };
      const run = (): void => {
        const r = check();
        if (!r) return;
        settle();
        if ('error' in r) reject(r.error);
        else resolve(r.value);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(timeoutMessage()));
      }, timeoutMs);
      this.checks.add(run);
      run();
    });
  }
}

/** Creates and starts a long-running container (`sleep`), resolving with its ID. */
export async function runDetached(client: Client, body: ContainerCreateBody = {}, name?: string): Promise<string> {
  const { Id } = await client.containerCreate({ Image: 'busybox:latest', Cmd: ['sleep', '300'], ...body }, { name });
  await client.containerStart(Id);
  return Id;
}

/** Force-removes containers, ignoring the ones already gone. */
export async function removeAll(client: Client, ids: Iterable<string>): Promise<void> {
  for (const id of ids) await client.containerRemove(id, { force: true }).catch(() => undefined);
}
