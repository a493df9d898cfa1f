// What this daemon writes into image configs and references: dockerd's config marshalling and
// the repo[:tag] of import and commit.
import type { ContainerConfig } from '../api/types/container.js';
import { invalidParameter } from '../pkg/errors.js';
import { parseNormalizedNamed, tagNameOnly, withTag, type Reference } from '../reference/reference.js';
import { orderedContainerConfig } from './changeinstructions.js';
import type { ImageConfig } from './store.js';

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

/** RepoTagReference: repo (may carry a tag) + tag → a tagged reference. */
export function repoTagReference(repo: string, tag?: string): Reference {
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw invalidParameter('cannot import digest reference');
  if (tag) return withTag({ domain: ref.domain, path: ref.path }, tag);
  return tagNameOnly(ref);
}
