// docker pull (dockerd's distribution/pull_v2.go): resolve the manifest (through an index to the
// platform's entry), fetch and verify the config, download missing layers three at a time to
// temp files, apply them in order through the layer store, then store the image and its tag and
// digest references. Nothing is stored unless every byte was verified; temp files live under the
// data root and are swept at start, so a killed daemon leaves no half layer.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import { invalidParameter, notFound } from '../pkg/errors.js';
import { chainID, type StagedLayer } from '../layer/store.js';
import type { ImageService, ImageConfig } from '../image/service.js';
import { familiarName, familiarString, trimNamed, withDigest, type Reference } from '../reference/reference.js';
import type { AuthConfig } from '../registry/auth.js';
import type { RegistryConfig } from '../registry/config.js';
import { Repository } from '../registry/repository.js';
import { RegistryError, Session } from '../registry/transport.js';
import { downloadBlob, fetchSmallBlob } from './download.js';
import {
  MANIFEST_ACCEPT,
  MAX_MANIFEST_SIZE,
  formatPlatform,
  isLayerMediaType,
  parseManifest,
  parsePlatform,
  selectManifest,
  sha256Digest,
  type Descriptor,
  type Manifest,
  type Platform,
} from './manifest.js';
import { ByteProgress, message, update, type ProgressOutput } from './progress.js';
import { Semaphore } from './semaphore.js';
import { LayerDigests } from './layerdigests.js';

const MAX_CONFIG_SIZE = 8 << 20;
/** dockerd's max-concurrent-downloads default. */
const CONCURRENT_DOWNLOADS = 3;
const CONCURRENT_EXTRACTIONS = 2;

/** A downloaded blob read back, its bytes counted into `progress` when there is one. */
function meteredFile(file: string, progress?: ByteProgress): Readable {
  const src = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!progress) return src;
  const counted = new Transform({
    transform(c: Buffer, _e, cb) {
      progress.add(c.length);
      cb(null, c);
    },
  });
  src.once('error', (err) => counted.destroy(err));
  return src.pipe(counted);
}

export interface DistributionDeps {
  images: ImageService;
  registries: RegistryConfig;
  digests: LayerDigests;
  logger: Logger;
}

export interface PullRequest {
  ref: Reference;
  /** `platform=` as given; the host's when empty. */
  platform?: string;
  auth?: AuthConfig;
  out: ProgressOutput;
  /** Aborted when the client goes away: downloads stop and nothing is stored. */
  signal?: AbortSignal;
}

/** dockerd's translatePullError: registry error codes become the messages the CLI shows. */
function translatePullError(err: unknown, ref: Reference): unknown {
  if (!(err instanceof RegistryError)) return err;
  const code = err.codes[0];
  if (code === 'MANIFEST_UNKNOWN') return notFound(`manifest for ${familiarString(ref)} not found: ${err.message}`);
  if (code === 'NAME_UNKNOWN') return notFound(`repository ${familiarName(ref)} not found: ${err.message}`);
  if (code === 'DENIED' || code === 'UNAUTHORIZED' || err.status === 401) {
    return notFound(`pull access denied for ${familiarName(ref)}, repository does not exist or may require 'docker login': ${err.message}`);
  }
  return err;
}

/** Pulls `req.ref` (tagged or digested); progress and the final status go to `req.out`. */
export async function pullImage(deps: DistributionDeps, req: PullRequest): Promise<void> {
  const want = req.platform ? parsePlatform(req.platform) : undefined;
  const endpoints = await deps.registries.endpoints(req.ref.domain);
  let lastErr: unknown;
  // Until the first byte of output an endpoint may fail and the next be tried (mirrors, then the
  // Hub; HTTPS, then HTTP for an insecure registry).
  let started = false;
  const out: ProgressOutput = (m) => {
    started = true;
    req.out(m);
  };
  for (const ep of endpoints) {
    const session = new Session(ep, req.auth, deps.logger);
    try {
      // Blobs are remembered under the reference's registry (docker.io, not the Hub's API host).
      const registry = ep.mirror ? ep.url.host : req.ref.domain;
      const tagUpdated = await pullFrom(deps, new Repository(session, req.ref.path), req.ref, want, out, registry, req.signal);
      const status = tagUpdated ? 'Downloaded newer image for' : 'Image is up to date for';
      message(req.out, '', `Status: ${status} ${familiarString(req.ref)}`);
      deps.images.event('pull', familiarString(req.ref), familiarName(req.ref), deps.images.references.get(req.ref) ?? '');
      return;
    } catch (err) {
      lastErr = translatePullError(err, req.ref);
      // A mirror may lack the image; an insecure registry may not speak TLS.
      const fallback = !started && (ep.mirror || (err instanceof RegistryError && err.network));
      deps.logger[fallback ? 'debug' : 'info']({ endpoint: ep.url.origin, ref: familiarString(req.ref), err: (err as Error).message }, 'pull from endpoint failed');
      if (!fallback) break;
    } finally {
      session.close();
    }
  }
  throw lastErr;
}

