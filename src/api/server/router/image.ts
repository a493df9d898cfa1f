// /images/…: import, list, inspect, tag, remove (the image issue completes the rest).
import type { Router } from '../router.js';
import { boolValue, writeJSON } from '../httputils.js';
import { versionLessThan } from '../version.js';
import { parseFilters } from '../../types/filters.js';
import { notFound, invalidParameter } from '../../../pkg/errors.js';
import type { Daemon } from '../../../daemon/daemon.js';
import { familiarName, parseNormalizedNamed } from '../../../reference/reference.js';

export function imageRoutes(r: Router, d: Daemon): void {
  r.post('/images/create', async ({ req, res, query }) => {
    const fromSrc = query.get('fromSrc');
    const fromImage = query.get('fromImage');
    if (fromSrc !== null) {
      if (fromSrc !== '-') throw invalidParameter('importing from a URL is not supported: use - and send the archive in the request body');
      const changes = query.getAll('changes');
      const id = await d.images.importImage(req, {
        repo: query.get('repo') ?? undefined,
        tag: query.get('tag') ?? undefined,
        changes,
        message: query.get('message') ?? undefined,
        platform: query.get('platform') ?? undefined,
      });
      writeJSON(res, 200, { status: id });
      return;
    }
    if (fromImage) {
      const name = familiarName(parseNormalizedNamed(fromImage));
      throw notFound(`pull access denied for ${name}, repository does not exist or may require 'docker login': pulling from registries is not supported by this daemon yet`);
    }
    throw invalidParameter('either fromSrc or fromImage must be given');
  });

  r.get('/images/json', async ({ res, query, version }) => {
    const list = await d.images.list({
      all: boolValue(query, 'all'),
      filters: parseFilters(query.get('filters')),
      digests: boolValue(query, 'digests'),
    });
    // VirtualSize left the API in 1.44; older clients still read it.
    const out = versionLessThan(version, '1.44') ? list.map((i) => ({ ...i, VirtualSize: i.Size })) : list;
    writeJSON(res, 200, out);
  });

  r.get('/images/{name:.*}/json', async ({ res, params, version }) => {
    const info = (await d.images.inspect(params.name)) as unknown as Record<string, unknown>;
    if (versionLessThan(version, '1.44')) info.VirtualSize = info.Size;
    writeJSON(res, 200, info);
  });

  r.post('/images/{name:.*}/tag', async ({ res, params, query }) => {
    const repo = query.get('repo') ?? '';
    if (!repo) throw invalidParameter('repository name must have at least one component');
    await d.images.tag(params.name, repo, query.get('tag') ?? undefined);
    res.writeHead(201);
    res.end();
  });

  r.delete('/images/{name:.*}', async ({ res, params, query }) => {
    const result = await d.images.remove(
      params.name,
      { force: boolValue(query, 'force'), noprune: boolValue(query, 'noprune') },
      (imageId) => {
        const users = d.containers.all().filter((c) => c.record.Image === imageId);
        const running = users.find((c) => c.running);
        const user = running ?? users[0];
        return user ? { id: user.id, running: running !== undefined } : undefined;
      },
    );
    writeJSON(res, 200, result);
  });
}
