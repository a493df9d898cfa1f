// docker logs: read the json-file log, optionally following it while the container runs.
import type { Writable } from 'node:stream';
import type { Container } from '../container/container.js';
import { readContainerLogs, logPathFor } from '../logger/drivers.js';
import { frame } from '../pkg/stdcopy.js';
import { parseTimestampNano } from '../pkg/timeutil.js';
import { invalidParameter } from '../pkg/errors.js';

export interface LogsOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  tail: number;
  /** Bounds in nanoseconds since the epoch (see parseLogBounds). */
  since?: bigint;
  until?: bigint;
  /** `docker logs --details`. */
  details?: boolean;
}

/** `since`/`until` to nanoseconds; "seconds.nanoseconds" keeps its full precision (clients pass a line's exact timestamp). */
function parseBound(v: string | undefined): bigint | undefined {
  if (!v || v === '0') return undefined;
  try {
    return parseTimestampNano(v);
  } catch (err) {
    throw invalidParameter((err as Error).message);
  }
}

/** Validates the bounds before the response starts, so a bad one gets a proper error status. */
export function parseLogBounds(since: string | undefined, until: string | undefined): { since?: bigint; until?: bigint } {
  return { since: parseBound(since), until: parseBound(until) };
}

const msFloor = (ns: bigint): Date => new Date(Number(ns / 1_000_000n));
const msCeil = (ns: bigint): Date => new Date(Number((ns + 999_999n) / 1_000_000n));

export async function streamLogs(
  c: Container,
  out: Writable,
  opts: LogsOptions,
  signal: AbortSignal,
  multiplexed: boolean,
): Promise<void> {
  // The reader works in milliseconds; the exact nanosecond bounds are applied per line below.
  const since = opts.since === undefined ? undefined : msFloor(opts.since);
  const until = opts.until === undefined ? undefined : msCeil(opts.until);
  // Following ends when the container stops (or the client leaves).
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(), { once: true });
  if (opts.follow && c.running) {
    void c.waitFor((x) => !x.running || x.removed, stop.signal).then(() => stop.abort(), () => undefined);
  }
  const follow = opts.follow && c.running && (!until || until > new Date());
  // Through the driver that wrote the log (json-file with its rotated files, local); `none` throws 501.
  const cfg = { Type: c.hostConfig.LogConfig.Type || 'json-file', Config: c.hostConfig.LogConfig.Config ?? {} };
  for await (const entry of readContainerLogs(cfg, logPathFor(cfg.Type, c.dir, c.id), {
    stdout: opts.stdout, stderr: opts.stderr, since, until, tail: opts.tail, follow, timestamps: opts.timestamps, details: opts.details,
  }, stop.signal)) {
    if (opts.since !== undefined && entry.timeNano < opts.since) continue;
    if (opts.until !== undefined && entry.timeNano > opts.until) continue;
    const ok = out.write(multiplexed ? frame(entry.stream === 'stdout' ? 1 : 2, entry.line) : entry.line);
    if (!ok) await new Promise<void>((r) => out.once('drain', r));
    if (signal.aborted) break;
  }
}
