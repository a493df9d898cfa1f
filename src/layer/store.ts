// The layer store: read-only layers keyed by chain ID, with reference counts, and read-write
// layers for containers, on top of the overlay2 driver. On disk, as dockerd:
//   ${root}/image/overlay2/layerdb/sha256/<chainID>/{diff,size,cache-id,parent}
//   ${root}/image/overlay2/layerdb/mounts/<containerID>/{mount-id,parent}
//   ${root}/image/overlay2/layerdb/tmp/            half-written entries (swept at start)
// chainID(1) = diffID(1); chainID(n) = sha256(chainID(n-1) + " " + diffID(n)).

import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { writeFileAtomic, syncDir } from '../pkg/atomicfile.js';
import { conflict, errnoCode, invalidParameter, notFound } from '../pkg/errors.js';
import { exists } from '../pkg/fsutil.js';
import { applyLayer, type ApplyOptions } from '../archive/apply.js';
import { packDirectory } from '../archive/pack.js';
import { rebuildTar, tarSplitSize } from '../archive/tarsplit.js';
import { Overlay2Driver, type Mount } from '../graphdriver/overlay2/driver.js';
import { directorySize, overlayChanges, unionReadFile, type Change } from './union.js';
import { Mutex } from '../pkg/mutex.js';
import type { IdentityMapping } from '../pkg/idmap.js';

export type { Change } from './union.js';
export type { Mount } from '../graphdriver/overlay2/driver.js';

export interface LayerInfo {
  chainID: string;
  diffID: string;
  parent?: string;
  cacheID: string;
  /** Size of this layer's own content. */
  size: number;
}

export interface RWLayerInfo {
  containerID: string;
  mountID: string;
  parent?: string;
}

/** A layer tar applied into a driver directory of its own, not yet a layer (LayerStore.stage). */
export interface StagedLayer {
  cacheID: string;
  diffID: string;
  size: number;
  tarSize: number;
  /** Its tar-split record, under the store's tmp dir. */
  splitTmp: string;
}

interface LayerEntry extends LayerInfo {
  refs: number;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TAR_SPLIT = 'tar-split.json.gz';


/** chainID of a stack of diffIDs (bottom first). */
export function chainID(diffIDs: string[]): string {
  let id = '';
  for (const d of diffIDs) {
    id = id === '' ? d : `sha256:${createHash('sha256').update(`${id} ${d}`).digest('hex')}`;
  }
  return id;
}

function hex(d: string): string {
  return d.startsWith('sha256:') ? d.slice(7) : d;
}

async function readTrim(p: string): Promise<string | undefined> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export interface LayerStoreOptions {
  /** The data root (default /var/lib/berth). */
  root: string;
  logger?: Logger;
  apply?: ApplyOptions;
  /** --userns-remap: what is applied is stored shifted into these ranges, and shifted back when packed. */
  idMap?: IdentityMapping;
}

export class LayerStore {
  private readonly layers = new Map<string, LayerEntry>();
  private readonly mounts = new Map<string, RWLayerInfo>();
  private readonly lock = new Mutex();
  readonly dbDir: string;

  private constructor(
    readonly driver: Overlay2Driver,
    private readonly opts: LayerStoreOptions,
  ) {
    this.dbDir = join(opts.root, 'image', driver.name, 'layerdb');
  }

  static async open(opts: LayerStoreOptions): Promise<LayerStore> {
    const driver = await Overlay2Driver.init(join(opts.root, 'overlay2'), opts.idMap);
    const s = new LayerStore(driver, opts);
    await mkdir(join(s.dbDir, 'sha256'), { recursive: true, mode: 0o700 });
    await mkdir(join(s.dbDir, 'mounts'), { recursive: true, mode: 0o700 });
    await rm(join(s.dbDir, 'tmp'), { recursive: true, force: true });
    await mkdir(join(s.dbDir, 'tmp'), { recursive: true, mode: 0o700 });
    await s.load();
    await s.sweep();
    return s;
  }

