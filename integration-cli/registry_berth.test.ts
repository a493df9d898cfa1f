// Berth as a client of its own registry server: berthd pushes to bin/berth-registry (with
// htpasswd auth and docker login), removes the image, pulls it back by tag and by digest, and
// gets the same image ID; a re-push uploads nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { mustRun, removeDir, startRegistryProcess, type RegistryProcess } from '../integration/registry_helpers.js';
import { dockerFails, dockerOk, dockerOut } from './helpers.js';

const env = useDaemon();
let reg: RegistryProcess | undefined;

after(async () => {
  if (!reg) return;
  await reg.stop();
  await removeDir(reg.root);
});

test("berthd pushes to and pulls from Berth's own registry, with login", async () => {
  const d = env.daemon;
  const htpasswd = join(d.dir, 'htpasswd');
  await writeFile(htpasswd, await mustRun('htpasswd', ['-Bbn', 'berth', 'own-registry']));
  reg = await startRegistryProcess({ args: ['--htpasswd', htpasswd] });
  const name = `${reg.host}/own/busybox:v1`;
  await dockerOk(d, ['import', '-c', 'CMD ["sh"]', await busyboxRootfsTar(), name]);
  const id = await dockerOut(d, ['inspect', '-f', '{{.Id}}', name]);

  await dockerFails(d, ['push', name], 1, 'no basic auth credentials');
  await dockerOk(d, ['login', '-u', 'berth', '--password-stdin', reg!.host], { input: 'own-registry\n' });
  const pushed = await dockerOk(d, ['push', name]);
  const m = /^v1: digest: (sha256:[0-9a-f]{64}) size: \d+$/m.exec(pushed.stdout);
  assert.ok(m, pushed.stdout);
  const again = await dockerOk(d, ['push', name]);
  assert.match(again.stdout, /: Layer already exists$/m);
  assert.doesNotMatch(again.stdout, /Pushed|Pushing/);

  await dockerOk(d, ['rmi', name]);
  const pulled = await dockerOk(d, ['pull', name]);
  assert.match(pulled.stdout, new RegExp(`^Digest: ${m[1]}$`, 'm'));
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', name]), id);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{json .RepoDigests}}', name]), `["${reg!.host}/own/busybox@${m[1]}"]`);

  await dockerOk(d, ['rmi', name]);
  const byDigest = `${reg!.host}/own/busybox@${m[1]}`;
  await dockerOk(d, ['pull', byDigest]);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', byDigest]), id);
  assert.equal(await dockerOut(d, ['run', '--rm', '--network', 'none', byDigest, 'echo', 'from-own-registry']), 'from-own-registry');
  await dockerOk(d, ['logout', reg!.host]);
});
