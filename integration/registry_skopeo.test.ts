// skopeo (Debian's, containers/image) as a third-party client of Berth's registry: copy an OCI
// image in and back out, as Docker schema2 too, a multi-platform index with --all, inspect,
// list-tags, delete, basic auth, and TLS verified against a CA directory.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeCertificate,
  makeMultiPlatform,
  mustRun,
  removeDir,
  request,
  run,
  startRegistryProcess,
  writeBusyboxOciLayout,
  type OciImage,
  type RegistryProcess,
} from './registry_helpers.js';

let work: string;
let image: OciImage;
let env: NodeJS.ProcessEnv;
const registries: RegistryProcess[] = [];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-skopeo-'));
  image = await writeBusyboxOciLayout(join(work, 'layout'), 'v1');
  // Nothing from the host's login state.
  env = { ...process.env, REGISTRY_AUTH_FILE: join(work, 'auth.json'), HOME: work, XDG_RUNTIME_DIR: work };
});

after(async () => {
  for (const r of registries) {
    await r.stop();
    await removeDir(r.root);
  }
  if (work) await removeDir(work);
});

async function registry(args: string[] = [], tls = false): Promise<RegistryProcess> {
  const r = await startRegistryProcess({ args, tls });
  registries.push(r);
  return r;
}

const skopeo = (args: string[]): Promise<string> => mustRun('skopeo', ['--insecure-policy', ...args], { env });

async function manifestDigestOf(layoutDir: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
  return index.manifests[0].digest;
}

test('skopeo copies an OCI image in and out, inspects it, lists its tags and deletes it', async () => {
  const r = await registry();
  const ref = `docker://${r.host}/x/busybox`;
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `${ref}:v1`]);
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, `${ref}:v1-again`]);

  const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `${ref}:v1`]));
  assert.equal(inspect.Digest, image.manifestDigest, 'the registry keeps the manifest byte for byte');
  assert.deepEqual(inspect.Layers, [image.layerDigest]);
  assert.equal(inspect.Architecture, 'amd64');
  const raw = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `${ref}:v1`]));
  assert.equal(raw.config.digest, image.configDigest);

  const tags = JSON.parse(await skopeo(['list-tags', '--tls-verify=false', ref]));
  assert.deepEqual(tags.Tags, ['v1', 'v1-again']);

  const out = join(work, 'out');
  await skopeo(['copy', '--src-tls-verify=false', `${ref}:v1`, `oci:${out}:v1`]);
  assert.equal(await manifestDigestOf(out), image.manifestDigest);
  const layer = await readFile(join(out, 'blobs', 'sha256', image.layerDigest.slice(7)));
  assert.ok(layer.equals(await readFile(join(image.dir, 'blobs', 'sha256', image.layerDigest.slice(7)))));

  await skopeo(['delete', '--tls-verify=false', `${ref}@${image.manifestDigest}`]);
  const gone = await run('skopeo', ['--insecure-policy', 'inspect', '--tls-verify=false', `${ref}:v1`], { env });
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /manifest unknown/);
  assert.deepEqual(JSON.parse(await skopeo(['list-tags', '--tls-verify=false', ref])).Tags, [], 'deleting by digest removed both tags');
});

test('skopeo pushes a Docker schema2 manifest (--format v2s2) that comes back as one', async () => {
  const r = await registry();
  await skopeo(['copy', '--dest-tls-verify=false', '--format', 'v2s2', `oci:${image.dir}:v1`, `docker://${r.host}/conv/busybox:v2s2`]);
  const res = await request(r, 'GET', '/v2/conv/busybox/manifests/v2s2', { headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/vnd.docker.distribution.manifest.v2+json');
  const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', `docker://${r.host}/conv/busybox:v2s2`]));
  assert.equal(inspect.Digest, res.headers['docker-content-digest']);
});

test('skopeo copy --all pushes a multi-platform index and pulls one platform out of it', async () => {
  const r = await registry();
  const multi = await writeBusyboxOciLayout(join(work, 'multi'), 'multi');
  const { indexDigest, arm64Digest } = await makeMultiPlatform(multi);
  const ref = `docker://${r.host}/multi/busybox:latest`;
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${multi.dir}:multi`, ref]);
  const raw = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', ref]));
  assert.equal(raw.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(raw.manifests.map((m: { digest: string }) => m.digest), [multi.manifestDigest, arm64Digest]);
  const head = await request(r, 'HEAD', '/v2/multi/busybox/manifests/latest');
  assert.equal(head.headers['docker-content-digest'], indexDigest);

  const arm = JSON.parse(await skopeo(['inspect', '--override-arch', 'arm64', '--tls-verify=false', ref]));
  assert.equal(arm.Architecture, 'arm64');
  const out = join(work, 'multi-out');
  await skopeo(['copy', '--override-arch', 'arm64', '--src-tls-verify=false', ref, `oci:${out}:arm`]);
  assert.equal(await manifestDigestOf(out), arm64Digest);
});

test('skopeo with --dest-creds against --htpasswd', async () => {
  const pw = join(work, 'htpasswd');
  await writeFile(pw, await mustRun('htpasswd', ['-Bbn', 'carol', 'pa55']));
  const r = await registry(['--htpasswd', pw]);
  const ref = `docker://${r.host}/auth/busybox:v1`;
  const anon = await run('skopeo', ['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${image.dir}:v1`, ref], { env });
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr, /authentication required|unauthorized/i);
  await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', 'carol:pa55', `oci:${image.dir}:v1`, ref]);
  const inspect = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', 'carol:pa55', ref]));
  assert.equal(inspect.Digest, image.manifestDigest);
});

test('over TLS: skopeo trusts the registry through --dest-cert-dir and refuses it without', async () => {
  const certs = await mkdtemp(join(work, 'certs-'));
  const { cert, key } = await makeCertificate(certs);
  const r = await registry(['--tls-cert', cert, '--tls-key', key], true);
  const ref = `docker://${r.host}/tls/busybox:v1`;
  const untrusted = await run('skopeo', ['--insecure-policy', 'copy', `oci:${image.dir}:v1`, ref], { env });
  assert.notEqual(untrusted.code, 0);
  assert.match(untrusted.stderr, /certificate|x509/i);
  await skopeo(['copy', '--dest-cert-dir', certs, `oci:${image.dir}:v1`, ref]);
  const inspect = JSON.parse(await skopeo(['inspect', '--cert-dir', certs, ref]));
  assert.equal(inspect.Digest, image.manifestDigest);
  const out = join(work, 'tls-out');
  await skopeo(['copy', '--src-cert-dir', certs, ref, `oci:${out}:v1`]);
  assert.equal(await manifestDigestOf(out), image.manifestDigest);
  const plain = await request(r, 'GET', '/v2/').then(
    (res) => res.status,
    () => 'refused',
  );
  assert.notEqual(plain, 200, 'plain HTTP is not served on a TLS registry');
});
