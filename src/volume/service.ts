// The volume service: dockerd's volume/service on the `local` driver. Volumes live under
// <data-root>/volumes/<name>/ with their content in _data/, their mount options in opts.json
// (as dockerd) and Berth's metadata (labels, options, creation time) in meta.json, written
// atomically. References (which containers use a volume) are kept in memory: the daemon
// re-registers them for every container at start-up, as dockerd does.

import { chownToRemappedRoot, type IdentityMapping } from '../pkg/idmap.js';
import { lstat, mkdir, readdir, realpath, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Logger } from 'pino';
import type { Filters } from '../api/types/filters.js';
import { getBoolOrDefault, matchKVList, validateFilters } from '../api/types/filters.js';
import { readJSON, writeJSONAtomic } from '../pkg/atomicfile.js';
import { BerthError, conflict, errnoCode, invalidParameter, notFound, systemError } from '../pkg/errors.js';
import { rfc3339Local } from '../pkg/timeutil.js';
import { Mutex } from '../pkg/mutex.js';
import { generateID } from '../pkg/stringid.js';
import { isMounted, localOptsFrom, mountLocal, needsMount, unmountLocal, validateLocalOpts, type LocalOpts } from './local.js';
import type { Volume, VolumeCreateRequest, VolumeListResponse, VolumesPruneReport } from '../api/types/volume.js';

export const DEFAULT_DRIVER = 'local';
export const ANONYMOUS_LABEL = 'com.docker.volume.anonymous';
const DATA_DIR = '_data';
const OPTS_FILE = 'opts.json';
const META_FILE = 'meta.json';
const NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const NAME_RE = new RegExp(`^${NAME_CHARS}+$`);

export type VolumeEventHandler = (action: string, name: string, attributes: Record<string, string>) => void;

interface Meta {
  Name: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  CreatedAt: string;
}

interface LocalVolume {
  meta: Meta;
  opts?: LocalOpts;
  rootPath: string;
  path: string;
  refs: Set<string>;
  /** Mounts of the device by containers (and copy-ups, cp…); only for volumes that need a mount. */
  active: number;
  mounted: boolean;
}

/** dockerd's message for names the local driver refuses (undefined when valid). */
export function volumeNameError(name: string): string | undefined {
  if (name.length === 1) return 'volume name is too short, names should be at least two alphanumeric characters';
  if (!NAME_RE.test(name)) {
    return `${JSON.stringify(name)} includes invalid characters for a local volume name, only ${JSON.stringify(NAME_CHARS)} are allowed. If you intended to pass a host directory, use absolute path`;
  }
  return undefined;
}

/** Go's strconv.ParseBool. */
function parseGoBool(s: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  return undefined;
}

/** Bytes used under `dir` (regular files and symlinks, each inode once), as dockerd's directory.Size. */
export async function dirSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let size = 0;
  const walk = async (d: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(d);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const n of names) {
      const p = join(d, n);
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (seen.has(key)) continue;
      seen.add(key);
      size += st.size;
    }
  };
  await walk(dir);
  return size;
}

export interface VolumeServiceOptions {
  /** <data-root>/volumes */
  root: string;
  logger?: Logger;
  onEvent?: VolumeEventHandler;
  /** --userns-remap: a new volume's _data belongs to the remapped root (dockerd's local driver). */
  idMap?: IdentityMapping;
}

export class VolumeService {
  private readonly volumes = new Map<string, LocalVolume>();
  private readonly lock = new Mutex();
  private pruning = false;

  private constructor(
    readonly root: string,
    private readonly logger: Logger | undefined,
    private readonly onEvent: VolumeEventHandler | undefined,
    private readonly idMap: IdentityMapping | undefined,
  ) {}