  private async load(): Promise<void> {
    const dir = join(this.dbDir, 'sha256');
    for (const h of await readdir(dir)) {
      if (!/^[a-f0-9]{64}$/.test(h)) continue;
      const d = join(dir, h);
      const diffID = await readTrim(join(d, 'diff'));
      const cacheID = await readTrim(join(d, 'cache-id'));
      const size = Number((await readTrim(join(d, 'size'))) ?? '0');
      const parent = await readTrim(join(d, 'parent'));
      if (!diffID || !cacheID) {
        this.opts.logger?.warn({ chainID: h }, 'ignoring incomplete layer metadata');
        continue;
      }
      this.layers.set(`sha256:${h}`, {
        chainID: `sha256:${h}`,
        diffID,
        cacheID,
        size: Number.isFinite(size) ? size : 0,
        ...(parent ? { parent } : {}),
        refs: 0,
      });
    }
    for (const l of this.layers.values()) {
      if (l.parent) {
        const p = this.layers.get(l.parent);
        if (p) p.refs++;
        else this.opts.logger?.warn({ chainID: l.chainID, parent: l.parent }, 'layer parent missing');
      }
    }
    const mdir = join(this.dbDir, 'mounts');
    for (const name of await readdir(mdir)) {
      if (name.startsWith('.')) continue;
      const mountID = await readTrim(join(mdir, name, 'mount-id'));
      if (!mountID) continue;
      const parent = await readTrim(join(mdir, name, 'parent'));
      this.mounts.set(name, { containerID: name, mountID, ...(parent ? { parent } : {}) });
      if (parent) {
        const p = this.layers.get(parent);
        if (p) p.refs++;
      }
    }
  }

  /** Removes driver directories no layer or mount refers to (half-made registrations). */
  private async sweep(): Promise<void> {
    const known = new Set<string>();
    for (const l of this.layers.values()) known.add(l.cacheID);
    for (const m of this.mounts.values()) {
      known.add(m.mountID);
      known.add(`${m.mountID}-init`);
    }
    for (const name of await this.driver.list()) {
      if (!known.has(name)) {
        this.opts.logger?.info({ id: name }, 'removing unreferenced layer directory');
        await this.driver.remove(name).catch((err: unknown) => this.opts.logger?.warn({ err, id: name }, 'sweep failed'));
      }
    }
    await this.driver.sweepLinks();
    for (const name of await readdir(join(this.dbDir, 'mounts'))) {
      if (name.startsWith('.')) await rm(join(this.dbDir, 'mounts', name), { recursive: true, force: true });
    }
  }

  get(chainID: string): LayerInfo | undefined {
    const l = this.layers.get(chainID);
    return l ? toInfo(l) : undefined;
  }

  /** Every layer, by chain ID. */
  map(): Map<string, LayerInfo> {
    return new Map([...this.layers].map(([k, v]) => [k, toInfo(v)]));
  }

  /** Takes a reference on a layer (images hold one per top layer). */
  acquire(chainID: string): LayerInfo {
    const l = this.layers.get(chainID);
    if (!l) throw notFound(`layer does not exist: ${chainID}`);
    l.refs++;
    return toInfo(l);
  }

  refCount(chainID: string): number {
    return this.layers.get(chainID)?.refs ?? 0;
  }

  /** Size of a layer and all its parents. */
  size(chainID: string): number {
    let total = 0;
    let l = this.layers.get(chainID);
    while (l) {
      total += l.size;
      l = l.parent ? this.layers.get(l.parent) : undefined;
    }
    return total;
  }

  /** The diffIDs of the chain ending at `chainID`, bottom first. */
  diffIDs(chainID: string): string[] {
    const out: string[] = [];
    let l = this.layers.get(chainID);
    while (l) {
      out.unshift(l.diffID);
      l = l.parent ? this.layers.get(l.parent) : undefined;
    }
    return out;
  }

  /**
   * Applies a layer tarball on top of `parent` and stores it; returns the layer with one
   * reference held for the caller. The same content registered twice (even concurrently) is
   * stored once: the later one only takes a reference.
   */
  async register(tarStream: Readable, parent?: string): Promise<LayerInfo & { existing: boolean }> {
    const parentEntry = this.holdParent(parent);
    let staged: StagedLayer;
    try {
      staged = await this.applyInto(tarStream, parentEntry?.cacheID);
    } catch (err) {
      if (parentEntry) await this.release(parentEntry.chainID);
      throw err;
    }
    return this.commit(staged, parentEntry);
  }

  /**
   * Applies a layer tarball into a new directory that is not (yet) a layer: its parent is not
   * known. Hand it to registerStaged, or to discardStaged; a crash leaves only sweepable debris.
   */
  async stage(tarStream: Readable): Promise<StagedLayer> {
    return this.applyInto(tarStream, undefined);
  }

