// The system router against a fake backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { systemRoutes, type SystemBackend } from './system.js';
import type { EventMessage } from '../../api/types/events.js';
import type { Info, Version } from '../../api/types/system.js';
import { CallLog, json, serveRoutes, type TestServer } from './testutil.js';

let srv: TestServer;
const log = new CallLog();
const call: TestServer['call'] = (...args) => srv.call(...args);

const event = { Type: 'container', Action: 'start', Actor: { ID: 'c1', Attributes: {} }, scope: 'local', time: 1, timeNano: 1e9 } as EventMessage;

const fake: SystemBackend = {
  systemVersion: async () => ({ Version: '0.1.0' }) as Version,
  systemInfo: async () => ({ Containers: 2 }) as Info,
  systemDiskUsage: async (opts) => {
    log.add('df', opts);
    return { LayersSize: 0 };
  },
  subscribeEvents: (opts, send) => {
    log.add('events', { since: opts.since?.toISOString(), until: opts.until?.toISOString(), filters: [...opts.filters] });
    // One event, then the subscription ends (as at `until`).
    send(event);
    return { close: () => undefined, done: Promise.resolve() };
  },
};

before(async () => {
  srv = await serveRoutes((r) => systemRoutes(r, fake));
});

after(async () => {
  await srv?.close();
});

test('ping: GET and HEAD with dockerd headers', async () => {
  const r = await call('GET', '/_ping');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), 'OK');
  assert.equal(r.headers['api-version'], '1.47');
  assert.equal(r.headers['ostype'], 'linux');
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(r.headers['builder-version'], undefined, 'no builder to advertise');
  const h = await call('HEAD', '/v1.40/_ping');
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], '0');
});

test('version and info: the backend answers', async () => {
  assert.deepEqual(json(await call('GET', '/version')), { Version: '0.1.0' });
  assert.deepEqual(json(await call('GET', '/info')), { Containers: 2 });
});

test('events: since, until and filters; one JSON message per line', async () => {
  const filters = encodeURIComponent('{"type":["container"]}');
  const r = await call('GET', `/events?since=1000&until=2000&filters=${filters}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), JSON.stringify(event) + '\n');
  assert.deepEqual(log.take(), [
    'events {"since":"1970-01-01T00:16:40.000Z","until":"1970-01-01T00:33:20.000Z","filters":[["type",["container"]]]}',
  ]);
  const late = await call('GET', '/events?since=2000&until=1000');
  assert.equal(late.status, 400);
  assert.equal(json(late).message, '`since` time (2000) cannot be after `until` time (1000)');
  assert.equal((await call('GET', '/events?since=yesterday')).status, 400);
  assert.equal((await call('GET', '/events?filters=nope')).status, 400);
  assert.deepEqual(log.take(), []);
});

test('system df: every type by default, or the ones asked for; unknown types refused', async () => {
  const r = await call('GET', '/system/df');
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { LayersSize: 0 });
  await call('GET', '/system/df?type=image&type=build-cache');
  assert.deepEqual(log.take(), [
    'df {"images":true,"containers":true,"volumes":true,"buildCache":true}',
    'df {"images":true,"containers":false,"volumes":false,"buildCache":true}',
  ]);
  const bad = await call('GET', '/system/df?type=network');
  assert.equal(bad.status, 400);
  assert.equal(json(bad).message, 'unknown object type: network');
});
