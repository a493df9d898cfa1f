// The routes berthd serves, taken from the routers themselves: every route function is registered
// against a Router that only records, with backends that are never called. A router module added
// without being listed here is reported, so the list cannot silently go stale.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { Router, type Handler } from '../../src/server/router.js';
import { archiveRoutes } from '../../src/server/router/archive.js';
import { containerRoutes } from '../../src/server/router/container.js';
import { execRoutes } from '../../src/server/router/exec.js';
import { imageRoutes } from '../../src/server/router/image.js';
import { networkRoutes } from '../../src/server/router/network.js';
import { swarmRoutes } from '../../src/server/router/swarm.js';
import { systemRoutes } from '../../src/server/router/system.js';
import { volumeRoutes } from '../../src/server/router/volume.js';

export interface RouteSpec {
  method: string;
  pattern: string;
  /** The status a server error is expected to have here, if any (swarm routes: 503, as dockerd). */
  expected5xx?: number;
}

class RecordingRouter extends Router {
  readonly recorded: RouteSpec[] = [];
  override add(method: string, pattern: string, _handler: Handler): void {
    this.recorded.push({ method, pattern });
  }
}

/** A backend whose every member is a function that must never run during registration. */
function unusedBackend<T>(): T {
  return new Proxy({}, { get: () => () => { throw new Error('backend called while recording routes'); } }) as T;
}

const REGISTERED = ['archive', 'container', 'exec', 'image', 'network', 'swarm', 'system', 'volume'];

export function recordRoutes(): RouteSpec[] {
  const r = new RecordingRouter(pino({ level: 'silent' }));
  archiveRoutes(r, unusedBackend());
  containerRoutes(r, unusedBackend());
  execRoutes(r, unusedBackend());
  imageRoutes(r, unusedBackend());
  networkRoutes(r, unusedBackend());
  const before = r.recorded.length;
  swarmRoutes(r);
  for (const route of r.recorded.slice(before)) route.expected5xx = 503;
  systemRoutes(r, unusedBackend());
  volumeRoutes(r, unusedBackend());
  return r.recorded;
}

/** Router modules in src/server/router that recordRoutes does not register (should be none). */
export async function unregisteredRouters(repo: string): Promise<string[]> {
  const dir = join(repo, 'src', 'server', 'router');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'testutil.ts');
  const missing: string[] = [];
  for (const f of names) {
    const text = await readFile(join(dir, f), 'utf8');
    if (/export function \w+Routes\(/.test(text) && !REGISTERED.includes(f.replace(/\.ts$/, ''))) missing.push(f);
  }
  return missing;
}

/** Every query parameter name the routers read, from their source text. */
export async function queryKeys(repo: string): Promise<string[]> {
  const dir = join(repo, 'src', 'server', 'router');
  const keys = new Set<string>();
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
    const text = await readFile(join(dir, f), 'utf8');
    for (const m of text.matchAll(/(?:\b(?:query|q)\.(?:get|has|getAll)\(|Value(?:Or)?\((?:ctx\.)?(?:query|q), )'([A-Za-z0-9_-]+)'/g)) keys.add(m[1]);
  }
  return [...keys].sort();
}
