// Setting up a container's MountPoints (parsed by mountparse.ts), as dockerd's MountPoint.Setup
// and setupMounts (volumes_unix.go) and withMounts (oci_linux.go): volumes filled from the
// image at create, OCI spec mounts at start, released at exit, and inspect's `Mounts`.

import { chown, mkdir, readdir } from 'node:fs/promises';
import { posix } from 'node:path';
import type { InspectMount, SpecMount } from '../api/types/container.js';
import { BerthError, errnoCode, invalidParameter } from '../pkg/errors.js';
import { ScopedRoot } from '../pkg/scopedfs.js';
import { extractScoped, packScoped } from '../archive/scopedtar.js';
import { clean, convertTmpfsOptions, DEFAULT_PROPAGATION } from './mountparse.js';
import type { VolumeService } from './service.js';
import type { MountPoint } from './types.js';
import type { IdentityMapping } from '../pkg/idmap.js';

// ───────────────────────────── copy-up ─────────────────────────────

/**
 * Copies the image's content at `destination` (resolved inside `rootfs`, chroot-style) into the
 * volume directory `volumeDir` when that is empty — dockerd's populateVolume: ownership, modes,
 * times, symlinks, hard links and devices are kept, and the volume root takes the source
 * directory's owner and mode. Returns whether anything was copied.
 */
export async function copyUp(rootfs: string, destination: string, volumeDir: string, idMap?: IdentityMapping): Promise<boolean> {
  if ((await readdir(volumeDir)).length > 0) return false;
  const src = await ScopedRoot.open(rootfs);
  try {
    let res;
    try {
      res = await src.resolve(destination, { followFinal: true });
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errnoCode(err) ?? '')) return false;
      throw err;
    }
    try {
      if (!res.stat?.isDirectory()) return false;
      const dst = await ScopedRoot.open(volumeDir);
      try {
        // Under --userns-remap the tar between the two carries container IDs (a tar header has no
        // room for every host ID).
        const tarStream = packScoped(src, { dir: res.dir, name: res.name, stat: res.stat }, (rel) => (rel === '' ? '.' : `./${rel}`), { idMap });
        await extractScoped(dst, '/', tarStream, { applyRootMetadata: true, idMap });
      } finally {
        await dst.close();
      }
      return true;
    } finally {
      await res.release();
    }
  } finally {
    await src.close();
  }
}

/**
 * At create, after parseMounts: fills every new volume that asks for it (CopyData) from the
 * image content under its destination in the container's mounted `rootfs`.
 */
export async function populateVolumes(points: MountPoint[], rootfs: string, volumes: VolumeService, idMap?: IdentityMapping): Promise<void> {
  for (const p of points) {
    if (p.Type !== 'volume' || !p.Name || !p.CopyData) continue;
    const path = await volumes.mount(p.Name);
    try {
      await copyUp(rootfs, p.Destination, path, idMap);
    } finally {
      await volumes.unmount(p.Name);
    }
  }
}

// ───────────────────────────── start: OCI spec mounts ─────────────────────────────

const tmpfsFlags = new Map<string, string>([
  ['ro', 'rdonly'], ['rw', 'rdonly'], ['suid', 'nosuid'], ['nosuid', 'nosuid'], ['dev', 'nodev'], ['nodev', 'nodev'],
  ['exec', 'noexec'], ['noexec', 'noexec'], ['sync', 'sync'], ['async', 'sync'], ['dirsync', 'dirsync'],
  ['remount', 'remount'], ['mand', 'mand'], ['nomand', 'mand'], ['atime', 'noatime'], ['noatime', 'noatime'],
  ['diratime', 'nodiratime'], ['nodiratime', 'nodiratime'], ['relatime', 'relatime'], ['norelatime', 'relatime'],
  ['strictatime', 'strictatime'], ['nostrictatime', 'strictatime'],
  ['bind', 'prop'], ['rbind', 'prop'], ['unbindable', 'prop'], ['runbindable', 'prop'], ['private', 'prop'],
  ['rprivate', 'prop'], ['shared', 'prop'], ['rshared', 'prop'], ['slave', 'prop'], ['rslave', 'prop'],
]);
const tmpfsData = new Set(['', 'size', 'mode', 'uid', 'gid', 'nr_inodes', 'nr_blocks', 'mpol']);

/** moby/sys/mount's MergeTmpfsOptions: later options win, duplicates dropped. */
export function mergeTmpfsOptions(options: string[]): string[] {
  const flags = new Set<string>();
  const data = new Set<string>();
  const out: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const o = options[i]!;
    if (o === 'defaults') continue;
    const flag = tmpfsFlags.get(o);
    if (flag !== undefined) {
      if (!flags.has(flag)) {
        out.unshift(o);
        flags.add(flag);
      }
      continue;
    }
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    if (eq < 0 || !tmpfsData.has(key)) throw invalidParameter(`invalid tmpfs option ${JSON.stringify(key)}`);
    if (!data.has(key)) {
      out.unshift(o);
      data.add(key);
    }
  }
  return out;
}

