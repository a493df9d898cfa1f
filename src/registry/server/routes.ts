// Maps a request path to one of the distribution API's routes. The path is percent-decoded once
// and then every part is checked against its grammar (names.ts, digest.ts), so a name or digest
// that could leave its directory (`..`, `%2e%2e`, `/`, NUL) never reaches the storage layer.

import { RegistryError } from './errors.js';
import { isValidName } from './names.js';

export type Route =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'referrers'; name: string; digest: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string };

const PATTERNS: [RegExp, (m: RegExpExecArray) => Route][] = [
  [/^\/v2\/?$/, () => ({ kind: 'base' })],
  [/^\/v2\/_catalog$/, () => ({ kind: 'catalog' })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: 'tags', name: m[1] })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: 'manifest', name: m[1], reference: m[2] })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: 'referrers', name: m[1], digest: m[2] })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: 'uploads', name: m[1] })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: 'upload', name: m[1], uuid: m[2] })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: 'blob', name: m[1], digest: m[2] })],
];

/** The route of a raw request target; undefined when it is none of the API's. */
export function matchRoute(rawPath: string): Route | undefined {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (path.includes('\0')) return undefined;
  for (const [re, build] of PATTERNS) {
    const m = re.exec(path);
    if (!m) continue;
    const route = build(m);
    if ('name' in route && !isValidName(route.name)) {
      throw new RegistryError('NAME_INVALID', { name: route.name }, `invalid repository name ${JSON.stringify(route.name)}`);
    }
    return route;
  }
  return undefined;
}

/** Splits a request target into its path and query. */
export function splitTarget(target: string): { path: string; query: URLSearchParams } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: new URLSearchParams() } : { path: target.slice(0, q), query: new URLSearchParams(target.slice(q + 1)) };
}
