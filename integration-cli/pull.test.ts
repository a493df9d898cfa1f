// docker pull through the real CLI against berthd, from Debian's docker-registry: by tag and by
// digest, OCI and Docker manifests, a multi-platform index, docker run of a missing image,
// events, and a Docker Hub name through --registry-mirror.
import { test, after } from 'node:test';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { useDaemon } from '../integration/harness.js';
import { subscribeEvents } from '../integration/helpers.js';
import {
  MT_DOCKER_LIST,
  MT_OCI_INDEX,
  MT_OCI_MANIFEST,
  buildImage,
  busyboxTar,
  fileLayer,
  pushImage,
  putManifest,
  startRegistry,
} from '../integration/registry.js';
import { dockerFails, dockerOk, dockerOut } from './helpers.js';

const reg = await startRegistry();
after(() => reg.stop());
// The registry doubles as a mirror of Docker Hub: `busybox` is docker.io/library/busybox.
const env = useDaemon({ config: { 'registry-mirrors': [reg.url] } });

const base = await busyboxTar();
const amd64 = buildImage([base, await fileLayer('etc/arch', 'amd64\n')], { architecture: 'amd64', labels: { arch: 'amd64' } });
const arm64 = buildImage([base, await fileLayer('etc/arch', 'arm64\n')], { architecture: 'arm64', variant: 'v8', labels: { arch: 'arm64' } });

test('pull by tag draws dockerd\'s progress; a second pull is up to date; run uses it', async () => {
  const d = env.daemon;
  const name = `${reg.host}/busybox`;
  await pushImage(reg, 'busybox', 'latest', amd64);
  const events = await subscribeEvents(d.client, { type: ['image'] });
  const r = await dockerOk(d, ['pull', name]);
  const layerID = (i: number): string => (JSON.parse(amd64.manifest.toString()) as { layers: { digest: string }[] }).layers[i]!.digest.slice(7, 19);
  assert.match(r.stdout, /^latest: Pulling from busybox$/m);
  assert.match(r.stdout, new RegExp(`^${layerID(0)}: Pull complete$`, 'm'));
  assert.match(r.stdout, new RegExp(`^${layerID(1)}: Pull complete$`, 'm'));
  assert.match(r.stdout, new RegExp(`^Digest: ${amd64.manifestDigest}$`, 'm'));
  assert.match(r.stdout, new RegExp(`^Status: Downloaded newer image for ${name}:latest$`, 'm'));
  assert.match(r.stdout, new RegExp(`^${name}:latest$`, 'm'));

  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}} {{json .RepoDigests}} {{json .RepoTags}}', name]),
    `${amd64.id} ["${name}@${amd64.manifestDigest}"] ["${name}:latest"]`);
  const pulled = await events.next('pull event', (e) => e.Action === 'pull');
  assert.equal(pulled.Actor.ID, `${name}:latest`);
  assert.equal(pulled.Actor.Attributes?.name, name);
  assert.equal(pulled.Actor.Attributes?.arch, 'amd64');
  events.close();

  const again = await dockerOk(d, ['pull', `${name}:latest`]);
  assert.equal(again.stdout, `latest: Pulling from busybox\nDigest: ${amd64.manifestDigest}\nStatus: Image is up to date for ${name}:latest\n${name}:latest\n`);
  assert.equal(await dockerOut(d, ['run', '--rm', name, 'cat', '/etc/arch']), 'amd64');
});

test('the JSON stream is dockerd\'s: per-layer statuses with progressDetail, then Digest and Status', async () => {
  const d = env.daemon;
  const img = buildImage([await fileLayer('a', randomBytes(3 << 20)), await fileLayer('b', 'b'), await fileLayer('c', 'c'), await fileLayer('d', 'd')]);
  await pushImage(reg, 'stream', 'v1', img);
  const res = await fetchPull(d.socket, `${reg.host}/stream`, 'v1');
  const lines = res.split('\r\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const ids = (JSON.parse(img.manifest.toString()) as { layers: { digest: string }[] }).layers.map((l) => l.digest.slice(7, 19));
  assert.deepEqual(lines[0], { status: 'Pulling from stream', id: 'v1' });
  for (const id of ids) {
    const mine = lines.filter((l) => l.id === id).map((l) => l.status);
    assert.equal(mine[0], 'Pulling fs layer');
    assert.ok(mine.includes('Verifying Checksum') && mine.includes('Download complete') && mine.at(-1) === 'Pull complete', JSON.stringify(mine));
    assert.ok(lines.some((l) => l.id === id && l.status === 'Pulling fs layer' && JSON.stringify(l.progressDetail) === '{}'));
  }
  // Three downloads at a time: the fourth layer waits.
  assert.ok(lines.some((l) => l.id === ids[3] && l.status === 'Waiting'));
  const dl = lines.find((l) => l.id === ids[0] && l.status === 'Downloading' && (l.progressDetail as { current: number }).current < (l.progressDetail as { total: number }).total)!;
  assert.ok(dl, 'a partial Downloading line for the big layer');
  assert.match(String(dl.progress), /^\[=*>\s*\] +[0-9.]+[kM]?B\/[0-9.]+MB$/);
  assert.deepEqual(Object.keys(dl), ['status', 'progressDetail', 'progress', 'id']);
  assert.deepEqual(lines.at(-2), { status: `Digest: ${img.manifestDigest}` });
  assert.deepEqual(lines.at(-1), { status: `Status: Downloaded newer image for ${reg.host}/stream:v1` });
});

test('pull by digest records the digest only; OCI manifests pull as well', async () => {
  const d = env.daemon;
  const oci = buildImage([base, await fileLayer('etc/oci', 'yes\n')], { mediaType: MT_OCI_MANIFEST });
  await pushImage(reg, 'oci', 'v1', oci);
  const ref = `${reg.host}/oci@${oci.manifestDigest}`;
  const r = await dockerOk(d, ['pull', ref]);
  assert.match(r.stdout, new RegExp(`^${oci.manifestDigest.replace(':', ':')}: Pulling from oci$`, 'm'));
  // The base layer came with the first test's image.
  assert.match(r.stdout, /: Already exists$/m);
  assert.match(r.stdout, new RegExp(`^Status: Downloaded newer image for ${ref}$`, 'm'));
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}} {{json .RepoDigests}} {{len .RepoTags}}', ref]), `${oci.id} ["${reg.host}/oci@${oci.manifestDigest}"] 0`);
  // A digest the registry does not have.
  const missing = `sha256:${'0'.repeat(64)}`;
  await dockerFails(d, ['pull', `${reg.host}/oci@${missing}`], 1, `manifest for ${reg.host}/oci@${missing} not found: manifest unknown`);
  await dockerFails(d, ['pull', `${reg.host}/oci:nope`], 1, `manifest for ${reg.host}/oci:nope not found: manifest unknown: manifest unknown`);
});