  /** Opens (creating) the volumes root and loads every volume in it. */
  static async open(opts: VolumeServiceOptions): Promise<VolumeService> {
    const root = posix.resolve(opts.root);
    await mkdir(root, { recursive: true, mode: 0o701 });
    const s = new VolumeService(root, opts.logger, opts.onEvent, opts.idMap);
    for (const ent of await readdir(root, { withFileTypes: true })) {
      if (!ent.isDirectory() || volumeNameError(ent.name) !== undefined) continue;
      const rootPath = join(root, ent.name);
      const meta = await readJSON<Meta>(join(rootPath, META_FILE)).catch(() => undefined);
      const opts2 = await readJSON<LocalOpts>(join(rootPath, OPTS_FILE)).catch(() => undefined);
      const hasData = await lstat(join(rootPath, DATA_DIR)).then(() => true, () => false);
      if (!meta && !opts2 && !hasData) continue; // not a volume (an interrupted create)
      let createdAt = meta?.CreatedAt;
      if (!createdAt) createdAt = rfc3339Local((await stat(rootPath)).ctime);
      const v: LocalVolume = {
        meta: {
          Name: ent.name,
          Driver: meta?.Driver ?? DEFAULT_DRIVER,
          Labels: meta?.Labels ?? null,
          Options: meta?.Options ?? null,
          CreatedAt: createdAt,
        },
        opts: opts2 ?? undefined,
        rootPath,
        path: join(rootPath, DATA_DIR),
        refs: new Set(),
        active: 0,
        mounted: false,
      };
      if (needsMount(v.opts)) v.mounted = await isMounted(v.path).catch(() => false);
      s.volumes.set(ent.name, v);
    }
    return s;
  }

  /** Publishes a volume event (create, destroy, mount, unmount, prune). */
  event(action: string, name: string, attributes: Record<string, string>): void {
    this.onEvent?.(action, name, attributes);
  }

  private toAPI(v: LocalVolume): Volume {
    return {
      CreatedAt: v.meta.CreatedAt,
      Driver: v.meta.Driver,
      Labels: v.meta.Labels,
      Mountpoint: v.path,
      Name: v.meta.Name,
      Options: v.meta.Options,
      Scope: 'local',
    };
  }

  private get(name: string, op = 'get'): LocalVolume {
    const v = this.volumes.get(name);
    if (!v) throw notFound(`${op} ${name}: no such volume`);
    return v;
  }

  /** The _data directory of a volume. */
  path(name: string): string {
    return this.get(name).path;
  }

  has(name: string): boolean {
    return this.volumes.has(name);
  }

  /**
   * POST /volumes/create, and the volumes containers ask for. An empty name makes an anonymous
   * volume (64-hex name, label com.docker.volume.anonymous). An existing volume is returned as
   * it is. With `reference`, the container is registered as a user in the same step.
   */
  async create(req: VolumeCreateRequest, opts: { reference?: string } = {}): Promise<Volume> {
    let name = req.Name ?? '';
    let labels = req.Labels ?? null;
    const driver = req.Driver || DEFAULT_DRIVER;
    if (name === '') {
      name = generateID();
      labels = { ...(labels ?? {}), [ANONYMOUS_LABEL]: '' };
    }
    return this.lock.run(async () => {
      const existing = this.volumes.get(name);
      if (existing) {
        if (req.Driver && req.Driver !== existing.meta.Driver) {
          throw conflict(`create ${name}: volume name must be unique: driver '${existing.meta.Driver}' already has volume '${name}'`);
        }
        if (opts.reference) existing.refs.add(opts.reference);
        return this.toAPI(existing);
      }
      if (driver !== DEFAULT_DRIVER) {
        throw notFound(`create ${name}: error looking up volume plugin ${driver}: plugin ${JSON.stringify(driver)} not found`);
      }
      const nameErr = volumeNameError(name);
      if (nameErr) throw invalidParameter(`create ${name}: ${nameErr}`);
      try {
        validateLocalOpts(req.DriverOpts);
      } catch (err) {
        throw invalidParameter(`create ${name}: ${(err as Error).message}`);
      }
      const rootPath = join(this.root, name);
      const v: LocalVolume = {
        meta: {
          Name: name,
          Driver: driver,
          Labels: labels,
          Options: req.DriverOpts ?? null,
          CreatedAt: rfc3339Local(new Date()),
        },
        opts: localOptsFrom(req.DriverOpts),
        rootPath,
        path: join(rootPath, DATA_DIR),
        refs: new Set(opts.reference ? [opts.reference] : []),
        active: 0,
        mounted: false,
      };
      try {
        await mkdir(rootPath, { mode: 0o701 });
        if (v.opts) await writeJSONAtomic(join(rootPath, OPTS_FILE), v.opts);
        await writeJSONAtomic(join(rootPath, META_FILE), v.meta);
        await mkdir(v.path, { mode: 0o755 });
        if (this.idMap) await chownToRemappedRoot(v.path, this.idMap);
      } catch (err) {
        await rm(rootPath, { recursive: true, force: true }).catch(() => undefined);
        if (err instanceof BerthError) throw err;
        throw systemError(`create ${name}: error while creating volume root path '${rootPath}': ${(err as Error).message}`, err);
      }
      this.volumes.set(name, v);
      this.event('create', name, { driver });
      return this.toAPI(v);
    });
  }

