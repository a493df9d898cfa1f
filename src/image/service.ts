// ImageService: the façade the daemon and the API routers use for images and container
// root filesystems (dockerd's daemon/images, graphdriver flavour). The views (list, inspect,
// history, df), removal and prune live in views.ts and delete.ts.

import type { IdentityMapping } from '../pkg/idmap.js';
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ContainerConfig } from '../api/types/container.js';
import type { HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImagesPruneReport, ImageSummary } from '../api/types/image.js';
import { invalidParameter, notFound, type BerthError } from '../pkg/errors.js';
import {
  familiarName,
  familiarString,
  isNamed,
  parseAnyReference,
  tagNameOnly,
  type AnyReference,
  type Reference,
} from '../reference/reference.js';
import { ReferenceStore } from '../reference/store.js';
import { LayerStore, type Change, type Mount } from '../layer/store.js';
import { ImageStore, type ImageConfig, type StoredImage, type HistoryEntry } from './store.js';
import { applyChanges, emptyContainerConfig } from './changeinstructions.js';
import { loadImages, resolveSaveNames, saveImages, type LoadMessage } from './tarexport.js';
import { marshalImageConfig, repoTagReference } from './imageconfig.js';
import { hostArchitecture, normalizeArchitecture } from '../pkg/platform.js';
import { formatRFC3339Nano, nowNano } from '../pkg/timeutil.js';
import { imageHistory, imagesDiskUsage, inspectImage, listImages, type ListOptions } from './views.js';
import { pruneImages, removeImage, type UsedBy } from './delete.js';

export type { ImageConfig, HistoryEntry } from './store.js';
export type { Change, Mount } from '../layer/store.js';
export type { UsedBy } from './delete.js';
export { repoTagReference } from './imageconfig.js';

export interface ImageServiceOptions {
  root: string;
  logger: Logger;
  onEvent?: (action: string, id: string, attrs: Record<string, string>) => void;
  /** Recorded as docker_version in configs this daemon creates. */
  dockerVersion?: string;
  /** --userns-remap: layers are stored with host IDs shifted into the remapped ranges. */
  idMap?: IdentityMapping;
}

export interface ImportOptions {
  repo?: string;
  tag?: string;
  changes?: string[];
  message?: string;
  platform?: string;
}

/** The diffID of a tar with nothing in it (1024 zero bytes). */
export const EMPTY_LAYER_DIFFID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export interface CommitOptions {
  containerID: string;
  parentImageID: string;
  /** The new image's config (changes applied, merged with the container's). */
  config: ContainerConfig;
  /** The container's own config. */
  containerConfig: ContainerConfig;
  author?: string;
  comment?: string;
  os?: string;
  repo?: string;
  tag?: string;
}

function noSuchImage(ref: AnyReference): BerthError {
  return notFound(`No such image: ${familiarString(isNamed(ref) ? tagNameOnly(ref) : ref)}`);
}

export class ImageService {
  private constructor(
    readonly layers: LayerStore,
    readonly images: ImageStore,
    readonly references: ReferenceStore,
    private readonly opts: ImageServiceOptions,
  ) {}

  static async open(opts: ImageServiceOptions): Promise<ImageService> {
    const imageRoot = join(opts.root, 'image', 'overlay2');
    const layers = await LayerStore.open({ root: opts.root, logger: opts.logger, idMap: opts.idMap });
    const images = await ImageStore.open(join(imageRoot, 'imagedb'), layers, opts.logger);
    const references = await ReferenceStore.open(join(imageRoot, 'repositories.json'));
    const svc = new ImageService(layers, images, references, opts);
    // Half-done loads and saves of an earlier run.
    await rm(svc.tmpDir, { recursive: true, force: true });
    await mkdir(svc.tmpDir, { recursive: true, mode: 0o700 });
    return svc;
  }

  /** Scratch space for load and save, on the data root's file system. */
  get tmpDir(): string {
    return join(this.opts.root, 'image', 'overlay2', 'tmp');
  }

  /** Publishes an image event; labels come from the image `imageId` (default: `id`). */
  event(action: string, id: string, name?: string, imageId = id): void {
    if (!this.opts.onEvent) return;
    const attrs: Record<string, string> = {};
    const img = this.images.get(imageId);
    for (const [k, v] of Object.entries(img?.config.config?.Labels ?? {})) attrs[k] = v;
    if (name) attrs.name = name;
    try {
      this.opts.onEvent(action, id, attrs);
    } catch (err) {
      this.opts.logger.warn({ err }, 'image event handler failed');
    }
  }

  // ---------- lookup ----------

