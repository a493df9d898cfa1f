// The archive router over a real HTTP server, with a fake backend over a directory that plays
// the container's root (the daemon's stat/archive/extract functions do the file work).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { archiveRoutes, negotiateEncoding } from './archive.js';
import { archivePath, extractToDir, statPath } from '../../daemon/archive.js';
import { notFound } from '../../pkg/errors.js';
import { json, serveRoutes, type TestServer } from './testutil.js';
import type { IncomingMessage } from 'node:http';

let srv: TestServer;
let root: string;
let released = 0;
const events: string[] = [];
const call: TestServer['call'] = (...args) => srv.call(...args);

function box(ref: string): void {
  if (ref !== 'box') throw notFound(`No such container: ${ref}`);
}

before(async () => {
  srv = await serveRoutes(async (r, dir) => {
    root = join(dir, 'root');
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'hostname'), 'box\n');
    archiveRoutes(r, {
      containerStatPath: async (name, path) => {
        box(name);
        return statPath(root, path, { container: name });
      },
      containerArchivePath: async (name, path) => {
        box(name);
        const out = await archivePath(root, path, { container: name });
        events.push(`${name} archive-path`);
        return { ...out, done: async () => { await out.closed; released++; } };
      },
      containerExtractToDir: async (name, path, content, opts) => {
        box(name);
        await extractToDir(root, path, content, { container: name, ...opts });
        events.push(`${name} extract-to-dir ${JSON.stringify(opts)}`);
      },
    });
  });
});

after(async () => {
  await srv?.close();
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
  const nul = await call('GET', '/containers/box/archive?path=x%00y');
  assert.equal(nul.status, 400);
  assert.equal(json(nul).message, 'lstat x\0y: invalid argument');
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
  assert.equal(await readFile(join(root, 'etc', 'new.txt'), 'utf8'), 'hi');
  const notDir = await call('PUT', '/containers/box/archive?path=/etc/hostname', Buffer.concat(chunks));
  assert.equal(notDir.status, 400);
  assert.equal(json(notDir).message, 'extraction point is not a directory');
  assert.deepEqual(events, [
    'box archive-path',
    'box archive-path',
    'box extract-to-dir {"noOverwriteDirNonDir":true,"copyUIDGID":false}',
  ]);
  assert.equal(released, 2, 'every archive is released once sent');
});

test('archive routes: query flags reach the backend', async () => {
  events.length = 0;
  const pack = tar.pack();
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  // noOverwriteDirNonDir: only when given and true; copyUIDGID: dockerd's BoolValue.
  for (const q of ['', '&noOverwriteDirNonDir=0', '&copyUIDGID=1']) {
    assert.equal((await call('PUT', `/containers/box/archive?path=/etc${q}`, Buffer.concat(chunks))).status, 200);
  }
  assert.deepEqual(events, [
    'box extract-to-dir {"noOverwriteDirNonDir":false,"copyUIDGID":false}',
    'box extract-to-dir {"noOverwriteDirNonDir":false,"copyUIDGID":false}',
    'box extract-to-dir {"noOverwriteDirNonDir":false,"copyUIDGID":true}',
  ]);
  const empty = await call('PUT', '/containers/box/archive?path=', Buffer.concat(chunks));
  assert.equal(empty.status, 400);
  assert.equal(json(empty).message, 'bad parameter: path cannot be empty');
});

test("negotiateEncoding: Go's gddo rules over gzip and deflate", () => {
  const enc = (h?: string) => negotiateEncoding({ headers: h === undefined ? {} : { 'accept-encoding': h } } as IncomingMessage);
  assert.equal(enc(), undefined);
  assert.equal(enc('gzip'), 'gzip');
  assert.equal(enc('br, deflate'), 'deflate');
  assert.equal(enc('gzip;q=0.5, deflate;q=0.8'), 'deflate');
  assert.equal(enc('gzip;q=0'), undefined);
  assert.equal(enc('identity'), undefined);
});
