// A container's health as its state records it (State.Health in inspect and config.v2.json).
// The monitor that runs the probes and updates it is the daemon's (daemon/health.ts).

import type { Health, HealthcheckResult } from '../api/types/container.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export type { HealthcheckResult };

/** State.Health in inspect (and config.v2.json), once a check has run: never 'none'. */
export interface HealthState extends Health {
  Status: HealthStatus;
}

/** The health part of `docker ps` STATUS: "Up 3 minutes (health: starting)". */
export function healthString(h: Pick<HealthState, 'Status'> | undefined | null): string {
  if (!h) return '';
  const s = h.Status || 'unhealthy';
  return s === 'starting' ? 'health: starting' : s;
}
