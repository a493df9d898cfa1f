// ImageService: the façade the daemon and the API routers use for images and container
// root filesystems (dockerd's daemon/images, graphdriver flavour).

import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ContainerConfig } from '../api/types/container.js';
import { conflict, invalidParameter, isKind, notFound, type BerthError } from '../pkg/errors.js';
import { matchAllLabels, matchLabelFilters } from '../pkg/labels.js';
import { hostArchitecture, normalizeArchitecture } from '../pkg/platform.js';
import { formatRFC3339Nano, nowNano, parseTimestamp } from '../pkg/timeutil.js';
import {
  familiarMatch,
  familiarName,
  familiarString,
  isNamed,
  parseAnyReference,
  parseNormalizedNamed,
  tagNameOnly,
  withTag,
  type AnyReference,
  type Reference,
} from '../reference/reference.js';
import { ReferenceStore } from '../reference/store.js';
import { LayerStore, type Change, type Mount } from '../layer/store.js';
import { ImageStore, type ImageConfig, type StoredImage, type HistoryEntry } from './store.js';
import { applyChanges, emptyContainerConfig, orderedContainerConfig } from './changeinstructions.js';
import { loadImages, resolveSaveNames, saveImages, type LoadMessage } from './tarexport.js';
import { chainID as chainOf } from '../layer/store.js';

export type { ImageConfig, HistoryEntry } from './store.js';
export type { Change, Mount } from '../layer/store.js';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** The image's runtime config as inspect shows it (OCI image config fields, omitempty). */
export interface InspectConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: ContainerConfig['Healthcheck'];
  OnBuild?: string[];
  Shell?: string[];
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created?: string;
  DockerVersion: string;
  Author: string;
  Config: InspectConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers?: string[] };
  Metadata: { LastTagTime: string };
}

export interface ImageServiceOptions {
  root: string;
  logger: Logger;
  onEvent?: (action: string, id: string, attrs: Record<string, string>) => void;
  /** Recorded as docker_version in configs this daemon creates. */
  dockerVersion?: string;
}

export interface ImportOptions {
  repo?: string;
  tag?: string;
  changes?: string[];
  message?: string;
  platform?: string;
}

export interface ListOptions {
  all?: boolean;
  filters?: Map<string, string[]>;
  digests?: boolean;
}

export type UsedBy = (imageId: string) => { id: string; running: boolean } | undefined;

const ZERO_TIME = '0001-01-01T00:00:00Z';
/** The diffID of a tar with nothing in it (1024 zero bytes). */
export const EMPTY_LAYER_DIFFID = 'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef';

export interface HistoryItem {
  Comment: string;
  Created: number;
  CreatedBy: string;
  Id: string;
  Size: number;
  Tags: string[] | null;
}

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

const ACCEPTED_FILTERS = new Set(['dangling', 'label', 'before', 'since', 'reference', 'until']);


function shortID(id: string): string {
  return (id.startsWith('sha256:') ? id.slice(7) : id).slice(0, 12);
}

/** Marshals an image config as dockerd does: top-level keys sorted, compact. */
export function marshalImageConfig(cfg: ImageConfig): Buffer {
  const obj: Record<string, unknown> = {};
  const src = cfg as unknown as Record<string, unknown>;
  for (const k of Object.keys(src).sort()) {
    const v = src[k];
    if (v === undefined) continue;
    if ((k === 'config' || k === 'container_config') && v) obj[k] = orderedContainerConfig(v as ContainerConfig);
    else obj[k] = v;
  }
  return Buffer.from(JSON.stringify(obj));
}

/** The inspect form of a stored config (OCI image config fields; empty ones left out). */
export function inspectConfig(c: ContainerConfig | undefined): InspectConfig | null {
  if (!c) return null;
  const o: InspectConfig = {};
  if (c.User) o.User = c.User;
  if (c.ExposedPorts && Object.keys(c.ExposedPorts).length) o.ExposedPorts = c.ExposedPorts;
  if (c.Env && c.Env.length) o.Env = c.Env;
  if (c.Entrypoint && c.Entrypoint.length) o.Entrypoint = c.Entrypoint;
  if (c.Cmd && c.Cmd.length) o.Cmd = c.Cmd;
  if (c.Volumes && Object.keys(c.Volumes).length) o.Volumes = c.Volumes;
  if (c.WorkingDir) o.WorkingDir = c.WorkingDir;
  if (c.Labels && Object.keys(c.Labels).length) o.Labels = c.Labels;
  if (c.StopSignal) o.StopSignal = c.StopSignal;
  if (c.ArgsEscaped) o.ArgsEscaped = c.ArgsEscaped;
  if (c.Healthcheck) o.Healthcheck = c.Healthcheck;
  if (c.OnBuild && c.OnBuild.length) o.OnBuild = c.OnBuild;
  if (c.Shell && c.Shell.length) o.Shell = c.Shell;
  return o;
}

