// The network router over a real HTTP server on a unix socket, against a fake backend.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Router } from '../router.js';
import { networkRoutes, type NetworkBackend } from './network.js';
import { forbidden, notFound } from '../../pkg/errors.js';
import type { NetworkResource } from '../../api/types/network.js';

let tmp: string;
let sock: string;
let server: Server;
/** What the backend was asked, one entry per call: method and arguments (filters as objects). */
let calls: [string, ...unknown[]][] = [];

const bridge: NetworkResource = {
  Name: 'bridge', Id: 'b'.repeat(64), Created: '2026-01-01T00:00:00Z', Scope: 'local', Driver: 'bridge',
  EnableIPv4: true, EnableIPv6: false,
  IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.200.0.0/24', Gateway: '10.200.0.1' }] },
  Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
  Containers: {}, Options: {}, Labels: {},
};

const known = (idOrName: string): void => {
  if (idOrName !== 'bridge' && idOrName !== bridge.Id) throw notFound(`network ${idOrName} not found`);
};

const backend: NetworkBackend = {
  async list(filters) {
    calls.push(['list', Object.fromEntries(filters)]);
    return [bridge];
  },
  async inspect(idOrName, opts) {
    calls.push(['inspect', idOrName, opts]);
    known(idOrName);
    return bridge;
  },
  async create(req) {
    calls.push(['create', req]);
    if (req.Name === 'bridge') throw forbidden('operation is not permitted on predefined bridge network ');
    return { Id: 'n'.repeat(64), Warning: '' };
  },
  async remove(idOrName) {
    calls.push(['remove', idOrName]);
    known(idOrName);
    if (idOrName === 'bridge') throw forbidden('bridge is a pre-defined network and cannot be removed');
  },
  async prune(filters) {
    calls.push(['prune', Object.fromEntries(filters)]);
    return { NetworksDeleted: ['old'] };
  },
  async connect(network, container, config) {
    calls.push(['connect', network, container, config]);
    known(network);
    if (container !== 'web') throw notFound(`No such container: ${container}`);
  },
  async disconnect(network, container, force) {
    calls.push(['disconnect', network, container, force]);
    known(network);
  },
};

interface Res {
  status: number;
  body: string;
}

function call(method: string, path: string, body?: object | string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const headers = data ? { 'Content-Type': 'application/json', 'Content-Length': String(data.length) } : {};
    const req = request({ socketPath: sock, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

const json = (r: Res): unknown => JSON.parse(r.body);
const message = (r: Res): string => (json(r) as { message: string }).message;
const filters = (f: Record<string, Record<string, boolean>>): string => encodeURIComponent(JSON.stringify(f));

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-netrouter-'));
  sock = join(tmp, 'api.sock');
  const router = new Router(pino({ level: 'silent' }));
  networkRoutes(router, backend);
  server = createServer((req, res) => void router.dispatch(req, res));
  await new Promise<void>((r) => server.listen(sock, r));
});

after(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  calls = [];
});

test('list passes the filters through and returns the resources', async () => {
  const r = await call('GET', `/v1.47/networks?filters=${filters({ label: { a: true }, driver: { bridge: true } })}`);
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), [bridge]);
  assert.deepEqual(calls, [['list', { label: ['a'], driver: ['bridge'] }]]);
  assert.equal((await call('GET', '/networks?filters=notjson')).status, 400);
  assert.equal(calls.length, 1, 'a malformed filter never reaches the backend');
});

test('inspect: verbose and scope from the query; unknown networks are 404', async () => {
  const r = await call('GET', '/networks/bridge?verbose=1&scope=local');
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), bridge);
  assert.deepEqual(calls, [['inspect', 'bridge', { verbose: true, scope: 'local' }]]);
  await call('GET', '/networks/bridge');
  assert.deepEqual(calls[1], ['inspect', 'bridge', { verbose: false, scope: undefined }]);
  const missing = await call('GET', '/networks/nope');
  assert.equal(missing.status, 404);
  assert.equal(message(missing), 'network nope not found');
});

