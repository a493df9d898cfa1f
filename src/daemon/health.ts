// Health checks, as dockerd runs them (daemon/health.go): a probe command exec'd in the container
// every Interval (StartInterval during the start period while still "starting"), each with a
// Timeout; Retries consecutive failures make the container unhealthy, one success healthy.
// Failures inside StartPeriod do not count while the container has never been healthy.
//
// The daemon owns the exec: it passes a ProbeExec that runs the command with containerd exec
// (as the container's user and working dir, with its env) and collects stdout+stderr into a
// LimitedBuffer. This module owns the timing, the state machine, the five-entry log and the
// `health_status: …` events.

import type { HealthConfig } from '../api/types/container.js';
import { formatRFC3339Nano, nowNano } from '../pkg/timeutil.js';
import { invalidParameter } from '../pkg/errors.js';
import type { HealthcheckResult, HealthState, HealthStatus } from '../container/health.js';

/** Longest probe output kept; longer output is cut and "..." appended. */
export const MAX_OUTPUT_LEN = 4096;
export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_START_PERIOD_MS = 0;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_RETRIES = 3;
export const MAX_LOG_ENTRIES = 5;
/** Time allowed for the exec to start before the probe timeout applies (dockerd: 30s). */
export const EXEC_START_ALLOWANCE_MS = 30_000;
/** API durations are nanoseconds; the smallest accepted non-zero value is 1ms. */
const MIN_DURATION_NS = 1_000_000;

export interface ProbeResult {
  exitCode: number;
  /** stdout and stderr interleaved; truncated here to MAX_OUTPUT_LEN bytes if longer. */
  output: string | Buffer;
  /**
   * Set by an exec that enforced `timeoutMs` itself (killed the probe once it ran that long after
   * starting): the result becomes dockerd's timeout result, keeping the output gathered so far.
   */
  timedOut?: boolean;
}

/**
 * Runs `cmd` in the container. `timeoutMs` counts from the moment the process started; `signal`
 * aborts when the monitor stops (or as a last resort, after timeoutMs + EXEC_START_ALLOWANCE_MS):
 * the exec should then kill the probe process and settle (any result or rejection).
 */
export type ProbeExec = (cmd: string[], timeoutMs: number, signal: AbortSignal) => Promise<ProbeResult>;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

// ---------------------------------------------------------------------------------------
// Configuration.

/** dockerd's validateHealthCheck (create and commit), exact messages. */
export function validateHealthConfig(h: HealthConfig | undefined | null): void {
  if (!h) return;
  const check = (v: number | undefined, name: string): void => {
    if (v !== undefined && v !== 0 && v < MIN_DURATION_NS) throw invalidParameter(`${name} in Healthcheck cannot be less than 1ms`);
  };
  check(h.Interval, 'Interval');
  check(h.Timeout, 'Timeout');
  if ((h.Retries ?? 0) < 0) throw invalidParameter('Retries in Healthcheck cannot be negative');
  check(h.StartPeriod, 'StartPeriod');
  check(h.StartInterval, 'StartInterval');
}

/**
 * dockerd's merge of the image's HEALTHCHECK into the container's config: without a user
 * Healthcheck the image's is used; otherwise each zero field of the user's takes the image's.
 */
export function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (!image) return user;
  if (!user) return { ...image, Test: image.Test ? [...image.Test] : image.Test };
  const out: HealthConfig = { ...user };
  if (!out.Test || out.Test.length === 0) out.Test = image.Test;
  if (!out.Interval) out.Interval = image.Interval;
  if (!out.Timeout) out.Timeout = image.Timeout;
  if (!out.StartPeriod) out.StartPeriod = image.StartPeriod;
  if (!out.StartInterval) out.StartInterval = image.StartInterval;
  if (!out.Retries) out.Retries = image.Retries;
  return out;
}

