// Image manifests as registries serve them: Docker schema2 and OCI manifests, Docker manifest
// lists and OCI indexes; their parsing, validation and platform selection (dockerd's
// distribution/manifest.go and platforms matching).
import { createHash } from 'node:crypto';
import { invalidParameter, notFound } from '../pkg/errors.js';
import { validateDigest } from '../reference/reference.js';
import { hostPlatform, normalizeArchitecture } from '../pkg/platform.js';

export const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MT_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MT_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MT_DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const MT_DOCKER_FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
export const MT_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MT_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MT_SCHEMA1 = ['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws'];

/** What a pull asks for, best first. */
export const MANIFEST_ACCEPT = [MT_DOCKER_MANIFEST, MT_DOCKER_LIST, MT_OCI_MANIFEST, MT_OCI_INDEX].join(', ');
/** dockerd's limit on a manifest body. */
export const MAX_MANIFEST_SIZE = 4 << 20;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
}

export type Manifest =
  | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: 'index'; mediaType: string; manifests: Descriptor[] };

export const sha256Digest = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null) throw invalidParameter(`invalid manifest: ${where} is not a descriptor`);
  const d = v as Record<string, unknown>;
  if (typeof d.digest !== 'string' || validateDigest(d.digest) !== undefined || !d.digest.startsWith('sha256:')) {
    throw invalidParameter(`invalid manifest: ${where} has an invalid digest ${JSON.stringify(d.digest)}`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalidParameter(`invalid manifest: ${where} has an invalid size`);
  const out: Descriptor = { mediaType: typeof d.mediaType === 'string' ? d.mediaType : '', digest: d.digest, size: d.size };
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === 'string');
  if (typeof d.platform === 'object' && d.platform !== null) {
    const p = d.platform as Record<string, unknown>;
    out.platform = { os: String(p.os ?? ''), architecture: String(p.architecture ?? '') };
    if (typeof p.variant === 'string' && p.variant) out.platform.variant = p.variant;
    if (typeof p['os.version'] === 'string') out.platform['os.version'] = p['os.version'];
  }
  return out;
}

/** Parses a manifest body; `contentType` is the registry's Content-Type (the body's mediaType wins when it has one). */
export function parseManifest(body: Buffer, contentType: string | undefined): Manifest {
  let doc: Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    doc = v as Record<string, unknown>;
  } catch (err) {
    throw invalidParameter(`error parsing manifest: ${(err as Error).message}`);
  }
  const ct = (contentType ?? '').split(';')[0]!.trim();
  let mt = typeof doc.mediaType === 'string' && doc.mediaType ? doc.mediaType : ct;
  if (!mt || mt === 'application/json' || mt === 'text/plain') mt = Array.isArray(doc.manifests) ? MT_OCI_INDEX : MT_OCI_MANIFEST;
  if (MT_SCHEMA1.includes(mt) || doc.schemaVersion === 1) {
    throw invalidParameter('Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of the image to migrate to the OCI Image Format or Docker Image manifest v2, schema 2.');
  }
  if (doc.schemaVersion !== 2) throw invalidParameter(`unsupported manifest schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  if (mt === MT_DOCKER_LIST || mt === MT_OCI_INDEX) {
    if (!Array.isArray(doc.manifests)) throw invalidParameter('invalid manifest list: no manifests');
    return { kind: 'index', mediaType: mt, manifests: doc.manifests.map((m, i) => descriptor(m, `manifests[${i}]`)) };
  }
  if (mt === MT_DOCKER_MANIFEST || mt === MT_OCI_MANIFEST) {
    if (!Array.isArray(doc.layers)) throw invalidParameter('invalid manifest: no layers');
    return { kind: 'image', mediaType: mt, config: descriptor(doc.config, 'config'), layers: doc.layers.map((l, i) => descriptor(l, `layers[${i}]`)) };
  }
  throw invalidParameter(`unsupported manifest media type and no default available: ${mt}`);
}

/** `linux/arm64/v8` → a platform; empty → the host's. As containerd's platforms.Parse, simplified to what images carry. */
export function parsePlatform(spec: string | undefined): Platform {
  if (!spec) {
    const h = hostPlatform();
    return { os: 'linux', architecture: h.architecture, ...(h.variant ? { variant: h.variant } : {}) };
  }
  const parts = spec.toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => p === '')) throw invalidParameter(`"${spec}": unknown operating system or architecture: invalid argument`);
  let [os, arch, variant] = parts as [string, string | undefined, string | undefined];
  if (arch === undefined) {
    // A lone architecture means linux/<arch>, a lone OS the host's architecture.
    if (os === 'linux' || os === 'windows' || os === 'darwin' || os === 'freebsd') arch = hostPlatform().architecture;
    else {
      arch = os;
      os = 'linux';
    }
  }
  arch = normalizeArchitecture(arch);
  if (arch === 'arm64' && variant === undefined) variant = 'v8';
  if (arch === 'arm' && variant === undefined) variant = 'v7';
  return { os, architecture: arch, ...(variant ? { variant } : {}) };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether an image's variant runs where `want` is asked: arm64 means v8; arm v7 runs v6 and v5. */
function variantMatches(arch: string, want: string | undefined, have: string | undefined): boolean {
  const norm = (v: string | undefined): string | undefined => (arch === 'arm64' ? (v ?? 'v8') : v);
  const w = norm(want);
  const h = norm(have);
  if (h === undefined || w === h) return true;
  if (arch !== 'arm' || w === undefined) return false;
  const order = ['v5', 'v6', 'v7', 'v8'];
  const wi = order.indexOf(w);
  const hi = order.indexOf(h);
  return wi >= 0 && hi >= 0 && hi <= wi;
}

/** The entry of an index for `want`: an exact variant before a compatible one; notFound when none. */
export function selectManifest(m: Extract<Manifest, { kind: 'index' }>, want: Platform): Descriptor {
  const candidates = m.manifests.filter((d) => {
    const p = d.platform;
    if (!p) return false;
    if (d.mediaType && d.mediaType !== MT_DOCKER_MANIFEST && d.mediaType !== MT_OCI_MANIFEST) return false;
    return p.os === want.os && normalizeArchitecture(p.architecture) === want.architecture && variantMatches(want.architecture, want.variant, p.variant);
  });
  candidates.sort((a, b) => Number(b.platform?.variant === want.variant) - Number(a.platform?.variant === want.variant));
  const found = candidates[0];
  if (!found) throw notFound(`no matching manifest for ${formatPlatform(want)} in the manifest list entries`);
  return found;
}

/** Whether a layer descriptor is one pulls apply (foreign, Windows-only layers are refused). */
export function isLayerMediaType(mt: string): boolean {
  return (
    mt === MT_DOCKER_LAYER ||
    mt === 'application/vnd.oci.image.layer.v1.tar' ||
    mt === 'application/vnd.oci.image.layer.v1.tar+gzip' ||
    mt === 'application/vnd.oci.image.layer.v1.tar+zstd' ||
    mt === 'application/vnd.docker.image.rootfs.diff.tar' ||
    mt === ''
  );
}
