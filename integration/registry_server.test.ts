// Berth's registry server (bin/berth-registry) over HTTP: uploads in every form, digest
// verification, manifests and their validation, tags and catalog pagination, deletion, hostile
// names and digests, basic auth, restart resumption, garbage collection and graceful shutdown.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mustRun, REGISTRY_MAIN, removeDir, request, run, sha256Of, startRegistryProcess, type RegistryProcess } from './registry_helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

let reg: RegistryProcess;
const dirs: string[] = [];

before(async () => {
  reg = await startRegistryProcess();
  dirs.push(reg.root);
});

after(async () => {
  await reg?.stop();
  for (const d of dirs) await removeDir(d);
});

async function pushBlob(r: RegistryProcess, repo: string, data: Buffer | string): Promise<string> {
  const digest = sha256Of(data);
  const res = await request(r, 'POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'Content-Type': 'application/octet-stream' } });
  assert.equal(res.status, 201, res.text);
  return digest;
}

/** Pushes a config and a layer and returns a manifest referencing them. */
async function pushImage(r: RegistryProcess, repo: string, tag: string, mediaType = OCI_MANIFEST): Promise<{ digest: string; body: string; layer: string; config: string }> {
  const layerData = randomBytes(1000);
  const configData = JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(4).toString('hex') });
  const layer = await pushBlob(r, repo, layerData);
  const config = await pushBlob(r, repo, configData);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: mediaType === OCI_MANIFEST ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', digest: config, size: Buffer.byteLength(configData) },
    layers: [{ mediaType: mediaType === OCI_MANIFEST ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layer, size: layerData.length }],
  });
  const res = await request(r, 'PUT', `/v2/${repo}/manifests/${tag}`, { body, headers: { 'Content-Type': mediaType } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers['docker-content-digest'], sha256Of(body));
  return { digest: sha256Of(body), body, layer, config };
}

/** Pushes an artifact manifest whose `subject` is `subject` (an OCI 1.1 referrer). */
async function pushReferrer(r: RegistryProcess, repo: string, subject: { digest: string; body: string }, artifactType: string): Promise<{ digest: string; body: string; blob: string }> {
  const empty = await pushBlob(r, repo, '{}');
  const payload = `payload of ${artifactType} ${randomBytes(4).toString('hex')}`;
  const blob = await pushBlob(r, repo, payload);
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
    layers: [{ mediaType: 'text/plain', digest: blob, size: Buffer.byteLength(payload) }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: Buffer.byteLength(subject.body) },
    annotations: { 'org.example.kind': artifactType },
  });
  const res = await request(r, 'PUT', `/v2/${repo}/manifests/${sha256Of(body)}`, { body, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers['oci-subject'], subject.digest);
  return { digest: sha256Of(body), body, blob };
}

async function blobFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const base = join(root, 'blobs', 'sha256');
  for (const p of await readdir(base).catch(() => [] as string[])) out.push(...(await readdir(join(base, p))));
  return out.sort();
}

test('GET /v2/ answers 200 with the API version header', async () => {
  const res = await request(reg, 'GET', '/v2/');
  assert.equal(res.status, 200);
  assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  assert.deepEqual(res.json, {});
});