export interface ResolvedHealthConfig {
  /** The command to exec (shell form already wrapped in the shell). */
  cmd: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

const nsToMs = (ns: number | undefined, def: number): number => (ns ? ns / 1e6 : def);

/**
 * The probe for a config, or undefined when there is none: no Healthcheck, an empty Test,
 * ["NONE"] (--no-healthcheck), or an unknown test type (dockerd logs a warning and ignores it).
 * `cmd` is empty when CMD/CMD-SHELL has no command (every probe then fails, as dockerd).
 */
export function resolveHealthConfig(h: HealthConfig | undefined | null, shell?: string[] | null): ResolvedHealthConfig | undefined {
  if (!h || !h.Test || h.Test.length === 0) return undefined;
  const kind = h.Test[0];
  let cmd: string[];
  if (kind === 'CMD') cmd = h.Test.slice(1);
  else if (kind === 'CMD-SHELL') {
    const args = h.Test.slice(1);
    cmd = args.length === 0 ? [] : [...(shell && shell.length > 0 ? shell : ['/bin/sh', '-c']), ...args];
  } else return undefined;
  return {
    cmd,
    intervalMs: nsToMs(h.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: nsToMs(h.Timeout, DEFAULT_TIMEOUT_MS),
    startPeriodMs: nsToMs(h.StartPeriod, DEFAULT_START_PERIOD_MS),
    startIntervalMs: nsToMs(h.StartInterval, DEFAULT_START_INTERVAL_MS),
    retries: h.Retries && h.Retries > 0 ? h.Retries : DEFAULT_RETRIES,
  };
}

/** True if the container gets a State.Health and a monitor when it starts. */
export function hasHealthcheck(h: HealthConfig | undefined | null): boolean {
  return resolveHealthConfig(h) !== undefined;
}

/** Go's time.Duration.String() for a duration in milliseconds (e.g. 30s, 1.5s, 500ms, 1m30s). */
export function goDuration(ms: number): string {
  let ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  if (neg) ns = -ns;
  let out: string;
  if (ns < 1e9) {
    const [unit, div] = ns < 1e3 ? ['ns', 1] : ns < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = trimFrac(ns / (div as number)) + unit;
  } else {
    const h = Math.floor(ns / 3.6e12);
    const m = Math.floor((ns % 3.6e12) / 6e10);
    const s = (ns % 6e10) / 1e9;
    out = (h > 0 ? `${h}h` : '') + (h > 0 || m > 0 ? `${m}m` : '') + `${trimFrac(s)}s`;
  }
  return neg ? '-' + out : out;
}

function trimFrac(v: number): string {
  return v.toFixed(9).replace(/\.?0+$/, '');
}

// ---------------------------------------------------------------------------------------
// Output buffer.

/** Keeps the first MAX_OUTPUT_LEN bytes written; String() appends "..." if anything was lost. */
export class LimitedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  constructor(private readonly max = MAX_OUTPUT_LEN) {}

  write(data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    const keep = Math.min(this.max - this.size, b.length);
    if (keep > 0) {
      this.chunks.push(Buffer.from(b.subarray(0, keep)));
      this.size += keep;
    }
    if (keep < b.length) this.truncated = true;
  }

  toString(): string {
    const s = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? s + '...' : s;
  }
}

function limitOutput(out: string | Buffer): string {
  const lb = new LimitedBuffer();
  lb.write(out);
  return lb.toString();
}

// ---------------------------------------------------------------------------------------
// The monitor.

export function newHealthState(): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

export interface HealthMonitorOptions {
  /** The container's effective Config.Healthcheck (after the image merge). */
  config: HealthConfig | undefined | null;
  /** The container's Config.Shell, for CMD-SHELL. */
  shell?: string[] | null;
  /** State.StartedAt of the current run. */
  startedAt: Date;
  /** For messages. */
  containerId?: string;
  exec: ProbeExec;
  /**
   * The container's State.Health from a previous run (its Log is kept, as dockerd does), or
   * undefined. The monitor mutates the object it exposes as `state` in place.
   */
  previous?: HealthState;
  /** After every probe result (the daemon may persist or just keep it in memory). */
  onResult?: (state: HealthState, result: HealthcheckResult) => void;
  /** On a status change made by a probe: emit the `health_status: <status>` container event. */
  onStatusChange?: (status: HealthStatus, state: HealthState) => void;
  /** Probe errors (exec failures); they are also recorded as ExitCode -1 results. */
  onError?: (err: unknown) => void;
  clock?: Clock;
}

/**
 * One per running container with a health check. start() on container start (and unpause);
 * stop() on exit, pause, stop and removal — stopping marks the container unhealthy, as dockerd.
 */
export class HealthMonitor {
  readonly state: HealthState;
  private readonly cfg: ResolvedHealthConfig | undefined;
  private readonly clock: Clock;
  private timer: unknown;
  private running = false;
  private probe: { abort: AbortController; done: Promise<void> } | undefined;

