// Router tests: routes served over a real HTTP server on a unix socket, and a client for them.
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Router } from '../router.js';

export interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface TestServer {
  /** A scratch directory, removed by close(). */
  dir: string;
  call(method: string, path: string, body?: Buffer | object, headers?: Record<string, string>): Promise<Res>;
  close(): Promise<void>;
}

/** `register` adds the routes; it gets the scratch directory for whatever its backend keeps on disk. */
export async function serveRoutes(register: (r: Router, dir: string) => void | Promise<void>): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-router-'));
  const sock = join(dir, 'api.sock');
  const router = new Router(pino({ level: 'silent' }));
  await register(router, dir);
  const server: Server = createServer((req, res) => void router.dispatch(req, res));
  await new Promise<void>((r) => server.listen(sock, r));
  const call = (method: string, path: string, body?: Buffer | object, headers: Record<string, string> = {}): Promise<Res> =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      const req = request({ socketPath: sock, agent: false, method, path, headers: { ...(data ? { 'Content-Length': String(data.length) } : {}), ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('the response was cut off')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.end(data);
    });
  return {
    dir,
    call,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = (r: Res): any => JSON.parse(r.body.toString());

/** Records the calls made to a fake backend, as "method arg1 arg2…" with JSON arguments. */
export class CallLog {
  readonly calls: string[] = [];
  add(method: string, ...args: unknown[]): void {
    this.calls.push([method, ...args.map((a) => JSON.stringify(a))].join(' '));
  }
  /** The calls so far, and forgets them. */
  take(): string[] {
    return this.calls.splice(0);
  }
}
