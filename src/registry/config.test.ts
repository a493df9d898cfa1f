import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryConfig, normalizeRegistryHost } from './config.js';

test('Docker Hub names normalise; server addresses lose scheme and path', () => {
  for (const h of ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/']) assert.equal(normalizeRegistryHost(h), 'docker.io');
  assert.equal(normalizeRegistryHost('http://127.0.0.1:5000/v2/'), '127.0.0.1:5000');
  assert.equal(normalizeRegistryHost('ghcr.io'), 'ghcr.io');
});

test('info() as dockerd shows it; loopback insecure by default; named and CIDR insecure registries', async () => {
  const c = new RegistryConfig({ mirrors: ['http://127.0.0.1:5000'], insecureRegistries: ['myreg.example:5000', '10.1.0.0/16'] });
  assert.deepEqual(c.info(), {
    AllowNondistributableArtifactsCIDRs: null,
    AllowNondistributableArtifactsHostnames: null,
    InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8', '10.1.0.0/16'],
    IndexConfigs: {
      'myreg.example:5000': { Name: 'myreg.example:5000', Mirrors: [], Secure: false, Official: false },
      'docker.io': { Name: 'docker.io', Mirrors: ['http://127.0.0.1:5000/'], Secure: true, Official: true },
    },
    Mirrors: ['http://127.0.0.1:5000/'],
  });
  assert.equal(await c.isSecure('127.0.0.1:5000'), false);
  assert.equal(await c.isSecure('[::1]:5000'), false);
  assert.equal(await c.isSecure('10.1.2.3'), false);
  assert.equal(await c.isSecure('10.2.0.1:443'), true);
  assert.equal(await c.isSecure('myreg.example:5000'), false);
  assert.equal(new RegistryConfig().info().Mirrors, null);
});

test('endpoints: mirrors then the Hub for docker.io (not for pushes); HTTPS then HTTP for insecure registries', async () => {
  const c = new RegistryConfig({ mirrors: ['https://mirror.example/'] });
  const hub = await c.endpoints('docker.io');
  assert.deepEqual(hub.map((e) => [e.url.href, e.mirror]), [['https://mirror.example/', true], ['https://registry-1.docker.io/', false]]);
  assert.deepEqual((await c.endpoints('docker.io', true)).map((e) => e.url.href), ['https://registry-1.docker.io/']);
  assert.deepEqual((await c.endpoints('127.0.0.1:5000')).map((e) => [e.url.href, e.insecureTLS]), [['https://127.0.0.1:5000/', true], ['http://127.0.0.1:5000/', true]]);
  assert.deepEqual((await c.endpoints('10.9.9.9:443')).map((e) => [e.url.href, e.insecureTLS]), [['https://10.9.9.9/', false]]);
});

test('bad mirrors and insecure registries are refused with dockerd\'s words', () => {
  assert.throws(() => new RegistryConfig({ mirrors: ['ftp://x'] }), /invalid mirror: unsupported scheme "ftp"/);
  assert.throws(() => new RegistryConfig({ mirrors: ['not a url'] }), /invalid mirror: "not a url" is not a valid URI/);
  assert.throws(() => new RegistryConfig({ mirrors: ['https://x/?a=b'] }), /query or fragment/);
});
