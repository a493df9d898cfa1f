// dockerd (Debian's docker.io) as a client of Berth's registry: push, remove, pull back with the
// same image ID; a second repository gets the layer by cross-repository mount; with htpasswd auth
// after `docker login`; and over TLS. Skipped when /usr/sbin/dockerd is not installed. dockerd
// runs on its own directories and socket and is stopped and removed even when a test fails.
//
// dockerd trusts CAs only from /etc/docker/certs.d, which a test cannot isolate; it treats
// 127.0.0.0/8 as an insecure registry and so talks TLS to it without verifying the certificate.
// Verified TLS is tested with skopeo (registry_skopeo.test.ts).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxRootfsTar } from './fixtures.js';
import { haveDockerd, startDockerd, type Dockerd } from './dockerd.js';
import { makeCertificate, mustRun, removeDir, startRegistryProcess, type RegistryProcess, type RunResult } from './registry_helpers.js';

const skip = !haveDockerd && 'dockerd is not installed (/usr/sbin/dockerd, Debian package docker.io)';

let dockerd: Dockerd | undefined;
let dir = '';
let imageId = '';
const registries: RegistryProcess[] = [];

function docker(args: string[], opts: { input?: string; config?: string } = {}): Promise<RunResult> {
  return dockerd!.docker(args, opts);
}

async function dockerOut(args: string[], opts: { input?: string; config?: string } = {}): Promise<string> {
  const r = await docker(args, opts);
  assert.equal(r.code, 0, `docker ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

before(async () => {
  if (!haveDockerd) return;
  dockerd = await startDockerd('berth-regdk');
  dir = dockerd.dir;
  imageId = await dockerOut(['import', '-c', 'CMD ["sh"]', await busyboxRootfsTar(), 'busybox:fixture']);
});

after(async () => {
  for (const r of registries) {
    await r.stop();
    await removeDir(r.root);
  }
  await dockerd?.stop();
});

async function registry(args: string[] = [], tls = false): Promise<RegistryProcess> {
  const r = await startRegistryProcess({ args, tls });
  registries.push(r);
  return r;
}

/** Tags the fixture as `ref`, pushes it, removes it, pulls it back: same image ID, and it runs. */
async function roundTrip(ref: string, config?: string): Promise<string> {
  await dockerOut(['tag', 'busybox:fixture', ref]);
  const pushed = await dockerOut(['push', ref], { config });
  const digest = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(pushed)?.[1];
  assert.ok(digest, pushed);
  await dockerOut(['rmi', ref]);
  const pulled = await dockerOut(['pull', ref], { config });
  assert.match(pulled, new RegExp(`Digest: ${digest}`));
  assert.equal(await dockerOut(['inspect', '-f', '{{.Id}}', ref]), imageId);
  const repoDigests = await dockerOut(['inspect', '-f', '{{json .RepoDigests}}', ref]);
  assert.ok(repoDigests.includes(digest), repoDigests);
  assert.equal(await dockerOut(['run', '--rm', '--network', 'none', ref, 'echo', 'pulled and running']), 'pulled and running');
  return pushed;
}

test('dockerd pushes to berth-registry and pulls back the same image; a second repository mounts the layer', { skip }, async () => {
  const r = await registry();
  await roundTrip(`${r.host}/x/busybox:v1`);
  const second = await roundTrip(`${r.host}/y/busybox:v1`);
  assert.match(second, /Mounted from x\/busybox/, 'dockerd mounted the layer across repositories');
  const pulledByDigest = await dockerOut(['pull', `${r.host}/x/busybox@${/digest: (sha256:[0-9a-f]{64})/.exec(second)![1]}`]);
  assert.match(pulledByDigest, /Status:/);
});

test('dockerd logs in to berth-registry with --htpasswd, pushes and pulls; without login it is refused', { skip }, async () => {
  const pw = join(dir, 'htpasswd');
  await writeFile(pw, await mustRun('htpasswd', ['-Bbn', 'dave', 'c0rrect']));
  const r = await registry(['--htpasswd', pw]);
  const config = await mkdtemp(join(dir, 'login-cfg-'));
  const ref = `${r.host}/auth/busybox:v1`;
  await dockerOut(['tag', 'busybox:fixture', ref]);
  const anon = await docker(['push', ref], { config });
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr + anon.stdout, /no basic auth credentials|unauthorized|authentication required/);

  const bad = await docker(['login', '-u', 'dave', '--password-stdin', r.host], { config, input: 'wrong\n' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /401 Unauthorized/);
  const ok = await dockerOut(['login', '-u', 'dave', '--password-stdin', r.host], { config, input: 'c0rrect\n' });
  assert.match(ok, /Login Succeeded/);
  await roundTrip(ref, config);
});

test('dockerd pushes to and pulls from berth-registry over TLS', { skip }, async () => {
  const certs = await mkdtemp(join(dir, 'certs-'));
  const { cert, key } = await makeCertificate(certs);
  const r = await registry(['--tls-cert', cert, '--tls-key', key], true);
  await roundTrip(`${r.host}/tls/busybox:v1`);
  assert.match(r.logs(), /"tls":true/);
});
