// /_ping, /version, /info, /events, /system/df (dockerd's router/system).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from '../router.js';
import { API_VERSION } from '../version.js';
import { writeJSON } from '../httputils.js';
import { parseFilters, type Filters } from '../../api/types/filters.js';
import { parseTimestamp } from '../../pkg/timeutil.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { EventMessage } from '../../api/types/events.js';
import type { Subscription } from '../../events/bus.js';
import type { Info, Version } from '../../api/types/system.js';

export interface DiskUsageOptions {
  images: boolean;
  containers: boolean;
  volumes: boolean;
  buildCache: boolean;
}

export interface SystemBackend {
  systemVersion(): Promise<Version>;
  systemInfo(): Promise<Info>;
  /** The answer of /system/df, with only the object types asked for. */
  systemDiskUsage(opts: DiskUsageOptions): Promise<object>;
  subscribeEvents(opts: { since?: Date; until?: Date; filters: Filters }, send: (msg: EventMessage) => void): Subscription;
}

const DISK_USAGE_TYPES = ['container', 'image', 'volume', 'build-cache'];

export function systemRoutes(r: Router, b: SystemBackend): void {
  // No Builder-Version: there is no /build to advertise yet.
  const ping = async ({ req, res }: { req: IncomingMessage; res: ServerResponse }) => {
    res.writeHead(200, {
      'API-Version': API_VERSION,
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
  r.get('/version', async ({ res }) => writeJSON(res, 200, await b.systemVersion()));
  r.get('/info', async ({ res }) => writeJSON(res, 200, await b.systemInfo()));

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
    const sub = b.subscribeEvents({ since, until, filters }, (msg) => res.write(JSON.stringify(msg) + '\n'));
    req.socket.once('close', () => sub.close());
    await sub.done;
    res.end();
  });

  r.get('/system/df', async ({ res, query }) => {
    const types = query.getAll('type');
    for (const t of types) {
      if (!DISK_USAGE_TYPES.includes(t)) throw invalidParameter(`unknown object type: ${t}`);
    }
    const want = (t: string): boolean => types.length === 0 || types.includes(t);
    const usage = await b.systemDiskUsage({
      images: want('image'),
      containers: want('container'),
      volumes: want('volume'),
      buildCache: want('build-cache'),
    });
    writeJSON(res, 200, usage);
  });
}
