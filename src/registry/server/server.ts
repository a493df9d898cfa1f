// The registry server: HTTP or HTTPS on one address, serving the app over a storage root, with a
// graceful stop (no new connections, requests in flight finish, idle keep-alives close).

import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdir, readFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createHandler } from './app.js';
import { Htpasswd } from './htpasswd.js';
import { Storage } from './storage.js';
import { Uploads } from './uploads.js';

export interface RegistryOptions {
  root: string;
  host: string;
  port: number;
  htpasswd?: string;
  realm?: string;
  tlsCert?: string;
  tlsKey?: string;
  log?: (line: Record<string, unknown>) => void;
}

export interface RunningRegistry {
  readonly address: AddressInfo;
  readonly tls: boolean;
  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then closes the rest. */
  close(graceMs?: number): Promise<void>;
}

export async function startRegistry(o: RegistryOptions): Promise<RunningRegistry> {
  const log = o.log ?? ((line) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`));
  await mkdir(o.root, { recursive: true });
  const storage = new Storage(o.root);
  let htpasswd: Htpasswd | undefined;
  if (o.htpasswd) {
    htpasswd = new Htpasswd(o.htpasswd, (msg) => log({ level: 'warning', msg }));
    await htpasswd.load();
  }
  const handler = createHandler({ storage, uploads: new Uploads(storage), htpasswd, realm: o.realm ?? 'Berth Registry', log });
  const tls = Boolean(o.tlsCert || o.tlsKey);
  if (tls && !(o.tlsCert && o.tlsKey)) throw new Error('TLS needs both a certificate (--tls-cert) and a key (--tls-key)');
  const server: Server = tls
    ? createHttpsServer({ cert: await readFile(o.tlsCert!), key: await readFile(o.tlsKey!) }, handler)
    : createHttpServer(handler);
  // Blob uploads are long: no overall request timeout, but a connection silent for 10 minutes goes.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.timeout = 600_000;
  server.listen(o.port, o.host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  return {
    address: server.address() as AddressInfo,
    tls,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
    },
  };
}
