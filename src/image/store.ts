// The image store: content-addressed image configs (ID = sha256 of the exact bytes) and
// per-image metadata, laid out as dockerd's:
//   ${root}/image/overlay2/imagedb/content/sha256/<hex>          the config JSON
//   ${root}/image/overlay2/imagedb/metadata/sha256/<hex>/parent  "sha256:…"
//   ${root}/image/overlay2/imagedb/metadata/sha256/<hex>/lastUpdated  RFC3339Nano
// Each image holds one reference on its top layer.

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ContainerConfig } from '../api/types/container.js';
import { writeFileAtomic } from '../pkg/atomicfile.js';
import { errnoCode, invalidParameter, notFound } from '../pkg/errors.js';
import { chainID, type LayerStore } from '../layer/store.js';

export interface HistoryEntry {
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image config document (what the image ID is the digest of). */
export interface ImageConfig {
  id?: string;
  parent?: string;
  comment?: string;
  created?: string;
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
  author?: string;
  config?: ContainerConfig;
  architecture?: string;
  variant?: string;
  os?: string;
  'os.version'?: string;
  'os.features'?: string[];
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

export interface StoredImage {
  id: string;
  config: ImageConfig;
  /** Top layer chain ID ('' for an image without layers). */
  chainID: string;
  /** Size of the raw config bytes. */
  configSize: number;
}

const hexOf = (id: string): string => (id.startsWith('sha256:') ? id.slice(7) : id);

export class ImageStore {
  private readonly images = new Map<string, StoredImage>();
  private readonly parents = new Map<string, string>();
  private readonly lastUpdated = new Map<string, string>();
  readonly contentDir: string;
  readonly metaDir: string;

  private constructor(
    readonly root: string,
    private readonly layers: LayerStore,
    private readonly logger?: Logger,
  ) {
    this.contentDir = join(root, 'content', 'sha256');
    this.metaDir = join(root, 'metadata', 'sha256');
  }

  /** `root` is ${dataRoot}/image/overlay2/imagedb. */
  static async open(root: string, layers: LayerStore, logger?: Logger): Promise<ImageStore> {
    const s = new ImageStore(root, layers, logger);
    await mkdir(s.contentDir, { recursive: true, mode: 0o700 });
    await mkdir(s.metaDir, { recursive: true, mode: 0o700 });
    await s.load();
    return s;
  }

  private async load(): Promise<void> {
    for (const h of await readdir(this.contentDir)) {
      if (!/^[a-f0-9]{64}$/.test(h)) continue;
      const id = `sha256:${h}`;
      try {
        const bytes = await readFile(join(this.contentDir, h));
        if (createHash('sha256').update(bytes).digest('hex') !== h) {
          this.logger?.warn({ id }, 'image content does not match its digest; skipping');
          continue;
        }
        const config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
        const cid = chainID(config.rootfs?.diff_ids ?? []);
        if (cid) this.layers.acquire(cid);
        this.images.set(id, { id, config, chainID: cid, configSize: bytes.length });
        const parent = await readOpt(join(this.metaDir, h, 'parent'));
        if (parent) this.parents.set(id, parent);
        const lu = await readOpt(join(this.metaDir, h, 'lastUpdated'));
        if (lu) this.lastUpdated.set(id, lu);
      } catch (err) {
        this.logger?.warn({ err, id }, 'failed to load image');
      }
    }
  }

  /** Stores a config; returns its ID. The layers it names must be registered. */
  async create(bytes: Buffer): Promise<string> {
    let config: ImageConfig;
    try {
      config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
    } catch (err) {
      throw invalidParameter(`invalid image JSON: ${(err as Error).message}`);
    }
    if (!config.rootfs || config.rootfs.type !== 'layers' || !Array.isArray(config.rootfs.diff_ids)) {
      throw invalidParameter('invalid image JSON, no RootFS key');
    }
    const h = createHash('sha256').update(bytes).digest('hex');
    const id = `sha256:${h}`;
    if (this.images.has(id)) return id;
    const cid = chainID(config.rootfs.diff_ids);
    if (cid && !this.layers.get(cid)) throw notFound(`failed to get layer ${cid}`);
    await writeFileAtomic(join(this.contentDir, h), bytes, 0o600);
    if (this.images.has(id)) return id; // raced with another create of the same bytes
    if (cid) this.layers.acquire(cid);
    this.images.set(id, { id, config, chainID: cid, configSize: bytes.length });
    return id;
  }

  get(id: string): StoredImage | undefined {
    return this.images.get(id);
  }

  /** Every image by ID. */
  map(): Map<string, StoredImage> {
    return new Map(this.images);
  }

  get size(): number {
    return this.images.size;
  }

  /** Finds an image by (unique) ID prefix, with or without "sha256:". */
  search(term: string): string {
    const t = term.startsWith('sha256:') ? term.slice(7) : term;
    if (t === '' || !/^[a-f0-9]+$/.test(t)) throw notFound(`No such image: ${term}`);
    let found: string | undefined;
    for (const id of this.images.keys()) {
      if (id.slice(7).startsWith(t)) {
        if (found) throw notFound('ambiguous digest string');
        found = id;
      }
    }
    if (!found) throw notFound(`No such image: ${term}`);
    return found;
  }

  async setParent(id: string, parent: string): Promise<void> {
    if (!this.images.has(parent)) throw notFound(`No such image: ${parent}`);
    await writeFileAtomic(join(this.metaDir, hexOf(id), 'parent'), parent, 0o600);
    this.parents.set(id, parent);
  }

  getParent(id: string): string | undefined {
    return this.parents.get(id);
  }

  children(id: string): string[] {
    const out: string[] = [];
    for (const [c, p] of this.parents) if (p === id && this.images.has(c)) out.push(c);
    return out;
  }

  /** Images no other image names as parent. */
  heads(): Map<string, StoredImage> {
    const hasChild = new Set(this.parents.values());
    return new Map([...this.images].filter(([id]) => !hasChild.has(id)));
  }

  async setLastUpdated(id: string, when: string): Promise<void> {
    await writeFileAtomic(join(this.metaDir, hexOf(id), 'lastUpdated'), when, 0o600);
    this.lastUpdated.set(id, when);
  }

  getLastUpdated(id: string): string | undefined {
    return this.lastUpdated.get(id);
  }

  /** Deletes an image and releases its layer; returns the layers that went with it. */
  async delete(id: string): Promise<{ chainID: string; diffID: string }[]> {
    const img = this.images.get(id);
    if (!img) throw notFound(`unrecognized image ID ${id}`);
    const h = hexOf(id);
    this.images.delete(id);
    this.parents.delete(id);
    this.lastUpdated.delete(id);
    await rm(join(this.metaDir, h), { recursive: true, force: true });
    await rm(join(this.contentDir, h), { force: true });
    return img.chainID ? this.layers.release(img.chainID) : [];
  }
}

async function readOpt(p: string): Promise<string | undefined> {
  try {
    return (await readFile(p, 'utf8')).trim();
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}
