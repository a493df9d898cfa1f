// Restart policies, as dockerd applies them: `no`, `always`, `unless-stopped`, `on-failure[:N]`.
//
// One RestartManager per container run-sequence. When the container's task exits the daemon asks
// shouldRestart(); a positive answer comes with a delay (100 ms, doubling on every consecutive
// restart, at most 1 minute, and back to 100 ms once a run lasted 10 s or more) and a `wait`
// promise that resolves when the delay is over or rejects with RestartCanceledError when the
// container is stopped/killed/removed meanwhile (cancel()). A user `docker start` makes a new
// manager (and resets RestartCount); a restart made by the manager keeps it.

import { invalidParameter } from '../pkg/errors.js';

export interface RestartPolicy {
  /** '' (API < 25's default) and 'no' mean no restarts. */
  Name: string;
  MaximumRetryCount: number;
}

/** First back-off delay. */
export const DEFAULT_DELAY_MS = 100;
/** Back-off ceiling. */
export const MAX_DELAY_MS = 60_000;
/** A run at least this long resets the back-off. */
export const RESET_AFTER_MS = 10_000;
const BACKOFF_MULTIPLIER = 2;

export class RestartCanceledError extends Error {
  constructor() {
    super('restart canceled');
    this.name = 'RestartCanceledError';
  }
}

export const isNone = (p: RestartPolicy): boolean => p.Name === '' || p.Name === 'no';
export const isAlways = (p: RestartPolicy): boolean => p.Name === 'always';
export const isUnlessStopped = (p: RestartPolicy): boolean => p.Name === 'unless-stopped';
export const isOnFailure = (p: RestartPolicy): boolean => p.Name === 'on-failure';

/**
 * dockerd's container.ValidateRestartPolicy, with its exact messages (invalid parameter → 400).
 */