  constructor(private readonly opts: HealthMonitorOptions) {
    this.cfg = resolveHealthConfig(opts.config, opts.shell);
    this.clock = opts.clock ?? realClock;
    this.state = opts.previous ?? newHealthState();
    if (this.cfg) {
      // dockerd's initHealthMonitor: a (re)started container is "starting" with no failures.
      this.state.Status = 'starting';
      this.state.FailingStreak = 0;
    }
  }

  /** False when the config has no probe (none, NONE, unknown type): do not set State.Health. */
  get enabled(): boolean {
    return this.cfg !== undefined;
  }

  get active(): boolean {
    return this.running;
  }

  start(): void {
    if (!this.cfg || this.running) return;
    this.running = true;
    this.schedule();
  }

  /** Stops probing (aborting a probe under way and waiting for it) and marks the container unhealthy. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.state.Status = 'unhealthy';
    const p = this.probe;
    if (p) {
      p.abort.abort();
      await p.done;
    }
  }

  private interval(): number {
    const cfg = this.cfg!;
    if (this.clock.now() - this.opts.startedAt.getTime() >= cfg.startPeriodMs) return cfg.intervalMs;
    return this.state.Status === 'starting' ? cfg.startIntervalMs : cfg.intervalMs;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.runProbe();
    }, this.interval());
  }

  private async runProbe(): Promise<void> {
    if (!this.running) return;
    const cfg = this.cfg!;
    const abort = new AbortController();
    let settle!: () => void;
    const done = new Promise<void>((r) => (settle = r));
    this.probe = { abort, done };
    const startMs = this.clock.now();
    const start = timeString(startMs, this.clock);
    let result: HealthcheckResult;
    const timeoutMsg = (out: string): string =>
      out ? `Health check exceeded timeout (${goDuration(cfg.timeoutMs)}): ${out}` : `Health check exceeded timeout (${goDuration(cfg.timeoutMs)})`;
    // Last resort if the exec neither starts nor enforces the timeout.
    let hardTimedOut = false;
    const hard = this.clock.setTimeout(() => {
      hardTimedOut = true;
      abort.abort();
    }, cfg.timeoutMs + EXEC_START_ALLOWANCE_MS);
    try {
      if (cfg.cmd.length === 0) throw new Error(`healthcheck for container ${this.opts.containerId ?? ''} has no command`);
      const r = await this.opts.exec(cfg.cmd, cfg.timeoutMs, abort.signal);
      const out = limitOutput(r.output);
      if (r.timedOut || hardTimedOut) result = { Start: start, End: this.endTime(), ExitCode: -1, Output: timeoutMsg(out) };
      else result = { Start: start, End: this.endTime(), ExitCode: r.exitCode, Output: out };
    } catch (err) {
      if (hardTimedOut) result = { Start: start, End: this.endTime(), ExitCode: -1, Output: timeoutMsg('') };
      else {
        this.opts.onError?.(err);
        result = { Start: start, End: this.endTime(), ExitCode: -1, Output: err instanceof Error ? err.message : String(err) };
      }
    } finally {
      this.clock.clearTimeout(hard);
      this.probe = undefined;
      settle();
    }
    // Stopped while probing: the result is dropped (dockerd ignores it too).
    if (!this.running || (abort.signal.aborted && !hardTimedOut)) return;
    this.handleResult(result, startMs);
    this.schedule();
  }

  private endTime(): string {
    return timeString(this.clock.now(), this.clock);
  }

  private handleResult(result: HealthcheckResult, startMs: number): void {
    const cfg = this.cfg!;
    const h = this.state;
    const old = h.Status;
    h.Log.push(result);
    if (h.Log.length > MAX_LOG_ENTRIES) h.Log.splice(0, h.Log.length - MAX_LOG_ENTRIES);
    if (result.ExitCode === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else {
      let count = true;
      if (h.Status === 'starting' && startMs - this.opts.startedAt.getTime() < cfg.startPeriodMs) count = false;
      if (count) {
        h.FailingStreak++;
        if (h.FailingStreak >= cfg.retries) h.Status = 'unhealthy';
      }
    }
    this.opts.onResult?.(h, result);
    if (h.Status !== old) this.opts.onStatusChange?.(h.Status, h);
  }
}

/** Probe timestamps: RFC 3339 with nanoseconds when the real clock is used. */
function timeString(ms: number, clock: Clock): string {
  if (clock === realClock) return formatRFC3339Nano(nowNano());
  return formatRFC3339Nano(BigInt(Math.round(ms)) * 1_000_000n);
}

/** The event action dockerd emits on a status change. */
export const healthStatusAction = (s: HealthStatus): string => `health_status: ${s}`;