test('create: 201 with Id and Warning; bad bodies are 400; backend errors keep their status', async () => {
  const body = { Name: 'web', Driver: 'bridge', Labels: { a: 'b' }, IPAM: { Config: [{ Subnet: '10.9.0.0/24' }] } };
  const r = await call('POST', '/networks/create', body);
  assert.equal(r.status, 201);
  assert.deepEqual(json(r), { Id: 'n'.repeat(64), Warning: '' });
  assert.deepEqual(calls, [['create', body]]);
  await call('POST', '/networks/create', { Driver: 'bridge' });
  assert.deepEqual(calls[1], ['create', { Driver: 'bridge', Name: '' }], 'a missing name is passed as empty');
  const num = await call('POST', '/networks/create', { Name: 7 });
  assert.equal(num.status, 400);
  assert.equal(message(num), 'json: cannot unmarshal number into Go struct field CreateRequest.Name of type string');
  assert.equal((await call('POST', '/networks/create', '[1]')).status, 400);
  assert.equal((await call('POST', '/networks/create', '{')).status, 400);
  assert.equal(calls.length, 2);
  const predefined = await call('POST', '/networks/create', { Name: 'bridge' });
  assert.equal(predefined.status, 403);
  assert.equal(message(predefined), 'operation is not permitted on predefined bridge network ');
});

test('remove: 204, 403 for predefined, 404 for unknown', async () => {
  const r = await call('DELETE', `/networks/${bridge.Id}`);
  assert.equal(r.status, 204);
  assert.equal(r.body, '');
  assert.equal((await call('DELETE', '/networks/bridge')).status, 403);
  assert.equal((await call('DELETE', '/networks/nope')).status, 404);
  assert.deepEqual(calls.map((c) => c[1]), [bridge.Id, 'bridge', 'nope']);
});

test('prune passes the filters through', async () => {
  const r = await call('POST', `/networks/prune?filters=${filters({ until: { '1h': true }, 'label!': { keep: true } })}`);
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { NetworksDeleted: ['old'] });
  assert.deepEqual(calls, [['prune', { until: ['1h'], 'label!': ['keep'] }]]);
});

test('connect and disconnect: container required, endpoint config and force passed through', async () => {
  const cfg = { Aliases: ['db'], IPAMConfig: { IPv4Address: '10.9.0.5' } };
  const r = await call('POST', '/networks/bridge/connect', { Container: 'web', EndpointConfig: cfg });
  assert.equal(r.status, 200);
  assert.equal(r.body, '');
  assert.deepEqual(calls, [['connect', 'bridge', 'web', cfg]]);
  await call('POST', '/networks/bridge/connect', { Container: 'web' });
  assert.deepEqual(calls[1], ['connect', 'bridge', 'web', {}]);
  const none = await call('POST', '/networks/bridge/connect', {});
  assert.equal(none.status, 400);
  assert.equal(message(none), 'no container specified');
  assert.equal(calls.length, 2);
  assert.equal((await call('POST', '/networks/nope/connect', { Container: 'web' })).status, 404);
  const gone = await call('POST', '/networks/bridge/connect', { Container: 'ghost' });
  assert.equal(gone.status, 404);
  assert.equal(message(gone), 'No such container: ghost');

  calls = [];
  assert.equal((await call('POST', '/networks/bridge/disconnect', { Container: 'web', Force: true })).status, 200);
  assert.equal((await call('POST', '/networks/bridge/disconnect', { Container: 'web', Force: 'yes' })).status, 200);
  assert.deepEqual(calls, [['disconnect', 'bridge', 'web', true], ['disconnect', 'bridge', 'web', false]]);
  assert.equal((await call('POST', '/networks/bridge/disconnect', { Container: 5 })).status, 400);
});
