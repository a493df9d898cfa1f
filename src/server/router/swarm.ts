// /swarm, /nodes, /services, /tasks, /secrets and /configs: Berth has no swarm mode, so these
// answer as a dockerd that is not part of a swarm does (503 with its messages), which is what
// clients' clean-up paths expect; init and join say plainly that there is no swarm mode.
import type { Router, Handler } from '../router.js';
import { unavailable } from '../../pkg/errors.js';

/** dockerd's errNoManager for a node that never joined a swarm. */
export const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** dockerd's errNoSwarm (leave). */
export const NOT_IN_A_SWARM = 'This node is not part of a swarm';
export const NO_SWARM_MODE = 'Berth has no swarm mode: this node cannot create or join a swarm';

const refuse = (message: string): Handler => async () => {
  throw unavailable(message);
};

export function swarmRoutes(r: Router): void {
  r.get('/swarm', refuse(NOT_A_MANAGER));
  r.post('/swarm/init', refuse(NO_SWARM_MODE));
  r.post('/swarm/join', refuse(NO_SWARM_MODE));
  r.post('/swarm/leave', refuse(NOT_IN_A_SWARM));
  for (const path of ['/swarm/update', '/swarm/unlock']) r.post(path, refuse(NOT_A_MANAGER));
  r.get('/swarm/unlockkey', refuse(NOT_A_MANAGER));
  for (const group of ['nodes', 'services', 'tasks', 'secrets', 'configs']) {
    for (const path of [`/${group}`, `/${group}/{rest:.*}`]) {
      r.get(path, refuse(NOT_A_MANAGER));
      r.post(path, refuse(NOT_A_MANAGER));
      r.delete(path, refuse(NOT_A_MANAGER));
    }
  }
}
