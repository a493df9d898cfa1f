// System endpoints: /_ping, /version, /info, version prefixes and negotiation, unknown paths.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, removeAll } from './helpers.js';

const run = promisify(execFile);
const env = useDaemon();

test('GET /_ping answers OK with dockerd headers', async () => {
  const res = await raw(env.daemon.socket, 'GET', '/_ping');
  assert.equal(res.status, 200);
  assert.equal(res.text, 'OK');
  assert.equal(res.headers['api-version'], '1.47');
  assert.equal(res.headers['docker-experimental'], 'false');
  assert.equal(res.headers['ostype'], 'linux');
  // Not advertised while there is no /build.
  assert.equal(res.headers['builder-version'], undefined);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
  assert.equal(res.headers['pragma'], 'no-cache');
  const p = await env.client.ping();
  assert.equal(p.body, 'OK');
  assert.equal(p.apiVersion, '1.47');
  assert.equal(p.osType, 'linux');
});

test('HEAD /_ping answers with headers and no body; versioned ping works too', async () => {
  const res = await raw(env.daemon.socket, 'HEAD', '/_ping');
  assert.equal(res.status, 200);
  assert.equal(res.body.length, 0);
  assert.equal(res.headers['api-version'], '1.47');
  assert.equal(res.headers['ostype'], 'linux');
  assert.equal(res.headers['docker-experimental'], 'false');
  const v = await raw(env.daemon.socket, 'GET', '/v1.40/_ping');
  assert.equal(v.status, 200);
  assert.equal(v.text, 'OK');
});

test('GET /version reports the engine and real component versions', async () => {
  const v = await env.client.version();
  assert.equal(v.ApiVersion, '1.47');
  assert.equal(v.MinAPIVersion, '1.24');
  assert.equal(v.Os, 'linux');
  assert.ok(['amd64', 'arm64'].includes(v.Arch), v.Arch);
  assert.equal(typeof v.Version, 'string');
  assert.ok(v.Version.length > 0);
  for (const k of ['GitCommit', 'GoVersion', 'KernelVersion', 'BuildTime']) assert.ok(k in v, `version has ${k}`);
  const components = v['Components'] as { Name: string; Version: string; Details?: Record<string, string> }[];
  assert.ok(Array.isArray(components));
  const byName = new Map(components.map((c) => [c.Name, c]));
  assert.equal(byName.get('Engine')?.Version, v.Version);
  assert.equal(byName.get('Engine')?.Details?.['ApiVersion'], '1.47');
  assert.equal(byName.get('Engine')?.Details?.['MinAPIVersion'], '1.24');

  const { stdout: ctdOut } = await run('containerd', ['--version']);
  // "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
  const ctdVersion = ctdOut.trim().split(/\s+/)[2];
  assert.ok(ctdVersion, ctdOut);
  assert.equal(byName.get('containerd')?.Version, ctdVersion);

  const { stdout: runcOut } = await run('runc', ['--version']);
  const runcVersion = /runc version (\S+)/.exec(runcOut)?.[1];
  assert.equal(byName.get('runc')?.Version, runcVersion);
  assert.equal(byName.get('runc')?.Details?.['GitCommit'], /commit: (\S+)/.exec(runcOut)?.[1]);

  const p = v['Platform'] as { Name: string } | undefined;
  assert.equal(typeof p?.Name, 'string');
});

