// /_ping, /version, /info, /events.
import type { Router } from '../router.js';
import { API_VERSION } from '../version.js';
import { writeJSON } from '../httputils.js';
import { parseFilters } from '../../api/types/filters.js';
import { parseTimestamp } from '../../pkg/timeutil.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { Daemon } from '../../daemon/daemon.js';
import { systemInfo, versionInfo } from '../../daemon/info.js';


export function systemRoutes(r: Router, d: Daemon): void {
  const ping = async ({ req, res }: { req: import('node:http').IncomingMessage; res: import('node:http').ServerResponse }) => {
    res.writeHead(200, {
      'API-Version': API_VERSION,
      'Builder-Version': '1',
      'Docker-Experimental': 'false',
      Ostype: 'linux',
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': req.method === 'HEAD' ? '0' : '2',
    });
    res.end(req.method === 'HEAD' ? undefined : 'OK');
  };
  r.get('/_ping', ping);
  r.head('/_ping', ping);
  r.get('/version', async ({ res }) => writeJSON(res, 200, await versionInfo(d)));
  r.get('/info', async ({ res }) => writeJSON(res, 200, await systemInfo(d)));

  r.get('/events', async ({ req, res, query }) => {
    const filters = parseFilters(query.get('filters'));
    // dockerd accepts any filter name here (unknown ones match nothing in particular).
    const time = (key: string) => {
      const v = query.get(key);
      if (!v) return undefined;
      try {
        return parseTimestamp(v);
      } catch (err) {
        throw invalidParameter((err as Error).message);
      }
    };
    const since = time('since');
    const until = time('until');
    if (since && until && since > until) {
      throw invalidParameter(`\`since\` time (${query.get('since')}) cannot be after \`until\` time (${query.get('until')})`);
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const sub = d.events.subscribe({ since, until, filters }, (msg) => res.write(JSON.stringify(msg) + '\n'));
    req.socket.once('close', () => sub.close());
    await sub.done;
    res.end();
  });
}
