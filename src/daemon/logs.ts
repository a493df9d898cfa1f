// docker logs: read the json-file log, optionally following it while the container runs.
import type { Writable } from 'node:stream';
import type { Container } from '../container/container.js';
import { readContainerLogs, logPathFor } from '../logger/drivers.js';
import { frame } from '../pkg/stdcopy.js';
import { parseTimestamp } from '../pkg/timeutil.js';
import { invalidParameter } from '../pkg/errors.js';

export interface LogsOptions {
  stdout: boolean;
  stderr: boolean;
  follow: boolean;
  timestamps: boolean;
  tail: number;
  since?: string;
  until?: string;
  /** `docker logs --details`. */
  details?: boolean;
}

function parseBound(v: string | undefined): Date | undefined {
  if (!v || v === '0') return undefined;
  try {
    return parseTimestamp(v);
  } catch (err) {
    throw invalidParameter((err as Error).message);
  }
}

export async function streamLogs(
  c: Container,
  out: Writable,
  opts: LogsOptions,
  signal: AbortSignal,
  multiplexed: boolean,
): Promise<void> {
  const since = parseBound(opts.since);
  const until = parseBound(opts.until);
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
    const ok = out.write(multiplexed ? frame(entry.stream === 'stdout' ? 1 : 2, entry.line) : entry.line);
    if (!ok) await new Promise<void>((r) => out.once('drain', r));
    if (signal.aborted) break;
  }
}