  /** The stored image a reference or (short) ID names. */
  getImage(refOrID: string): StoredImage {
    const ref = parseAnyReference(refOrID);
    if (!isNamed(ref)) {
      const img = this.images.get(ref.digest);
      if (img) return img;
      throw noSuchImage(ref);
    }
    const id = this.references.get(ref);
    if (id) {
      const img = this.images.get(id);
      if (img) return img;
    }
    try {
      const found = this.images.search(refOrID);
      const img = this.images.get(found);
      if (img) return img;
    } catch {
      /* fall through */
    }
    throw noSuchImage(ref);
  }

  async resolve(ref: string): Promise<{ id: string; config: ImageConfig }> {
    const img = this.getImage(ref);
    return { id: img.id, config: img.config };
  }

  imageCount(): number {
    return this.images.size;
  }

  driverStatus(): [string, string][] {
    return this.layers.driver.status();
  }

  // ---------- import / create ----------

  async importImage(src: Readable, opts: ImportOptions): Promise<string> {
    const newRef = opts.repo ? repoTagReference(opts.repo, opts.tag) : undefined;
    let os = 'linux';
    let arch = hostArchitecture();
    let variant: string | undefined;
    if (opts.platform) {
      const [pos, parch, pvar] = opts.platform.toLowerCase().split('/');
      if (pos) os = pos;
      if (parch) arch = normalizeArchitecture(parch);
      if (pvar) variant = pvar;
    }
    if (os !== 'linux') throw invalidParameter('operating system is not supported');
    const config = applyChanges(emptyContainerConfig(), opts.changes ?? []);
    const msg = opts.message || 'Imported from -';

    const layer = await this.layers.register(src);
    try {
      const created = formatRFC3339Nano(nowNano());
      const img: ImageConfig = {
        architecture: arch,
        ...(variant ? { variant } : {}),
        comment: msg,
        config,
        created,
        docker_version: this.opts.dockerVersion ?? '28.2.2',
        history: [{ created, comment: msg }],
        os,
        rootfs: { type: 'layers', diff_ids: [layer.diffID] },
      };
      const id = await this.images.create(marshalImageConfig(img));
      if (newRef) await this.tagImage(id, newRef);
      this.event('import', id, id);
      return id;
    } finally {
      await this.layers.release(layer.chainID);
    }
  }

  /** Stores an image config whose layers are registered; returns its ID. */
  async createImage(configBytes: Buffer, parent?: string): Promise<string> {
    const id = await this.images.create(configBytes);
    if (parent) await this.images.setParent(id, parent);
    return id;
  }

  // ---------- tags ----------

  private async tagImage(id: string, ref: Reference): Promise<void> {
    await this.references.addTag(ref, id, true);
    await this.images.setLastUpdated(id, formatRFC3339Nano(nowNano()));
    this.event('tag', id, familiarString(ref));
  }

  async tag(source: string, repo: string, tag?: string): Promise<void> {
    const ref = repoTagReference(repo, tag);
    if (familiarName(ref) === 'sha256') {
      throw invalidParameter('refusing to create an ambiguous tag using digest algorithm as name');
    }
    const img = this.getImage(source);
    await this.tagImage(img.id, ref);
  }

  // ---------- views ----------

  async list(opts: ListOptions): Promise<ImageSummary[]> {
    return listImages(this, opts);
  }

  async inspect(ref: string): Promise<ImageInspect> {
    return inspectImage(this, ref);
  }

  async history(name: string): Promise<HistoryResponseItem[]> {
    return imageHistory(this, name);
  }

  /** Images as `docker system df` shows them (shared sizes, container counts) and the layers' total. */
  diskUsage(containersByImage: Map<string, number>): { images: ImageSummary[]; layersSize: number } {
    return imagesDiskUsage(this, containersByImage);
  }

  // ---------- delete / prune ----------

  async remove(ref: string, opts: { force: boolean; noprune: boolean }, usedBy: UsedBy): Promise<ImageDeleteResponseItem[]> {
    return removeImage(this, ref, opts, usedBy);
  }

  async prune(filters: Map<string, string[]>, usedBy: UsedBy): Promise<ImagesPruneReport> {
    const report = await pruneImages(this, filters, usedBy);
    if (report.ImagesDeleted) this.opts.onEvent?.('prune', '', { reclaimed: String(report.SpaceReclaimed) });
    return report;
  }

  // ---------- container root filesystems ----------

  async createRWLayer(containerId: string, imageId: string): Promise<void> {
    let parent: string | undefined;
    if (imageId) {
      const img = this.images.get(imageId) ?? this.images.get(`sha256:${imageId}`);
      if (!img) throw notFound(`No such image: ${imageId}`);
      parent = img.chainID || undefined;
    }
    await this.layers.createRWLayer(containerId, parent);
  }