function tmpfsMount(dest: string, data: string): SpecMount {
  const opts = ['noexec', 'nosuid', 'nodev', DEFAULT_PROPAGATION, ...(data ? data.split(',') : [])];
  return { destination: dest, source: 'tmpfs', type: 'tmpfs', options: mergeTmpfsOptions(opts) };
}

export interface SpecMountsOptions {
  containerId: string;
  /** HostConfig.Tmpfs (--tmpfs): these win over mount points at the same destination. */
  tmpfs?: Record<string, string> | null;
  /** The runtime supports recursive read-only ("rro", runc ≥ 1.1 on Linux ≥ 5.12); default true. */
  recursiveReadOnly?: boolean;
  /** Owner of the bind sources -v creates (the remapped root under --userns-remap; else berthd's). */
  newSourceOwner?: { uid: number; gid: number };
}

/** Chowns the directories a recursive mkdir made: `first` (the top one it made) down to `last`. */
async function chownMade(first: string, last: string, owner: { uid: number; gid: number }): Promise<void> {
  for (let dir = last; dir.length >= first.length; dir = posix.dirname(dir)) await chown(dir, owner.uid, owner.gid);
}

async function subpathSource(volumePath: string, sub: string): Promise<string> {
  const r = await ScopedRoot.open(volumePath);
  try {
    const res = await r.resolve(sub, { followFinal: true });
    try {
      if (!res.stat) throw invalidParameter(`cannot access path ${posix.join(volumePath, sub)}: no such file or directory`);
      return posix.join(volumePath, res.path);
    } finally {
      await res.release();
    }
  } catch (err) {
    if (err instanceof BerthError) throw err;
    throw invalidParameter(`cannot access path ${posix.join(volumePath, sub)}: ${(err as Error).message}`);
  } finally {
    await r.close();
  }
}

/**
 * The OCI mounts for a container's MountPoints and --tmpfs entries (dockerd's setupMounts +
 * withMounts): volumes are mounted (counted per use: pair with releaseMounts when the container
 * stops), missing -v bind sources are created, read-only mounts get "rro" (or "ro"), binds
 * their propagation, tmpfs dockerd's default flags merged with the user's. Emits the volume
 * `mount` events. Sorted parents first.
 */
