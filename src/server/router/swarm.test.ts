import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NO_SWARM_MODE, NOT_A_MANAGER, NOT_IN_A_SWARM, swarmRoutes } from './swarm.js';
import { json, serveRoutes, type TestServer } from './testutil.js';

let srv: TestServer;

before(async () => {
  srv = await serveRoutes(async (r) => swarmRoutes(r));
});

after(async () => {
  await srv?.close();
});

test('swarm routes answer as a dockerd outside a swarm: 503 with its messages', async () => {
  const cases: [string, string, string][] = [
    ['GET', '/v1.47/swarm', NOT_A_MANAGER],
    ['POST', '/v1.47/swarm/leave?force=1', NOT_IN_A_SWARM],
    ['POST', '/swarm/update?version=1', NOT_A_MANAGER],
    ['POST', '/swarm/unlock', NOT_A_MANAGER],
    ['GET', '/swarm/unlockkey', NOT_A_MANAGER],
    ['POST', '/swarm/init', NO_SWARM_MODE],
    ['POST', '/swarm/join', NO_SWARM_MODE],
    ['GET', '/v1.41/nodes', NOT_A_MANAGER],
    ['GET', '/nodes/abc', NOT_A_MANAGER],
    ['DELETE', '/nodes/abc?force=1', NOT_A_MANAGER],
    ['GET', '/services?status=true', NOT_A_MANAGER],
    ['POST', '/services/create', NOT_A_MANAGER],
    ['POST', '/services/web/update?version=3', NOT_A_MANAGER],
    ['GET', '/services/web/logs', NOT_A_MANAGER],
    ['DELETE', '/services/web', NOT_A_MANAGER],
    ['GET', '/tasks', NOT_A_MANAGER],
    ['GET', '/tasks/t1/logs', NOT_A_MANAGER],
    ['GET', '/secrets', NOT_A_MANAGER],
    ['POST', '/secrets/create', NOT_A_MANAGER],
    ['DELETE', '/configs/c1', NOT_A_MANAGER],
  ];
  for (const [method, path, message] of cases) {
    const res = await srv.call(method, path, method === 'POST' ? {} : undefined);
    assert.equal(res.status, 503, `${method} ${path}`);
    assert.deepEqual(json(res), { message }, `${method} ${path}`);
  }
  // Paths beside the swarm's are still unknown.
  assert.equal((await srv.call('GET', '/swarmy')).status, 404);
});
