import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_INDEX, parseManifest, parsePlatform, selectManifest } from './manifest.js';
import { humanSize, progressString } from './progress.js';

const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

test('manifests parse by mediaType, Content-Type, or shape; schema1 and junk are refused', () => {
  const img = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT_DOCKER_MANIFEST, config: { digest: d(1), size: 3 }, layers: [{ mediaType: 'x', digest: d(2), size: 9 }] }));
  const m = parseManifest(img, 'application/json');
  assert.equal(m.kind, 'image');
  const idx = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] })), MT_OCI_INDEX);
  assert.equal(idx.kind, 'index');
  assert.throws(() => parseManifest(Buffer.from('nope'), MT_DOCKER_MANIFEST), /error parsing manifest/);
  assert.throws(() => parseManifest(Buffer.from('{"schemaVersion":1}'), ''), /schema 1 support has been removed/);
  assert.throws(() => parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT_DOCKER_MANIFEST, config: { digest: 'md5:x', size: 1 }, layers: [] })), ''), /invalid digest/);
});

test('platforms: host default, arm64 means v8, arm v7 takes v6, no match is dockerd\'s error', () => {
  assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.throws(() => parsePlatform('linux//'), /unknown operating system or architecture/);
  const list = {
    kind: 'index' as const,
    mediaType: MT_DOCKER_LIST,
    manifests: [
      { mediaType: MT_DOCKER_MANIFEST, digest: d(1), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
      { mediaType: MT_DOCKER_MANIFEST, digest: d(2), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { mediaType: MT_DOCKER_MANIFEST, digest: d(3), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: MT_DOCKER_MANIFEST, digest: d(4), size: 1, platform: { os: 'windows', architecture: 'amd64' } },
    ],
  };
  assert.equal(selectManifest(list, parsePlatform('linux/amd64')).digest, d(1));
  assert.equal(selectManifest(list, parsePlatform('linux/arm64')).digest, d(3));
  assert.equal(selectManifest(list, parsePlatform('linux/arm/v7')).digest, d(2));
  assert.throws(() => selectManifest(list, parsePlatform('linux/arm/v5')), /no matching manifest for linux\/arm\/v5 in the manifest list entries/);
  assert.throws(() => selectManifest(list, parsePlatform('linux/s390x')), /no matching manifest for linux\/s390x in the manifest list entries/);
});

test('progress strings as jsonmessage renders them for the daemon', () => {
  assert.equal(humanSize(512), '512B');
  assert.equal(humanSize(2152262), '2.152MB');
  assert.equal(humanSize(32768), '32.77kB');
  assert.equal(progressString(32768, 2152262), `[>${' '.repeat(50)}]  32.77kB/2.152MB`);
  assert.equal(progressString(2152262, 2152262), `[${'='.repeat(50)}>]  2.152MB/2.152MB`);
  assert.equal(progressString(0, 0), '');
});
