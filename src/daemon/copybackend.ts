// A container's filesystem for `docker cp` (the archive router's rootOf): a running container is
// read through /proc/<pid>/root, where its mounts are in place; a stopped one gets its RW layer
// mounted with its volumes, binds and network files laid over from a table (dockerd mounts them
// in a private namespace; src/pkg/scopedfs.ts resolves through the table chroot-style).
import { exists } from '../pkg/fsutil.js';
import type { ArchiveBackend, ArchiveContainerRoot } from '../server/router/archive.js';
import type { Container } from '../container/container.js';
import type { ScopedMount } from '../pkg/scopedfs.js';
import { conflict } from '../pkg/errors.js';
import { mountPointsOf } from './mounts.js';
import type { Daemon } from './daemon.js';

/** Called with the container lock held; release() takes it again, so mounts and unmounts never overlap. */
async function stoppedRoot(d: Daemon, c: Container): Promise<ArchiveContainerRoot> {
  const points = mountPointsOf(c);
  const path = await d.images.mountContainer(c.id);
  const mountedVolumes: string[] = [];
  const undo = async (): Promise<void> => {
    for (const name of mountedVolumes) await d.volumes.unmount(name).catch(() => undefined);
    await d.images.unmountContainer(c.id).catch((err: unknown) => d.logger.warn({ err, id: c.id }, 'unmounting rootfs after cp'));
  };
  try {
    const r = c.record;
    const mounts: ScopedMount[] = [
      { destination: '/etc/resolv.conf', source: r.ResolvConfPath },
      { destination: '/etc/hostname', source: r.HostnamePath },
      { destination: '/etc/hosts', source: r.HostsPath },
    ];
    for (const p of points) {
      if (p.Type === 'volume' && p.Name) {
        const src = await d.volumes.mount(p.Name);
        mountedVolumes.push(p.Name);
        mounts.push({ destination: p.Destination, source: src, readOnly: !p.RW });
      } else if (p.Type === 'bind' && p.Source) {
        mounts.push({ destination: p.Destination, source: p.Source, readOnly: !p.RW });
      }
    }
    // A mount point whose source is gone (a bind source deleted since) is left out.
    const present: ScopedMount[] = [];
    for (const m of mounts) if (await exists(m.source)) present.push(m);
    let released = false;
    return {
      root: { path, mounts: present },
      user: c.record.Config.User,
      readonlyRootfs: c.hostConfig.ReadonlyRootfs,
      mountPoints: points,
      release: async () => {
        if (released) return;
        released = true;
        await c.lock.run(undo);
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/** The container's root for HEAD/GET/PUT /containers/{name}/archive. */
export async function containerRoot(d: Daemon, ref: string): Promise<ArchiveContainerRoot> {
  const c = d.containers.get(ref);
  return c.lock.run(async () => {
    if (c.removing || c.state.Dead) throw conflict(`container ${c.id} is marked for removal`);
    if (c.running && c.state.Pid > 0) {
      return {
        root: `/proc/${c.state.Pid}/root`,
        user: c.record.Config.User,
        readonlyRootfs: c.hostConfig.ReadonlyRootfs,
        mountPoints: mountPointsOf(c),
        release: async () => undefined,
      };
    }
    return stoppedRoot(d, c);
  });
}

/** The archive router's backend: container roots and the archive-path / extract-to-dir events. */
export function archiveBackend(d: Daemon): ArchiveBackend {
  return {
    rootOf: (ref) => containerRoot(d, ref),
    event: (ref, action) => {
      const c = d.containers.find(ref);
      if (c) d.containerEvent(c, action);
    },
  };
}
