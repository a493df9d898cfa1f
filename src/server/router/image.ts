// /images/…: import, list, inspect, tag, remove, save/load, history, prune; and /commit
// (dockerd's router/image). The routes parse the request and write the answer; the ImageBackend
// does the work.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Router } from '../router.js';
import { boolValue, expectObject, readJSONBody, writeJSON } from '../httputils.js';
import { versionAtLeast, versionLessThan } from '../version.js';
import { parseFilters, type Filters } from '../../api/types/filters.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { HistoryResponseItem, ImageDeleteResponseItem, ImageInspect, ImagesPruneReport, ImageSummary } from '../../api/types/image.js';
import type { ImportOptions } from '../../image/service.js';
import type { ListOptions } from '../../image/views.js';
import type { LoadMessage } from '../../image/tarexport.js';
import type { JSONMessage } from '../../api/types/jsonstream.js';

export interface CommitRequest {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Pause a running container while its layer is read (default true). */
  pause: boolean;
  /** Dockerfile instructions (?changes=). */
  changes: string[];
  /** The decoded container.Config body, if one was sent. */
  config?: Record<string, unknown>;
}

export interface PullRequest {
  fromImage: string;
  tag: string;
  platform: string;
  /** The X-Registry-Auth header, still encoded. */
  registryAuth?: string;
}

export interface PushRequest {
  name: string;
  tag: string;
  registryAuth?: string;
}

/**
 * Streams JSON messages as dockerd's WriteFlusher does: nothing is sent until the first message,
 * so an error before it is a plain HTTP error; after it, an error is the stream's last message.
 */
export async function streamMessages(res: ServerResponse, run: (out: (m: JSONMessage) => void, signal: AbortSignal) => Promise<void>): Promise<void> {
  // A client that goes away cancels the work, as dockerd's request context does.
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const out = (m: JSONMessage): void => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
    res.write(JSON.stringify(m) + '\r\n');
  };
  try {
    await run(out, gone.signal);
  } catch (err) {
    if (!res.headersSent) throw err;
    const message = err instanceof Error ? err.message : String(err);
    out({ errorDetail: { message }, error: message });
  }
  if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end();
}

export interface ImageBackend {
  images(opts: ListOptions): Promise<ImageSummary[]>;
  imageInspect(name: string): Promise<ImageInspect>;
  imageHistory(name: string): Promise<HistoryResponseItem[]>;
  imageTag(name: string, repo: string, tag?: string): Promise<void>;
  /** Refuses an image used by a container unless forced (the daemon knows the containers). */
  imageRemove(name: string, opts: { force: boolean; noprune: boolean }): Promise<ImageDeleteResponseItem[]>;
  imagesPrune(filters: Filters): Promise<ImagesPruneReport>;
  /** POST /images/create?fromSrc=-: resolves to the new image's ID. */
  imageImport(src: Readable, opts: ImportOptions): Promise<string>;
  /** POST /images/create?fromImage=: pulls from a registry, reporting progress to `out`. */
  imagePull(req: PullRequest, out: (m: JSONMessage) => void, signal?: AbortSignal): Promise<void>;
  /** POST /images/{name}/push: pushes the tag (or every tag of the repository), reporting progress to `out`. */
  imagePush(req: PushRequest, out: (m: JSONMessage) => void): Promise<void>;
  imagesSave(names: string[]): Promise<Readable>;
  imagesLoad(src: Readable, out: (m: LoadMessage) => void, quiet: boolean): Promise<void>;
  /** POST /commit: resolves to the new image's ID. */
  commit(req: CommitRequest): Promise<string>;
}

export function imageRoutes(r: Router, b: ImageBackend): void {
  const save = async (res: ServerResponse, names: string[]): Promise<void> => {
    const stream = await b.imagesSave(names);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(stream, res).catch((err: unknown) => {
      r.logger.warn({ err }, 'image save failed');
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
      await b.imagesLoad(req, write, quiet);
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

  r.post('/images/{name:.*}/push', async ({ req, res, params, query }) => {
    const registryAuth = req.headers['x-registry-auth'];
    const push: PushRequest = { name: params.name, tag: query.get('tag') ?? '' };
    if (typeof registryAuth === 'string' && registryAuth) push.registryAuth = registryAuth;
    await streamMessages(res, (out) => b.imagePush(push, out));
  });

  r.get('/images/{name:.*}/history', async ({ res, params }) => {
    writeJSON(res, 200, await b.imageHistory(params.name));
  });

  r.post('/images/prune', async ({ res, query }) => {
    writeJSON(res, 200, await b.imagesPrune(parseFilters(query.get('filters'))));
  });

  r.post('/images/create', async ({ req, res, query }) => {
    const fromSrc = query.get('fromSrc');
    const fromImage = query.get('fromImage');
    if (fromSrc !== null) {
      if (fromSrc !== '-') throw invalidParameter('importing from a URL is not supported: use - and send the archive in the request body');
      const changes = query.getAll('changes');
      const id = await b.imageImport(req, {
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
      const registryAuth = req.headers['x-registry-auth'];
      const pull: PullRequest = { fromImage, tag: query.get('tag') ?? '', platform: query.get('platform') ?? '' };
      if (typeof registryAuth === 'string' && registryAuth) pull.registryAuth = registryAuth;
      await streamMessages(res, (out, signal) => b.imagePull(pull, out, signal));
      return;
    }
    throw invalidParameter('either fromSrc or fromImage must be given');
  });

  r.get('/images/json', async ({ res, query, version }) => {
    const list = await b.images({
      all: boolValue(query, 'all'),
      filters: parseFilters(query.get('filters')),
      digests: boolValue(query, 'digests'),
    });
    // VirtualSize left the API in 1.44; older clients still read it.
    const out = versionLessThan(version, '1.44') ? list.map((i) => ({ ...i, VirtualSize: i.Size })) : list;
    writeJSON(res, 200, out);
  });

  r.get('/images/{name:.*}/json', async ({ res, params, version }) => {
    const info = { ...(await b.imageInspect(params.name)) } as Record<string, unknown>;
    if (versionLessThan(version, '1.44')) info.VirtualSize = info.Size;
    // The committed container and its config left the API in 1.45.
    if (!versionLessThan(version, '1.45')) {
      delete info.Container;
      delete info.ContainerConfig;
    }
    writeJSON(res, 200, info);
  });

  r.post('/images/{name:.*}/tag', async ({ res, params, query }) => {
    const repo = query.get('repo') ?? '';
    if (!repo) throw invalidParameter('repository name must have at least one component');
    await b.imageTag(params.name, repo, query.get('tag') ?? undefined);
    res.writeHead(201);
    res.end();
  });

  r.delete('/images/{name:.*}', async ({ res, params, query }) => {
    const result = await b.imageRemove(params.name, { force: boolValue(query, 'force'), noprune: boolValue(query, 'noprune') });
    writeJSON(res, 200, result);
  });

  r.post('/commit', async ({ req, res, query, version }) => {
    const body = await readJSONBody<unknown>(req);
    const config = body === undefined || body === null ? undefined : expectObject(body, 'container.Config');
    let pause = boolValue(query, 'pause');
    if ((query.get('pause') ?? '') === '' && versionAtLeast(version, '1.13')) pause = true;
    const id = await b.commit({
      container: query.get('container') ?? '',
      repo: query.get('repo') ?? undefined,
      tag: query.get('tag') ?? undefined,
      comment: query.get('comment') ?? undefined,
      author: query.get('author') ?? undefined,
      pause,
      changes: query.getAll('changes'),
      config,
    });
    writeJSON(res, 201, { Id: id });
  });
}
