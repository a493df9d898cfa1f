// POST /commit and GET /containers/{name}/export.
import { pipeline } from 'node:stream/promises';
import type { Router } from '../router.js';
import { boolValue, expectObject, readJSONBody, writeJSON } from '../httputils.js';
import { versionAtLeast } from '../version.js';
import type { Daemon } from '../../daemon/daemon.js';
import { normalizeConfig } from '../../daemon/config.js';
import { commitContainer } from '../../daemon/commit.js';
import { exportContainer } from '../../daemon/export.js';

export function commitRoutes(r: Router, d: Daemon): void {
  r.post('/commit', async ({ req, res, query, version }) => {
    const body = await readJSONBody<unknown>(req);
    const config = body === undefined || body === null ? undefined : normalizeConfig(expectObject(body, 'container.Config'));
    let pause = boolValue(query, 'pause');
    if ((query.get('pause') ?? '') === '' && versionAtLeast(version, '1.13')) pause = true;
    const id = await commitContainer(d, {
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

  r.get('/containers/{name}/export', async ({ res, params }) => {
    const c = d.containers.get(params.name);
    const stream = await exportContainer(d, c);
    res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(stream, res).catch(() => res.destroy());
  });
}