  /** register() for a staged layer: the same, without applying the tar again. */
  async registerStaged(staged: StagedLayer, parent?: string): Promise<LayerInfo & { existing: boolean }> {
    const parentEntry = this.holdParent(parent);
    if (!parentEntry) return this.commit(staged, undefined);
    // The layer needs its parent's lowers: make the directory anew and move the files into it.
    const cacheID = randomBytes(32).toString('hex');
    try {
      await this.driver.create(cacheID, parentEntry.cacheID);
      await rmdir(this.driver.diffPath(cacheID));
      await rename(this.driver.diffPath(staged.cacheID), this.driver.diffPath(cacheID));
    } catch (err) {
      await this.driver.remove(cacheID).catch(() => undefined);
      await this.discardStaged(staged);
      await this.release(parentEntry.chainID);
      throw err;
    }
    await this.driver.remove(staged.cacheID).catch(() => undefined);
    return this.commit({ ...staged, cacheID }, parentEntry);
  }

  async discardStaged(staged: StagedLayer): Promise<void> {
    await this.driver.remove(staged.cacheID).catch(() => undefined);
    await rm(staged.splitTmp, { force: true });
  }

  private holdParent(parent?: string): LayerEntry | undefined {
    if (parent === undefined || parent === '') return undefined;
    if (!DIGEST_RE.test(parent)) throw invalidParameter(`invalid parent layer ${parent}`);
    const parentEntry = this.layers.get(parent);
    if (!parentEntry) throw notFound(`layer does not exist: ${parent}`);
    parentEntry.refs++; // held by the new layer, or given back
    return parentEntry;
  }

  private async applyInto(tarStream: Readable, parentCacheID: string | undefined): Promise<StagedLayer> {
    const cacheID = randomBytes(32).toString('hex');
    const splitTmp = join(this.dbDir, 'tmp', `tar-split-${cacheID}.json.gz`);
    try {
      await this.driver.create(cacheID, parentCacheID);
      const r = await applyLayer(tarStream, this.driver.diffPath(cacheID), { ...this.opts.apply, idMap: this.opts.idMap, tarSplitPath: splitTmp });
      return { cacheID, splitTmp, diffID: r.diffID, size: r.size, tarSize: r.tarSize };
    } catch (err) {
      await this.driver.remove(cacheID).catch(() => undefined);
      await rm(splitTmp, { force: true });
      throw err;
    }
  }

  private async commit(result: StagedLayer, parentEntry: LayerEntry | undefined): Promise<LayerInfo & { existing: boolean }> {
    const { cacheID, splitTmp } = result;
    const cid = parentEntry ? chainID([parentEntry.chainID, result.diffID]) : result.diffID;

    const committed = await this.lock.run(async () => {
      const existing = this.layers.get(cid);
      if (existing) {
        existing.refs++;
        return { entry: existing, existing: true };
      }
      const tmp = join(this.dbDir, 'tmp', `write-set-${randomBytes(8).toString('hex')}`);
      await mkdir(tmp, { recursive: true, mode: 0o700 });
      await writeFileAtomic(join(tmp, 'diff'), result.diffID, 0o644);
      await writeFileAtomic(join(tmp, 'size'), String(result.size), 0o644);
      await writeFileAtomic(join(tmp, 'cache-id'), cacheID, 0o644);
      await writeFileAtomic(join(tmp, 'tar-size'), String(result.tarSize), 0o644);
      if (parentEntry) await writeFileAtomic(join(tmp, 'parent'), parentEntry.chainID, 0o644);
      await rename(splitTmp, join(tmp, TAR_SPLIT));
      await rename(tmp, join(this.dbDir, 'sha256', hex(cid)));
      await syncDir(join(this.dbDir, 'sha256'));
      const entry: LayerEntry = {
        chainID: cid,
        diffID: result.diffID,
        cacheID,
        size: result.size,
        ...(parentEntry ? { parent: parentEntry.chainID } : {}),
        refs: 1,
      };
      this.layers.set(cid, entry);
      return { entry, existing: false };
    });
    if (committed.existing) {
      await rm(splitTmp, { force: true });
      await this.driver.remove(cacheID).catch(() => undefined);
      if (parentEntry) await this.release(parentEntry.chainID);
    }
    return { ...toInfo(committed.entry), existing: committed.existing };
  }

