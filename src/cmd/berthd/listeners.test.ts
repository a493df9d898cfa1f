import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { checkTcpAuth, tlsMode } from './listeners.js';
import { loadDaemonConfig } from './config.js';

const quiet = pino({ level: 'silent' });

test('--tlsverify given at all turns TLS on; unset, it follows --tls (dockerd)', () => {
  assert.deepEqual(tlsMode({}), { tls: false, verify: false, explicit: false });
  assert.deepEqual(tlsMode({ tls: true }), { tls: true, verify: true, explicit: true });
  assert.deepEqual(tlsMode({ tls: true, tlsverify: false }), { tls: true, verify: false, explicit: true });
  assert.deepEqual(tlsMode({ tlsverify: false }), { tls: true, verify: false, explicit: true });
  assert.deepEqual(tlsMode({ tls: false, tlsverify: true }), { tls: true, verify: true, explicit: true });
  assert.deepEqual(tlsMode({ tls: false }), { tls: false, verify: false, explicit: true });
});

test('unauthenticated tcp: refused off loopback unless explicitly forced', async () => {
  const plain = tlsMode({});
  await assert.rejects(checkTcpAuth(['tcp://0.0.0.0:2375'], plain, quiet), /refusing to listen on tcp:\/\/0\.0\.0\.0:2375 without --tlsverify.*'--tls=false' or '--tlsverify=false'/);
  await assert.rejects(checkTcpAuth(['tcp://:2375'], plain, quiet), /refusing/);
  await checkTcpAuth(['tcp://0.0.0.0:2375'], tlsMode({ tls: false }), quiet);
  await checkTcpAuth(['tcp://0.0.0.0:2375'], tlsMode({ tlsverify: false }), quiet);
  await checkTcpAuth(['tcp://127.0.0.1:2375', 'tcp://[::1]:2375', 'tcp://localhost:2375', 'unix:///run/x.sock'], plain, quiet);
  await checkTcpAuth(['tcp://0.0.0.0:2376'], tlsMode({ tlsverify: true }), quiet);
});

test('daemon.json: the TLS keys and group as dockerd names them; TLS without hosts listens on tcp://localhost:2376', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cfg-'));
  try {
    const file = join(dir, 'daemon.json');
    await writeFile(file, JSON.stringify({ tlsverify: true, tlscacert: '/c/ca.pem', tlscert: '/c/cert.pem', tlskey: '/c/key.pem', group: 'g' }));
    const cfg = await loadDaemonConfig(file, {}, true);
    assert.deepEqual(cfg.hosts, ['tcp://localhost:2376']);
    assert.equal(cfg.tlscacert, '/c/ca.pem');
    assert.equal(cfg.group, 'g');
    await assert.rejects(loadDaemonConfig(file, { group: 'h' }, true), /specified both as a flag and in the configuration file: group/);
    await writeFile(file, '{}');
    assert.deepEqual((await loadDaemonConfig(file, {}, true)).hosts, ['unix:///var/run/berth.sock']);
    assert.deepEqual((await loadDaemonConfig(file, { host: ['tcp://127.0.0.1:1'], tls: true }, true)).hosts, ['tcp://127.0.0.1:1']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
