// What this daemon writes into image configs and references: timestamps, the host's
// architecture name, dockerd's config marshalling, and the repo[:tag] of import and commit.
import type { ContainerConfig } from '../api/types/container.js';
import { invalidParameter } from '../pkg/errors.js';
import { parseNormalizedNamed, tagNameOnly, withTag, type Reference } from '../reference/reference.js';
import { orderedContainerConfig } from './changeinstructions.js';
import type { ImageConfig } from './store.js';

/** Go's time.RFC3339Nano of a JS date (UTC, trailing zeros of the fraction trimmed). */
export function rfc3339Nano(d: Date, extraNanos = 0): string {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const base = iso.slice(0, 19);
  const frac = (iso.slice(20, 23) + String(extraNanos).padStart(6, '0')).replace(/0+$/, '');
  return `${base}${frac ? '.' + frac : ''}Z`;
}

export function nowRFC3339Nano(): string {
  const ns = process.hrtime.bigint() % 1000000n;
  return rfc3339Nano(new Date(), Number(ns));
}

export function hostArchitecture(): string {
  const m: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le' };
  return m[process.arch] ?? process.arch;
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

/** RepoTagReference: repo (may carry a tag) + tag → a tagged reference. */
export function repoTagReference(repo: string, tag?: string): Reference {
  const ref = parseNormalizedNamed(repo);
  if (ref.digest !== undefined) throw invalidParameter('cannot import digest reference');
  if (tag) return withTag({ domain: ref.domain, path: ref.path }, tag);
  return tagNameOnly(ref);
}
