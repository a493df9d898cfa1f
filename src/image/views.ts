// The read-only views of the image store: list (`docker images`), inspect, history and the
// images part of `docker system df`, in dockerd's shapes.
import type { ContainerConfig } from '../api/types/container.js';
import type { HistoryResponseItem, ImageInspect, ImageInspectConfig, ImageSummary } from '../api/types/image.js';
import { invalidParameter } from '../pkg/errors.js';
import { familiarMatch, familiarString } from '../reference/reference.js';
import { chainID as chainOf } from '../layer/store.js';
import { matchAllLabels } from '../pkg/labels.js';
import { parseUntil } from './filters.js';
import { emptyContainerConfig, orderedContainerConfig } from './changeinstructions.js';
import type { ImageService } from './service.js';
import type { StoredImage } from './store.js';

export interface ListOptions {
  all?: boolean;
  filters?: Map<string, string[]>;
  digests?: boolean;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';
const ACCEPTED_FILTERS = new Set(['dangling', 'label', 'before', 'since', 'reference', 'until']);

/** The inspect form of a stored config (OCI image config fields; empty ones left out). */
function inspectConfig(c: ContainerConfig | undefined): ImageInspectConfig | null {
  if (!c) return null;
  const o: ImageInspectConfig = {};
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

function repoTagsAndDigests(svc: ImageService, id: string): { tags: string[]; digests: string[] } {
  const tags: string[] = [];
  const digests: string[] = [];
  for (const r of svc.references.references(id)) {
    if (r.digest !== undefined) digests.push(familiarString(r));
    else if (r.tag !== undefined) tags.push(familiarString(r));
  }
  return { tags, digests };
}

/** `docker images`: the images the filters select, newest first. */
export async function listImages(svc: ImageService, opts: ListOptions): Promise<ImageSummary[]> {
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
  for (const v of filters.get('before') ?? []) before = timeOf(svc.getImage(v));
  for (const v of filters.get('since') ?? []) since = timeOf(svc.getImage(v));
  let until: number | undefined;
  for (const v of filters.get('until') ?? []) until = parseUntil(v);
  const labelFilters = filters.get('label') ?? [];
  const refPatterns = filters.get('reference') ?? [];

  const selected = danglingOnly ? svc.images.heads() : svc.images.map();
  const out: ImageSummary[] = [];
  for (const [id, img] of selected) {
    const created = timeOf(img);
    if (before !== undefined && created >= before) continue;
    if (since !== undefined && created <= since) continue;
    if (until !== undefined && created > until) continue;
    if (!matchAllLabels(img.config.config?.Labels, labelFilters)) continue;
    const tags: string[] = [];
    const digests: string[] = [];
    for (const r of svc.references.references(id)) {
      if (refPatterns.length && !refPatterns.some((p) => familiarMatch(p, r))) continue;
      if (r.digest !== undefined) digests.push(familiarString(r));
      if (r.tag !== undefined) tags.push(familiarString(r));
    }
    if (tags.length === 0 && digests.length === 0) {
      if (opts.all || svc.images.children(id).length === 0) {
        if (dangling && !danglingOnly) continue;
        if (refPatterns.length) continue;
      } else continue;
    } else if (danglingOnly && tags.length > 0) continue;
    out.push({
      Containers: -1,
      Created: Math.floor(created / 1000),
      Id: id,
      Labels: img.config.config?.Labels ?? null,
      ParentId: svc.images.getParent(id) ?? '',
      RepoDigests: digests,
      RepoTags: tags,
      SharedSize: -1,
      Size: img.chainID ? svc.layers.size(img.chainID) : 0,
    });
  }
  out.sort((a, b) => b.Created - a.Created);
  return out;
}

export async function inspectImage(svc: ImageService, ref: string): Promise<ImageInspect> {
  const img = svc.getImage(ref);
  const c = img.config;
  const { tags, digests } = repoTagsAndDigests(svc, img.id);
  const res: ImageInspect = {
    Id: img.id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: svc.images.getParent(img.id) ?? '',
    Comment: c.comment ?? '',
    ...(c.created ? { Created: c.created } : {}),
    ...(c.container ? { Container: c.container } : {}),
    ContainerConfig: orderedContainerConfig(c.container_config ?? emptyContainerConfig()),
    DockerVersion: c.docker_version ?? '',
    Author: c.author ?? '',
    Config: inspectConfig(c.config),
    Architecture: c.architecture ?? '',
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os ?? '',
    ...(c['os.version'] ? { OsVersion: c['os.version'] } : {}),
    Size: img.chainID ? svc.layers.size(img.chainID) : 0,
    GraphDriver: { Name: 'overlay2', Data: img.chainID ? await svc.layers.layerMetadata(img.chainID) : null },
    RootFS: { Type: 'layers', ...(c.rootfs.diff_ids.length ? { Layers: c.rootfs.diff_ids } : {}) },
    Metadata: { LastTagTime: svc.images.getLastUpdated(img.id) ?? ZERO_TIME },
  };
  return res;
}

/** `docker history`: the image's history entries, newest first, with the layer sizes and the IDs and tags of its local parents. */
export async function imageHistory(svc: ImageService, name: string): Promise<HistoryResponseItem[]> {
  const img = svc.getImage(name);
  const items: HistoryResponseItem[] = [];
  const diffIDs = img.config.rootfs.diff_ids;
  let n = 0;
  for (const h of img.config.history ?? []) {
    let size = 0;
    if (!h.empty_layer) {
      if (diffIDs.length <= n) throw new Error('too many non-empty layers in History section');
      size = svc.layers.get(chainOf(diffIDs.slice(0, n + 1)))?.size ?? 0;
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
    const tags = svc.references.references(id).filter((r) => r.tag !== undefined).map((r) => familiarString(r));
    item.Tags = tags.length ? tags : null;
    id = svc.images.getParent(id);
    if (!id || !svc.images.get(id)) break;
  }
  return items;
}

/** Images as `docker system df` shows them (shared sizes, container counts) and the layers' total. */
export function imagesDiskUsage(svc: ImageService, containersByImage: Map<string, number>): { images: ImageSummary[]; layersSize: number } {
  const layerUsers = new Map<string, number>();
  const chains = new Map<string, string[]>();
  for (const [id, img] of svc.images.map()) {
    const list: string[] = [];
    for (let i = 1; i <= img.config.rootfs.diff_ids.length; i++) list.push(chainOf(img.config.rootfs.diff_ids.slice(0, i)));
    chains.set(id, list);
    for (const c of list) layerUsers.set(c, (layerUsers.get(c) ?? 0) + 1);
  }
  const images: ImageSummary[] = [];
  for (const [id, img] of svc.images.map()) {
    const { tags, digests } = repoTagsAndDigests(svc, id);
    let shared = 0;
    for (const c of chains.get(id) ?? []) if ((layerUsers.get(c) ?? 0) > 1) shared += svc.layers.get(c)?.size ?? 0;
    images.push({
      Containers: containersByImage.get(id) ?? 0,
      Created: img.config.created ? Math.floor(Date.parse(img.config.created) / 1000) : 0,
      Id: id,
      Labels: img.config.config?.Labels ?? null,
      ParentId: svc.images.getParent(id) ?? '',
      RepoDigests: digests,
      RepoTags: tags,
      SharedSize: shared,
      Size: img.chainID ? svc.layers.size(img.chainID) : 0,
    });
  }
  images.sort((a, b) => b.Created - a.Created);
  let layersSize = 0;
  for (const l of svc.layers.map().values()) layersSize += l.size;
  return { images, layersSize };
}
