// The archive router's backend, a container's filesystem for `docker cp`: a running container is
// read through /proc/<pid>/root, where its mounts are in place; a stopped one gets its RW layer
// mounted with its volumes, binds and network files laid over from a table (dockerd mounts them
// in a private namespace; src/pkg/scopedfs.ts resolves through the table chroot-style).
import { exists } from '../pkg/fsutil.js';
import type { ArchiveBackend } from '../server/router/archive.js';
import type { Container } from '../container/container.js';
import type { ScopedMount } from '../pkg/scopedfs.js';
import { conflict } from '../pkg/errors.js';
import { mountPointsOf } from './mounts.js';
import { archivePath, extractToDir, statPath, type ContainerRoot } from './archive.js';
import type { Daemon } from './daemon.js';

interface ArchiveContainerRoot {
  /** The container's root: for a stopped container its mounted rootfs with its mounts overlaid, for a running one /proc/<pid>/root. */
  root: ContainerRoot;
  /** Called once the request is done with the root (unmount, unlock…). */
  release(): Promise<void>;
  /** Config.User, for PUT ?copyUIDGID=1 (docker cp -a). */
  user?: string;
  /** HostConfig.ReadonlyRootfs: PUT outside a writable mount is refused. */
  readonlyRootfs?: boolean;
  /** The container's mount points: PUT into a read-only one is refused. */
  mountPoints?: { Destination: string; RW: boolean }[];
}

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
async function containerRoot(d: Daemon, ref: string): Promise<ArchiveContainerRoot> {
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

/** The archive router's backend: stat, archive and extract in a container's filesystem. */
export function archiveBackend(d: Daemon): ArchiveBackend {
  const event = (ref: string, action: 'archive-path' | 'extract-to-dir'): void => {
    const c = d.containers.find(ref);
    if (c) d.containerEvent(c, action);
  };
  return {
    containerStatPath: async (name, path) => {
      const c = await containerRoot(d, name);
      try {
        return await statPath(c.root, path, { container: name });
      } finally {
        await c.release();
      }
    },
    containerArchivePath: async (name, path) => {
      const c = await containerRoot(d, name);
      try {
        const out = await archivePath(c.root, path, { container: name, idMap: d.opts.idMap });
        event(name, 'archive-path');
        return {
          stat: out.stat,
          stream: out.stream,
          // The root's handles must be closed before it is unmounted.
          done: async () => {
            await out.closed;
            await c.release();
          },
        };
      } catch (err) {
        await c.release();
        throw err;
      }
    },
    containerExtractToDir: async (name, path, content, opts) => {
      const c = await containerRoot(d, name);
      try {
        await extractToDir(c.root, path, content, {
          container: name,
          ...opts,
          idMap: d.opts.idMap,
          user: c.user,
          readonlyRootfs: c.readonlyRootfs,
          mountPoints: c.mountPoints,
        });
        event(name, 'extract-to-dir');
      } finally {
        await c.release();
      }
    },
  };
}