async function pullFrom(deps: DistributionDeps, repo: Repository, ref: Reference, want: Platform | undefined, out: ProgressOutput, registryHost: string, signal?: AbortSignal): Promise<boolean> {
  const tagOrDigest = ref.digest ?? ref.tag!;
  let fetched = await repo.getManifest(tagOrDigest, MANIFEST_ACCEPT, MAX_MANIFEST_SIZE);
  const manifestDigest = sha256Digest(fetched.body);
  if (ref.digest !== undefined && manifestDigest !== ref.digest) throw invalidParameter(`manifest verification failed for digest ${ref.digest}`);
  let manifest: Manifest = parseManifest(fetched.body, fetched.contentType);
  message(out, tagOrDigest, `Pulling from ${ref.path}`);
  const platform = want ?? parsePlatform(undefined);
  if (manifest.kind === 'index') {
    const entry = selectManifest(manifest, platform);
    fetched = await repo.getManifest(entry.digest, MANIFEST_ACCEPT, MAX_MANIFEST_SIZE);
    if (sha256Digest(fetched.body) !== entry.digest) throw invalidParameter(`manifest verification failed for digest ${entry.digest}`);
    manifest = parseManifest(fetched.body, fetched.contentType);
    if (manifest.kind !== 'image') throw invalidParameter(`manifest list entry ${entry.digest} is not an image manifest`);
  }
  // As dockerd: an image already stored needs neither its config nor its layers again.
  if (deps.images.images.get(manifest.config.digest)) {
    message(out, '', `Digest: ${manifestDigest}`);
    return recordReferences(deps, ref, manifestDigest, manifest.config.digest);
  }
  const configBytes = await fetchSmallBlob(repo, manifest.config, MAX_CONFIG_SIZE);
  const config = parseConfig(configBytes);
  checkPlatform(ref, config, want);
  const layers = manifest.layers;
  for (const l of layers) {
    if (!isLayerMediaType(l.mediaType)) throw invalidParameter(`unsupported layer media type ${l.mediaType} (${l.digest})`);
  }
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== layers.length) throw invalidParameter('layers from manifest don\'t match image configuration');

  const held = await fetchLayers(deps, repo, layers, diffIDs, out, registryHost, signal);
  let id: string;
  try {
    id = await deps.images.createImage(configBytes);
  } finally {
    for (const cid of held) await deps.images.layers.release(cid).catch(() => undefined);
  }
  message(out, '', `Digest: ${manifestDigest}`);
  return recordReferences(deps, ref, manifestDigest, id);
}

function parseConfig(bytes: Buffer): ImageConfig {
  let config: ImageConfig;
  try {
    config = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (err) {
    throw invalidParameter(`invalid image config: ${(err as Error).message}`);
  }
  if (!config || typeof config !== 'object' || !config.rootfs || config.rootfs.type !== 'layers' || !Array.isArray(config.rootfs.diff_ids)) {
    throw invalidParameter('invalid image config: no RootFS');
  }
  if (config.rootfs.diff_ids.some((d) => typeof d !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d))) throw invalidParameter('invalid image config: bad diff_ids');
  return config;
}

/** An image pulled without an index must still suit the requested platform (and Linux). */
function checkPlatform(ref: Reference, config: ImageConfig, want: Platform | undefined): void {
  const os = config.os || 'linux';
  if (os !== 'linux') throw invalidParameter(`image operating system "${os}" cannot be used on this platform`);
  if (want && config.architecture && config.architecture !== want.architecture) {
    const have = formatPlatform({ os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) });
    throw notFound(`image with reference ${familiarString(ref)} was found but its platform (${have}) does not match the specified platform (${formatPlatform(want)})`);
  }
}

/**
 * Makes every layer of the image present: the leading ones already stored are kept ("Already
 * exists"), the rest downloaded (three at a time) and applied in order. Returns the chain IDs
 * whose references the caller must release once the image holds its own.
 */
