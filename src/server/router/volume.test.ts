// The volume and archive routers over a real HTTP server on a unix socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import * as tar from 'tar-stream';
import { Router } from '../router.js';
import { volumeRoutes } from './volume.js';
import { archiveRoutes } from './archive.js';
import { VolumeService } from '../../volume/service.js';
import { notFound } from '../../pkg/errors.js';

let tmp: string;
let sock: string;
let server: Server;
let vols: VolumeService;
let released = 0;
const events: string[] = [];

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(method: string, path: string, body?: Buffer | object, headers: Record<string, string> = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    const req = request({ socketPath: sock, method, path, headers: { ...(data ? { 'Content-Length': String(data.length) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const json = (r: Res): any => JSON.parse(r.body.toString()); // eslint-disable-line @typescript-eslint/no-explicit-any

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-router-'));
  sock = join(tmp, 'api.sock');
  const root = join(tmp, 'root');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc', 'hostname'), 'box\n');
  vols = await VolumeService.open({ root: join(tmp, 'volumes') });
  const router = new Router(pino({ level: 'silent' }));
  volumeRoutes(router, { volumes: vols });
  archiveRoutes(router, {
    rootOf: async (ref) => {
      if (ref !== 'box') throw notFound(`No such container: ${ref}`);
      return { root, release: async () => void released++ };
    },
    event: (ref, action) => events.push(`${ref} ${action}`),
  });
  server = createServer((req, res) => void router.dispatch(req, res));
  await new Promise<void>((r) => server.listen(sock, r));
});

after(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('volume routes', async () => {
  const c = await call('POST', '/v1.47/volumes/create', { Name: 'web', Labels: { a: 'b' }, DriverOpts: {} });
  assert.equal(c.status, 201);
  assert.equal(json(c).Name, 'web');
  assert.deepEqual(json(c).Options, {});
  assert.equal((await call('POST', '/volumes/create', { Name: 7 })).status, 400);
  const bad = await call('POST', '/volumes/create', { Name: 'x' });
  assert.equal(bad.status, 400);
  assert.match(json(bad).message, /create x: volume name is too short/);
  const anon = json(await call('POST', '/volumes/create', {}));
  const ls = json(await call('GET', `/volumes?filters=${encodeURIComponent(JSON.stringify({ label: { a: true } }))}`));
  assert.deepEqual(ls.Volumes.map((v: { Name: string }) => v.Name), ['web']);
  assert.equal(ls.Warnings, null);
  assert.equal((await call('GET', `/volumes?filters=${encodeURIComponent('{"nope":["1"]}')}`)).status, 400);
  assert.equal(json(await call('GET', '/volumes/web')).Name, 'web');
  const nf = await call('GET', '/volumes/ghost');
  assert.equal(nf.status, 404);
  assert.equal(json(nf).message, 'get ghost: no such volume');
  vols.acquire('web', 'abc');
  const inUse = await call('DELETE', '/volumes/web');
  assert.equal(inUse.status, 409);
  assert.equal(json(inUse).message, 'remove web: volume is in use - [abc]');
  vols.release('web', 'abc');
  assert.equal((await call('DELETE', '/volumes/ghost?force=1')).status, 204);
  assert.equal((await call('DELETE', '/volumes/ghost')).status, 404);

  // Prune: anonymous only on current APIs, everything unused before 1.42.
  const p1 = json(await call('POST', '/v1.47/volumes/prune'));
  assert.deepEqual(p1.VolumesDeleted, [anon.Name]);
  const p2 = json(await call('POST', '/v1.41/volumes/prune'));
  assert.deepEqual(p2.VolumesDeleted, ['web']);
});

test('archive routes: HEAD, GET (plain and gzip), PUT, errors', async () => {
  const head = await call('HEAD', '/v1.47/containers/box/archive?path=/etc/hostname');
  assert.equal(head.status, 200);
  const stat = JSON.parse(Buffer.from(String(head.headers['x-docker-container-path-stat']), 'base64').toString());
  assert.equal(stat.name, 'hostname');
  assert.equal(stat.size, 4);
  assert.equal(stat.mode, 0o644);

  const missing = await call('GET', '/containers/box/archive?path=/nope');
  assert.equal(missing.status, 404);
  assert.equal(json(missing).message, 'Could not find the file /nope in container box');
  assert.equal((await call('HEAD', '/containers/box/archive?path=/nope')).status, 404);
  assert.equal(json(await call('GET', '/containers/box/archive')).message, 'bad parameter: path cannot be empty');
  assert.equal((await call('GET', '/containers/other/archive?path=/')).status, 404);

  const get = await call('GET', '/containers/box/archive?path=/etc');
  assert.equal(get.headers['content-type'], 'application/x-tar');
  const gz = await call('GET', '/containers/box/archive?path=/etc', undefined, { 'Accept-Encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.deepEqual(gunzipSync(gz.body), get.body);
  assert.ok(get.body.includes(Buffer.from('etc/hostname')));

  const pack = tar.pack();
  pack.entry({ name: 'new.txt', size: 2 }, 'hi');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  const put = await call('PUT', '/containers/box/archive?path=/etc&noOverwriteDirNonDir=true', Buffer.concat(chunks), { 'Content-Type': 'application/x-tar' });
  assert.equal(put.status, 200);
  assert.equal(await readFile(join(tmp, 'root', 'etc', 'new.txt'), 'utf8'), 'hi');
  const notDir = await call('PUT', '/containers/box/archive?path=/etc/hostname', Buffer.concat(chunks));
  assert.equal(notDir.status, 400);
  assert.equal(json(notDir).message, 'extraction point is not a directory');
  assert.deepEqual(events, ['box archive-path', 'box archive-path', 'box extract-to-dir']);
  assert.ok(released >= 7, 'every request releases the root');
});
