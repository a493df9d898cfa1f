// Method + path routing with dockerd's `/vX.Y` prefixes and its error mapping.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { httpStatusOf, invalidParameter } from '../pkg/errors.js';
import { negotiateVersion } from './version.js';
import { writeJSON } from './httputils.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (or the newest, for unprefixed paths). */
  version: string;
  /**
   * Takes over the connection for a raw bidirectional stream (attach, exec start). With an
   * `Upgrade: tcp` request this answers 101 and hands back the socket; otherwise it answers 200
   * and streams the body both ways.
   */
  hijack(contentType: string): Duplex;
  /** True when the client asked to upgrade the connection. */
  upgraded: boolean;
}

export type Handler = (ctx: RouteContext) => Promise<void>;

interface Route {
  method: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
}

const versionPrefix = /^\/v([0-9]+(?:\.[0-9]+)*)(\/.*)$/;

export class Router {
  private readonly routes: Route[] = [];

  constructor(readonly logger: Logger) {}

  /** `{name}` matches one path segment, `{name:.*}` any rest (image names carry slashes). */
  add(method: string, pattern: string, handler: Handler): void {
    const keys: string[] = [];
    const source = pattern.replace(/\{(\w+)(:\.\*)?\}/g, (_m, key: string, greedy?: string) => {
      keys.push(key);
      return greedy ? '(.+)' : '([^/]+)';
    });
    this.routes.push({ method, regex: new RegExp(`^${source}$`), keys, handler });
  }

  get(p: string, h: Handler): void { this.add('GET', p, h); }
  head(p: string, h: Handler): void { this.add('HEAD', p, h); }
  post(p: string, h: Handler): void { this.add('POST', p, h); }
  put(p: string, h: Handler): void { this.add('PUT', p, h); }
  delete(p: string, h: Handler): void { this.add('DELETE', p, h); }

  async dispatch(req: IncomingMessage, res: ServerResponse, upgrade?: { socket: Socket; head: Buffer }): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://berth');
    } catch {
      writeJSON(res, 400, { message: `parse ${JSON.stringify(req.url)}: invalid request URI` });
      return;
    }
    let path = url.pathname;
    let requested: string | undefined;
    const m = versionPrefix.exec(path);
    if (m) {
      requested = m[1];
      path = m[2];
    }
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    const method = req.method ?? 'GET';
    let hijacked = false;
    try {
      const version = negotiateVersion(requested);
      const found = this.match(method, path);
      if (!found) {
        writeJSON(res, 404, { message: 'page not found' });
        return;
      }
      const ctx: RouteContext = {
        req,
        res,
        params: found.params,
        query: url.searchParams,
        version,
        upgraded: upgrade !== undefined,
        hijack: (contentType: string) => {
          hijacked = true;
          return hijackConnection(req, res, contentType, upgrade);
        },
      };
      await found.route.handler(ctx);
    } catch (err) {
      this.writeError(req, res, err, hijacked);
    }
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    for (const route of this.routes) {
      const effective = method === 'HEAD' && route.method === 'GET' ? 'GET' : method;
      if (route.method !== effective) continue;
      const m = route.regex.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => { params[k] = decodeSegment(m[i + 1]); });
      return { route, params };
    }
    return undefined;
  }

  private writeError(req: IncomingMessage, res: ServerResponse, err: unknown, hijacked: boolean): void {
    const status = httpStatusOf(err);
    const message = err instanceof Error ? err.message : String(err);
    if (status >= 500) this.logger.error({ err, method: req.method, url: req.url }, 'request failed');
    else this.logger.debug({ status, message, method: req.method, url: req.url }, 'request refused');
    if (hijacked || res.headersSent) {
      // The stream is already under way: all that is left is to end it.
      res.socket?.destroy();
      return;
    }
    if (status === 304) {
      res.writeHead(304);
      res.end();
      return;
    }
    writeJSON(res, status, { message });
  }
}

/**
 * Percent-decodes a path parameter as Go's url package does: a malformed escape is the client's
 * mistake (400, with Go's message), and bytes that are not UTF-8 do not fail the request — the
 * name they make simply matches nothing.
 */
function decodeSegment(raw: string): string {
  const bad = /%(?![0-9a-fA-F]{2})/.exec(raw);
  if (bad) throw invalidParameter(`invalid URL escape ${JSON.stringify(raw.slice(bad.index, bad.index + 3))}`);
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    const bytes = raw.replace(/%([0-9a-fA-F]{2})|[^%]+/g, (m, hex?: string) => (hex ? String.fromCharCode(parseInt(hex, 16)) : m));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
}

function hijackConnection(
  req: IncomingMessage,
  res: ServerResponse,
  contentType: string,
  upgrade?: { socket: Socket; head: Buffer },
): Duplex {
  if (upgrade) {
    const { socket, head } = upgrade;
    res.detachSocket(socket);
    socket.write(
      `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    socket.setNoDelay(true);
    return socket;
  }
  // Not upgraded: the output streams in the response body, the input is what remains of the request.
  res.writeHead(200, { 'Content-Type': contentType });
  res.flushHeaders();
  return Duplex.from({ readable: req, writable: res });
}