  /** GET /volumes/{name} */
  async inspect(name: string): Promise<Volume> {
    return this.toAPI(this.get(name));
  }

  /** GET /volumes, with dockerd's filters: dangling, driver, label, name. */
  async list(filters: Filters = new Map()): Promise<VolumeListResponse> {
    validateFilters(filters, ['dangling', 'name', 'driver', 'label']);
    const match = this.matcher(filters);
    const vols = [...this.volumes.values()].filter(match).sort((a, b) => (a.meta.Name < b.meta.Name ? -1 : 1));
    return { Volumes: vols.map((v) => this.toAPI(v)), Warnings: null };
  }

  private matcher(filters: Filters): (v: LocalVolume) => boolean {
    const dangling = filters.has('dangling') ? getBoolOrDefault(filters, 'dangling', false) : undefined;
    const names = (filters.get('name') ?? []).map((n) => {
      try {
        return new RegExp(n);
      } catch {
        return undefined;
      }
    });
    const drivers = filters.get('driver') ?? [];
    return (v) => {
      if (drivers.length > 0 && !drivers.includes(v.meta.Driver)) return false;
      if (filters.has('name') && names.length > 0 && !names.some((re) => re?.test(v.meta.Name))) return false;
      const labels = v.meta.Labels ?? {};
      if (!matchKVList(filters, 'label', labels)) return false;
      if ((filters.get('label!') ?? []).length > 0 && matchKVList(filters, 'label!', labels)) return false;
      if (dangling !== undefined && (v.refs.size === 0) !== dangling) return false;
      return true;
    };
  }

