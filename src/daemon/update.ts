// POST /containers/{id}/update: new resource limits and restart policy for a container, applied
// to its running task at once and saved with its host config (dockerd's daemon/update.go).
import type { Daemon } from './daemon.js';
import { cannotUpdate, cannotUpdateRemoving, parseUpdateBody, updateResources } from './resources.js';

/** Applies an update request body (decoded JSON) to the named container; resolves to its warnings. */
export async function updateContainer(d: Daemon, name: string, body: unknown, version: string): Promise<string[]> {
  const c = d.containers.get(name);
  const update = parseUpdateBody(body, version);
  const sys = await d.sysInfo();
  const warnings = await c.lock.run(async () => {
    if (c.removing) throw cannotUpdateRemoving(c.id);
    const plan = updateResources(c.id, c.hostConfig, update, sys, version);
    // A running (or paused) task gets the new limits now; a restarting one at its next start.
    if (c.running && !c.state.Restarting && Object.keys(plan.resources).length > 0) {
      try {
        await d.ctd.updateResources(c.id, plan.resources);
      } catch (err) {
        throw cannotUpdate(c.id, err);
      }
    }
    c.hostConfig = plan.hostConfig;
    if (plan.restartPolicy) c.updateRestartPolicy();
    await c.save();
    return plan.warnings;
  });
  d.containerEvent(c, 'update');
  return warnings;
}
