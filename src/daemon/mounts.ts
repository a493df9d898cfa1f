// The daemon's side of volumes and mounts: a container's MountPoints are registered at create
// (volumes made and filled from the image), turned into OCI mounts at start, released at exit,
// dropped at rm and re-registered at start-up. The grammar and the mechanics live in
// src/volume/mountparse.ts and src/volume/mounts.ts; this file only feeds them the daemon's state.
import type { ContainerConfig, HostConfig, SpecMount } from '../api/types/container.js';
import type { Container } from '../container/container.js';
import { versionLessThan } from '../server/version.js';
import { parseMounts } from '../volume/mountparse.js';
import {
  inspectMounts,
  populateVolumes,
  releaseMounts,
  removeMountPoints,
  restoreMountPoints,
  rootfsPropagation,
  specMounts,
} from '../volume/mounts.js';
import type { InspectMount } from '../api/types/container.js';
import type { MountPoint } from '../volume/types.js';
import type { Daemon } from './daemon.js';

/** A container's mount points, in destination order. */
export function mountPointsOf(c: Container): MountPoint[] {
  return Object.values(c.record.MountPoints ?? {}).sort((a, b) => (a.Destination < b.Destination ? -1 : a.Destination > b.Destination ? 1 : 0));
}

/**
 * At create, once the RW layer exists: registers the container's mounts (making named and
 * anonymous volumes as needed) and copies the image's content into new volumes. On error
 * nothing stays referenced and the anonymous volumes made here are gone.
 */
export async function createMountPoints(
  d: Daemon,
  id: string,
  config: ContainerConfig,
  hostConfig: HostConfig,
  apiVersion?: string,
): Promise<MountPoint[]> {
  const noMounts = !config.Volumes || Object.keys(config.Volumes).length === 0;
  // The rootfs is mounted only when needed: image VOLUMEs (refused over a file) and copy-up.
  let rootfs: string | undefined;
  const mount = async (): Promise<string> => (rootfs ??= await d.images.mountContainer(id));
  try {
    const points = await parseMounts(config, hostConfig, {
      containerId: id,
      volumes: d.volumes,
      volumesFrom: (ref) => mountPointsOf(d.containers.get(ref)),
      dataRoot: d.opts.dataRoot,
      readOnlyNonRecursive: apiVersion !== undefined && versionLessThan(apiVersion, '1.44'),
      rootfs: noMounts ? undefined : await mount(),
    });
    try {
      if (points.some((p) => p.Type === 'volume' && p.Name && p.CopyData)) await populateVolumes(points, await mount(), d.volumes, d.opts.idMap);
    } catch (err) {
      await removeMountPoints(points, d.volumes, id, true);
      throw err;
    }
    return points;
  } finally {
    if (rootfs !== undefined) {
      await d.images.unmountContainer(id).catch((err: unknown) => d.logger.warn({ err, id }, 'unmounting rootfs after create'));
    }
  }
}

/** Undoes createMountPoints when a later step of create fails. */
export async function abandonMountPoints(d: Daemon, id: string, points: MountPoint[]): Promise<void> {
  await removeMountPoints(points, d.volumes, id, true).catch(() => undefined);
}

/** At start: the OCI mounts for the container's volumes, binds and tmpfs (pair with releaseContainerMounts). */
export async function containerSpecMounts(d: Daemon, c: Container): Promise<{ mounts: SpecMount[]; rootfsPropagation?: string }> {
  const points = mountPointsOf(c);
  const mounts = await specMounts(points, d.volumes, { containerId: c.id, tmpfs: c.hostConfig.Tmpfs, newSourceOwner: d.opts.idMap?.rootPair() });
  return { mounts, rootfsPropagation: rootfsPropagation(points) };
}

/** When the container's task is gone (exit, failed start): undoes containerSpecMounts. */
export async function releaseContainerMounts(d: Daemon, c: Container): Promise<void> {
  await releaseMounts(mountPointsOf(c), d.volumes, c.id).catch((err: unknown) => d.logger.warn({ err, id: c.id }, 'releasing mounts'));
}

/** docker rm: drops the container's volume references; `removeVolumes` (rm -v, --rm) removes its anonymous volumes. */
export async function removeContainerMounts(d: Daemon, c: Container, removeVolumes: boolean): Promise<void> {
  await removeMountPoints(mountPointsOf(c), d.volumes, c.id, removeVolumes).catch((err: unknown) =>
    d.logger.warn({ err, id: c.id }, 'removing mount points'),
  );
}

/** Start-up: re-registers the container's volume references; `running` counts its live mounts too. */
export function restoreContainerMounts(d: Daemon, c: Container, running: boolean): void {
  restoreMountPoints(mountPointsOf(c), d.volumes, c.id, running);
}

/** inspect's and ps's `Mounts`. */
export function containerMounts(c: Container): InspectMount[] {
  return inspectMounts(mountPointsOf(c));
}

/** The ps filter `volume=`: a volume name (a bind's source) or a mount destination (dockerd's). */
export function matchesVolumeFilter(c: Container, values: string[]): boolean {
  const points = mountPointsOf(c);
  return values.some((v) => points.some((p) => p.Destination === v || (p.Name ? p.Name === v : p.Source === v)));
}
