// The grammar of a container's mounts, as dockerd's registerMountPoints (daemon/volumes.go), its
// anonymous volumes (create_unix.go) and volume/mounts' parser: -v (HostConfig.Binds), --mount
// (HostConfig.Mounts), --tmpfs (HostConfig.Tmpfs), --volumes-from and Config.Volumes (-v /path and
// the image's VOLUMEs) become MountPoints. mounts.ts sets them up.

import { posix } from 'node:path';
import type { MountSpec, MountType } from '../api/types/mount.js';
import { BerthError, invalidParameter } from '../pkg/errors.js';
import { exists } from '../pkg/fsutil.js';
import { ScopedRoot } from '../pkg/scopedfs.js';
import { DEFAULT_DRIVER, type VolumeService } from './service.js';
import type { MountPoint } from './types.js';

// ───────────────────────────── the -v / --mount grammar ─────────────────────────────

const rwModes = new Set(['rw', 'ro', 'ro-non-recursive', 'ro-force-recursive', 'rro']);
const labelModes = new Set(['z', 'Z']);
const propagationModes = new Set(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared']);
const copyModes = new Set(['nocopy']);
const consistencyModes = new Set(['consistent', 'cached', 'delegated']);
export const DEFAULT_PROPAGATION = 'rprivate';

/** The subset of ContainerConfig mounts need. */
export interface MountsConfig {
  Volumes?: Record<string, unknown> | null;
}

/** The subset of HostConfig mounts need. */
export interface MountsHostConfig {
  Binds?: string[] | null;
  Mounts?: unknown[] | null;
  Tmpfs?: Record<string, string> | null;
  VolumesFrom?: string[] | null;
  VolumeDriver?: string;
}

class MountConfigError extends BerthError {
  constructor(type: string | undefined, msg: string) {
    super('invalid-parameter', `invalid mount config for type ${JSON.stringify(type ?? '')}: ${msg}`);
  }
}

const errInvalidSpec = (raw: string): string => `invalid volume specification: '${raw}'`;
const errInvalidMode = (mode: string): BerthError => invalidParameter(`invalid mode: ${mode}`);

export function validMountMode(mode: string): boolean {
  if (mode === '') return true;
  const counts = { rw: 0, label: 0, prop: 0, copy: 0, cons: 0 };
  for (const o of mode.split(',')) {
    if (rwModes.has(o)) counts.rw++;
    else if (labelModes.has(o)) counts.label++;
    else if (propagationModes.has(o)) counts.prop++;
    else if (copyModes.has(o)) counts.copy++;
    else if (consistencyModes.has(o)) counts.cons++;
    else return false;
  }
  return Object.values(counts).every((n) => n <= 1);
}

/** A mode string allows writes (dockerd's ReadWrite). */
export function readWrite(mode: string): boolean {
  if (!validMountMode(mode)) return false;
  return !mode.split(',').includes('ro');
}

const hasPropagation = (mode: string): boolean => mode.split(',').some((o) => propagationModes.has(o));
const propagationOf = (mode: string): string => mode.split(',').find((o) => propagationModes.has(o)) ?? DEFAULT_PROPAGATION;

/** Go's path.Clean for absolute/relative slash paths. */
export const clean = (p: string): string => (p === '' ? '.' : posix.normalize(p).replace(/(.)\/+$/, '$1'));

function validateTarget(m: MountSpec): void {
  const target = m.Target ?? '';
  if (target === '') throw new MountConfigError(m.Type, 'field Target must not be empty');
  if (clean(target.replaceAll('\\', '/')) === '/') throw new MountConfigError(m.Type, "invalid specification: destination can't be '/'");
  if (!target.replaceAll('\\', '/').startsWith('/')) {
    throw new MountConfigError(m.Type, `invalid mount path: '${target}' mount path must be absolute`);
  }
}

const isLocalPath = (p: string): boolean => {
  if (p === '' || p.startsWith('/') || p.includes('\0')) return false;
  const n = posix.normalize(p);
  return n !== '..' && !n.startsWith('../');
};

/** tmpfs TmpfsOptions → the mount data string (dockerd's ConvertTmpfsOptions). */
export function convertTmpfsOptions(opt: MountSpec['TmpfsOptions'], readOnly: boolean): string {
  const raw: string[] = [];
  if (readOnly) raw.push('ro');
  if (opt?.Mode) raw.push(`mode=${(opt.Mode & 0o7777777).toString(8)}`);
  if (opt?.SizeBytes) {
    let size = opt.SizeBytes;
    let suffix = '';
    for (const [s, div] of [['g', 2 ** 30], ['m', 2 ** 20], ['k', 2 ** 10]] as const) {
      if (size % div === 0) {
        size = size / div;
        suffix = s;
        break;
      }
    }
    raw.push(`size=${size}${suffix}`);
  }
  for (const o of opt?.Options ?? []) {
    if (!Array.isArray(o) || o.length < 1 || o.length > 2) throw new Error('invalid option array length');
    if (o[0] !== 'exec' && o[0] !== 'noexec') throw new Error(`invalid option: ${o[0]}`);
    raw.push(o.length === 1 ? o[0]! : `${o[0]}=${o[1]}`);
  }
  return raw.join(',');
}

/**
 * Validates one HostConfig.Mounts entry with dockerd's messages (validateMountConfigImpl).
 * `checkBindSource` is false for -v binds, whose missing sources are created.
 */
export async function validateMountSpec(m: MountSpec, checkBindSource = true): Promise<void> {
  const type = m.Type;
  const extra = (field: string): never => {
    throw new MountConfigError(type, `field ${field} must not be specified`);
  };
  if (type !== 'bind' && m.BindOptions) extra('BindOptions');
  if (type !== 'volume' && m.VolumeOptions) extra('VolumeOptions');
  if (type !== 'image' && m.ImageOptions) extra('ImageOptions');
  if (type !== 'tmpfs' && m.TmpfsOptions) extra('TmpfsOptions');
  if (type !== 'cluster' && m.ClusterOptions) extra('ClusterOptions');
  validateTarget(m);
  switch (type) {
    case 'bind': {
      const src = m.Source ?? '';
      if (src === '') throw new MountConfigError(type, 'field Source must not be empty');
      const prop = m.BindOptions?.Propagation;
      if (prop && !propagationModes.has(prop)) throw new MountConfigError(type, `invalid propagation mode: ${prop}`);
      if (!src.replaceAll('\\', '/').startsWith('/')) throw new MountConfigError(type, `invalid mount path: '${src}' mount path must be absolute`);
      if (checkBindSource && !m.BindOptions?.CreateMountpoint && !(await exists(src))) {
        throw new MountConfigError(type, `bind source path does not exist: ${src}`);
      }
      break;
    }
    case 'volume': {
      const anonymous = !m.Source;
      const sub = m.VolumeOptions?.Subpath ?? '';
      if (sub !== '') {
        if (anonymous) throw new MountConfigError(type, 'must not set Subpath when using anonymous volumes');
        if (!isLocalPath(sub)) throw new MountConfigError(type, 'subpath must be a relative path within the volume');
      }
      break;
    }
    case 'tmpfs':
      if (m.Source) throw new MountConfigError(type, 'field Source must not be specified');
      try {
        convertTmpfsOptions(m.TmpfsOptions, !!m.ReadOnly);
      } catch (err) {
        throw new MountConfigError(type, (err as Error).message);
      }
      break;
    case 'image':
      throw new MountConfigError(type, 'image mounts are not supported');
    default:
      throw new MountConfigError(type, 'mount type unknown');
  }
}

function pointFromSpec(spec: MountSpec): MountPoint {
  const type = spec.Type as MountType;
  const mp: MountPoint = {
    Source: '',
    Destination: clean(spec.Target!.replaceAll('\\', '/')),
    RW: !spec.ReadOnly,
    Name: '',
    Driver: '',
    Type: type,
    Relabel: '',
    Propagation: '',
    Spec: spec,
  };
  if (type === 'volume') {
    if (spec.Source) mp.Name = spec.Source;
    mp.CopyData = !spec.VolumeOptions?.NoCopy;
    if (spec.VolumeOptions?.DriverConfig?.Name) mp.Driver = spec.VolumeOptions.DriverConfig.Name;
  } else if (type === 'bind') {
    mp.Source = clean(spec.Source!.replaceAll('\\', '/'));
    mp.Propagation = spec.BindOptions?.Propagation || DEFAULT_PROPAGATION;
  }
  return mp;
}

/** Parses one `-v` / HostConfig.Binds entry (dockerd's ParseMountRaw). */
export async function parseBind(raw: string, volumeDriver = ''): Promise<MountPoint> {
  const arr = raw.split(':');
  const parts = arr.length > 4 ? [...arr.slice(0, 3), arr.slice(3).join(':')] : arr;
  if (parts[0] === '') throw invalidParameter(errInvalidSpec(raw));
  const spec: MountSpec = {};
  let mode = '';
  switch (parts.length) {
    case 1:
      spec.Target = parts[0];
      break;
    case 2:
      if (validMountMode(parts[1]!)) throw invalidParameter(errInvalidSpec(raw));
      spec.Source = parts[0];
      spec.Target = parts[1];
      break;
    case 3:
      spec.Source = parts[0];
      spec.Target = parts[1];
      mode = parts[2]!;
      break;
    default:
      throw invalidParameter(errInvalidSpec(raw));
  }
  if (!validMountMode(mode)) throw errInvalidMode(mode);
  spec.Type = (spec.Source ?? '').startsWith('/') ? 'bind' : 'volume';
  spec.ReadOnly = !readWrite(mode);
  if (volumeDriver && spec.Type === 'volume') spec.VolumeOptions = { DriverConfig: { Name: volumeDriver } };
  if (mode.split(',').includes('nocopy')) spec.VolumeOptions = { ...(spec.VolumeOptions ?? {}), NoCopy: true };
  if (hasPropagation(mode)) spec.BindOptions = { Propagation: propagationOf(mode) };
  try {
    await validateMountSpec(spec, false);
  } catch (err) {
    throw invalidParameter(`${errInvalidSpec(raw)}: ${(err as Error).message}`);
  }
  const mp = pointFromSpec(spec);
  mp.Relabel = mode;
  return mp;
}

/** Parses one `--volumes-from` entry: container reference and mode ("rw" by default). */
export function parseVolumesFrom(spec: string): { id: string; mode: string } {
  if (spec === '') throw invalidParameter('volumes-from specification cannot be an empty string');
  const i = spec.indexOf(':');
  const id = i < 0 ? spec : spec.slice(0, i);
  const mode = i < 0 ? '' : spec.slice(i + 1);
  if (mode === '') return { id, mode: 'rw' };
  if (!validMountMode(mode) || hasPropagation(mode) || mode.split(',').includes('nocopy')) throw errInvalidMode(mode);
  return { id, mode };
}

/** Validates HostConfig.Tmpfs destinations (dockerd's ValidateTmpfsMountDestination). */
export function validateTmpfsDestinations(tmpfs: Record<string, string> | null | undefined): void {
  for (const dest of Object.keys(tmpfs ?? {})) {
    if (clean(dest.replaceAll('\\', '/')) === '/') throw invalidParameter("invalid specification: destination can't be '/'");
    if (!dest.startsWith('/')) throw invalidParameter(`invalid mount path: '${dest}' mount path must be absolute`);
  }
}

// ───────────────────────────── registering a container's mounts ─────────────────────────────

export interface ParseLookups {
  /** The container being created (volume references are registered under it). */
  containerId: string;
  volumes: VolumeService;
  /** The MountPoints of a container named in --volumes-from (throw not-found for unknown ones). */
  volumesFrom(ref: string): MountPoint[] | Promise<MountPoint[]>;
  /** The daemon's data root: bind sources in (or above) it get rslave propagation, as dockerd. */
  dataRoot?: string;
  /** API < 1.44: read-only -v binds are read-only non-recursively (dockerd's defaultReadOnlyNonRecursive). */
  readOnlyNonRecursive?: boolean;
  /** The container's mounted rootfs: anonymous volumes over an existing file are refused. */
  rootfs?: string;
  /** Earlier MountPoints of this container (re-registration); default none. */
  existing?: MountPoint[];
}

export const duplicateMountPoint = (dest: string): BerthError => invalidParameter(`Duplicate mount point: ${dest}`);

function bindInDataRoot(spec: MountSpec, dataRoot: string | undefined): boolean {
  if (spec.Type !== 'bind' || !dataRoot) return false;
  const src = spec.Source ?? '';
  if (!src.startsWith(dataRoot) && !dataRoot.startsWith(src)) return false;
  const prop = spec.BindOptions?.Propagation ?? '';
  if (prop === 'rslave' || prop === 'rshared' || prop === '') return prop === '';
  throw invalidParameter(
    `invalid mount config: must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root, daemon root: ${JSON.stringify(dataRoot)}, bind mount source: ${JSON.stringify(src)}, propagation: ${JSON.stringify(prop)}`,
  );
}

/**
 * A new container's MountPoints, in dockerd's order: --volumes-from, then -v binds, then
 * --mount, then anonymous volumes for Config.Volumes destinations nothing else covers. Named and
 * anonymous volumes are created as needed and referenced by the container; on error every
 * reference taken here is released and the anonymous volumes made here are removed.
 */
export async function parseMounts(cfg: MountsConfig, hc: MountsHostConfig, lookups: ParseLookups): Promise<MountPoint[]> {
  const { volumes, containerId } = lookups;
  const points = new Map<string, MountPoint>();
  for (const p of lookups.existing ?? []) points.set(p.Destination, p);
  const binds = new Set<string>();
  const taken: string[] = [];
  const anonymous: string[] = [];
  const tmpfs = hc.Tmpfs ?? {};

  const take = async (name: string, driver: string, extra: { DriverOpts?: Record<string, string> | null; Labels?: Record<string, string> | null } = {}) => {
    const v = await volumes.create({ Name: name, Driver: driver, ...extra }, { reference: containerId });
    taken.push(v.Name);
    if (!name) anonymous.push(v.Name);
    return v;
  };
  const replace = (p: MountPoint): void => {
    const old = points.get(p.Destination);
    if (old && old.Type === 'volume' && old.Name && !taken.includes(old.Name)) volumes.release(old.Name, containerId);
    points.set(p.Destination, p);
  };

  try {
    validateTmpfsDestinations(tmpfs);
    for (const m of (hc.Mounts ?? []) as MountSpec[]) await validateMountSpec(m);

    // 1. --volumes-from
    for (const spec of hc.VolumesFrom ?? []) {
      const { id, mode } = parseVolumesFrom(spec);
      let theirs: MountPoint[];
      try {
        theirs = await lookups.volumesFrom(id);
      } catch (err) {
        throw invalidParameter(err instanceof Error ? err.message : String(err));
      }
      for (const m of theirs) {
        const cp: MountPoint = { ...m, RW: m.RW && readWrite(mode), CopyData: false, Spec: { ...m.Spec } };
        if (cp.Type === 'volume' && cp.Name) {
          volumes.acquire(cp.Name, containerId);
          taken.push(cp.Name);
        }
        replace(cp);
      }
    }

    // 2. -v binds
    for (const b of hc.Binds ?? []) {
      const bind = await parseBind(b, hc.VolumeDriver ?? '');
      if (bindInDataRoot(bind.Spec, lookups.dataRoot)) bind.Propagation = 'rslave';
      if (binds.has(bind.Destination) || Object.prototype.hasOwnProperty.call(tmpfs, bind.Destination)) {
        throw duplicateMountPoint(bind.Destination);
      }
      if (bind.Type === 'volume') {
        const v = await take(bind.Name, bind.Driver);
        bind.Name = v.Name;
        bind.Source = v.Mountpoint;
        bind.Driver = v.Driver;
        if (bind.Driver === DEFAULT_DRIVER && bind.Relabel === '') bind.Relabel = 'z';
      }
      if (bind.Type === 'bind' && !bind.RW && lookups.readOnlyNonRecursive) {
        bind.Spec.BindOptions = { ...(bind.Spec.BindOptions ?? {}), ReadOnlyNonRecursive: true };
      }
      binds.add(bind.Destination);
      replace(bind);
    }

    // 3. --mount
    for (const spec of (hc.Mounts ?? []) as MountSpec[]) {
      const mp = pointFromSpec(spec);
      if (bindInDataRoot(spec, lookups.dataRoot)) mp.Propagation = 'rslave';
      if (binds.has(mp.Destination)) throw duplicateMountPoint(spec.Target ?? mp.Destination);
      if (mp.Type === 'volume') {
        const vo = spec.VolumeOptions;
        const v = await take(mp.Name, mp.Driver, vo ? { DriverOpts: vo.DriverConfig?.Options ?? null, Labels: vo.Labels ?? null } : {});
        mp.Name = v.Name;
        mp.Driver = v.Driver;
        mp.Source = v.Mountpoint;
        if (mp.Driver === DEFAULT_DRIVER && mp.Relabel === '') mp.Relabel = 'z';
      } else if (mp.Type === 'bind') {
        if (!spec.BindOptions?.CreateMountpoint) mp.SkipMountpointCreation = true;
        if (!mp.RW && lookups.readOnlyNonRecursive) {
          mp.Spec = { ...spec, BindOptions: { ...(spec.BindOptions ?? {}), ReadOnlyNonRecursive: true } };
        }
      }
      binds.add(mp.Destination);
      replace(mp);
    }

    // 4. Config.Volumes: anonymous volumes where nothing else is mounted.
    for (const spec of Object.keys(cfg.Volumes ?? {})) {
      let dest = clean(spec);
      if (!dest.startsWith('/')) dest = '/' + dest;
      if (points.has(dest) || Object.prototype.hasOwnProperty.call(tmpfs, dest)) continue;
      if (lookups.rootfs) await refuseFileTarget(lookups.rootfs, dest);
      const v = await take('', hc.VolumeDriver ?? '');
      points.set(dest, {
        Source: v.Mountpoint,
        Destination: dest,
        RW: true,
        Name: v.Name,
        Driver: v.Driver,
        Type: 'volume',
        Relabel: '',
        Propagation: '',
        CopyData: true,
        Spec: {},
      });
    }
  } catch (err) {
    for (const name of taken) volumes.release(name, containerId);
    for (const name of anonymous) await volumes.remove(name, { force: true }).catch(() => undefined);
    throw err;
  }
  return [...points.values()].sort((a, b) => (a.Destination < b.Destination ? -1 : a.Destination > b.Destination ? 1 : 0));
}

async function refuseFileTarget(rootfs: string, dest: string): Promise<void> {
  const r = await ScopedRoot.open(rootfs);
  try {
    const res = await r.resolve(dest, { followFinal: true }).catch(() => undefined);
    if (!res) return;
    try {
      if (res.stat && !res.stat.isDirectory()) {
        throw invalidParameter(`cannot mount volume over existing file, file exists ${posix.join(rootfs, res.path)}`);
      }
    } finally {
      await res.release();
    }
  } finally {
    await r.close();
  }
}

/** True when a mount point or HostConfig.Tmpfs entry covers `dest` (dockerd's HasMountFor). */
export function hasMountFor(points: MountPoint[], tmpfs: Record<string, string> | null | undefined, dest: string): boolean {
  return points.some((p) => p.Destination === dest) || Object.prototype.hasOwnProperty.call(tmpfs ?? {}, dest);
}