test('a chunked upload with Content-Range PATCHes, an out-of-order chunk gets 416, and GET reports progress', async () => {
  const data = randomBytes(300_000);
  const start = await request(reg, 'POST', '/v2/chunked/blobs/uploads/');
  assert.equal(start.status, 202);
  assert.equal(start.headers.range, '0-0');
  let location = String(start.headers.location);
  assert.match(location, /^\/v2\/chunked\/blobs\/uploads\/[0-9a-f-]{36}$/);
  assert.equal(start.headers['docker-upload-uuid'], location.split('/').pop());

  const first = await request(reg, 'PATCH', location, { body: data.subarray(0, 100_000), headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' } });
  assert.equal(first.status, 202, first.text);
  assert.equal(first.headers.range, '0-99999');
  location = String(first.headers.location);

  const skipped = await request(reg, 'PATCH', location, { body: data.subarray(150_000, 200_000), headers: { 'Content-Range': '150000-199999' } });
  assert.equal(skipped.status, 416);
  assert.equal(skipped.json.errors[0].code, 'RANGE_INVALID');
  assert.equal(skipped.headers.range, '0-99999', 'the 416 tells where the upload stands');

  const status = await request(reg, 'GET', location);
  assert.equal(status.status, 204);
  assert.equal(status.headers.range, '0-99999');

  const second = await request(reg, 'PATCH', location, { body: data.subarray(100_000, 200_000), headers: { 'Content-Range': '100000-199999' } });
  assert.equal(second.status, 202);
  assert.equal(second.headers.range, '0-199999');

  // The last chunk travels with the closing PUT.
  const digest = sha256Of(data);
  const done = await request(reg, 'PUT', `${second.headers.location}?digest=${digest}`, { body: data.subarray(200_000) });
  assert.equal(done.status, 201, done.text);
  assert.equal(done.headers.location, `/v2/chunked/blobs/${digest}`);
  assert.equal(done.headers['docker-content-digest'], digest);

  const got = await request(reg, 'GET', `/v2/chunked/blobs/${digest}`);
  assert.equal(got.status, 200);
  assert.ok(got.body.equals(data));
  assert.equal(got.headers['content-length'], String(data.length));
  assert.equal((await request(reg, 'GET', location)).status, 404, 'the finished upload is gone');
});

test('a PUT whose digest does not match is rejected and stores nothing', async () => {
  const before = await blobFiles(reg.root);
  const data = randomBytes(5000);
  const wrong = sha256Of('something else');
  const start = await request(reg, 'POST', '/v2/wrong/blobs/uploads/');
  const location = String(start.headers.location);
  assert.equal((await request(reg, 'PATCH', location, { body: data })).status, 202);
  const put = await request(reg, 'PUT', `${location}?digest=${wrong}`);
  assert.equal(put.status, 400);
  assert.equal(put.json.errors[0].code, 'DIGEST_INVALID');
  assert.equal(put.json.errors[0].message, 'provided digest did not match uploaded content');
  assert.deepEqual(await blobFiles(reg.root), before, 'no blob file was added');
  assert.equal((await request(reg, 'HEAD', `/v2/wrong/blobs/${wrong}`)).status, 404);
  assert.equal((await request(reg, 'HEAD', `/v2/wrong/blobs/${sha256Of(data)}`)).status, 404);
  assert.equal((await request(reg, 'GET', location)).status, 404, 'the failed upload is cancelled');

  const mono = await request(reg, 'POST', `/v2/wrong/blobs/uploads/?digest=${wrong}`, { body: data });
  assert.equal(mono.status, 400);
  assert.equal(mono.json.errors[0].code, 'DIGEST_INVALID');
  assert.deepEqual(await blobFiles(reg.root), before);
  assert.deepEqual(await readdir(join(reg.root, '_uploads')), [], 'no upload is left behind');
});

test('a sha512 digest is verified too', async () => {
  const data = Buffer.from('sha512 content');
  const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
  const res = await request(reg, 'POST', `/v2/sha512/blobs/uploads/?digest=${digest}`, { body: data });
  assert.equal(res.status, 201, res.text);
  const got = await request(reg, 'GET', `/v2/sha512/blobs/${digest}`);
  assert.equal(got.text, 'sha512 content');
  const bad = await request(reg, 'POST', `/v2/sha512/blobs/uploads/?digest=sha512:${'0'.repeat(128)}`, { body: data });
  assert.equal(bad.json.errors[0].code, 'DIGEST_INVALID');
});

test('blob GET serves ranges, HEAD its headers, and DELETE unlinks it from the repository', async () => {
  const data = Buffer.from('0123456789abcdef');
  const digest = await pushBlob(reg, 'ranges', data);
  const head = await request(reg, 'HEAD', `/v2/ranges/blobs/${digest}`);
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '16');
  assert.equal(head.headers['docker-content-digest'], digest);
  assert.equal(head.body.length, 0);
  const part = await request(reg, 'GET', `/v2/ranges/blobs/${digest}`, { headers: { Range: 'bytes=4-7' } });
  assert.equal(part.status, 206);
  assert.equal(part.text, '4567');
  assert.equal(part.headers['content-range'], 'bytes 4-7/16');
  const beyond = await request(reg, 'GET', `/v2/ranges/blobs/${digest}`, { headers: { Range: 'bytes=20-' } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], 'bytes */16');

  assert.equal((await request(reg, 'HEAD', `/v2/other-repo/blobs/${digest}`)).status, 404, 'a blob is served only by repositories it belongs to');
  const del = await request(reg, 'DELETE', `/v2/ranges/blobs/${digest}`);
  assert.equal(del.status, 202);
  const gone = await request(reg, 'GET', `/v2/ranges/blobs/${digest}`);
  assert.equal(gone.status, 404);
  assert.equal(gone.json.errors[0].code, 'BLOB_UNKNOWN');
});

test('cross-repository mount: 201 when the source has the blob, a new upload session when it does not', async () => {
  const digest = await pushBlob(reg, 'mount/src', randomBytes(2000));
  const mounted = await request(reg, 'POST', `/v2/mount/dst/blobs/uploads/?mount=${digest}&from=mount/src`);
  assert.equal(mounted.status, 201);
  assert.equal(mounted.headers.location, `/v2/mount/dst/blobs/${digest}`);
  assert.equal(mounted.headers['docker-content-digest'], digest);
  assert.equal((await request(reg, 'HEAD', `/v2/mount/dst/blobs/${digest}`)).status, 200);

  const absent = sha256Of(randomBytes(8));
  const fallback = await request(reg, 'POST', `/v2/mount/dst/blobs/uploads/?mount=${absent}&from=mount/src`);
  assert.equal(fallback.status, 202);
  assert.match(String(fallback.headers.location), /^\/v2\/mount\/dst\/blobs\/uploads\//);
  const notFromThere = await request(reg, 'POST', `/v2/mount/third/blobs/uploads/?mount=${digest}&from=chunked`);
  assert.equal(notFromThere.status, 202, 'a blob is not mounted from a repository that does not hold it');
});

test('manifests by tag and digest: Docker schema2, OCI, and indexes whose children must exist', async () => {
  const docker = await pushImage(reg, 'media/docker', 'v2', DOCKER_MANIFEST);
  const byTag = await request(reg, 'GET', '/v2/media/docker/manifests/v2', { headers: { Accept: DOCKER_MANIFEST } });
  assert.equal(byTag.status, 200);
  assert.equal(byTag.headers['content-type'], DOCKER_MANIFEST);
  assert.equal(byTag.headers['docker-content-digest'], docker.digest);
  assert.equal(byTag.text, docker.body, 'the manifest comes back byte for byte');
  const head = await request(reg, 'HEAD', `/v2/media/docker/manifests/${docker.digest}`);
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String(Buffer.byteLength(docker.body)));

  const oci = await pushImage(reg, 'media/oci', 'v1');
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [{ mediaType: OCI_MANIFEST, digest: oci.digest, size: Buffer.byteLength(oci.body), platform: { architecture: 'amd64', os: 'linux' } }],
  });
  const put = await request(reg, 'PUT', `/v2/media/oci/manifests/${sha256Of(index)}`, { body: index, headers: { 'Content-Type': OCI_INDEX } });
  assert.equal(put.status, 201, put.text);
  assert.equal((await request(reg, 'GET', `/v2/media/oci/manifests/${sha256Of(index)}`)).headers['content-type'], OCI_INDEX);

  const list = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: [{ mediaType: DOCKER_MANIFEST, digest: docker.digest, size: Buffer.byteLength(docker.body), platform: { architecture: 'amd64', os: 'linux' } }],
  });
  const elsewhere = await request(reg, 'PUT', '/v2/media/oci/manifests/list', { body: list, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.list.v2+json' } });
  assert.equal(elsewhere.status, 400, 'the child manifest lives in another repository');
  assert.equal(elsewhere.json.errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
  const ok = await request(reg, 'PUT', '/v2/media/docker/manifests/list', { body: list, headers: { 'Content-Type': 'application/vnd.docker.distribution.manifest.list.v2+json' } });
  assert.equal(ok.status, 201, ok.text);
});

test('manifest PUTs that are invalid are refused with the right code and store nothing', async () => {
  const missing = sha256Of('not pushed');
  const dangling = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: missing, size: 10 },
    layers: [],
  });
  const r1 = await request(reg, 'PUT', '/v2/invalid/manifests/a', { body: dangling, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(r1.status, 400);
  assert.deepEqual(r1.json.errors, [{ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: missing }]);

  const r2 = await request(reg, 'PUT', '/v2/invalid/manifests/a', { body: '{not json', headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(r2.status, 400);
  assert.equal(r2.json.errors[0].code, 'MANIFEST_INVALID');

  const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
  // Keep-alive: the registry answers at once and discards the rest of a body of declared length,
  // where with `Connection: close` the client would still be writing into a closed socket.
  const r3 = await request(reg, 'PUT', '/v2/invalid/manifests/a', { body: huge, headers: { 'Content-Type': OCI_MANIFEST, Connection: 'keep-alive' } });
  assert.equal(r3.status, 413);
  assert.equal(r3.json.errors[0].code, 'MANIFEST_INVALID');

  const img = await pushImage(reg, 'invalid', 'ok');
  const r4 = await request(reg, 'PUT', `/v2/invalid/manifests/${sha256Of('other')}`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal(r4.status, 400);
  assert.equal(r4.json.errors[0].code, 'DIGEST_INVALID');

  const r5 = await request(reg, 'PUT', '/v2/invalid/manifests/a', { body: img.body, headers: { 'Content-Type': DOCKER_MANIFEST } });
  assert.equal(r5.status, 400, 'Content-Type and mediaType disagree');

  const tags = await request(reg, 'GET', '/v2/invalid/tags/list');
  assert.deepEqual(tags.json.tags, ['ok'], 'only the valid manifest was tagged');
  const unknown = await request(reg, 'GET', '/v2/invalid/manifests/a');
  assert.equal(unknown.status, 404);
  assert.equal(unknown.json.errors[0].code, 'MANIFEST_UNKNOWN');
});

test('referrers: manifests with a subject are listed by GET /v2/<name>/referrers/<digest>, filtered by artifactType', async () => {
  const img = await pushImage(reg, 'refs/app', 'v1');
  const sig = await pushReferrer(reg, 'refs/app', img, 'application/vnd.example.signature');
  const sbom = await pushReferrer(reg, 'refs/app', img, 'application/vnd.example.sbom');
  const all = await request(reg, 'GET', `/v2/refs/app/referrers/${img.digest}`);
  assert.equal(all.status, 200);
  assert.equal(all.headers['content-type'], OCI_INDEX);
  assert.equal(all.json.mediaType, OCI_INDEX);
  const expected = [sig, sbom]
    .map((m) => ({ mediaType: OCI_MANIFEST, digest: m.digest, size: Buffer.byteLength(m.body), artifactType: JSON.parse(m.body).artifactType, annotations: JSON.parse(m.body).annotations }))
    .sort((a, b) => (a.digest < b.digest ? -1 : 1));
  assert.deepEqual(all.json.manifests, expected);

  const filtered = await request(reg, 'GET', `/v2/refs/app/referrers/${img.digest}?artifactType=application/vnd.example.sbom`);
  assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
  assert.deepEqual(filtered.json.manifests.map((m: { digest: string }) => m.digest), [sbom.digest]);
  assert.deepEqual((await request(reg, 'GET', `/v2/refs/app/referrers/${sha256Of('nothing')}`)).json.manifests, []);
  assert.deepEqual((await request(reg, 'GET', `/v2/refs/other/referrers/${img.digest}`)).json.manifests, [], 'referrers are per repository');
  assert.equal((await request(reg, 'GET', '/v2/refs/app/referrers/sha256:nope')).json.errors[0].code, 'DIGEST_INVALID');

  assert.equal((await request(reg, 'DELETE', `/v2/refs/app/manifests/${sig.digest}`)).status, 202);
  assert.deepEqual((await request(reg, 'GET', `/v2/refs/app/referrers/${img.digest}`)).json.manifests.map((m: { digest: string }) => m.digest), [sbom.digest]);
});

test('tags list and catalog paginate with n, last and a Link header', async () => {
  const img = await pushImage(reg, 'paged/repo', 't0');
  for (const t of ['t1', 't2', 't3', 't4']) {
    const res = await request(reg, 'PUT', `/v2/paged/repo/manifests/${t}`, { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(res.status, 201);
  }
  const all = await request(reg, 'GET', '/v2/paged/repo/tags/list');
  assert.deepEqual(all.json, { name: 'paged/repo', tags: ['t0', 't1', 't2', 't3', 't4'] });
  assert.equal(all.headers.link, undefined);

  const p1 = await request(reg, 'GET', '/v2/paged/repo/tags/list?n=2');
  assert.deepEqual(p1.json.tags, ['t0', 't1']);
  assert.equal(p1.headers.link, '</v2/paged/repo/tags/list?last=t1&n=2>; rel="next"');
  const next = /^<([^>]+)>/.exec(String(p1.headers.link))![1];
  const p2 = await request(reg, 'GET', next);
  assert.deepEqual(p2.json.tags, ['t2', 't3']);
  const p3 = await request(reg, 'GET', '/v2/paged/repo/tags/list?n=2&last=t3');
  assert.deepEqual(p3.json.tags, ['t4']);
  assert.equal(p3.headers.link, undefined);

  const bad = await request(reg, 'GET', '/v2/paged/repo/tags/list?n=-1');
  assert.equal(bad.json.errors[0].code, 'PAGINATION_NUMBER_INVALID');
  const none = await request(reg, 'GET', '/v2/no/such/repo/tags/list');
  assert.equal(none.status, 404);
  assert.equal(none.json.errors[0].code, 'NAME_UNKNOWN');

  const catalog = await request(reg, 'GET', '/v2/_catalog');
  const repos: string[] = catalog.json.repositories;
  assert.ok(repos.includes('paged/repo'));
  assert.deepEqual(repos, [...repos].sort());
  const c1 = await request(reg, 'GET', '/v2/_catalog?n=1');
  assert.equal(c1.json.repositories.length, 1);
  assert.equal(c1.headers.link, `</v2/_catalog?last=${encodeURIComponent(repos[0])}&n=1>; rel="next"`);
  const c2 = await request(reg, 'GET', `/v2/_catalog?n=1000&last=${encodeURIComponent(repos[0])}`);
  assert.deepEqual(c2.json.repositories, repos.slice(1));
});

test('DELETE of a manifest by digest removes its tags; DELETE by tag removes only the tag', async () => {
  const img = await pushImage(reg, 'deletes', 'a');
  await request(reg, 'PUT', '/v2/deletes/manifests/b', { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
  await request(reg, 'PUT', '/v2/deletes/manifests/c', { body: img.body, headers: { 'Content-Type': OCI_MANIFEST } });
  assert.equal((await request(reg, 'DELETE', '/v2/deletes/manifests/c')).status, 202);
  assert.deepEqual((await request(reg, 'GET', '/v2/deletes/tags/list')).json.tags, ['a', 'b']);
  assert.equal((await request(reg, 'GET', `/v2/deletes/manifests/${img.digest}`)).status, 200);
  assert.equal((await request(reg, 'DELETE', `/v2/deletes/manifests/${img.digest}`)).status, 202);
  assert.deepEqual((await request(reg, 'GET', '/v2/deletes/tags/list')).json.tags, []);
  const again = await request(reg, 'DELETE', `/v2/deletes/manifests/${img.digest}`);
  assert.equal(again.status, 404);
  assert.equal(again.json.errors[0].code, 'MANIFEST_UNKNOWN');
});

test('hostile repository names, digests, tags and upload ids are refused and reach no file outside the root', async () => {
  const outside = await mkdtemp(join(tmpdir(), 'berth-registry-outside-'));
  dirs.push(outside);
  const secret = join(outside, 'secret');
  await writeFile(secret, 'do not serve');
  const d = sha256Of('x');
  const cases: [string, string, number][] = [
    ['GET', '/v2/../../etc/tags/list', 400],
    ['GET', '/v2/%2e%2e/%2e%2e/tags/list', 400],
    ['GET', '/v2/a/%2E%2E/b/tags/list', 400],
    ['GET', '/v2//etc/tags/list', 400],
    ['GET', '/v2/a%00b/tags/list', 404],
    ['GET', '/v2/UPPER/tags/list', 400],
    ['GET', '/v2/a/_manifests/tags/list', 400],
    ['POST', '/v2/a%2f..%2f..%2fx/blobs/uploads/', 400],
    ['GET', `/v2/a/blobs/sha256:..%2f..%2f${'0'.repeat(58)}`, 404],
    ['GET', '/v2/a/blobs/sha256:../../../../etc/passwd', 404],
    ['GET', `/v2/a/blobs/md5:${'0'.repeat(32)}`, 400],
    ['GET', `/v2/a/blobs/sha256:${'A'.repeat(64)}`, 400],
    ['GET', '/v2/a/manifests/..', 400],
    ['GET', '/v2/a/manifests/%2e%2e%2f%2e%2e%2fsecret', 404],
    ['PUT', '/v2/a/manifests/.hidden', 400],
    ['GET', '/v2/a/blobs/uploads/..', 404],
    ['PATCH', `/v2/a/blobs/uploads/${encodeURIComponent(secret)}`, 404],
    ['GET', `/v2/a/blobs/${d}/../../../etc`, 404],
  ];
  for (const [method, path, status] of cases) {
    const res = await request(reg, method, path, method === 'PATCH' || method === 'PUT' ? { body: 'x' } : {});
    assert.equal(res.status, status, `${method} ${path}: ${res.status} ${res.text}`);
    assert.ok(!res.text.includes('do not serve'));
  }
  const named = await request(reg, 'GET', '/v2/%2e%2e/tags/list');
  assert.equal(named.json.errors[0].code, 'NAME_INVALID');
  const digest = await request(reg, 'GET', `/v2/a/blobs/md5:${'0'.repeat(32)}`);
  assert.equal(digest.json.errors[0].code, 'DIGEST_INVALID');
  assert.deepEqual((await readdir(reg.root)).filter((e) => !['blobs', 'repositories', '_uploads'].includes(e)), []);
});

test('an upload resumes after the registry restarts on the same root', async () => {
  const r = await startRegistryProcess();
  dirs.push(r.root);
  const data = randomBytes(64 * 1024);
  const start = await request(r, 'POST', '/v2/resume/blobs/uploads/');
  const first = await request(r, 'PATCH', String(start.headers.location), { body: data.subarray(0, 40_000) });
  assert.equal(first.headers.range, '0-39999');
  assert.equal(await r.stop(), 0, 'SIGTERM stops it cleanly');

  const again = await startRegistryProcess({ root: r.root });
  try {
    const location = String(first.headers.location);
    assert.equal((await request(again, 'GET', location)).headers.range, '0-39999');
    const second = await request(again, 'PATCH', location, { body: data.subarray(40_000), headers: { 'Content-Range': `40000-${data.length - 1}` } });
    assert.equal(second.status, 202, second.text);
    const done = await request(again, 'PUT', `${location}?digest=${sha256Of(data)}`);
    assert.equal(done.status, 201, done.text);
    assert.ok((await request(again, 'GET', `/v2/resume/blobs/${sha256Of(data)}`)).body.equals(data));
  } finally {
    await again.stop();
  }
});

test('with --htpasswd: 401 and a Basic challenge without credentials, bcrypt users in, other hashes refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-auth-'));
  dirs.push(dir);
  const file = join(dir, 'htpasswd');
  const bcryptLine = await mustRun('htpasswd', ['-Bbn', 'alice', 's3cret']);
  const md5Line = await mustRun('htpasswd', ['-mbn', 'bob', 'hunter2']);
  await writeFile(file, bcryptLine.trim() + '\n' + md5Line.trim() + '\n');
  const r = await startRegistryProcess({ args: ['--htpasswd', file, '--realm', 'test realm'] });
  dirs.push(r.root);
  try {
    assert.match(r.logs(), /entry of user \\"bob\\" is not a bcrypt hash/);
    const anon = await request(r, 'GET', '/v2/');
    assert.equal(anon.status, 401);
    assert.equal(anon.headers['www-authenticate'], 'Basic realm="test realm"');
    assert.equal(anon.json.errors[0].code, 'UNAUTHORIZED');
    const basic = (u: string, p: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    assert.equal((await request(r, 'GET', '/v2/', { headers: basic('alice', 's3cret') })).status, 200);
    assert.equal((await request(r, 'GET', '/v2/', { headers: basic('alice', 'wrong') })).status, 401);
    assert.equal((await request(r, 'GET', '/v2/', { headers: basic('bob', 'hunter2') })).status, 401, 'a non-bcrypt entry never logs in');
    assert.equal((await request(r, 'GET', '/v2/_catalog')).status, 401);
    assert.equal((await request(r, 'GET', '/v2/_catalog', { headers: basic('alice', 's3cret') })).status, 200);
  } finally {
    await r.stop();
  }
});

test('garbage-collect removes unreferenced blobs and abandoned uploads, keeps referenced ones; --dry-run removes nothing', async () => {
  const r = await startRegistryProcess();
  dirs.push(r.root);
  let img: Awaited<ReturnType<typeof pushImage>>;
  let old: Awaited<ReturnType<typeof pushImage>>;
  let orphan: string;
  let sig: Awaited<ReturnType<typeof pushReferrer>>;
  try {
    img = await pushImage(r, 'gc/app', 'v1');
    sig = await pushReferrer(r, 'gc/app', img, 'application/vnd.example.signature');
    const child = JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: img.digest, size: Buffer.byteLength(img.body) }] });
    assert.equal((await request(r, 'PUT', '/v2/gc/app/manifests/idx', { body: child, headers: { 'Content-Type': OCI_INDEX } })).status, 201);
    // The image is reachable only through the index once its own tag is gone.
    assert.equal((await request(r, 'DELETE', '/v2/gc/app/manifests/v1')).status, 202);
    // This one is reachable from no tag at all.
    old = await pushImage(r, 'gc/app', 'old');
    assert.equal((await request(r, 'DELETE', '/v2/gc/app/manifests/old')).status, 202);
    orphan = await pushBlob(r, 'gc/app', 'nobody references this');
    await request(r, 'POST', '/v2/gc/app/blobs/uploads/');
  } finally {
    await r.stop();
  }
  const gc = (args: string[]): Promise<string> => mustRun(process.execPath, [REGISTRY_MAIN, 'garbage-collect', '--root', r.root, ...args]);
  const blobPath = (digest: string): string => join(r.root, 'blobs', 'sha256', digest.slice(7, 9), digest.slice(7));

  const dry = await gc(['--dry-run', '--upload-max-age', '0s']);
  assert.match(dry, new RegExp(`blob eligible for deletion: ${orphan}`));
  assert.match(dry, /1 blobs, 0 manifests and 1 uploads eligible for deletion/);
  assert.ok((await stat(blobPath(orphan))).isFile());
  assert.equal((await readdir(join(r.root, '_uploads'))).length, 1);

  const plain = await gc([]);
  assert.match(plain, /1 blobs, 0 manifests and 0 uploads deleted/, 'untagged manifests and a recent upload are kept');
  await assert.rejects(stat(blobPath(orphan)));
  assert.ok((await stat(blobPath(old.layer))).isFile());

  const untagged = await gc(['--upload-max-age', '0s', '--delete-untagged']);
  assert.match(untagged, new RegExp(`gc/app: manifest eligible for deletion: ${old.digest}`));
  assert.match(untagged, /3 blobs, 1 manifests and 1 uploads deleted/);
  const left = await blobFiles(r.root);
  for (const gone of [old.digest, old.layer, old.config]) assert.ok(!left.includes(gone.slice(7)), `${gone} is no longer referenced`);
  for (const kept of [img.digest, img.layer, img.config]) assert.ok(left.includes(kept.slice(7)), `${kept} is referenced through the index and kept`);
  for (const kept of [sig.digest, sig.blob]) assert.ok(left.includes(kept.slice(7)), `${kept}: a referrer of a kept manifest is kept`);
  assert.deepEqual(await readdir(join(r.root, '_uploads')), []);

  const again = await startRegistryProcess({ root: r.root });
  try {
    assert.equal((await request(again, 'GET', `/v2/gc/app/blobs/${img.layer}`)).status, 200);
    assert.equal((await request(again, 'HEAD', `/v2/gc/app/blobs/${orphan}`)).status, 404);
    assert.equal((await request(again, 'GET', '/v2/gc/app/manifests/idx')).status, 200);
    assert.equal((await request(again, 'GET', `/v2/gc/app/manifests/${old.digest}`)).status, 404);
  } finally {
    await again.stop();
  }
});

test('SIGTERM lets an upload in flight finish, then the registry exits 0', async () => {
  const r = await startRegistryProcess();
  dirs.push(r.root);
  const start = await request(r, 'POST', '/v2/graceful/blobs/uploads/');
  const data = randomBytes(100_000);
  let continued!: () => void;
  const accepted = new Promise<void>((resolve) => (continued = resolve));
  let req!: ReturnType<typeof httpRequest>;
  const answer = new Promise<number>((resolve, reject) => {
    // 100-continue: the interim answer says the registry has the request in hand.
    req = httpRequest(
      { host: '127.0.0.1', port: r.port, method: 'PATCH', path: String(start.headers.location), headers: { 'Content-Length': data.length, Expect: '100-continue' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('continue', continued);
    req.on('error', reject);
    req.flushHeaders();
  });
  await accepted;
  r.child.kill('SIGTERM');
  // The body goes only once the registry has begun to shut down.
  await r.waitForLog(/"msg":"shutting down","signal":"SIGTERM"/);
  req.end(data);
  assert.equal(await answer, 202);
  assert.equal(await r.stop(), 0);
  assert.equal((await stat(join(r.root, '_uploads', String(start.headers['docker-upload-uuid']), 'data'))).size, data.length);
});

test('berth-registry refuses bad flags with a clear error', async () => {
  const res = await run(process.execPath, [REGISTRY_MAIN, 'serve', '--listen', 'nope', '--root', '/tmp/x']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, /invalid --listen address "nope"/);
  const tls = await run(process.execPath, [REGISTRY_MAIN, 'serve', '--listen', '127.0.0.1:0', '--root', reg.root, '--tls-cert', '/nonexistent']);
  assert.equal(tls.code, 1);
  assert.match(tls.stderr, /needs both a certificate/);
});
