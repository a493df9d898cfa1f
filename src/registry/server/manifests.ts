// Manifest, tag-list and catalog routes. A manifest PUT is validated before anything is stored:
// it must parse as one of the supported media types, match the digest it is pushed by, and every
// blob (image) or child manifest (index) it references must already be in the repository.

import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { digestOf, formatDigest, isDigest, parseDigest, type Digest } from './digest.js';
import { RegistryError, RegistryErrors } from './errors.js';
import { MAX_MANIFEST_SIZE, MEDIA_TYPE, parseManifest, type ParsedManifest } from './manifest.js';
import { paginate, parsePage, validateTag, type Page } from './names.js';
import { API_VERSION_HEADER, readBody, sendEmpty, sendJSON, type Headers } from './respond.js';
import type { Storage } from './storage.js';

function parseReference(reference: string): { tag?: string; digest?: Digest } {
  return isDigest(reference) ? { digest: parseDigest(reference) } : { tag: validateTag(reference) };
}

export async function getManifest(storage: Storage, req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
  const m = await storage.getManifest(name, parseReference(reference));
  const headers = {
    ...API_VERSION_HEADER,
    'Content-Type': m.mediaType,
    'Content-Length': m.size,
    'Docker-Content-Digest': m.digest,
    ETag: `"${m.digest}"`,
  };
  if (req.headers['if-none-match'] === `"${m.digest}"`) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await pipeline(createReadStream(m.path), res);
}

/** Every reference of the manifest that the repository does not hold, as distribution reports them. */
async function missingReferences(storage: Storage, name: string, parsed: ParsedManifest): Promise<RegistryError[]> {
  const errors: RegistryError[] = [];
  for (const b of parsed.blobs) {
    const d = parseManifestDigest(b.digest);
    const size = await storage.repoBlobSize(name, d);
    if (size === undefined) errors.push(new RegistryError('MANIFEST_BLOB_UNKNOWN', b.digest));
    else if (size !== b.size) errors.push(new RegistryError('MANIFEST_INVALID', `blob ${b.digest} has size ${size}, the manifest says ${b.size}`));
  }
  for (const child of parsed.manifests) {
    const d = parseManifestDigest(child.digest);
    if ((await storage.manifestMediaType(name, d)) === undefined) errors.push(new RegistryError('MANIFEST_BLOB_UNKNOWN', child.digest));
  }
  return errors;
}

function parseManifestDigest(s: string): Digest {
  try {
    return parseDigest(s);
  } catch (err) {
    throw new RegistryError('MANIFEST_INVALID', (err as Error).message);
  }
}

export async function putManifest(storage: Storage, req: IncomingMessage, res: ServerResponse, name: string, reference: string): Promise<void> {
  const ref = parseReference(reference);
  const body = await readBody(
    req,
    MAX_MANIFEST_SIZE,
    () => new RegistryError('MANIFEST_INVALID', `manifest too large: the limit is ${MAX_MANIFEST_SIZE} bytes`, undefined, 413),
  );
  const parsed = parseManifest(body, req.headers['content-type']);
  const d = digestOf(ref.digest?.algorithm ?? 'sha256', body);
  if (ref.digest && ref.digest.hex !== d.hex) {
    throw new RegistryError('DIGEST_INVALID', { digest: reference, computed: formatDigest(d) });
  }
  const missing = await missingReferences(storage, name, parsed);
  if (missing.length) throw new RegistryErrors(missing);
  const subject = parsed.subject ? parseManifestDigest(parsed.subject.digest) : undefined;
  await storage.putManifest(name, d, parsed.mediaType, body, ref.tag);
  const digest = formatDigest(d);
  const headers: Headers = { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  if (subject) {
    const { mediaType, artifactType, annotations } = parsed;
    await storage.addReferrer(name, subject, d, { mediaType, digest, size: body.length, artifactType, annotations });
    headers['OCI-Subject'] = formatDigest(subject);
  }
  sendEmpty(res, 201, headers);
}

/** DELETE by digest removes the manifest and its tags; by tag, only the tag. */
export async function deleteManifest(storage: Storage, res: ServerResponse, name: string, reference: string): Promise<void> {
  const ref = parseReference(reference);
  const deleted = ref.digest ? await storage.deleteManifest(name, ref.digest) : await storage.deleteTag(name, ref.tag!);
  if (!deleted) throw new RegistryError('MANIFEST_UNKNOWN', ref.tag !== undefined ? { Tag: ref.tag } : { Revision: reference });
  sendEmpty(res, 202);
}

/** The `Link` header pointing at the next page, as distribution writes it. */
function nextLink(path: string, page: Page, lastEntry: string): string {
  const q = new URLSearchParams({ last: lastEntry, n: String(page.n) });
  return `<${path}?${q}>; rel="next"`;
}

export async function listTags(storage: Storage, res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
  const page = parsePage(query);
  const tags = await storage.listTags(name);
  if (!tags) throw new RegistryError('NAME_UNKNOWN', { name });
  const { entries, more } = paginate(tags, page);
  const headers: Headers = more ? { Link: nextLink(`/v2/${name}/tags/list`, page, entries[entries.length - 1]) } : {};
  sendJSON(res, 200, { name, tags: entries }, headers);
}

export async function catalog(storage: Storage, res: ServerResponse, query: URLSearchParams): Promise<void> {
  const page = parsePage(query);
  const { entries, more } = paginate(await storage.listRepositories(), page);
  const headers: Headers = more ? { Link: nextLink('/v2/_catalog', page, entries[entries.length - 1]) } : {};
  sendJSON(res, 200, { repositories: entries }, headers);
}

/** GET /v2/<name>/referrers/<digest>: an OCI index of the manifests whose subject it is (`?artifactType=` filters). */
export async function listReferrers(storage: Storage, res: ServerResponse, name: string, digestStr: string, query: URLSearchParams): Promise<void> {
  const subject = parseDigest(digestStr);
  let manifests = await storage.listReferrers(name, subject);
  const artifactType = query.get('artifactType');
  const headers: Headers = { 'Content-Type': MEDIA_TYPE.ociIndex };
  if (artifactType) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    headers['OCI-Filters-Applied'] = 'artifactType';
  }
  sendJSON(res, 200, { schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex, manifests }, headers);
}
