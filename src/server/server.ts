// The Engine API's HTTP listener: unix sockets (and tcp, over TLS when configured) from -H, with
// upgrades for hijacking.
import { createServer, ServerResponse, type IncomingMessage, type ServerOptions } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { chmod, chown, unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Socket } from 'node:net';
import type { Router } from './router.js';
import { preloadBody } from './httputils.js';
import { errnoCode, invalidParameter } from '../pkg/errors.js';

export interface ApiServer {
  close(): Promise<void>;
}

/** TLS for the tcp listeners, as dockerd's --tls/--tlsverify: `ca` set means clients must show a certificate it signed. */
export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

export interface ListenOptions {
  /** When set, every tcp host serves TLS (unix sockets stay plain, as dockerd's). */
  tls?: TlsCredentials;
  /** Group owning the unix sockets (mode 0660). */
  socketGid: number;
}

type Server = ReturnType<typeof createServer> | ReturnType<typeof createTlsServer>;

const sockets = new WeakMap<Server, Set<Socket>>();
const MAX_UPGRADE_BODY = 1024 * 1024;

const httpOptions: ServerOptions = { keepAliveTimeout: 60_000, requestTimeout: 0, headersTimeout: 60_000 };

function createApiServer(tls: TlsCredentials | undefined): Server {
  if (!tls) return createServer(httpOptions);
  return createTlsServer({
    ...httpOptions,
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
  });
}

export async function listen(hosts: string[], router: Router, logger: Logger, opts: ListenOptions): Promise<ApiServer> {
  const servers: Server[] = [];
  for (const host of hosts) {
    const tcp = parseHost(host).proto === 'tcp';
    const server = createApiServer(tcp ? opts.tls : undefined);
    server.timeout = 0;
    const open = new Set<Socket>();
    sockets.set(server, open);
    server.on('connection', (socket: Socket) => {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    });
    server.on('request', (req, res) => void router.dispatch(req, res));
    server.on('upgrade', (req, socket: Socket, head: Buffer) => {
      // Clients close their writing side when they have no more input (a TLS close_notify):
      // the output must keep flowing, as it does on a plain socket.
      socket.allowHalfOpen = true;
      // Node hands the socket over without an error listener: a client that vanishes would
      // otherwise take the whole daemon down with an EPIPE.
      socket.on('error', () => socket.destroy());
      void (async () => {
        // Node leaves an upgrade request's body on the socket: take it off before the stream starts.
        const { body, rest } = await readUpgradeBody(req, socket, head);
        preloadBody(req, body);
        const res = new ServerResponse(req);
        res.assignSocket(socket);
        res.shouldKeepAlive = false;
        await router.dispatch(req, res, { socket, head: rest });
      })().catch(() => socket.destroy());
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await listenOn(server, host, opts.socketGid);
    logger.info({ host, tls: tcp && opts.tls !== undefined }, 'API listening');
    servers.push(server);
  }
  return {
    close: async () => {
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeIdleConnections();
              // Streams that never end by themselves (events, logs -f, wait, attach) get a moment
              // to finish, then go: hijacked sockets are no longer the HTTP server's to close.
              setTimeout(() => {
                for (const socket of sockets.get(s) ?? []) socket.destroy();
                resolve();
              }, 1000).unref();
            }),
        ),
      );
    },
  };
}

async function listenOn(server: Server, host: string, socketGid: number): Promise<void> {
  const url = parseHost(host);
  if (url.proto === 'unix') {
    try {
      await unlink(url.addr);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(url.addr, () => resolve());
    });
    await chown(url.addr, process.getuid?.() ?? 0, socketGid);
    await chmod(url.addr, 0o660);
    return;
  }
  const [h, p] = splitHostPort(url.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, h, () => resolve());
  });
}

export function parseHost(host: string): { proto: 'unix' | 'tcp'; addr: string } {
  if (host.startsWith('unix://')) return { proto: 'unix', addr: host.slice('unix://'.length) || '/var/run/berth.sock' };
  if (host.startsWith('tcp://')) return { proto: 'tcp', addr: host.slice('tcp://'.length) };
  if (host.startsWith('/')) return { proto: 'unix', addr: host };
  throw invalidParameter(`invalid host: ${host}`);
}

/** A tcp host's address as [host, port]; dockerd's default port is 2375. */
export function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(':');
  const h = i >= 0 ? addr.slice(0, i) : addr;
  const p = i >= 0 ? Number(addr.slice(i + 1)) : 2375;
  return [h.replace(/^\[|\]$/g, '') || '0.0.0.0', p];
}

async function readUpgradeBody(req: IncomingMessage, socket: Socket, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!(length > 0)) return { body: Buffer.alloc(0), rest: head };
  // Upgrade requests (attach, exec start) carry small JSON bodies: a larger length is not buffered.
  if (length > MAX_UPGRADE_BODY) throw invalidParameter('request body is too large');
  let buf = head;
  while (buf.length < length) {
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      const closed = () => reject(new Error('connection closed in request body'));
      socket.once('data', (c: Buffer) => {
        socket.off('error', reject).off('end', closed);
        resolve(c);
      });
      socket.once('error', reject);
      socket.once('end', closed);
    });
    buf = Buffer.concat([buf, chunk]);
  }
  socket.pause();
  return { body: buf.subarray(0, length), rest: buf.subarray(length) };
}