/** The pre-1.50 inspect form: every container.Config field, as stored. */
export function legacyInspectConfig(c: ContainerConfig | undefined): Record<string, unknown> | null {
  return c ? orderedContainerConfig({ ...emptyContainerConfig(), ...c }) : null;
}

/** RepoTagReference: repo (may carry a tag) + tag → a tagged reference. */
export function repoTagReference(repo: string, tag?: string): Reference {
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw invalidParameter('cannot import digest reference');
  if (tag) return withTag({ domain: ref.domain, path: ref.path }, tag);
  return tagNameOnly(ref);
}

function noSuchImage(ref: AnyReference): BerthError {
  return notFound(`No such image: ${familiarString(isNamed(ref) ? tagNameOnly(ref) : ref)}`);
}

function isImageIDPrefix(imageID: string, possiblePrefix: string): boolean {
  if (imageID.startsWith(possiblePrefix)) return true;
  const i = imageID.indexOf(':');
  return i >= 0 && imageID.slice(i + 1).startsWith(possiblePrefix);
}

/** dockerd's isSingleReference: one tag (plus digests) all in one repository. */
function isSingleReference(refs: Reference[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  let single: Reference | undefined;
  const names = new Set<string>();
  for (const r of refs) {
    if (r.digest !== undefined) names.add(familiarName(r));
    else if (!single) {
      names.add(familiarName(r));
      single = r;
    } else return false;
  }
  single ??= refs[0]!;
  return names.size === 1 && names.has(familiarName(single));
}

function parseUntil(v: string): number {
  try {
    return parseTimestamp(v).getTime();
  } catch (err) {
    throw invalidParameter((err as Error).message);
  }
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
    const layers = await LayerStore.open({ root: opts.root, logger: opts.logger });
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

  event(action: string, id: string, name?: string): void {
    if (!this.opts.onEvent) return;
    const attrs: Record<string, string> = {};
    const img = this.images.get(id);
    for (const [k, v] of Object.entries(img?.config.config?.Labels ?? {})) attrs[k] = v;
    if (name) attrs.name = name;
    try {
      this.opts.onEvent(action, id, attrs);
    } catch (err) {
      this.opts.logger.warn({ err }, 'image event handler failed');
    }
  }

  // ---------- lookup ----------

  private getImage(refOrID: string): StoredImage {
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

  // ---------- list / inspect ----------

  private repoTagsAndDigests(id: string): { tags: string[]; digests: string[] } {
    const tags: string[] = [];
    const digests: string[] = [];
    for (const r of this.references.references(id)) {
      if (r.digest !== undefined) digests.push(familiarString(r));
      else if (r.tag !== undefined) tags.push(familiarString(r));
    }
    return { tags, digests };
  }

  async list(opts: ListOptions): Promise<ImageSummary[]> {
    const filters = opts.filters ?? new Map<string, string[]>();
    for (const k of filters.keys()) if (!ACCEPTED_FILTERS.has(k)) throw invalidParameter(`invalid filter '${k}'`);
    let danglingOnly = false;
    const dangling = filters.get('dangling');
    if (dangling) {
      if (dangling.length === 1 && dangling[0]!.toLowerCase() === 'true') danglingOnly = true;
      else if (!(dangling.length === 1 && dangling[0]!.toLowerCase() === 'false')) {
        throw invalidParameter(`invalid filter 'dangling=[${dangling.join(' ')}]'`);
      }
    }
    const timeOf = (img: StoredImage): number => (img.config.created ? Date.parse(img.config.created) : 0);
    let before: number | undefined;
    let since: number | undefined;
    for (const v of filters.get('before') ?? []) before = timeOf(this.getImage(v));
    for (const v of filters.get('since') ?? []) since = timeOf(this.getImage(v));
    let until: number | undefined;
    for (const v of filters.get('until') ?? []) until = parseUntil(v);
    const labelFilters = filters.get('label') ?? [];
    const refPatterns = filters.get('reference') ?? [];

    const selected = danglingOnly ? this.images.heads() : this.images.map();
    const out: ImageSummary[] = [];
    for (const [id, img] of selected) {
      const created = timeOf(img);
      if (before !== undefined && created >= before) continue;
      if (since !== undefined && created <= since) continue;
      if (until !== undefined && created > until) continue;
      if (!matchAllLabels(img.config.config?.Labels, labelFilters)) continue;
      const tags: string[] = [];
      const digests: string[] = [];
      for (const r of this.references.references(id)) {
        if (refPatterns.length && !refPatterns.some((p) => familiarMatch(p, r))) continue;
        if (r.digest !== undefined) digests.push(familiarString(r));
        if (r.tag !== undefined) tags.push(familiarString(r));
      }
      if (tags.length === 0 && digests.length === 0) {
        if (opts.all || this.images.children(id).length === 0) {
          if (dangling && !danglingOnly) continue;
          if (refPatterns.length) continue;
        } else continue;
      } else if (danglingOnly && tags.length > 0) continue;
      out.push({
        Containers: -1,
        Created: Math.floor(created / 1000),
        Id: id,
        Labels: img.config.config?.Labels ?? null,
        ParentId: this.images.getParent(id) ?? '',
        RepoDigests: digests,
        RepoTags: tags,
        SharedSize: -1,
        Size: img.chainID ? this.layers.size(img.chainID) : 0,
      });
    }
    out.sort((a, b) => b.Created - a.Created);
    return out;
  }

  async inspect(ref: string): Promise<ImageInspect> {
    const img = this.getImage(ref);
    const c = img.config;
    const { tags, digests } = this.repoTagsAndDigests(img.id);
    const res: ImageInspect = {
      Id: img.id,
      RepoTags: tags,
      RepoDigests: digests,
      Parent: this.images.getParent(img.id) ?? '',
      Comment: c.comment ?? '',
      ...(c.created ? { Created: c.created } : {}),
      DockerVersion: c.docker_version ?? '',
      Author: c.author ?? '',
      Config: inspectConfig(c.config),
      Architecture: c.architecture ?? '',
      ...(c.variant ? { Variant: c.variant } : {}),
      Os: c.os ?? '',
      ...(c['os.version'] ? { OsVersion: c['os.version'] } : {}),
      Size: img.chainID ? this.layers.size(img.chainID) : 0,
      GraphDriver: { Name: 'overlay2', Data: img.chainID ? await this.layers.layerMetadata(img.chainID) : null },
      RootFS: { Type: 'layers', ...(c.rootfs.diff_ids.length ? { Layers: c.rootfs.diff_ids } : {}) },
      Metadata: { LastTagTime: this.images.getLastUpdated(img.id) ?? ZERO_TIME },
    };
    return res;
  }

  // ---------- delete ----------

  async remove(
    ref: string,
    opts: { force: boolean; noprune: boolean },
    usedBy: UsedBy,
  ): Promise<{ Untagged?: string; Deleted?: string }[]> {
    const img = this.getImage(ref);
    const imgID = img.id;
    const records: { Untagged?: string; Deleted?: string }[] = [];
    let repoRefs = this.references.references(imgID);
    let removedRepositoryRef = false;

    if (!isImageIDPrefix(imgID, ref)) {
      if (!opts.force && isSingleReference(repoRefs)) {
        const c = usedBy(imgID);
        if (c) {
          throw conflict(
            `conflict: unable to remove repository reference ${JSON.stringify(ref)} (must force) - container ${shortID(c.id)} is using its referenced image ${shortID(imgID)}`,
          );
        }
      }
      const parsed = tagNameOnly(parseNormalizedNamed(ref));
      if (!(await this.references.delete(parsed))) throw notFound(`No such image: ${familiarString(parsed)}`);
      records.push({ Untagged: familiarString(parsed) });
      this.event('untag', imgID, imgID);
      repoRefs = this.references.references(imgID);

      if (parsed.digest === undefined) {
        const sameRepoTag = repoRefs.some((r) => r.digest === undefined && familiarName(r) === familiarName(parsed));
        if (!sameRepoTag) {
          const remaining: Reference[] = [];
          for (const r of repoRefs) {
            if (r.digest !== undefined && familiarName(r) === familiarName(parsed)) {
              await this.references.delete(r);
              records.push({ Untagged: familiarString(r) });
            } else remaining.push(r);
          }
          repoRefs = remaining;
        }
      }
      if (repoRefs.length > 0) return records;
      removedRepositoryRef = true;
    } else if (isSingleReference(repoRefs)) {
      // by ID, one repository: drop its references first (unless a conflict forbids it)
      const c = this.deleteConflict(imgID, { hard: true, soft: !opts.force, activeReference: false }, usedBy);
      if (c) throw c.err;
      for (const r of repoRefs) {
        await this.references.delete(r);
        records.push({ Untagged: familiarString(r) });
        this.event('untag', imgID, imgID);
      }
    }

    await this.deleteHelper(imgID, records, opts.force, !opts.noprune, removedRepositoryRef, usedBy);
    return records;
  }

  private deleteConflict(
    imgID: string,
    mask: { hard: boolean; soft: boolean; activeReference: boolean },
    usedBy: UsedBy,
  ): { err: BerthError; used: boolean } | undefined {
    const mk = (hard: boolean, msg: string, used: boolean): { err: BerthError; used: boolean } => ({
      err: conflict(`conflict: unable to delete ${shortID(imgID)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${msg}`),
      used,
    });
    if (mask.hard && this.images.children(imgID).length > 0) return mk(true, 'image has dependent child images', false);
    const c = usedBy(imgID);
    if (mask.hard && c?.running) return mk(true, `image is being used by running container ${shortID(c.id)}`, true);
    if (mask.soft && mask.activeReference && this.references.hasReferences(imgID)) {
      return mk(false, 'image is referenced in multiple repositories', false);
    }
    if (mask.soft && c && !c.running) return mk(false, `image is being used by stopped container ${shortID(c.id)}`, true);
    return undefined;
  }

  private async deleteHelper(
    imgID: string,
    records: { Untagged?: string; Deleted?: string }[],
    force: boolean,
    prune: boolean,
    quiet: boolean,
    usedBy: UsedBy,
  ): Promise<void> {
    const c = this.deleteConflict(imgID, { hard: true, soft: !force, activeReference: true }, usedBy);
    if (c) {
      const dangling = !this.references.hasReferences(imgID) && this.images.children(imgID).length === 0;
      if (quiet && (!dangling || c.used)) return;
      throw c.err;
    }
    const parent = this.images.getParent(imgID);
    for (const r of this.references.references(imgID)) {
      await this.references.delete(r);
      records.push({ Untagged: familiarString(r) });
    }
    const removedLayers = await this.images.delete(imgID);
    this.event('delete', imgID, imgID);
    records.push({ Deleted: imgID });
    for (const l of removedLayers) records.push({ Deleted: l.chainID });
    if (!prune || !parent || !this.images.get(parent)) return;
    await this.deleteHelper(parent, records, false, true, true, usedBy);
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

  // ---------- history ----------

  async history(name: string): Promise<HistoryItem[]> {
    const img = this.getImage(name);
    const items: HistoryItem[] = [];
    const diffIDs = img.config.rootfs.diff_ids;
    let n = 0;
    for (const h of img.config.history ?? []) {
      let size = 0;
      if (!h.empty_layer) {
        if (diffIDs.length <= n) throw new Error('too many non-empty layers in History section');
        size = this.layers.get(chainOf(diffIDs.slice(0, n + 1)))?.size ?? 0;
        n++;
      }
      items.unshift({
        Comment: h.comment ?? '',
        Created: h.created ? Math.floor(Date.parse(h.created) / 1000) : 0,
        CreatedBy: h.created_by ?? '',
        Id: '<missing>',
        Size: size,
        Tags: null,
      });
    }
    let id: string | undefined = img.id;
    for (const item of items) {
      item.Id = id;
      const tags = this.references.references(id).filter((r) => r.tag !== undefined).map((r) => familiarString(r));
      item.Tags = tags.length ? tags : null;
      id = this.images.getParent(id);
      if (!id || !this.images.get(id)) break;
    }
    return items;
  }

  // ---------- prune ----------

  async prune(filters: Map<string, string[]>, usedBy: UsedBy): Promise<{ ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null; SpaceReclaimed: number }> {
    for (const k of filters.keys()) {
      if (!['dangling', 'label', 'label!', 'until'].includes(k)) throw invalidParameter(`invalid filter '${k}'`);
    }
    let danglingOnly = true;
    const dv = filters.get('dangling');
    if (dv && dv.length) {
      const v = dv[dv.length - 1]!.toLowerCase();
      if (v === 'true' || v === '1') danglingOnly = true;
      else if (v === 'false' || v === '0') danglingOnly = false;
      else throw invalidParameter(`invalid filter 'dangling=${dv[dv.length - 1]}'`);
    }
    let until: number | undefined;
    for (const v of filters.get('until') ?? []) until = parseUntil(v);
    const allLayers = this.layers.map();
    const candidates = danglingOnly ? this.images.heads() : this.images.map();
    const top: string[] = [];
    for (const [id, img] of candidates) {
      if (!this.references.hasReferences(id) && this.images.children(id).length > 0) continue;
      if (until !== undefined && (!img.config.created || Date.parse(img.config.created) > until)) continue;
      if (!matchLabelFilters(img.config.config?.Labels, filters)) continue;
      top.push(id);
    }
    const deleted: { Untagged?: string; Deleted?: string }[] = [];
    const ignorable = (err: unknown): boolean => isKind(err, 'conflict') || isKind(err, 'not-found');
    for (const id of top) {
      if (!this.images.get(id)) continue;
      const refs = this.references.references(id);
      if (refs.length > 0) {
        const shouldDelete = !danglingOnly || !refs.some((r) => r.tag !== undefined);
        if (!shouldDelete) continue;
        for (const r of refs) {
          try {
            deleted.push(...(await this.remove(familiarString(r), { force: false, noprune: false }, usedBy)));
          } catch (err) {
            if (!ignorable(err)) throw err;
          }
        }
      } else {
        try {
          deleted.push(...(await this.remove(id.slice(7), { force: false, noprune: false }, usedBy)));
        } catch (err) {
          if (!ignorable(err)) throw err;
        }
      }
    }
    let reclaimed = 0;
    for (const d of deleted) if (d.Deleted) reclaimed += allLayers.get(d.Deleted)?.size ?? 0;
    if (deleted.length) this.opts.onEvent?.('prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  // ---------- disk usage ----------

  /** Images as `docker system df` shows them (shared sizes, container counts) and the layers' total. */
  diskUsage(containersByImage: Map<string, number>): { images: ImageSummary[]; layersSize: number } {
    const layerUsers = new Map<string, number>();
    const chains = new Map<string, string[]>();
    for (const [id, img] of this.images.map()) {
      const list: string[] = [];
      for (let i = 1; i <= img.config.rootfs.diff_ids.length; i++) list.push(chainOf(img.config.rootfs.diff_ids.slice(0, i)));
      chains.set(id, list);
      for (const c of list) layerUsers.set(c, (layerUsers.get(c) ?? 0) + 1);
    }
    const images: ImageSummary[] = [];
    for (const [id, img] of this.images.map()) {
      const { tags, digests } = this.repoTagsAndDigests(id);
      let shared = 0;
      for (const c of chains.get(id) ?? []) if ((layerUsers.get(c) ?? 0) > 1) shared += this.layers.get(c)?.size ?? 0;
      images.push({
        Containers: containersByImage.get(id) ?? 0,
        Created: img.config.created ? Math.floor(Date.parse(img.config.created) / 1000) : 0,
        Id: id,
        Labels: img.config.config?.Labels ?? null,
        ParentId: this.images.getParent(id) ?? '',
        RepoDigests: digests,
        RepoTags: tags,
        SharedSize: shared,
        Size: img.chainID ? this.layers.size(img.chainID) : 0,
      });
    }
    images.sort((a, b) => b.Created - a.Created);
    let layersSize = 0;
    for (const l of this.layers.map().values()) layersSize += l.size;
    return { images, layersSize };
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

