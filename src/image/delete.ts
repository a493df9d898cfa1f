// Removing images: `docker rmi` (untag, conflicts with containers and children, parents
// pruned) and `docker image prune`, as dockerd's daemon/images/image_delete.go and image_prune.go.
import type { ImageDeleteResponseItem, ImagesPruneReport } from '../api/types/image.js';
import { conflict, invalidParameter, isKind, notFound, type BerthError } from '../pkg/errors.js';
import { familiarName, familiarString, parseNormalizedNamed, tagNameOnly, type Reference } from '../reference/reference.js';
import { matchLabelFilters } from '../pkg/labels.js';
import { parseUntil } from './filters.js';
import type { ImageService } from './service.js';

/** Who uses an image: a container (and whether it runs), or undefined. */
export type UsedBy = (imageId: string) => { id: string; running: boolean } | undefined;

function shortID(id: string): string {
  return (id.startsWith('sha256:') ? id.slice(7) : id).slice(0, 12);
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

/** `docker rmi` (dockerd's ImageDelete): untags, and deletes the image when nothing else refers to it. */
export async function removeImage(
  svc: ImageService,
  ref: string,
  opts: { force: boolean; noprune: boolean },
  usedBy: UsedBy,
): Promise<ImageDeleteResponseItem[]> {
  const img = svc.getImage(ref);
  const imgID = img.id;
  const records: ImageDeleteResponseItem[] = [];
  let repoRefs = svc.references.references(imgID);
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
    if (!(await svc.references.delete(parsed))) throw notFound(`No such image: ${familiarString(parsed)}`);
    records.push({ Untagged: familiarString(parsed) });
    svc.event('untag', imgID, imgID);
    repoRefs = svc.references.references(imgID);

    if (parsed.digest === undefined) {
      const sameRepoTag = repoRefs.some((r) => r.digest === undefined && familiarName(r) === familiarName(parsed));
      if (!sameRepoTag) {
        const remaining: Reference[] = [];
        for (const r of repoRefs) {
          if (r.digest !== undefined && familiarName(r) === familiarName(parsed)) {
            await svc.references.delete(r);
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
    const c = deleteConflict(svc, imgID, { hard: true, soft: !opts.force, activeReference: false }, usedBy);
    if (c) throw c.err;
    for (const r of repoRefs) {
      await svc.references.delete(r);
      records.push({ Untagged: familiarString(r) });
      svc.event('untag', imgID, imgID);
    }
  }

  await deleteHelper(svc, imgID, records, opts.force, !opts.noprune, removedRepositoryRef, usedBy);
  return records;
}

function deleteConflict(
  svc: ImageService,
  imgID: string,
  mask: { hard: boolean; soft: boolean; activeReference: boolean },
  usedBy: UsedBy,
): { err: BerthError; used: boolean } | undefined {
  const mk = (hard: boolean, msg: string, used: boolean): { err: BerthError; used: boolean } => ({
    err: conflict(`conflict: unable to delete ${shortID(imgID)} (${hard ? 'cannot be forced' : 'must be forced'}) - ${msg}`),
    used,
  });
  if (mask.hard && svc.images.children(imgID).length > 0) return mk(true, 'image has dependent child images', false);
  const c = usedBy(imgID);
  if (mask.hard && c?.running) return mk(true, `image is being used by running container ${shortID(c.id)}`, true);
  if (mask.soft && mask.activeReference && svc.references.hasReferences(imgID)) {
    return mk(false, 'image is referenced in multiple repositories', false);
  }
  if (mask.soft && c && !c.running) return mk(false, `image is being used by stopped container ${shortID(c.id)}`, true);
  return undefined;
}

async function deleteHelper(
  svc: ImageService,
  imgID: string,
  records: ImageDeleteResponseItem[],
  force: boolean,
  prune: boolean,
  quiet: boolean,
  usedBy: UsedBy,
): Promise<void> {
  const c = deleteConflict(svc, imgID, { hard: true, soft: !force, activeReference: true }, usedBy);
  if (c) {
    const dangling = !svc.references.hasReferences(imgID) && svc.images.children(imgID).length === 0;
    if (quiet && (!dangling || c.used)) return;
    throw c.err;
  }
  const parent = svc.images.getParent(imgID);
  for (const r of svc.references.references(imgID)) {
    await svc.references.delete(r);
    records.push({ Untagged: familiarString(r) });
  }
  const removedLayers = await svc.images.delete(imgID);
  svc.event('delete', imgID, imgID);
  records.push({ Deleted: imgID });
  for (const l of removedLayers) records.push({ Deleted: l.chainID });
  if (!prune || !parent || !svc.images.get(parent)) return;
  await deleteHelper(svc, parent, records, false, true, true, usedBy);
}

/** `docker image prune`: removes the dangling (or all unused) images the filters select. */
export async function pruneImages(svc: ImageService, filters: Map<string, string[]>, usedBy: UsedBy): Promise<ImagesPruneReport> {
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
  const allLayers = svc.layers.map();
  const candidates = danglingOnly ? svc.images.heads() : svc.images.map();
  const top: string[] = [];
  for (const [id, img] of candidates) {
    if (!svc.references.hasReferences(id) && svc.images.children(id).length > 0) continue;
    if (until !== undefined && (!img.config.created || Date.parse(img.config.created) > until)) continue;
    if (!matchLabelFilters(img.config.config?.Labels, filters)) continue;
    top.push(id);
  }
  const deleted: ImageDeleteResponseItem[] = [];
  const ignorable = (err: unknown): boolean => isKind(err, 'conflict') || isKind(err, 'not-found');
  for (const id of top) {
    if (!svc.images.get(id)) continue;
    const refs = svc.references.references(id);
    if (refs.length > 0) {
      const shouldDelete = !danglingOnly || !refs.some((r) => r.tag !== undefined);
      if (!shouldDelete) continue;
      for (const r of refs) {
        try {
          deleted.push(...(await removeImage(svc, familiarString(r), { force: false, noprune: false }, usedBy)));
        } catch (err) {
          if (!ignorable(err)) throw err;
        }
      }
    } else {
      try {
        deleted.push(...(await removeImage(svc, id.slice(7), { force: false, noprune: false }, usedBy)));
      } catch (err) {
        if (!ignorable(err)) throw err;
      }
    }
  }
  let reclaimed = 0;
  for (const d of deleted) if (d.Deleted) reclaimed += allLayers.get(d.Deleted)?.size ?? 0;
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
}