for (const [kind, mt] of [['Docker manifest list', MT_DOCKER_LIST], ['OCI index', MT_OCI_INDEX]] as const) {
  test(`a multi-platform ${kind}: the host's entry by default, --platform for another, an error when none matches`, async () => {
    const d = env.daemon;
    const repo = `multi-${mt === MT_OCI_INDEX ? 'oci' : 'docker'}`;
    await pushImage(reg, repo, amd64.manifestDigest, amd64);
    await pushImage(reg, repo, arm64.manifestDigest, arm64);
    const list = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: mt,
      manifests: [
        { mediaType: JSON.parse(arm64.manifest.toString()).mediaType, size: arm64.manifest.length, digest: arm64.manifestDigest, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
        { mediaType: JSON.parse(amd64.manifest.toString()).mediaType, size: amd64.manifest.length, digest: amd64.manifestDigest, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    }));
    const listDigest = await putManifest(reg, repo, 'latest', mt, list);
    const name = `${reg.host}/${repo}`;
    await dockerOk(d, ['pull', name]);
    // RepoDigests name the list, as dockerd records it.
    assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}} {{.Architecture}}', name]), `${amd64.id} amd64`);
    assert.ok((await dockerOut(d, ['inspect', '-f', '{{json .RepoDigests}}', name])).includes(`"${name}@${listDigest}"`));
    const r = await dockerOk(d, ['pull', '--platform', 'linux/arm64', name]);
    assert.match(r.stdout, /Status: Downloaded newer image for/);
    assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}} {{.Architecture}} {{.Variant}}', name]), `${arm64.id} arm64 v8`);
    await dockerFails(d, ['pull', '--platform', 'linux/s390x', name], 1, 'no matching manifest for linux/s390x in the manifest list entries');
    await dockerOk(d, ['rmi', '-f', name, arm64.id]);
  });
}

test('docker run of an image not here pulls it first; create answers dockerd\'s 404 before that', async () => {
  const d = env.daemon;
  const img = buildImage([base, await fileLayer('etc/hello', 'hello from the registry\n')]);
  await pushImage(reg, 'runme', 'latest', img);
  const name = `${reg.host}/runme`;
  const r = await dockerOk(d, ['run', '--rm', name, 'cat', '/etc/hello']);
  assert.match(r.stderr, new RegExp(`Unable to find image '${name}:latest' locally`));
  assert.match(r.stderr, /latest: Pulling from runme/);
  assert.equal(r.stdout.trim(), 'hello from the registry');
  await dockerFails(d, ['create', '--pull', 'never', `${reg.host}/absent`], 1, `No such image: ${reg.host}/absent:latest`);
});

test('a Docker Hub name comes from the mirror, exactly as from the Hub', async () => {
  const d = env.daemon;
  await pushImage(reg, 'library/busybox', 'latest', amd64);
  const r = await dockerOk(d, ['pull', 'busybox']);
  assert.match(r.stdout, /^latest: Pulling from library\/busybox$/m);
  assert.match(r.stdout, /^Status: (Downloaded newer image|Image is up to date) for busybox:latest$/m);
  assert.match(r.stdout, /^docker\.io\/library\/busybox:latest$/m);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', 'docker.io/library/busybox']), amd64.id);
  assert.ok((await dockerOut(d, ['inspect', '-f', '{{json .RepoDigests}}', 'busybox'])).includes(`"busybox@${amd64.manifestDigest}"`));
  const info = JSON.parse(await dockerOut(d, ['info', '-f', '{{json .RegistryConfig}}'])) as { Mirrors: string[]; IndexConfigs: Record<string, { Mirrors: string[] }> };
  assert.deepEqual(info.Mirrors, [`${reg.url}/`]);
  assert.deepEqual(info.IndexConfigs['docker.io']!.Mirrors, [`${reg.url}/`]);
});

/** POST /images/create over the socket; the raw body. */
async function fetchPull(socket: string, image: string, tag: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, method: 'POST', path: `/v1.47/images/create?fromImage=${encodeURIComponent(image)}&tag=${tag}` }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}
