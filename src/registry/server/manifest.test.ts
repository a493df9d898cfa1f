import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MEDIA_TYPE, parseManifest } from './manifest.js';
import { RegistryError } from './errors.js';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const image = (mediaType?: string, extra: Record<string, unknown> = {}): Buffer =>
  Buffer.from(JSON.stringify({ schemaVersion: 2, ...(mediaType ? { mediaType } : {}), config: { digest: d('c'), size: 2 }, layers: [{ digest: d('1'), size: 3 }], ...extra }));
const isInvalid = (e: unknown): boolean => e instanceof RegistryError && e.code === 'MANIFEST_INVALID';

test('image manifests: Docker schema2 and OCI, blobs are the config then the layers', () => {
  for (const mt of [MEDIA_TYPE.dockerManifest, MEDIA_TYPE.ociManifest]) {
    const p = parseManifest(image(mt), mt);
    assert.equal(p.mediaType, mt);
    assert.equal(p.kind, 'image');
    assert.deepEqual(p.blobs.map((b) => b.digest), [d('c'), d('1')]);
  }
  // OCI allows leaving mediaType out; the Content-Type says it then.
  assert.equal(parseManifest(image(), MEDIA_TYPE.ociManifest).mediaType, MEDIA_TYPE.ociManifest);
  assert.equal(parseManifest(image(), 'application/octet-stream').mediaType, MEDIA_TYPE.ociManifest);
});

test('artifactType: the declared one, else the config media type of an image; annotations and subject are kept', () => {
  const withConfigType = image(MEDIA_TYPE.ociManifest, { config: { mediaType: 'application/vnd.example.config', digest: d('c'), size: 2 } });
  assert.equal(parseManifest(withConfigType, MEDIA_TYPE.ociManifest).artifactType, 'application/vnd.example.config');
  const artifact = image(MEDIA_TYPE.ociManifest, { artifactType: 'application/vnd.example.sig', subject: { digest: d('5'), size: 7 }, annotations: { a: 'b', n: 1 } });
  const p = parseManifest(artifact, MEDIA_TYPE.ociManifest);
  assert.equal(p.artifactType, 'application/vnd.example.sig');
  assert.deepEqual(p.annotations, { a: 'b' });
  assert.equal(p.subject?.digest, d('5'));
});

test('indexes: Docker manifest lists and OCI indexes list child manifests', () => {
  for (const mt of [MEDIA_TYPE.dockerManifestList, MEDIA_TYPE.ociIndex]) {
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: mt, manifests: [{ digest: d('a'), size: 5, platform: { os: 'linux' } }] }));
    const p = parseManifest(body, mt);
    assert.equal(p.kind, 'index');
    assert.deepEqual(p.manifests.map((m) => m.digest), [d('a')]);
    assert.deepEqual(p.blobs, []);
  }
});

test('foreign layers need not be in the registry', () => {
  const body = image(MEDIA_TYPE.dockerManifest, {
    layers: [
      { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d('f'), size: 9, urls: ['https://example.com/l'] },
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: d('2'), size: 9 },
    ],
  });
  assert.deepEqual(parseManifest(body, MEDIA_TYPE.dockerManifest).blobs.map((b) => b.digest), [d('c'), d('2')]);
});

test('invalid manifests are MANIFEST_INVALID', () => {
  assert.throws(() => parseManifest(Buffer.from('{'), MEDIA_TYPE.ociManifest), isInvalid);
  assert.throws(() => parseManifest(Buffer.from('[]'), MEDIA_TYPE.ociManifest), isInvalid);
  assert.throws(() => parseManifest(image(MEDIA_TYPE.ociManifest), MEDIA_TYPE.dockerManifest), isInvalid, 'body and Content-Type disagree');
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] })), MEDIA_TYPE.dockerSchema1Signed), (e: unknown) => isInvalid(e) && /schema 1 is not supported/.test(String((e as RegistryError).detail)));
  assert.throws(() => parseManifest(image(MEDIA_TYPE.ociManifest, { schemaVersion: 3 }), MEDIA_TYPE.ociManifest), isInvalid);
  assert.throws(() => parseManifest(image(MEDIA_TYPE.ociManifest, { config: { digest: d('c') } }), MEDIA_TYPE.ociManifest), isInvalid);
  assert.throws(() => parseManifest(image(MEDIA_TYPE.dockerManifest, { layers: [] }), MEDIA_TYPE.dockerManifest), isInvalid);
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'text/plain' })), 'text/plain'), isInvalid);
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.ociIndex })), MEDIA_TYPE.ociIndex), isInvalid);
});