  /**
   * Drops one reference; a layer nobody references any more is deleted, and so on up the
   * chain. Returns the layers deleted.
   */
  async release(chainID: string): Promise<{ chainID: string; diffID: string }[]> {
    return this.lock.run(async () => {
      const removed: { chainID: string; diffID: string }[] = [];
      let id: string | undefined = chainID;
      while (id) {
        const l = this.layers.get(id);
        if (!l) {
          if (id === chainID) throw notFound(`layer does not exist: ${chainID}`);
          break;
        }
        l.refs--;
        if (l.refs > 0) break;
        l.refs = 0;
        await this.deleteLayer(l);
        removed.push({ chainID: l.chainID, diffID: l.diffID });
        id = l.parent;
      }
      return removed;
    });
  }

  private async deleteLayer(l: LayerEntry): Promise<void> {
    const dir = join(this.dbDir, 'sha256', hex(l.chainID));
    const tmp = join(this.dbDir, 'tmp', `remove-${hex(l.chainID)}-${randomBytes(4).toString('hex')}`);
    // Rename the metadata away first: a crash after this leaves only sweepable debris.
    await rename(dir, tmp).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
    this.layers.delete(l.chainID);
    await this.driver.remove(l.cacheID);
    await rm(tmp, { recursive: true, force: true });
  }

  /**
   * The layer's tar stream: the exact bytes it was registered from (its sha256 is the diffID),
   * rebuilt from the tar-split record and the layer's files, and verified at the end. A layer
   * without a record (stored by an older berthd) is packed afresh, with another digest.
   */
  async tarStream(chainID: string): Promise<{ stream: Readable; exact: boolean }> {
    const l = this.layers.get(chainID);
    if (!l) throw notFound(`layer does not exist: ${chainID}`);
    const split = join(this.dbDir, 'sha256', hex(chainID), TAR_SPLIT);
    if (await exists(split)) return { stream: rebuildTar(split, this.driver.diffPath(l.cacheID), l.diffID), exact: true };
    this.opts.logger?.warn({ chainID }, 'layer has no tar-split record; its tar will not match its diffID');
    return { stream: packDirectory(this.driver.diffPath(l.cacheID), { overlayWhiteouts: true, idMap: this.opts.idMap }), exact: false };
  }

  /** Length of the layer's exact tar stream, or undefined for a layer without a record. */
  async tarSize(chainID: string): Promise<number | undefined> {
    const d = join(this.dbDir, 'sha256', hex(chainID));
    const recorded = await readTrim(join(d, 'tar-size'));
    if (recorded && /^\d+$/.test(recorded)) return Number(recorded);
    if (await exists(join(d, TAR_SPLIT))) return tarSplitSize(join(d, TAR_SPLIT));
    return undefined;
  }

  /** GraphDriver data of a read-only layer (image inspect). */
  async layerMetadata(chainID: string): Promise<Record<string, string>> {
    const l = this.layers.get(chainID);
    if (!l) throw notFound(`layer does not exist: ${chainID}`);
    return this.driver.metadata(l.cacheID);
  }

  // ---- read-write layers ----

  getRWLayer(containerID: string): RWLayerInfo | undefined {
    return this.mounts.get(containerID);
  }

  private rw(containerID: string): RWLayerInfo {
    const m = this.mounts.get(containerID);
    if (!m) throw notFound(`RWLayer of container ${containerID} is unexpectedly nil`);
    return m;
  }

  /** Creates the container's writable layer on top of the image's top layer (if any). */
  async createRWLayer(containerID: string, parent?: string): Promise<RWLayerInfo> {
    if (!/^[A-Za-z0-9_.-]+$/.test(containerID) || containerID.startsWith('.')) {
      throw invalidParameter(`invalid container id ${containerID}`);
    }
    return this.lock.run(async () => {
      if (this.mounts.has(containerID)) throw conflict('mount already exists with name');
      let p: LayerEntry | undefined;
      if (parent) {
        p = this.layers.get(parent);
        if (!p) throw notFound(`layer does not exist: ${parent}`);
      }
      const mountID = randomBytes(32).toString('hex');
      await this.driver.create(mountID, p?.cacheID);
      const mdir = join(this.dbDir, 'mounts');
      const tmp = join(mdir, `.tmp-${randomBytes(8).toString('hex')}`);
      try {
        await mkdir(tmp, { mode: 0o700 });
        await writeFileAtomic(join(tmp, 'mount-id'), mountID, 0o644);
        if (p) await writeFileAtomic(join(tmp, 'parent'), p.chainID, 0o644);
        await rename(tmp, join(mdir, containerID));
        await syncDir(mdir);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        await this.driver.remove(mountID).catch(() => undefined);
        throw err;
      }
      if (p) p.refs++;
      const info: RWLayerInfo = { containerID, mountID, ...(p ? { parent: p.chainID } : {}) };
      this.mounts.set(containerID, info);
      return info;
    });
  }