test('version-prefixed and unprefixed paths both work', async () => {
  for (const path of ['/version', '/v1.47/version', '/v1.24/version', '/v1.41/version']) {
    const res = await raw(env.daemon.socket, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal((res.json as { ApiVersion: string }).ApiVersion, '1.47', path);
  }
  const info = await raw(env.daemon.socket, 'GET', '/v1.44/info');
  assert.equal(info.status, 200);
  // A trailing slash is tolerated like dockerd's router (StrictSlash off, it cleans the path).
  const cj = await raw(env.daemon.socket, 'GET', '/v1.47/containers/json');
  assert.equal(cj.status, 200);
  assert.ok(Array.isArray(cj.json));
});

test('too new and too old API versions are 400 with dockerd messages', async () => {
  const tooNew = await raw(env.daemon.socket, 'GET', '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.match(String(tooNew.headers['content-type']), /^application\/json/);
  assert.deepEqual(tooNew.json, { message: 'client version 1.99 is too new. Maximum supported API version is 1.47' });

  const tooOld = await raw(env.daemon.socket, 'GET', '/v1.12/containers/json');
  assert.equal(tooOld.status, 400);
  assert.deepEqual(tooOld.json, {
    message: 'client version 1.12 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version',
  });
});

test('unknown paths are 404 page not found', async () => {
  for (const [method, path] of [
    ['GET', '/nosuch'],
    ['GET', '/v1.47/nosuch/thing'],
    ['POST', '/v1.47/version'],
    ['DELETE', '/_ping'],
  ] as const) {
    const res = await raw(env.daemon.socket, method, path);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.deepEqual(res.json, { message: 'page not found' }, `${method} ${path}`);
  }
});

test('GET /info reports the cgroup features and bridge netfilter switches the host really has', async () => {
  const info = await env.client.info();
  const flag = (p: string) => readFile(p, 'utf8').then((t) => t.trim() === '1', () => false);
  const present = (p: string) => access(p).then(() => true, () => false);
  assert.equal(info.BridgeNfIptables, await flag('/proc/sys/net/bridge/bridge-nf-call-iptables'));
  assert.equal(info.BridgeNfIp6tables, await flag('/proc/sys/net/bridge/bridge-nf-call-ip6tables'));
  assert.equal(info.IPv4Forwarding, await flag('/proc/sys/net/ipv4/ip_forward'));
  // (On cgroup v2 the features are those of berthd's own group: unit-tested in daemon/resources.)
  if (info.CgroupVersion === '1') {
    assert.equal(info.MemoryLimit, await present('/sys/fs/cgroup/memory'));
    assert.equal(info.SwapLimit, await present('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'));
    assert.equal(info.PidsLimit, await present('/sys/fs/cgroup/pids'));
    assert.equal(info.CpuCfsQuota, await present('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
    assert.equal(info.CPUShares, await present('/sys/fs/cgroup/cpu/cpu.shares'));
    assert.equal(info.CPUSet, await present('/sys/fs/cgroup/cpuset/cpuset.cpus'));
  }
});

test('GET /info has dockerd fields, and its counts follow containers and images', async () => {
  const info0 = await env.client.info();
  for (const k of [
    'ID',
    'Containers',
    'ContainersRunning',
    'ContainersPaused',
    'ContainersStopped',
    'Images',
    'Driver',
    'DriverStatus',
    'MemoryLimit',
    'SwapLimit',
    'CgroupDriver',
    'CgroupVersion',
    'NEventsListener',
    'KernelVersion',
    'OperatingSystem',
    'OSType',
    'Architecture',
    'NCPU',
    'MemTotal',
    'DockerRootDir',
    'Name',
    'Labels',
    'ServerVersion',
    'Runtimes',
    'DefaultRuntime',
    'LiveRestoreEnabled',
    'Isolation',
    'InitBinary',
    'ContainerdCommit',
    'RuncCommit',
    'InitCommit',
    'SecurityOptions',
    'Warnings',
  ]) {
    assert.ok(k in info0, `info has ${k}`);
  }
  assert.equal(info0.Driver, 'overlay2');
  assert.equal(info0['OSType'], 'linux');
  assert.equal(info0['DockerRootDir'], env.daemon.dataRoot);
  assert.equal(info0['DefaultRuntime'], 'runc');
  assert.ok((info0['NCPU'] as number) > 0);
  assert.ok((info0['MemTotal'] as number) > 0);
  assert.equal(info0.Containers, 0);
  assert.equal(info0.Images, 0);

  await importBusybox(env.daemon);
  const ids: string[] = [];
  try {
    const info1 = await env.client.info();
    assert.equal(info1.Images, 1);
    assert.equal(info1.ID, info0.ID, 'the engine ID is stable');

    const a = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] });
    const b = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] });
    ids.push(a.Id, b.Id);
    let info = await env.client.info();
    assert.deepEqual([info.Containers, info.ContainersRunning, info['ContainersStopped']], [2, 0, 2]);

    await env.client.containerStart(a.Id);
    info = await env.client.info();
    assert.deepEqual([info.Containers, info.ContainersRunning, info['ContainersStopped'], info['ContainersPaused']], [2, 1, 1, 0]);

    await env.client.containerStart(b.Id);
    info = await env.client.info();
    assert.deepEqual([info.Containers, info.ContainersRunning, info['ContainersStopped']], [2, 2, 0]);

    await env.client.containerStop(a.Id, { t: 0 });
    info = await env.client.info();
    assert.deepEqual([info.Containers, info.ContainersRunning, info['ContainersStopped']], [2, 1, 1]);

    await env.client.containerRemove(b.Id, { force: true });
    info = await env.client.info();
    assert.deepEqual([info.Containers, info.ContainersRunning, info['ContainersStopped']], [1, 0, 1]);
  } finally {
    await removeAll(env.client, ids);
  }
});
