// berthd stopping with live-restore off: its containers stop with it, as with dockerd.
import { isKind } from '../pkg/errors.js';
import { stopContainer } from './stop.js';
import type { Daemon } from './daemon.js';

/** Stops every running container with its stop signal and timeout; restart policies do not restart them. */
export async function stopContainersAtShutdown(d: Daemon): Promise<void> {
  await Promise.all(d.containers.all().filter((c) => c.running).map(async (c) => {
    c.restartManager().cancel();
    if (c.state.Paused) await d.ctd.resume(c.id).catch(() => undefined);
    await stopContainer(d, c, {}).catch((err) => {
      if (!isKind(err, 'not-modified')) d.logger.warn({ err, id: c.id }, 'stopping container at shutdown');
    });
  }));
}