  /** Removes the container's writable layer; releases its parent. A missing layer is fine. */
  /** IDs of the containers that have an RW layer. */
  rwLayerIds(): string[] {
    return [...this.mounts.keys()];
  }

  async removeRWLayer(containerID: string): Promise<void> {
    const m = this.mounts.get(containerID);
    if (!m) return;
    await this.lock.run(async () => {
      const mdir = join(this.dbDir, 'mounts');
      const tmp = join(mdir, `.rm-${randomBytes(8).toString('hex')}`);
      await rename(join(mdir, containerID), tmp).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
      });
      this.mounts.delete(containerID);
      await this.driver.remove(m.mountID);
      await this.driver.remove(`${m.mountID}-init`).catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
    });
    if (m.parent) await this.release(m.parent);
  }

  async rwMounts(containerID: string): Promise<Mount[]> {
    return this.driver.mounts(this.rw(containerID).mountID);
  }

  async rwMetadata(containerID: string): Promise<Record<string, string>> {
    return this.driver.metadata(this.rw(containerID).mountID);
  }

  /** Mounts the container's rootfs for the daemon's own use (export, cp); reference counted. */
  async mountRW(containerID: string): Promise<string> {
    return this.driver.mount(this.rw(containerID).mountID);
  }

  async unmountRW(containerID: string): Promise<void> {
    await this.driver.unmount(this.rw(containerID).mountID);
  }

  /** Upper dir first, then the image's layers nearest first. */
  private async rwStack(containerID: string): Promise<string[]> {
    const m = this.rw(containerID);
    return [this.driver.diffPath(m.mountID), ...(await this.driver.lowerDirs(m.mountID))];
  }

  /** The container's changes, without the mount points runc made (dockerd's init layer). */
  async changes(containerID: string): Promise<Change[]> {
    const [upper, ...lowers] = await this.rwStack(containerID);
    const hidden = new Set((await this.commitExcludes(containerID)).map((p) => `/${p}`));
    return (await overlayChanges(upper!, lowers)).filter((c) => !hidden.has(c.Path));
  }

  async readFile(containerID: string, path: string): Promise<Buffer | undefined> {
    return unionReadFile(await this.rwStack(containerID), path);
  }

  /** Bytes in the container's writable layer. */
  async rwSize(containerID: string): Promise<number> {
    return directorySize(this.driver.diffPath(this.rw(containerID).mountID));
  }

  /**
   * What a commit leaves out of the RW layer: the mount points runc made for the files the
   * daemon bind-mounts (dockerd keeps those in an init layer), and directories that are in the
   * upper dir only because of them.
   */
  async commitExcludes(containerID: string): Promise<string[]> {
    const [upper, ...lowers] = await this.rwStack(containerID);
    const out: string[] = [];
    const candidates = ['etc/hostname', 'etc/hosts', 'etc/resolv.conf', '.dockerenv'];
    for (const rel of candidates) {
      const st = await lstat(join(upper!, rel)).catch(() => undefined);
      if (st && st.isFile() && st.size === 0) out.push(rel);
    }
    // Parents holding nothing else and present below: copy-ups only.
    for (const dir of ['etc']) {
      const names = await readdir(join(upper!, dir)).catch(() => undefined);
      if (!names || !names.every((n) => out.includes(`${dir}/${n}`))) continue;
      let below = false;
      for (const l of lowers) {
        if ((await lstat(join(l, dir)).catch(() => undefined))?.isDirectory()) {
          below = true;
          break;
        }
      }
      if (below) out.push(dir);
    }
    return out;
  }

  /** A tar stream of the container's changes (for commit), in image-layer whiteout form. */
  rwDiffStream(containerID: string, exclude: string[] = []): Readable {
    return packDirectory(this.driver.diffPath(this.rw(containerID).mountID), { overlayWhiteouts: true, exclude, idMap: this.opts.idMap });
  }
}

function toInfo(l: LayerEntry): LayerInfo {
  return {
    chainID: l.chainID,
    diffID: l.diffID,
    cacheID: l.cacheID,
    size: l.size,
    ...(l.parent ? { parent: l.parent } : {}),
  };
}
