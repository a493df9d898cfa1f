// The volume router over a real HTTP server, with a real volume service in a scratch directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { volumeRoutes } from './volume.js';
import { VolumeService } from '../../volume/service.js';
import { json, serveRoutes, type TestServer } from './testutil.js';

let srv: TestServer;
let vols: VolumeService;
const call: TestServer['call'] = (...args) => srv.call(...args);

before(async () => {
  srv = await serveRoutes(async (r, dir) => {
    vols = await VolumeService.open({ root: join(dir, 'volumes') });
    volumeRoutes(r, { volumes: vols });
  });
});

after(async () => {
  await srv?.close();
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
