// docker push (dockerd's distribution/push_v2.go): for each layer, top first, find it on the
// registry (a blob this registry is known to have: HEAD in the repository, else a cross-repository
// mount) or upload it gzip'd in a streamed, chunked upload; the config in one monolithic PUT; then
// the schema2 manifest under the tag. Five uploads at a time, as dockerd. What was pushed is
// remembered per registry, so pushing again uploads nothing.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { invalidParameter, notFound } from '../pkg/errors.js';
import { chainID } from '../layer/store.js';
import { familiarName, familiarString, fullName, trimNamed, withDigest, type Reference } from '../reference/reference.js';
import type { AuthConfig } from '../registry/auth.js';
import { Repository } from '../registry/repository.js';
import { RegistryError, Session } from '../registry/transport.js';
import { MT_DOCKER_CONFIG, MT_DOCKER_LAYER, MT_DOCKER_MANIFEST, sha256Digest } from './manifest.js';
import { ByteProgress, message, update, type ProgressOutput } from './progress.js';
import { Semaphore } from './semaphore.js';
import type { DistributionDeps } from './pull.js';

/** dockerd's max-concurrent-uploads default. */
const CONCURRENT_UPLOADS = 5;
/** Mount sources tried per layer, as dockerd. */
const MAX_MOUNT_ATTEMPTS = 3;

export interface PushRequest {
  /** The repository, without tag (tags come from `tag` or are all of the repository's). */
  name: Reference;
  tag?: string;
  auth?: AuthConfig;
  out: ProgressOutput;
}

interface PushedBlob {
  digest: string;
  size: number;
}

export async function pushImage(deps: DistributionDeps, req: PushRequest): Promise<void> {
  const repoName = trimNamed(req.name);
  const refs = deps.images.references
    .referencesByName(repoName)
    .filter((r) => r.ref.tag !== undefined && (req.tag === undefined || r.ref.tag === req.tag));
  if (refs.length === 0) {
    if (req.tag !== undefined) throw notFound(`tag does not exist: ${familiarString({ ...repoName, tag: req.tag })}`);
    throw notFound(`An image does not exist locally with the tag: ${familiarName(repoName)}`);
  }
  message(req.out, '', `The push refers to repository [${fullName(repoName)}]`);
  const endpoints = await deps.registries.endpoints(repoName.domain, true);
  let lastErr: unknown;
  for (const ep of endpoints) {
    const session = new Session(ep, req.auth, deps.logger);
    try {
      const repo = new Repository(session, repoName.path);
      for (const { ref, id } of refs) await pushTag(deps, repo, ref, id, req.out, repoName.domain);
      return;
    } catch (err) {
      lastErr = err;
      if (!(err instanceof RegistryError && err.network)) break;
      deps.logger.debug({ endpoint: ep.url.origin, err: (err as Error).message }, 'push endpoint unreachable');
    } finally {
      session.close();
    }
  }
  throw lastErr;
}

async function pushTag(deps: DistributionDeps, repo: Repository, ref: Reference, id: string, out: ProgressOutput, registry: string): Promise<void> {
  const img = deps.images.images.get(id);
  if (!img) throw notFound(`No such image: ${id}`);
  const diffIDs = img.config.rootfs.diff_ids;
  const ids = diffIDs.map((d) => d.slice(7, 19));
  // Top layer first, as dockerd lists them.
  const order = diffIDs.map((_, i) => i).reverse();
  for (const i of order) update(out, ids[i]!, 'Preparing');
  const slots = new Semaphore(CONCURRENT_UPLOADS);
  const results: PushedBlob[] = new Array(diffIDs.length);
  const tasks = order.map((i) => {
    if (!slots.available()) update(out, ids[i]!, 'Waiting');
    return slots.run(async () => {
      results[i] = await pushLayer(deps, repo, registry, chainID(diffIDs.slice(0, i + 1)), diffIDs[i]!, out, ids[i]!);
    });
  });
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;

  const configBytes = await readFile(join(deps.images.images.contentDir, id.slice(7)));
  if ((await repo.statBlob(id)) === undefined) {
    const up = await repo.startUpload();
    if (up.mounted) throw invalidParameter('registry mounted a blob it was not asked to');
    await repo.finishUpload(up.location, id, configBytes, configBytes.length);
  }
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: MT_DOCKER_MANIFEST,
        config: { mediaType: MT_DOCKER_CONFIG, size: configBytes.length, digest: id },
        layers: results.map((b) => ({ mediaType: MT_DOCKER_LAYER, size: b.size, digest: b.digest })),
      },
      null,
      3,
    ),
  );
  const digest = sha256Digest(manifest);
  await repo.putManifest(ref.tag!, MT_DOCKER_MANIFEST, manifest);
  const digested = withDigest(trimNamed(ref), digest);
  const old = deps.images.references.get(digested);
  if (old === undefined) await deps.images.references.addDigest(digested, id, true);
  message(out, '', `${ref.tag}: digest: ${digest} size: ${manifest.length}`);
  out({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: manifest.length } });
  deps.images.event('push', familiarString(ref), familiarName(ref), id);
}

