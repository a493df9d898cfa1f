// Manifest media types and what the registry needs of a manifest: its kind, and the blobs and
// child manifests it references (for validation on PUT and for garbage collection).

import { RegistryError } from './errors.js';

export const MEDIA_TYPE = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

/** distribution's limit on a manifest body. */
export const MAX_MANIFEST_SIZE = 4 << 20;

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs an image manifest needs in the repository: config, then layers (foreign ones left out). */
  blobs: Descriptor[];
  /** Manifests an index lists. */
  manifests: Descriptor[];
  /** OCI 1.1 `subject`, when present. */
  subject?: Descriptor;
  /** What the referrers API lists it as: `artifactType`, else an image's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const IMAGE_TYPES = new Set<string>([MEDIA_TYPE.dockerManifest, MEDIA_TYPE.ociManifest]);
const INDEX_TYPES = new Set<string>([MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.ociIndex]);
const FOREIGN_LAYER = /^application\/vnd\.docker\.image\.rootfs\.foreign\.diff\.tar|^application\/vnd\.oci\.image\.layer\.nondistributable\./;

export function isManifestMediaType(mediaType: string): boolean {
  return IMAGE_TYPES.has(mediaType) || INDEX_TYPES.has(mediaType);
}

function invalid(detail: string): RegistryError {
  return new RegistryError('MANIFEST_INVALID', detail);
}

function descriptor(v: unknown, where: string): Descriptor {
  if (typeof v !== 'object' || v === null) throw invalid(`${where}: not a descriptor`);
  const d = v as Record<string, unknown>;
  if (typeof d.digest !== 'string') throw invalid(`${where}: digest missing`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where}: invalid size`);
  if (d.mediaType !== undefined && typeof d.mediaType !== 'string') throw invalid(`${where}: invalid mediaType`);
  const urls = Array.isArray(d.urls) ? d.urls.filter((u): u is string => typeof u === 'string') : undefined;
  return { digest: d.digest, size: d.size, mediaType: d.mediaType as string | undefined, urls };
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function descriptors(v: unknown, where: string): Descriptor[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${where}: not a list`);
  return v.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/**
 * Parses a manifest body. The media type comes from the body's `mediaType` or, when the body has
 * none (OCI allows that), from the Content-Type it was pushed with; when both are there they must
 * agree, as distribution requires.
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid('manifest is not a JSON object');
  const m = doc as Record<string, unknown>;
  const declared = typeof m.mediaType === 'string' ? m.mediaType : undefined;
  const header = contentType?.split(';')[0].trim() || undefined;
  if (declared && header && header !== declared && isManifestMediaType(header)) {
    throw invalid(`mediaType in manifest (${declared}) does not match Content-Type (${header})`);
  }
  let mediaType = declared ?? (header && isManifestMediaType(header) ? header : undefined);
  if (!mediaType) {
    // Neither says: OCI's own rule is to tell an index from an image by its `manifests` field.
    if (m.schemaVersion === 2 && Array.isArray(m.manifests)) mediaType = MEDIA_TYPE.ociIndex;
    else if (m.schemaVersion === 2 && m.config !== undefined) mediaType = MEDIA_TYPE.ociManifest;
  }
  if (mediaType === MEDIA_TYPE.dockerSchema1 || mediaType === MEDIA_TYPE.dockerSchema1Signed || m.schemaVersion === 1) {
    throw invalid('Docker image manifest schema 1 is not supported');
  }
  if (!mediaType || !isManifestMediaType(mediaType)) throw invalid(`unsupported manifest media type ${JSON.stringify(mediaType ?? header ?? '')}`);
  if (m.schemaVersion !== 2) throw invalid('schemaVersion must be 2');
  const subject = m.subject === undefined ? undefined : descriptor(m.subject, 'subject');
  const annotations = stringMap(m.annotations);
  const declaredArtifactType = typeof m.artifactType === 'string' ? m.artifactType : undefined;

  if (IMAGE_TYPES.has(mediaType)) {
    const config = descriptor(m.config, 'config');
    const layers = descriptors(m.layers, 'layers');
    if (mediaType === MEDIA_TYPE.dockerManifest && layers.length === 0) throw invalid('layers: a Docker image manifest needs at least one layer');
    const needed = layers.filter((l) => !(l.urls?.length && l.mediaType && FOREIGN_LAYER.test(l.mediaType)));
    const artifactType = declaredArtifactType ?? config.mediaType;
    return { mediaType, kind: 'image', blobs: [config, ...needed], manifests: [], subject, artifactType, annotations };
  }
  if (!Array.isArray(m.manifests)) throw invalid('manifests: missing');
  return { mediaType, kind: 'index', blobs: [], manifests: descriptors(m.manifests, 'manifests'), subject, artifactType: declaredArtifactType, annotations };
}
