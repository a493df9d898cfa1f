// A container's run state, its JSON form in inspect, and waiters for state changes.
import { ZERO_TIME, humanDuration, parseTime } from '../pkg/timeutil.js';
import { healthString, type HealthStatus } from '../daemon/health.js';

export type Status = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface StateJSON {
  Status: Status;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: unknown;
}

export function newState(): StateJSON {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO_TIME,
    FinishedAt: ZERO_TIME,
  };
}

/** The Status column of `docker ps`, worded as dockerd's State.String(). */
export function stateString(s: StateJSON, removing: boolean, now = Date.now()): string {
  if (s.Running) {
    const started = parseTime(s.StartedAt)?.getTime() ?? now;
    if (s.Paused) return `Up ${humanDuration(now - started)} (Paused)`;
    if (s.Restarting) {
      const finished = parseTime(s.FinishedAt)?.getTime() ?? now;
      return `Restarting (${s.ExitCode}) ${humanDuration(now - finished)} ago`;
    }
    const health = healthString(s.Health as { Status: HealthStatus } | undefined);
    return health ? `Up ${humanDuration(now - started)} (${health})` : `Up ${humanDuration(now - started)}`;
  }
  if (removing) return 'Removal In Progress';
  if (s.Dead) return 'Dead';
  const started = parseTime(s.StartedAt);
  if (!started) return 'Created';
  const finished = parseTime(s.FinishedAt);
  if (!finished) return '';
  return `Exited (${s.ExitCode}) ${humanDuration(now - finished.getTime())} ago`;
}

/** The `status` filter and `State` field of `docker ps`: dockerd's State.StateString(). */
export function simpleStatus(s: StateJSON, removing: boolean): Status {
  if (s.Running) {
    if (s.Paused) return 'paused';
    if (s.Restarting) return 'restarting';
    return 'running';
  }
  if (removing) return 'removing';
  if (s.Dead) return 'dead';
  if (parseTime(s.StartedAt) === undefined) return 'created';
  return 'exited';
}
