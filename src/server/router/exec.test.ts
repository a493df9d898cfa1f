// The exec router against a fake backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execRoutes, type ExecBackend } from './exec.js';
import { conflict, notFound } from '../../pkg/errors.js';
import { CallLog, json, serveRoutes, type TestServer } from './testutil.js';
import type { ExecInspect } from '../../api/types/exec.js';

let srv: TestServer;
const log = new CallLog();
const call: TestServer['call'] = (...args) => srv.call(...args);

/** "ghost" is unknown, "done" has run already. */
function known(id: string): void {
  if (id === 'ghost') throw notFound(`No such exec instance: ${id}`);
  if (id === 'done') throw conflict(`Container x is not running`);
}

const fake: ExecBackend = {
  execStart: async (id, cfg) => {
    known(id);
    const { getStream, ...rest } = cfg;
    log.add('start', id, rest);
    if (!cfg.detach) getStream(id === 'tty' || cfg.tty).end('output');
  },
  execInspect: async (id) => {
    known(id);
    return { ID: id, Running: false } as ExecInspect;
  },
  execResize: async (id, height, width) => {
    known(id);
    log.add('resize', id, height, width);
  },
};

before(async () => {
  srv = await serveRoutes((r) => execRoutes(r, fake));
});

after(async () => {
  await srv?.close();
});

test('start detached: 200 without a body', async () => {
  const r = await call('POST', '/exec/e1/start', { Detach: true, ConsoleSize: [24, 80] });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  assert.deepEqual(log.take(), ['start "e1" {"tty":false,"consoleSize":[24,80],"detach":true}']);
});

test('start attached: the stream type follows the TTY and the API version', async () => {
  const r = await call('POST', '/exec/e1/start', {});
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.equal(r.body.toString(), 'output');
  assert.equal((await call('POST', '/exec/e1/start', { Tty: true })).headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal((await call('POST', '/exec/tty/start')).headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal((await call('POST', '/v1.41/exec/e1/start', {})).headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.deepEqual(log.take(), [
    'start "e1" {"tty":false,"detach":false}',
    'start "e1" {"tty":true,"detach":false}',
    'start "tty" {"tty":false,"detach":false}',
    'start "e1" {"tty":false,"detach":false}',
  ]);
});

test('start: errors before the stream are answered normally', async () => {
  const nf = await call('POST', '/exec/ghost/start', {});
  assert.equal(nf.status, 404);
  assert.equal(json(nf).message, 'No such exec instance: ghost');
  assert.equal((await call('POST', '/exec/done/start', { Detach: true })).status, 409);
  const bad = await call('POST', '/exec/e1/start', Buffer.from('[]'));
  assert.equal(bad.status, 400);
  assert.equal(json(bad).message, 'json: cannot unmarshal array into Go value of type container.ExecStartOptions');
  assert.deepEqual(log.take(), []);
});

test('inspect: the backend answer; 404', async () => {
  const r = await call('GET', '/exec/e1/json');
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { ID: 'e1', Running: false });
  assert.equal((await call('GET', '/exec/ghost/json')).status, 404);
});

test('resize: h and w; 200; errors mapped', async () => {
  const r = await call('POST', '/exec/e1/resize?h=30&w=100');
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  assert.deepEqual(log.take(), ['resize "e1" 30 100']);
  assert.equal((await call('POST', '/exec/e1/resize?w=wide')).status, 400);
  assert.equal((await call('POST', '/exec/done/resize?h=1&w=1')).status, 409);
  assert.equal((await call('POST', '/exec/ghost/resize')).status, 404);
});
