// /images/…: import, list, inspect, tag, remove, save/load, history, prune; and /system/df.
import { pipeline } from 'node:stream/promises';
import type { Router } from '../router.js';
import { boolValue, writeJSON } from '../httputils.js';
import { versionLessThan } from '../version.js';
import { parseFilters } from '../../api/types/filters.js';
import { notFound, invalidParameter } from '../../pkg/errors.js';
import type { Daemon } from '../../daemon/daemon.js';
import { familiarName, parseNormalizedNamed } from '../../reference/reference.js';
import { listContainers } from '../../daemon/inspect.js';
import type { UsedBy } from '../../image/service.js';

/** The container using an image (a running one first), for rmi's and prune's conflicts. */
function usedBy(d: Daemon): UsedBy {
  return (imageId) => {
    const users = d.containers.all().filter((c) => c.record.Image === imageId);
    const running = users.find((c) => c.running);
    const user = running ?? users[0];
    return user ? { id: user.id, running: running !== undefined } : undefined;
  };
}

export function imageRoutes(r: Router, d: Daemon): void {
  const save = async (res: import('node:http').ServerResponse, names: string[]): Promise<void> => {
    const stream = await d.images.save(names);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(stream, res).catch((err: unknown) => {
      d.logger.warn({ err }, 'image save failed');
      res.destroy();
    });
  };
  r.get('/images/get', async ({ res, query }) => save(res, query.getAll('names')));
  r.get('/images/{name:.*}/get', async ({ res, params }) => save(res, [params.name]));

  r.post('/images/load', async ({ req, res, query }) => {
    const quiet = query.has('quiet') ? boolValue(query, 'quiet') : true;
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const write = (m: unknown): void => {
      res.write(JSON.stringify(m) + '\r\n');
    };
    try {
      await d.images.load(req, write, quiet);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      write({ errorDetail: { message }, error: message });
      if (!req.readableEnded && !req.destroyed) {
        const ended = new Promise((resolve) => {
          req.once('end', resolve);
          req.once('close', resolve);
        });
        req.resume();
        await ended;
      }
    }
    res.end();
  });

  r.get('/images/{name:.*}/history', async ({ res, params }) => {
    writeJSON(res, 200, await d.images.history(params.name));
  });

  r.post('/images/prune', async ({ res, query }) => {
    writeJSON(res, 200, await d.images.prune(parseFilters(query.get('filters')), usedBy(d)));
  });

  r.get('/system/df', async ({ res, query }) => {
    const types = query.getAll('type');
    for (const t of types) {
      if (!['container', 'image', 'volume', 'build-cache'].includes(t)) throw invalidParameter(`unknown object type: ${t}`);
    }
    const want = (t: string): boolean => types.length === 0 || types.includes(t);
    const out: Record<string, unknown> = {};
    if (want('image')) {
      const counts = new Map<string, number>();
      for (const c of d.containers.all()) counts.set(c.record.Image, (counts.get(c.record.Image) ?? 0) + 1);
      const du = d.images.diskUsage(counts);
      out.LayersSize = du.layersSize;
      out.Images = du.images;
    }
    if (want('container')) {
      out.Containers = await listContainers(d, { all: true, limit: -1, size: true, filters: new Map() });
    }
    if (want('volume')) out.Volumes = await d.volumes.usage();
    if (want('build-cache')) out.BuildCache = [];
    writeJSON(res, 200, out);
  });

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
    const result = await d.images.remove(params.name, { force: boolValue(query, 'force'), noprune: boolValue(query, 'noprune') }, usedBy(d));
    writeJSON(res, 200, result);
  });
}