export async function specMounts(points: MountPoint[], volumes: VolumeService, opts: SpecMountsOptions): Promise<SpecMount[]> {
  const rro = opts.recursiveReadOnly ?? true;
  const tmpfs = opts.tmpfs ?? {};
  const out: SpecMount[] = [];
  const mounted: string[] = [];
  try {
    for (const [dest, data] of Object.entries(tmpfs)) out.push(tmpfsMount(clean(dest), data));
    for (const p of points) {
      if (Object.prototype.hasOwnProperty.call(tmpfs, p.Destination)) continue;
      if (p.Type === 'tmpfs') {
        out.push(tmpfsMount(p.Destination, convertTmpfsOptions(p.Spec.TmpfsOptions, !!p.Spec.ReadOnly)));
        continue;
      }
      let source = p.Source;
      if (p.Type === 'volume' && p.Name) {
        source = await volumes.mount(p.Name);
        mounted.push(p.Name);
        const sub = p.Spec.VolumeOptions?.Subpath;
        if (sub) source = await subpathSource(source, sub);
      } else if (p.Type === 'bind' && !p.SkipMountpointCreation) {
        // -v creates a missing source directory (a file there is fine too).
        try {
          const made = await mkdir(source, { recursive: true, mode: 0o755 });
          if (made !== undefined && opts.newSourceOwner) await chownMade(made, source, opts.newSourceOwner);
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST' && errnoCode(err) !== 'ENOTDIR') {
            throw invalidParameter(`error while creating mount source path '${source}': ${(err as Error).message}`);
          }
        }
      }
      const bo = p.Type === 'bind' ? p.Spec.BindOptions : undefined;
      if (bo) {
        if (!p.Spec.ReadOnly && bo.ReadOnlyNonRecursive) throw invalidParameter('mount options conflict: !ReadOnly && BindOptions.ReadOnlyNonRecursive');
        if (!p.Spec.ReadOnly && bo.ReadOnlyForceRecursive) throw invalidParameter('mount options conflict: !ReadOnly && BindOptions.ReadOnlyForceRecursive');
        if (bo.ReadOnlyNonRecursive && bo.ReadOnlyForceRecursive) {
          throw invalidParameter('mount options conflict: ReadOnlyNonRecursive && BindOptions.ReadOnlyForceRecursive');
        }
      }
      const options = [bo?.NonRecursive ? 'bind' : 'rbind'];
      if (!p.RW) {
        if (bo?.ReadOnlyForceRecursive && !rro) throw invalidParameter('recursive read-only mounts are not supported by the runtime');
        options.push(bo?.ReadOnlyNonRecursive || !rro ? 'ro' : 'rro');
      }
      if (p.Propagation) options.push(p.Propagation);
      out.push({ destination: p.Destination, source, type: 'bind', options });
      if (p.Type === 'volume' && p.Name) {
        volumes.event('mount', p.Name, {
          driver: p.Driver,
          container: opts.containerId,
          destination: p.Destination,
          'read/write': String(p.RW),
          propagation: p.Propagation,
        });
      }
    }
  } catch (err) {
    for (const name of mounted) await volumes.unmount(name).catch(() => undefined);
    throw err;
  }
  const depth = (d: string): number => (d.match(/\//g) ?? []).length;
  return out.sort((a, b) => depth(a.destination) - depth(b.destination));
}

/** When the container stops: undoes specMounts' volume mounts and emits `unmount` events. */
export async function releaseMounts(points: MountPoint[], volumes: VolumeService, containerId: string): Promise<void> {
  for (const p of points) {
    if (p.Type !== 'volume' || !p.Name) continue;
    await volumes.unmount(p.Name).catch(() => undefined);
    volumes.event('unmount', p.Name, { driver: p.Driver, container: containerId });
  }
}

/**
 * The rootfs propagation a container needs for its bind mounts' propagation (dockerd sets
 * "shared" for [r]shared binds and "rslave" for [r]slave ones); undefined for the default.
 */
export function rootfsPropagation(points: MountPoint[]): 'shared' | 'rslave' | undefined {
  let out: 'shared' | 'rslave' | undefined;
  for (const p of points) {
    if (p.Type !== 'bind') continue;
    if (p.Propagation === 'shared' || p.Propagation === 'rshared') return 'shared';
    if (p.Propagation === 'slave' || p.Propagation === 'rslave') out = 'rslave';
  }
  return out;
}

export const NETWORK_FILES = ['/etc/resolv.conf', '/etc/hostname', '/etc/hosts'];

/** The daemon's own mounts (hosts, resolv.conf…) less those a user mount replaces, then the user's. */
export function mergeSpecMounts(daemonMounts: SpecMount[], userMounts: SpecMount[]): SpecMount[] {
  const dests = new Set(userMounts.map((m) => m.destination));
  return [...daemonMounts.filter((m) => !dests.has(m.destination)), ...userMounts];
}

// ───────────────────────────── views ─────────────────────────────

/** inspect's and `docker ps`'s `Mounts` (dockerd's GetMountPoints). */
export function inspectMounts(points: MountPoint[]): InspectMount[] {
  return points.map((p) => {
    const m: InspectMount = {
      Type: p.Type,
      Source: p.Source,
      Destination: p.Destination,
      Mode: p.Relabel,
      RW: p.RW,
      Propagation: p.Propagation,
    };
    if (p.Name) m.Name = p.Name;
    if (p.Driver) m.Driver = p.Driver;
    // Field order as dockerd's JSON: Type, Name, Source, Destination, Driver, Mode, RW, Propagation.
    return {
      Type: m.Type,
      ...(m.Name !== undefined ? { Name: m.Name } : {}),
      Source: m.Source,
      Destination: m.Destination,
      ...(m.Driver !== undefined ? { Driver: m.Driver } : {}),
      Mode: m.Mode,
      RW: m.RW,
      Propagation: m.Propagation,
    };
  });
}

/** Mount points as config.v2.json's MountPoints map (keyed by destination). */
export function mountPointsRecord(points: MountPoint[]): Record<string, MountPoint> {
  return Object.fromEntries(points.map((p) => [p.Destination, p]));
}

/**
 * `docker rm` (dockerd's removeMountPoints): drops the container's volume references and, with
 * `removeVolumes` (rm -v, --rm), removes the volumes it was given without a name (-v /path,
 * image VOLUMEs, --mount without source); ones still in use elsewhere are kept.
 */
export async function removeMountPoints(points: MountPoint[], volumes: VolumeService, containerId: string, removeVolumes: boolean): Promise<void> {
  for (const p of points) {
    if (p.Type !== 'volume' || !p.Name) continue;
    volumes.release(p.Name, containerId);
    if (!removeVolumes || p.Spec.Source) continue;
    await volumes.remove(p.Name).catch(() => undefined); // in use elsewhere, or already gone
  }
}

/**
 * Daemon start-up: re-registers a container's volume references (not persisted, as in dockerd)
 * and, for a container still running (live restore), counts its existing volume mounts.
 */
export function restoreMountPoints(points: MountPoint[], volumes: VolumeService, containerId: string, running: boolean): void {
  for (const p of points) {
    if (p.Type !== 'volume' || !p.Name || !volumes.has(p.Name)) continue;
    volumes.acquire(p.Name, containerId);
    if (running) volumes.liveRestore(p.Name);
  }
}