/** Makes one layer present in the repository; its compressed digest and size. */
async function pushLayer(deps: DistributionDeps, repo: Repository, registry: string, cid: string, diffID: string, out: ProgressOutput, id: string): Promise<PushedBlob> {
  const known = deps.digests.lookup(registry, repo.path, diffID);
  for (const rec of known.filter((r) => r.repository === repo.path)) {
    if ((await repo.statBlob(rec.digest)) !== undefined) {
      update(out, id, 'Layer already exists');
      return { digest: rec.digest, size: rec.size };
    }
  }
  for (const rec of known.filter((r) => r.repository !== repo.path).slice(0, MAX_MOUNT_ATTEMPTS)) {
    const up = await repo.startUpload({ digest: rec.digest, from: rec.repository });
    if (up.mounted) {
      update(out, id, `Mounted from ${rec.repository}`);
      await deps.digests.remember(registry, repo.path, diffID, rec);
      return { digest: rec.digest, size: rec.size };
    }
    // The registry started a plain upload instead: let it lapse, upload below.
    await repo.session.request('DELETE', up.location, { scopes: [repo.scope('pull,push')] }).then((r) => r.body.resume(), () => undefined);
  }
  const blob = await uploadLayer(deps, repo, cid, out, id);
  await deps.digests.remember(registry, repo.path, diffID, { ...blob, mediaType: MT_DOCKER_LAYER });
  update(out, id, 'Pushed');
  return blob;
}

/** Streams the layer's tar, gzip'd, in one chunked PATCH; then PUT ?digest= completes it. */
async function uploadLayer(deps: DistributionDeps, repo: Repository, cid: string, out: ProgressOutput, id: string): Promise<PushedBlob> {
  const layers = deps.images.layers;
  const total = (await layers.tarSize(cid)) ?? 0;
  const progress = new ByteProgress(out, id, 'Pushing', total);
  const hash = createHash('sha256');
  let size = 0;
  const { stream, exact } = await layers.tarStream(cid);
  if (!exact) {
    stream.destroy();
    throw invalidParameter(`layer ${cid} has no record of its original tar (stored by an older berthd): its content would not match the image's diffID; pull or build the image again`);
  }
  let location: URL;
  try {
    const up = await repo.startUpload();
    if (up.mounted) throw invalidParameter('registry mounted a blob it was not asked to');
    location = up.location;
  } catch (err) {
    stream.destroy();
    throw err;
  }
  const counted = stream.pipe(
    new Transform({
      transform(c: Buffer, _e, cb) {
        progress.add(c.length);
        cb(null, c);
      },
    }),
  );
  const gz = createGzip();
  const meter = new Transform({
    transform(c: Buffer, _e, cb) {
      hash.update(c);
      size += c.length;
      cb(null, c);
    },
  });
  const piping = pipeline(counted, gz, meter).catch((err: unknown) => {
    meter.destroy(err as Error);
  });
  const next = await repo.uploadStream(location, meter);
  await piping;
  progress.finish();
  const digest = `sha256:${hash.digest('hex')}`;
  await repo.finishUpload(next, digest, undefined, 0);
  return { digest, size };
}