async function fetchLayers(deps: DistributionDeps, repo: Repository, layers: Descriptor[], diffIDs: string[], out: ProgressOutput, registryHost: string, signal?: AbortSignal): Promise<string[]> {
  const store = deps.images.layers;
  const held: string[] = [];
  let present = 0;
  while (present < layers.length && store.get(chainID(diffIDs.slice(0, present + 1)))) present++;
  if (present > 0) {
    const top = chainID(diffIDs.slice(0, present));
    store.acquire(top);
    held.push(top);
  }
  const shortID = (d: Descriptor): string => d.digest.slice(7, 19);
  for (let i = 0; i < present; i++) update(out, shortID(layers[i]!), 'Already exists');
  if (present === layers.length) return held;

  const slots = new Semaphore(CONCURRENT_DOWNLOADS);
  const abort = new AbortController();
  // The failure that stopped the others (theirs are only aborts).
  let firstErr: unknown;
  const cancel = (): void => {
    firstErr ??= new Error('context canceled');
    abort.abort();
  };
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  const files: string[] = [];
  const downloads = new Map<string, Promise<string>>();
  const todo = layers.slice(present);
  for (const d of todo) if (!downloads.has(d.digest)) update(out, shortID(d), 'Pulling fs layer');
  for (const d of todo) {
    if (downloads.has(d.digest)) continue;
    const file = join(deps.images.tmpDir, `pull-${randomBytes(8).toString('hex')}`);
    files.push(file);
    if (!slots.available()) update(out, shortID(d), 'Waiting');
    const p = slots.run(() => downloadBlob(repo, d, file, out, shortID(d), abort.signal)).then(() => file);
    p.catch((err: unknown) => {
      firstErr ??= err;
      abort.abort();
    });
    downloads.set(d.digest, p);
  }
  // Each verified download is applied at once into a staged directory (two at a time: extraction
  // is CPU-bound), then the staged layers become layers in order, each on its parent.
  const extractSlots = new Semaphore(CONCURRENT_EXTRACTIONS);
  const staging = new Map<string, Promise<StagedLayer>>();
  for (const d of todo) {
    if (staging.has(d.digest)) continue;
    const p = downloads.get(d.digest)!.then((file) =>
      extractSlots.run(async () => {
        if (abort.signal.aborted) throw firstErr;
        const progress = new ByteProgress(out, shortID(d), 'Extracting', d.size);
        const staged = await store.stage(meteredFile(file, progress));
        progress.finish();
        return staged;
      }),
    );
    p.catch((err: unknown) => {
      firstErr ??= err;
      abort.abort();
    });
    staging.set(d.digest, p);
  }
  const adopted = new Set<string>();
  try {
    for (let i = present; i < layers.length; i++) {
      const d = layers[i]!;
      const staged = await staging.get(d.digest)!;
      if (abort.signal.aborted) throw firstErr;
      if (staged.diffID !== diffIDs[i]) {
        throw invalidParameter(`layer ${d.digest} does not match its diffID in the image config: expected ${diffIDs[i]}, got ${staged.diffID}`);
      }
      const parent = i > 0 ? chainID(diffIDs.slice(0, i)) : undefined;
      // The same blob twice in one image: the second use applies its file again.
      const layer = adopted.has(d.digest)
        ? await store.register(meteredFile(await downloads.get(d.digest)!), parent)
        : await store.registerStaged(staged, parent);
      adopted.add(d.digest);
      held.push(layer.chainID);
      update(out, shortID(d), 'Pull complete');
      await deps.digests.remember(registryHost, repo.path, diffIDs[i]!, d);
    }
  } catch (err) {
    abort.abort();
    await Promise.allSettled(downloads.values());
    for (const [digest, p] of staging) {
      const staged = await p.catch(() => undefined);
      if (staged && !adopted.has(digest)) await store.discardStaged(staged);
    }
    for (const cid of held.reverse()) await store.release(cid).catch(() => undefined);
    throw firstErr ?? err;
  } finally {
    signal?.removeEventListener('abort', cancel);
    for (const f of files) await rm(f, { force: true });
  }
  return held;
}

/** Tags the image (or records the digest it was pulled by); true when a reference changed. */
async function recordReferences(deps: DistributionDeps, ref: Reference, manifestDigest: string, id: string): Promise<boolean> {
  const refs = deps.images.references;
  const digested = withDigest(trimNamed(ref), manifestDigest);
  const addDigest = async (): Promise<void> => {
    const old = refs.get(digested);
    if (old === undefined) await refs.addDigest(digested, id, true);
    else if (old !== id) deps.logger.error({ digest: manifestDigest, old, id }, 'image ID for digest changed, cannot update');
  };
  if (ref.digest !== undefined) {
    if (refs.get(ref) === id) return false;
    await addDigest();
    return true;
  }
  const old = refs.get(ref);
  await addDigest();
  if (old === id) return false;
  await refs.addTag(ref, id, true);
  return true;
}
