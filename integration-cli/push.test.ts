// docker push through the real CLI against berthd, to Debian's docker-registry: dockerd's
// progress, the digest line and RepoDigests; push → rmi → pull keeps the image ID; a re-push
// uploads nothing; another repository mounts the layers; skopeo reads what Berth pushed; and
// docker login/logout against an htpasswd registry.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { useDaemon } from '../integration/harness.js';
import { subscribeEvents } from '../integration/helpers.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { startRegistry } from '../integration/registry.js';
import { dockerFails, dockerOk, dockerOut } from './helpers.js';

const reg = await startRegistry();
const authReg = await startRegistry({ htpasswd: { user: 'berth', password: 's3cret-pass' } });
after(() => Promise.all([reg.stop(), authReg.stop()]));
// Flags as dockerd's: an insecure registry by name shows in /info.
const env = useDaemon({ args: ['--insecure-registry', 'myreg.example:5000', '--insecure-registry', '10.99.0.0/16'] });

/** A two-layer image: the busybox rootfs and a commit on top. */
async function twoLayerImage(name: string): Promise<string> {
  const d = env.daemon;
  await dockerOk(d, ['import', '-c', 'CMD ["sh"]', await busyboxRootfsTar(), 'base:push']);
  await dockerOk(d, ['run', '--name', 'maker', 'base:push', 'sh', '-c', 'echo pushed-content > /etc/pushed']);
  await dockerOk(d, ['commit', 'maker', name]);
  await dockerOk(d, ['rm', 'maker']);
  return dockerOut(d, ['inspect', '-f', '{{.Id}}', name]);
}

test('push, rmi, pull: same image ID and RepoDigests; a re-push uploads nothing; another repository mounts', async () => {
  const d = env.daemon;
  const name = `${reg.host}/pushed:v1`;
  const id = await twoLayerImage(name);
  const diffIDs = JSON.parse(await dockerOut(d, ['inspect', '-f', '{{json .RootFS.Layers}}', name])) as string[];
  const events = await subscribeEvents(d.client, { type: ['image'] });
  const r = await dockerOk(d, ['push', name]);
  assert.match(r.stdout, new RegExp(`^The push refers to repository \\[${reg.host}/pushed\\]$`, 'm'));
  for (const diff of diffIDs) assert.match(r.stdout, new RegExp(`^${diff.slice(7, 19)}: Pushed$`, 'm'));
  const m = /^v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$/m.exec(r.stdout);
  assert.ok(m, r.stdout);
  const digest = m[1]!;
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{json .RepoDigests}}', name]), `["${reg.host}/pushed@${digest}"]`);
  const pushed = await events.next('push event', (e) => e.Action === 'push');
  assert.equal(pushed.Actor.ID, name);
  events.close();

  // A third-party client reads it: the manifest and config Berth wrote are valid.
  const { stdout } = await promisify(execFile)('skopeo', ['inspect', '--tls-verify=false', `docker://${name}`]);
  const inspected = JSON.parse(stdout) as { Digest: string; Layers: string[] };
  assert.equal(inspected.Digest, digest);
  assert.equal(inspected.Layers.length, 2);

  // Pushing again finds every layer there.
  const again = await dockerOk(d, ['push', name]);
  for (const diff of diffIDs) assert.match(again.stdout, new RegExp(`^${diff.slice(7, 19)}: Layer already exists$`, 'm'));
  assert.doesNotMatch(again.stdout, /Pushed|Pushing/);
  assert.match(again.stdout, new RegExp(`^v1: digest: ${digest} size: ${m[2]}$`, 'm'));

  // The same layers into another repository of the registry: mounted, not uploaded.
  await dockerOk(d, ['tag', name, `${reg.host}/other:v2`]);
  const mounted = await dockerOk(d, ['push', `${reg.host}/other:v2`]);
  for (const diff of diffIDs) assert.match(mounted.stdout, new RegExp(`^${diff.slice(7, 19)}: Mounted from pushed$`, 'm'));

  // Round trip.
  await dockerOk(d, ['rmi', name, `${reg.host}/other:v2`, 'base:push']);
  await dockerFails(d, ['inspect', id], 1);
  const pulled = await dockerOk(d, ['pull', name]);
  assert.match(pulled.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', name]), `${id} ["${reg.host}/pushed@${digest}"]`);
  assert.equal(await dockerOut(d, ['run', '--rm', name, 'cat', '/etc/pushed']), 'pushed-content');
  await dockerFails(d, ['push', `${reg.host}/pushed:nope`], 1, `tag does not exist: ${reg.host}/pushed:nope`);
});

test('--insecure-registry shows in /info as dockerd shows it', async () => {
  const info = JSON.parse(await dockerOut(env.daemon, ['info', '-f', '{{json .RegistryConfig}}'])) as Record<string, unknown>;
  assert.deepEqual(info.InsecureRegistryCIDRs, ['::1/128', '127.0.0.0/8', '10.99.0.0/16']);
  assert.deepEqual((info.IndexConfigs as Record<string, unknown>)['myreg.example:5000'], { Name: 'myreg.example:5000', Mirrors: [], Secure: false, Official: false });
  assert.equal(info.Mirrors, null);
});

test('docker login and logout against an htpasswd registry; pulls and pushes use the credentials', async () => {
  const d = env.daemon;
  const name = `${authReg.host}/private:v1`;
  await dockerOk(d, ['import', '-c', 'CMD ["sh"]', await busyboxRootfsTar(), name]);
  await dockerFails(d, ['push', name], 1, 'no basic auth credentials');
  await dockerFails(d, ['login', authReg.host, '-u', 'berth', '-p', 'wrong'], 1, `login attempt to http://${authReg.host}/v2/ failed with status: 401 Unauthorized`);
  const login = await dockerOk(d, ['login', authReg.host, '-u', 'berth', '--password-stdin'], { input: 's3cret-pass\n' });
  assert.match(login.stdout, /Login Succeeded/);
  const pushed = await dockerOk(d, ['push', name]);
  assert.match(pushed.stdout, /v1: digest: sha256:[0-9a-f]{64} size: \d+/);
  await dockerOk(d, ['rmi', name]);
  await dockerOk(d, ['pull', name]);
  assert.match(await dockerOut(d, ['logout', authReg.host]), new RegExp(`Removing login credentials for ${authReg.host}`));
  await dockerOk(d, ['rmi', name]);
  await dockerFails(d, ['pull', name], 1, 'no basic auth credentials');
});