  /** DELETE /volumes/{name}: 409 while containers use it; with force a missing volume is fine. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.lock.run(async () => {
      const v = this.volumes.get(name);
      if (!v) {
        if (opts.force) return;
        throw notFound(`get ${name}: no such volume`);
      }
      await this.removeLocked(v);
    });
  }

  private async removeLocked(v: LocalVolume): Promise<void> {
    const name = v.meta.Name;
    if (v.refs.size > 0) throw conflict(`remove ${name}: volume is in use - [${[...v.refs].join(', ')}]`);
    if (v.active > 0) throw systemError(`remove ${name}: volume has active mounts`);
    if (v.mounted || (needsMount(v.opts) && (await isMounted(v.path)))) {
      await unmountLocal(v.path);
      v.mounted = false;
    }
    // Never remove anything outside the volumes root (a _data replaced by a symlink, say).
    let real = v.path;
    try {
      real = await realpath(v.path);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
      real = v.rootPath;
    }
    if (real === this.root || !real.startsWith(this.root + '/')) {
      throw systemError(`remove ${name}: unable to remove a directory outside of the local volume root ${this.root}: ${real}`);
    }
    await rm(v.rootPath, { recursive: true, force: true });
    this.volumes.delete(name);
    this.event('destroy', name, { driver: v.meta.Driver });
  }

  /**
   * POST /volumes/prune: unused local volumes without driver options; only anonymous ones
   * unless the `all` filter is true (API ≥ 1.42; the router adds all=true for older clients).
   */
  async prune(filters: Filters = new Map()): Promise<VolumesPruneReport> {
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      validateFilters(filters, ['label', 'label!', 'all']);
      const f: Filters = new Map(filters);
      const all = f.get('all') ?? [];
      f.delete('all');
      let pruneAll = false;
      if (all.length > 1) throw invalidParameter(`invalid filter 'all=[${all.join(' ')}]': only one value is expected`);
      if (all.length === 1) {
        const b = parseGoBool(all[0]!);
        if (b === undefined) throw invalidParameter(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(all[0])}: invalid syntax`);
        pruneAll = b;
      }
      if (!pruneAll) f.set('label', [...(f.get('label') ?? []), ANONYMOUS_LABEL]);
      const match = this.matcher(f);
      const deleted: string[] = [];
      let reclaimed = 0;
      for (const v of [...this.volumes.values()]) {
        if (v.meta.Driver !== DEFAULT_DRIVER || v.refs.size > 0) continue;
        if (v.meta.Options && Object.keys(v.meta.Options).length > 0) continue;
        if (!match(v)) continue;
        const size = await dirSize(v.path).catch(() => 0);
        try {
          await this.lock.run(() => this.removeLocked(v));
        } catch (err) {
          this.logger?.warn({ err, volume: v.meta.Name }, 'prune: could not remove volume');
          continue;
        }
        deleted.push(v.meta.Name);
        reclaimed += size;
      }
      this.event('prune', '', { reclaimed: String(reclaimed) });
      return { VolumesDeleted: deleted, SpaceReclaimed: reclaimed };
    } finally {
      this.pruning = false;
    }
  }

  /** Registers `containerId` as a user of the volume (404 when it does not exist). */
  acquire(name: string, containerId: string): Volume {
    const v = this.get(name);
    v.refs.add(containerId);
    return this.toAPI(v);
  }

  /** Drops `containerId`'s reference; unknown volumes and ids are ignored. */
  release(name: string, containerId: string): void {
    this.volumes.get(name)?.refs.delete(containerId);
  }

  /** The containers that use the volume. */
  references(name: string): string[] {
    return [...(this.volumes.get(name)?.refs ?? [])];
  }

  /** Volume names `containerId` references. */
  volumesOf(containerId: string): string[] {
    return [...this.volumes.values()].filter((v) => v.refs.has(containerId)).map((v) => v.meta.Name);
  }

  /**
   * Makes the volume's content available and returns its _data path: a volume with mount
   * options is mounted by its first user. Pair every call with unmount().
   */
  async mount(name: string): Promise<string> {
    return this.lock.run(async () => {
      const v = this.get(name);
      if (needsMount(v.opts)) {
        if (!v.mounted) {
          try {
            await mountLocal(v.opts!, v.path);
          } catch (err) {
            throw systemError(`error while mounting volume '${v.path}': ${(err as Error).message}`, err);
          }
          v.mounted = true;
        }
        v.active++;
      }
      return v.path;
    });
  }

  /** Undoes one mount(); the last one unmounts the device. */
  async unmount(name: string): Promise<void> {
    await this.lock.run(async () => {
      const v = this.volumes.get(name);
      if (!v || !needsMount(v.opts)) return;
      if (v.active > 0) v.active--;
      if (v.active > 0 || !v.mounted) return;
      await unmountLocal(v.path);
      v.mounted = false;
    });
  }

  /** After a daemon restart, counts a running container's existing mount (dockerd's LiveRestoreVolume). */
  liveRestore(name: string): void {
    const v = this.volumes.get(name);
    if (!v || !needsMount(v.opts)) return;
    v.active++;
    v.mounted = true;
  }

  /** For `docker system df`: local volumes without options, with their size and reference count. */
  async usage(): Promise<Volume[]> {
    const out: Volume[] = [];
    for (const v of this.volumes.values()) {
      if (v.meta.Driver !== DEFAULT_DRIVER || (v.meta.Options && Object.keys(v.meta.Options).length > 0)) continue;
      const size = await dirSize(v.path).catch(() => -1);
      out.push({ ...this.toAPI(v), UsageData: { Size: size, RefCount: v.refs.size } });
    }
    return out.sort((a, b) => (a.Name < b.Name ? -1 : 1));
  }

  /** Unmounts every volume this service mounted (daemon shutdown without live restore). */
  async shutdown(): Promise<void> {
    for (const v of this.volumes.values()) {
      if (v.mounted && v.active === 0) await unmountLocal(v.path).catch(() => undefined);
    }
  }
}
