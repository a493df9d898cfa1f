// Garbage collection, as distribution's `garbage-collect`: mark every blob reachable from the
// manifests of every repository (an index's children included), then sweep the blobs nothing
// references, and the uploads abandoned longer than `uploadMaxAgeMs`. The manifests that refer to
// a marked one (OCI `subject`) are marked with it. With `deleteUntagged`,
// manifests no tag reaches are removed first. Run it while no client pushes: a blob uploaded
// for a manifest not yet pushed is unreferenced until that manifest arrives.

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { formatDigest, parseDigest, type Digest } from './digest.js';
import { parseManifest } from './manifest.js';
import type { Storage } from './storage.js';
import { Uploads } from './uploads.js';

export interface GcOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  /** Uploads started longer ago than this are abandoned; default a week, as distribution purges. */
  uploadMaxAgeMs?: number;
  now?: Date;
  print: (line: string) => void;
}

export interface GcResult {
  marked: number;
  blobsRemoved: string[];
  manifestsRemoved: string[];
  uploadsRemoved: string[];
}

export const DEFAULT_UPLOAD_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export async function garbageCollect(storage: Storage, o: GcOptions): Promise<GcResult> {
  const marked = new Set<string>();
  const manifestsRemoved: string[] = [];

  for (const repo of await storage.listRepositories()) {
    o.print(repo);
    const revisions = await storage.listRevisions(repo);
    const roots: Digest[] = [];
    if (o.deleteUntagged) {
      for (const tag of (await storage.listTags(repo)) ?? []) {
        const d = await storage.resolveTag(repo, tag).catch(() => undefined);
        if (d) roots.push(d);
      }
    } else {
      roots.push(...revisions);
    }
    const reached = new Set<string>();
    const visit = async (d: Digest): Promise<void> => {
      const digest = formatDigest(d);
      if (reached.has(digest)) return;
      reached.add(digest);
      marked.add(digest);
      o.print(`${repo}: marking manifest ${digest}`);
      let parsed;
      try {
        const mediaType = await storage.manifestMediaType(repo, d);
        parsed = parseManifest(await readFile(storage.blobPath(d)), mediaType);
      } catch (err) {
        o.print(`${repo}: manifest ${digest} cannot be read (${(err as Error).message}); kept, its blobs are not marked`);
        return;
      }
      for (const b of parsed.blobs) {
        marked.add(b.digest);
        o.print(`${repo}: marking blob ${b.digest}`);
      }
      for (const child of parsed.manifests) {
        await visit(parseDigest(child.digest));
      }
      // Signatures, SBOMs and other artifacts that refer to a manifest live as long as it does.
      for (const referrer of await storage.listReferrers(repo, d)) await visit(parseDigest(referrer.digest));
    };
    for (const d of roots) await visit(d);
    for (const d of revisions) {
      const digest = formatDigest(d);
      if (reached.has(digest)) continue;
      manifestsRemoved.push(`${repo}@${digest}`);
      o.print(`${repo}: manifest eligible for deletion: ${digest}`);
      if (!o.dryRun) await storage.deleteManifest(repo, d);
    }
  }

  const blobsRemoved: string[] = [];
  for (const d of await storage.listBlobs()) {
    const digest = formatDigest(d);
    if (marked.has(digest)) continue;
    blobsRemoved.push(digest);
    o.print(`blob eligible for deletion: ${digest}`);
    if (!o.dryRun) await storage.removeBlob(d);
  }
  if (!o.dryRun && blobsRemoved.length) {
    const removed = new Set(blobsRemoved);
    for (const repo of await storage.listRepositories()) {
      for (const d of await storage.listLinkedBlobs(repo)) {
        if (removed.has(formatDigest(d))) await storage.unlinkBlob(repo, d);
      }
    }
  }

  const uploadsRemoved: string[] = [];
  const cutoff = (o.now ?? new Date()).getTime() - (o.uploadMaxAgeMs ?? DEFAULT_UPLOAD_MAX_AGE_MS);
  for (const up of await Uploads.list(storage)) {
    if (up.startedAt.getTime() > cutoff) continue;
    uploadsRemoved.push(up.uuid);
    o.print(`upload eligible for deletion: ${up.uuid} (started ${up.startedAt.toISOString()})`);
    if (!o.dryRun) await rm(join(storage.uploadsDir, up.uuid), { recursive: true, force: true });
  }

  o.print(
    `${marked.size} blobs marked, ${blobsRemoved.length} blobs, ${manifestsRemoved.length} manifests and ${uploadsRemoved.length} uploads ${o.dryRun ? 'eligible for deletion' : 'deleted'}`,
  );
  return { marked: marked.size, blobsRemoved, manifestsRemoved, uploadsRemoved };
}