export function validateRestartPolicy(p: RestartPolicy): void {
  const retry = p.MaximumRetryCount ?? 0;
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
    case 'no':
      if (retry !== 0) {
        let msg = "invalid restart policy: maximum retry count can only be used with 'on-failure'";
        if (retry < 0) msg += ' and cannot be negative';
        throw invalidParameter(msg);
      }
      return;
    case 'on-failure':
      if (retry < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
      return;
    case '':
      // Engines before 25.0 stored an empty name as the default; any retry count is accepted.
      return;
    default:
      throw invalidParameter(
        `invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
      );
  }
}

/**
 * The policy decision alone (no back-off state): would a container that exited with `exitCode`,
 * after `restartCount` restarts, be restarted?
 */
export function policyWantsRestart(p: RestartPolicy, restartCount: number, exitCode: number, hasBeenManuallyStopped: boolean): boolean {
  if (isAlways(p)) return true;
  if (isUnlessStopped(p)) return !hasBeenManuallyStopped;
  if (isOnFailure(p)) {
    // 0 means no maximum.
    const max = p.MaximumRetryCount ?? 0;
    if (max === 0 || restartCount < max) return exitCode !== 0;
  }
  return false;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RestartDecision {
  restart: boolean;
  /** The back-off before the restart (0 when not restarting). */
  delayMs: number;
  /**
   * Set when restart is true: resolves once the delay is over (start the container then), or
   * rejects with RestartCanceledError if cancel() is called first.
   */
  wait?: Promise<void>;
}

export class RestartManager {
  private policy: RestartPolicy;
  private count: number;
  private timeoutMs = 0;
  private active = false;
  private canceledFlag = false;
  private pending: { handle: unknown; reject: (e: Error) => void } | undefined;

  constructor(policy: RestartPolicy, restartCount = 0, private readonly timers: Timers = realTimers) {
    this.policy = { ...policy };
    this.count = restartCount;
  }

  /** `docker update --restart`: takes effect from the next exit. */
  setPolicy(p: RestartPolicy): void {
    this.policy = { ...p };
  }

  getPolicy(): RestartPolicy {
    return { ...this.policy };
  }

  /** Restarts made by this manager plus the count it started from (the container's RestartCount). */
  get restartCount(): number {
    return this.count;
  }

  get canceled(): boolean {
    return this.canceledFlag;
  }

  /** True while a restart delay runs. */
  get waiting(): boolean {
    return this.active;
  }

  /**
   * Called on every exit of the container's task. `hasBeenManuallyStopped` must also be true
   * while the daemon shuts down (dockerd passes `daemonShutdown || HasBeenManuallyStopped`).
   * Throws RestartCanceledError after cancel(), and an Error if a restart is already pending.
   */
  shouldRestart(exitCode: number, hasBeenManuallyStopped: boolean, executionDurationMs: number): RestartDecision {
    if (isNone(this.policy)) return { restart: false, delayMs: 0 };
    if (this.canceledFlag) throw new RestartCanceledError();
    if (this.active) throw new Error('invalid call on an active restart manager');

    if (executionDurationMs >= RESET_AFTER_MS) this.timeoutMs = 0;
    if (this.timeoutMs === 0) this.timeoutMs = DEFAULT_DELAY_MS;
    else if (this.timeoutMs < MAX_DELAY_MS) this.timeoutMs *= BACKOFF_MULTIPLIER;
    if (this.timeoutMs > MAX_DELAY_MS) this.timeoutMs = MAX_DELAY_MS;

    if (!policyWantsRestart(this.policy, this.count, exitCode, hasBeenManuallyStopped)) {
      this.active = false;
      return { restart: false, delayMs: 0 };
    }
    this.count++;
    this.active = true;
    const delayMs = this.timeoutMs;
    const wait = new Promise<void>((resolve, reject) => {
      const handle = this.timers.setTimeout(() => {
        this.pending = undefined;
        this.active = false;
        resolve();
      }, delayMs);
      this.pending = { handle, reject };
    });
    // Callers that ignore the promise must not trigger an unhandled rejection on cancel.
    wait.catch(() => undefined);
    return { restart: true, delayMs, wait };
  }

  /** No more restarts from this manager (stop, kill, rm, daemon shutdown); a pending wait rejects. */
  cancel(): void {
    if (this.canceledFlag) return;
    this.canceledFlag = true;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      this.timers.clearTimeout(p.handle);
      p.reject(new RestartCanceledError());
    }
  }
}

/** What the daemon knows about a stored container when it starts up. */
export interface StoredContainerState {
  policy: RestartPolicy;
  restartCount: number;
  exitCode: number;
  hasBeenManuallyStopped: boolean;
  hasBeenStartedBefore: boolean;
  /** RFC 3339 or Date; used for the run duration only. */
  startedAt?: Date;
  finishedAt?: Date;
}

/**
 * dockerd's restore rule: with auto-restart enabled (the default), a container that was started
 * before and whose policy asks for a restart given its last exit is started at daemon start-up —
 * `always` always, `unless-stopped` unless the user stopped it, `on-failure` if it last failed and
 * has retries left. Call it after reconciling with containerd (a container containerd lost is
 * recorded as exited with 255 first), for containers that are not running.
 */
export function shouldStartOnDaemonStart(s: StoredContainerState, autoRestart = true): boolean {
  if (!autoRestart || !s.hasBeenStartedBefore) return false;
  if (isNone(s.policy)) return false;
  return policyWantsRestart(s.policy, s.restartCount, s.exitCode, s.hasBeenManuallyStopped);
}

/** Parses the CLI form `name[:max]` (for berth's own CLI and daemon.json). */
export function parseRestartPolicy(s: string): RestartPolicy {
  if (s === '') return { Name: 'no', MaximumRetryCount: 0 };
  const [name, max, ...rest] = s.split(':');
  if (rest.length > 0) throw invalidParameter(`invalid restart policy format: maximum retry count must be an integer`);
  if (max === undefined) return { Name: name!, MaximumRetryCount: 0 };
  if (!/^-?\d+$/.test(max)) throw invalidParameter('invalid restart policy format: maximum retry count must be an integer');
  return { Name: name!, MaximumRetryCount: parseInt(max, 10) };
}
