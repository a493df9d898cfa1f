// docker export: a tar of a container's merged root filesystem. A running container's rootfs is
// the overlay containerd mounted for its task; otherwise berthd mounts the RW layer itself for
// as long as the stream lasts.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Container } from '../container/container.js';
import { conflict } from '../pkg/errors.js';
import { packDirectory } from '../archive/pack.js';
import { CONTAINERD_NAMESPACE, type Daemon } from './daemon.js';

export async function exportContainer(d: Daemon, c: Container): Promise<Readable> {
  if (c.state.Dead || c.removing) throw conflict(`You cannot export container ${c.id} which is being removed`);
  const live = join(d.opts.execRoot, 'containerd', 'io.containerd.runtime.v2.task', CONTAINERD_NAMESPACE, c.id, 'rootfs');
  let root: string | undefined;
  let mounted = false;
  if (c.running && (await stat(live).then((s) => s.isDirectory(), () => false))) root = live;
  if (!root) {
    root = await d.images.mountContainer(c.id);
    mounted = true;
  }
  const stream = packDirectory(root, { idMap: d.opts.idMap });
  let released = false;
  const release = (): void => {
    if (released || !mounted) return;
    released = true;
    d.images.unmountContainer(c.id).catch((err: unknown) => d.logger.warn({ err, id: c.id }, 'unmount after export failed'));
  };
  stream.once('close', release);
  stream.once('error', release);
  d.containerEvent(c, 'export');
  return stream;
}
