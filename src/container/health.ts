// A container's health as its state records it (State.Health in inspect and config.v2.json).
// The monitor that runs the probes and updates it is the daemon's (daemon/health.ts).

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthcheckResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health in inspect (and config.v2.json). */
export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthcheckResult[];
}

/** The health part of `docker ps` STATUS: "Up 3 minutes (health: starting)". */
export function healthString(h: Pick<HealthState, 'Status'> | undefined | null): string {
  if (!h) return '';
  const s = h.Status || 'unhealthy';
  return s === 'starting' ? 'health: starting' : s;
}
