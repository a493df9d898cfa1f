// A container's run state, its JSON form in inspect, and waiters for state changes.
// As dockerd's container/state.go, every change of the run state goes through a method of State
// that sets the fields that belong together, so no caller leaves them half-updated.
import { ZERO_TIME, humanDuration, parseTime, rfc3339Nano } from '../pkg/timeutil.js';
import type { ContainerState } from '../api/types/container.js';
import { healthString, type HealthState } from './health.js';

export type Status = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** State as config.v2.json stores it and inspect shows it. */
export interface StateJSON extends Omit<ContainerState, 'Status' | 'Health'> {
  Status: Status;
  Health?: HealthState;
}

/** The run state. Its own fields are exactly StateJSON's, in the order they are written to disk. */
export class State implements StateJSON {
  Status: Status = 'created';
  Running = false;
  Paused = false;
  Restarting = false;
  OOMKilled = false;
  Dead = false;
  Pid = 0;
  ExitCode = 0;
  Error = '';
  StartedAt = ZERO_TIME;
  FinishedAt = ZERO_TIME;
  // Present only once a health check has run (declared, so no undefined field is defined).
  declare Health?: HealthState;

  /** The state read back from config.v2.json. */
  static from(json: StateJSON): State {
    return Object.assign(new State(), json);
  }

  /** The task started: running, with no exit status or error from an earlier run. */
  setRunning(pid: number): void {
    this.Status = 'running';
    this.Running = true;
    this.Paused = false;
    this.Restarting = false;
    this.OOMKilled = false;
    this.Dead = false;
    this.Pid = pid;
    this.ExitCode = 0;
    this.Error = '';
    this.StartedAt = rfc3339Nano();
  }

  /** The task exited (or was found gone): its exit status and time. */
  setStopped(exit: { exitCode: number; oomKilled: boolean; exitedAt: Date }): void {
    this.Status = 'exited';
    this.Running = false;
    this.Paused = false;
    this.Restarting = false;
    this.Pid = 0;
    this.ExitCode = exit.exitCode;
    this.OOMKilled = exit.oomKilled;
    this.FinishedAt = rfc3339Nano(exit.exitedAt);
    this.Error = '';
  }

  /** The restart policy restarts it after a back-off: Running stays true meanwhile, as in dockerd. */
  setRestarting(exitCode: number, oomKilled: boolean): void {
    this.Status = 'restarting';
    this.Running = true;
    this.Restarting = true;
    this.Paused = false;
    this.Pid = 0;
    this.ExitCode = exitCode;
    this.OOMKilled = oomKilled;
  }

  /** A restart that was canceled or failed to start: exited now, keeping the last exit status and error. */
  setRestartEnded(): void {
    this.Status = 'exited';
    this.Running = false;
    this.Restarting = false;
    this.Paused = false;
    this.Pid = 0;
    this.FinishedAt = rfc3339Nano();
  }

  setPaused(): void {
    this.Paused = true;
    this.Status = 'paused';
  }

  setUnpaused(): void {
    this.Paused = false;
    this.Status = 'running';
  }

  /** At restore, a running task's pause as containerd reports it (Status stays as stored). */
  restorePaused(paused: boolean): void {
    this.Paused = paused;
  }

  /** Why the last start failed ('' clears it, as a successful removal does). */
  setError(message: string): void {
    this.Error = message;
  }

  /** The exit code of a process that never ran (127 not found, 126 cannot execute, 128 otherwise). */
  setExitCode(code: number): void {
    this.ExitCode = code;
  }

  /** A removal that failed leaves the container alive, not dead. */
  clearDead(): void {
    this.Dead = false;
  }

  /** The health record of a new health monitor (it updates the object in place). */
  setHealth(health: HealthState): void {
    this.Health = health;
  }
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
    const health = healthString(s.Health);
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
