// The registry's request handler: authentication, routing to the blob and manifest handlers,
// errors in distribution's shape, and one access-log line per request.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { deleteBlob, getBlob, handleUpload, startUpload } from './blobs.js';
import { RegistryError } from './errors.js';
import { parseBasicAuth, type Htpasswd } from './htpasswd.js';
import { catalog, deleteManifest, getManifest, listReferrers, listTags, putManifest } from './manifests.js';
import { API_VERSION_HEADER, sendError, sendJSON } from './respond.js';
import { matchRoute, splitTarget, type Route } from './routes.js';
import type { Storage } from './storage.js';
import type { Uploads } from './uploads.js';

export interface AppOptions {
  storage: Storage;
  uploads: Uploads;
  htpasswd?: Htpasswd;
  /** The realm of the Basic challenge. */
  realm: string;
  log: (line: Record<string, unknown>) => void;
}

/** The most of a refused request body read and discarded to keep the connection. */
const MAX_DRAIN = 64 << 20;

type Handler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => Promise<void>;

function methods(req: IncomingMessage, table: Record<string, Handler | undefined>): Handler {
  const h = table[req.method ?? ''] ?? (req.method === 'HEAD' ? table.GET : undefined);
  if (!h) throw new RegistryError('UNSUPPORTED', undefined, `method ${req.method} not allowed`);
  return h;
}

function dispatch(o: AppOptions, route: Route, req: IncomingMessage): Handler {
  const { storage, uploads } = o;
  const ctx = { storage, uploads };
  switch (route.kind) {
    case 'base':
      return methods(req, { GET: async (_r, res) => sendJSON(res, 200, {}) });
    case 'catalog':
      return methods(req, { GET: (_r, res, q) => catalog(storage, res, q) });
    case 'tags':
      return methods(req, { GET: (_r, res, q) => listTags(storage, res, route.name, q) });
    case 'manifest':
      return methods(req, {
        GET: (r, res) => getManifest(storage, r, res, route.name, route.reference),
        PUT: (r, res) => putManifest(storage, r, res, route.name, route.reference),
        DELETE: (_r, res) => deleteManifest(storage, res, route.name, route.reference),
      });
    case 'blob':
      return methods(req, {
        GET: (r, res) => getBlob(ctx, r, res, route.name, route.digest),
        DELETE: (_r, res) => deleteBlob(ctx, res, route.name, route.digest),
      });
    case 'referrers':
      return methods(req, { GET: (_r, res, q) => listReferrers(storage, res, route.name, route.digest, q) });
    case 'uploads':
      return methods(req, { POST: (r, res, q) => startUpload(ctx, r, res, route.name, q) });
    case 'upload':
      return (r, res, q) => handleUpload(ctx, r, res, route.name, route.uuid, q);
  }
}

/** The user the request authenticates as; undefined when auth is off. Throws UNAUTHORIZED. */
async function authenticate(o: AppOptions, req: IncomingMessage): Promise<string | undefined> {
  if (!o.htpasswd) return undefined;
  const creds = parseBasicAuth(req.headers.authorization);
  if (creds && (await o.htpasswd.check(creds.user, creds.password))) return creds.user;
  throw new RegistryError('UNAUTHORIZED', creds ? 'invalid username or password' : undefined);
}

export function createHandler(o: AppOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    let user: string | undefined;
    res.on('close', () => {
      o.log({
        method: req.method,
        path: splitTarget(req.url ?? '/').path,
        status: res.statusCode,
        user,
        ms: Number((process.hrtime.bigint() - started) / 1000000n),
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    void (async () => {
      try {
        const { path, query } = splitTarget(req.url ?? '/');
        user = await authenticate(o, req);
        const route = matchRoute(path);
        if (!route) {
          res.writeHead(404, { ...API_VERSION_HEADER, 'Content-Type': 'text/plain; charset=utf-8' });
          res.end('404 page not found\n');
          return;
        }
        await dispatch(o, route, req)(req, res, query);
      } catch (err) {
        const headers: Record<string, string> = {};
        if (err instanceof RegistryError && err.code === 'UNAUTHORIZED') headers['WWW-Authenticate'] = `Basic realm=${JSON.stringify(o.realm)}`;
        // A body left unread is drained when its declared length is modest; an undeclared or
        // huge one is not: the connection closes after the answer.
        const declared = Number(req.headers['content-length'] ?? NaN);
        if (!req.complete && !(declared <= MAX_DRAIN)) headers.Connection = 'close';
        // A client that went away is in the access log already (aborted); anything else unexpected is logged in full.
        const clientGone = res.destroyed || (req.destroyed && !req.complete);
        if (!(err instanceof RegistryError) && !clientGone) o.log({ error: (err as Error)?.stack ?? String(err), method: req.method, path: req.url });
        sendError(res, err, headers);
      }
    })();
  };
}
