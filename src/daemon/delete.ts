// docker rm and container prune.
import { rm } from 'node:fs/promises';
import type { Container } from '../container/container.js';
import { conflict, isKind } from '../pkg/errors.js';
import { parseTimestamp } from '../pkg/timeutil.js';
import { SIGKILL } from '../pkg/signal.js';
import { matchLabelFilters } from '../pkg/labels.js';
import { validateFilters } from '../api/types/filters.js';
import type { Daemon } from './daemon.js';
import { releaseNetworking } from './network.js';
import { removeContainerMounts } from './mounts.js';

export async function removeContainer(d: Daemon, c: Container, opts: { force: boolean; volumes: boolean }): Promise<void> {
  await c.lock.run(async () => {
    if (c.removing) throw conflict(`removal of container ${c.name.slice(1)} is already in progress`);
    if (c.running && !opts.force) {
      const what = c.state.Paused ? 'container is paused and must be unpaused first' : 'container is running: stop the container before removing or force remove';
      throw conflict(`cannot remove container "${c.name}": ${what}`);
    }
    c.setRemovalInProgress();
  });
  try {
    if (c.running) {
      c.cancelRestart(!d.shuttingDown);
      if (c.state.Paused) await d.ctd.resume(c.id).catch(() => undefined);
      await d.ctd.killTask(c.id, SIGKILL, { all: true }).catch((err) => {
        if (!isKind(err, 'not-found')) throw err;
      });
      d.containerEvent(c, 'kill', { signal: String(SIGKILL) });
      await c.waitFor((x) => !x.running);
    }
    await c.lock.run(async () => {
      await d.ctd.deleteContainer(c.id).catch(() => undefined);
      await releaseNetworking(d, c);
      await d.images.removeRWLayer(c.id);
      await rm(c.dir, { recursive: true, force: true });
      await rm(d.fifoDir(c.id), { recursive: true, force: true });
      d.containers.delete(c);
      await removeContainerMounts(d, c, opts.volumes);
      // As dockerd's SetRemoved: a successful removal clears the error, so waiters (the CLI's
      // `run --rm` after a failed start) get {"Error": null}.
      c.setRemoved();
      d.containerEvent(c, 'destroy');
      c.notify();
    });
  } catch (err) {
    c.resetRemovalInProgress();
    throw err;
  }
}

export async function pruneContainers(d: Daemon, filters: Map<string, string[]>): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
  validateFilters(filters, ['label', 'label!', 'until']);
  const until = (filters.get('until') ?? []).map((v) => parseTimestamp(v).getTime());
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of d.containers.all()) {
    if (c.running || c.removing) continue;
    const created = Date.parse(c.record.Created);
    if (until.some((u) => created >= u)) continue;
    if (!matchLabelFilters(c.record.Config.Labels, filters)) continue;
    const size = await d.images.containerSize(c.id).then((s) => s.SizeRw).catch(() => 0);
    try {
      await removeContainer(d, c, { force: false, volumes: false });
      deleted.push(c.id);
      reclaimed += size;
    } catch (err) {
      d.logger.warn({ err, id: c.id }, 'prune: could not remove container');
    }
  }
  return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
}
