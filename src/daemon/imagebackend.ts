// The image router's backend (server/router/image.ts): the image service, plus what only the
// daemon knows: which containers use an image, and commits of containers.
import type { ImageBackend } from '../server/router/image.js';
import type { UsedBy } from '../image/service.js';
import { parseNormalizedNamed, tagNameOnly, trimNamed, validateDigest, withDigest, withTag, type Reference } from '../reference/reference.js';
import { decodeAuthHeader } from '../registry/auth.js';
import { pullImage } from '../distribution/pull.js';
import { pushImage } from '../distribution/push.js';
import type { Daemon } from './daemon.js';
import { normalizeConfig } from './config.js';
import { commitContainer } from './commit.js';

/** The container using an image (a running one first), for rmi's and prune's conflicts. */
function usedBy(d: Daemon): UsedBy {
  return (imageId) => {
    const users = d.containers.all().filter((c) => c.record.Image === imageId);
    const running = users.find((c) => c.running);
    const user = running ?? users[0];
    return user ? { id: user.id, running: running !== undefined } : undefined;
  };
}

/** fromImage plus tag= as dockerd combines them: a tag that parses as a digest pins it. */
function pullReference(fromImage: string, tag: string): Reference {
  const ref = parseNormalizedNamed(fromImage);
  if (tag === '') return tagNameOnly(ref);
  if (validateDigest(tag) === undefined) return withDigest(trimNamed(ref), tag);
  return withTag(ref, tag);
}

export function imageBackend(d: Daemon): ImageBackend {
  return {
    images: (opts) => d.images.list(opts),
    imageInspect: (name) => d.images.inspect(name),
    imageHistory: (name) => d.images.history(name),
    imageTag: (name, repo, tag) => d.images.tag(name, repo, tag),
    imageRemove: (name, opts) => d.images.remove(name, opts, usedBy(d)),
    imagesPrune: (filters) => d.images.prune(filters, usedBy(d)),
    imageImport: (src, opts) => d.images.importImage(src, opts),
    imagePull: async (req, out, signal) => {
      const auth = decodeAuthHeader(req.registryAuth);
      await pullImage(d.distribution, { ref: pullReference(req.fromImage, req.tag), platform: req.platform, out, ...(auth ? { auth } : {}), ...(signal ? { signal } : {}) });
    },
    imagePush: async (req, out) => {
      const auth = decodeAuthHeader(req.registryAuth);
      let name = parseNormalizedNamed(req.name);
      if (req.tag) name = withTag(name, req.tag);
      await pushImage(d.distribution, { name: trimNamed(name), ...(name.tag !== undefined ? { tag: name.tag } : {}), out, ...(auth ? { auth } : {}) });
    },
    imagesSave: (names) => d.images.save(names),
    imagesLoad: (src, out, quiet) => d.images.load(src, out, quiet),
    commit: ({ config, ...req }) => commitContainer(d, { ...req, config: config === undefined ? undefined : normalizeConfig(config) }),
  };
}