  async removeRWLayer(containerId: string): Promise<void> {
    await this.layers.removeRWLayer(containerId);
  }

  /** Removes RW layers no container owns: leftovers of a create that crashed before its commit. */
  hasRWLayer(containerId: string): boolean {
    return this.layers.getRWLayer(containerId) !== undefined;
  }

  async sweepRWLayers(keep: Set<string>): Promise<void> {
    for (const id of this.layers.rwLayerIds()) {
      if (!keep.has(id)) await this.layers.removeRWLayer(id);
    }
  }

  async rootfsMounts(containerId: string): Promise<Mount[]> {
    return this.layers.rwMounts(containerId);
  }

  async graphDriver(containerId: string): Promise<{ Name: string; Data: Record<string, string> }> {
    return { Name: 'overlay2', Data: await this.layers.rwMetadata(containerId) };
  }

  async readContainerFile(containerId: string, path: string): Promise<Buffer | undefined> {
    return this.layers.readFile(containerId, path);
  }

  async changes(containerId: string): Promise<Change[]> {
    return this.layers.changes(containerId);
  }

  async containerSize(containerId: string): Promise<{ SizeRw: number; SizeRootFs: number }> {
    const rw = this.layers.getRWLayer(containerId);
    if (!rw) throw notFound(`RWLayer of container ${containerId} is unexpectedly nil`);
    const sizeRw = await this.layers.rwSize(containerId);
    const base = rw.parent ? this.layers.size(rw.parent) : 0;
    return { SizeRw: sizeRw, SizeRootFs: base + sizeRw };
  }

  /** Mounts the container rootfs for the daemon (export, cp); pair with unmountContainer. */
  async mountContainer(containerId: string): Promise<string> {
    return this.layers.mountRW(containerId);
  }

  async unmountContainer(containerId: string): Promise<void> {
    await this.layers.unmountRW(containerId);
  }

  // ---------- save / load ----------

  /** The archive of the named images (dockerd's `docker save`); names are resolved up front. */
  async save(names: string[]): Promise<Readable> {
    const images = resolveSaveNames(this, names);
    return saveImages(this, images, this.tmpDir);
  }

  async load(src: Readable, out: (m: LoadMessage) => void, quiet: boolean): Promise<void> {
    await loadImages(this, src, out, quiet, this.tmpDir);
  }

  // ---------- commit ----------

  /**
   * Makes an image of a container's changes on top of its image (dockerd's CommitImage): the RW
   * layer's diff becomes a new layer (none when empty), with a history entry.
   */
  async commit(c: CommitOptions): Promise<string> {
    let parent: StoredImage | undefined;
    if (c.parentImageID) {
      parent = this.images.get(c.parentImageID);
      if (!parent) throw notFound(`No such image: ${c.parentImageID}`);
    }
    const exclude = await this.layers.commitExcludes(c.containerID);
    const layer = await this.layers.register(this.layers.rwDiffStream(c.containerID, exclude), parent?.chainID || undefined);
    try {
      const empty = layer.diffID === EMPTY_LAYER_DIFFID;
      const diffIDs = [...(parent?.config.rootfs.diff_ids ?? [])];
      if (!empty) diffIDs.push(layer.diffID);
      const created = formatRFC3339Nano(nowNano());
      const hist: HistoryEntry = { created };
      if (c.author) hist.author = c.author;
      const createdBy = (c.containerConfig.Cmd ?? []).join(' ');
      if (createdBy) hist.created_by = createdBy;
      if (c.comment) hist.comment = c.comment;
      if (empty) hist.empty_layer = true;
      const pc = parent?.config;
      const img: ImageConfig = {
        architecture: pc?.architecture || hostArchitecture(),
        ...(pc?.variant ? { variant: pc.variant } : {}),
        ...(c.author ? { author: c.author } : {}),
        config: c.config,
        container: c.containerID,
        container_config: c.containerConfig,
        created,
        history: [...(pc?.history ?? []), hist],
        os: c.os || 'linux',
        ...(pc?.['os.version'] ? { 'os.version': pc['os.version'] } : {}),
        ...(pc?.['os.features'] ? { 'os.features': pc['os.features'] } : {}),
        rootfs: { type: 'layers', diff_ids: diffIDs },
      };
      const id = await this.images.create(marshalImageConfig(img));
      this.event('create', id, id);
      if (parent) await this.images.setParent(id, parent.id);
      if (c.repo) await this.tagImage(id, repoTagReference(c.repo, c.tag));
      return id;
    } finally {
      await this.layers.release(layer.chainID);
    }
  }
}
