import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDaemonConfig } from './config.js';

async function load(file: Record<string, unknown>, flags: Record<string, unknown> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'berthd-config-'));
  try {
    await writeFile(join(dir, 'daemon.json'), JSON.stringify(file));
    return await loadDaemonConfig(join(dir, 'daemon.json'), flags, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('dns, dns-search and dns-opts from daemon.json or the flags', async () => {
  const c = await load({ dns: ['192.0.2.1', '2001:db8::53'], 'dns-search': ['example.com', '.'], 'dns-opts': ['ndots:2'] });
  assert.deepEqual(c.dns, ['192.0.2.1', '2001:db8::53']);
  assert.deepEqual(c['dns-search'], ['example.com', '.']);
  assert.deepEqual(c['dns-opts'], ['ndots:2']);
  const f = await load({}, { dns: ['192.0.2.2'], dnsSearch: ['a.test'], dnsOpt: ['timeout:1'] });
  assert.deepEqual([f.dns, f['dns-search'], f['dns-opts']], [['192.0.2.2'], ['a.test'], ['timeout:1']]);
});

test("dns values are checked as dockerd's", async () => {
  await assert.rejects(load({ dns: ['192.0.2.1:53'] }), /IP address is not correctly formatted: 192\.0\.2\.1:53/);
  await assert.rejects(load({}, { dns: ['dns.example'] }), /IP address is not correctly formatted: dns\.example/);
  await assert.rejects(load({ 'dns-search': ['-bad-.test'] }), /-bad-\.test is not a valid domain/);
  await assert.rejects(load({ 'dns-search': ['123'] }), /123 is not a valid domain/);
  await assert.rejects(load({ dns: '192.0.2.1' }), /dns must be a list of strings/);
  await assert.rejects(load({ dns: ['192.0.2.1'] }, { dns: ['192.0.2.2'] }), /specified both as a flag and in the configuration file: dns/);
});

test('host-gateway-ip: the old single key becomes host-gateway-ips; one address per family', async () => {
  assert.deepEqual((await load({ 'host-gateway-ip': '192.0.2.9' }))['host-gateway-ips'], ['192.0.2.9']);
  assert.equal((await load({ 'host-gateway-ip': '192.0.2.9' }))['host-gateway-ip'], undefined);
  assert.deepEqual((await load({ 'host-gateway-ips': ['192.0.2.9', 'fd00::1'] }))['host-gateway-ips'], ['192.0.2.9', 'fd00::1']);
  assert.deepEqual((await load({}, { hostGatewayIp: ['fd00::1'] }))['host-gateway-ips'], ['fd00::1']);
  await assert.rejects(load({ 'host-gateway-ip': '192.0.2.9', 'host-gateway-ips': ['192.0.2.8'] }), /host-gateway-ip and host-gateway-ips must not both be specified in the config file/);
  await assert.rejects(load({ 'host-gateway-ip': '192.0.2.9' }, { hostGatewayIp: ['192.0.2.8'] }), /specified both as a flag and in the configuration file: host-gateway-ip/);
  await assert.rejects(load({ 'host-gateway-ips': ['192.0.2.1', '192.0.2.2'] }), /only one IPv4 host gateway IP address can be specified/);
  await assert.rejects(load({ 'host-gateway-ips': ['fd00::1', 'fd00::2'] }), /only one IPv6 host gateway IP address can be specified/);
  await assert.rejects(load({ 'host-gateway-ips': ['gw'] }), /invalid host-gateway-ip gw/);
});
