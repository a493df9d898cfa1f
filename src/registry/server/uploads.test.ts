import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { Storage } from './storage.js';
import { Uploads } from './uploads.js';

const digestOf = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const code = (c: string) => (e: unknown): boolean => e instanceof RegistryError && e.code === c;

async function withRoot(fn: (storage: Storage) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'uploads-test-'));
  try {
    await fn(new Storage(root));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A body that delivers `good` and then fails, as a client that disconnects mid-PATCH. */
function failingBody(good: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(good);
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

test('chunks append in order; the blob is committed, linked and verified by digest', async () => {
  await withRoot(async (storage) => {
    const uploads = new Uploads(storage);
    const data = randomBytes(10_000);
    const up = await uploads.start('repo/a');
    assert.equal((await uploads.append('repo/a', up.uuid, Readable.from([data.subarray(0, 4000)]), { start: 0, end: 3999 }, 4000)).size, 4000);
    await assert.rejects(uploads.append('repo/a', up.uuid, Readable.from([data.subarray(5000)]), { start: 5000, end: 9999 }), code('RANGE_INVALID'));
    await assert.rejects(uploads.status('other', up.uuid), code('BLOB_UPLOAD_UNKNOWN'), 'another repository cannot see the upload');
    await uploads.finish('repo/a', up.uuid, parseDigest(digestOf(data)), Readable.from([data.subarray(4000)]));
    const d = parseDigest(digestOf(data));
    assert.ok((await readFile(storage.blobPath(d))).equals(data));
    assert.equal(await storage.repoBlobSize('repo/a', d), data.length);
    assert.equal(await storage.repoBlobSize('repo/b', d), undefined);
    assert.deepEqual(await readdir(storage.uploadsDir), []);
  });
});

test('a PATCH that fails part-way leaves the upload as it was', async () => {
  await withRoot(async (storage) => {
    const uploads = new Uploads(storage);
    const data = randomBytes(3000);
    const up = await uploads.start('r');
    await uploads.append('r', up.uuid, Readable.from([data.subarray(0, 1000)]));
    await assert.rejects(uploads.append('r', up.uuid, failingBody(randomBytes(500))), /client went away/);
    assert.equal((await uploads.status('r', up.uuid)).size, 1000);
    await assert.rejects(uploads.append('r', up.uuid, Readable.from([data.subarray(1000, 1500)]), undefined, 700), code('SIZE_INVALID'));
    assert.equal((await uploads.status('r', up.uuid)).size, 1000, 'a short body is undone too');
    await uploads.finish('r', up.uuid, parseDigest(digestOf(data)), Readable.from([data.subarray(1000)]));
    assert.ok((await readFile(storage.blobPath(parseDigest(digestOf(data))))).equals(data));
  });
});

test('an upload resumes in a new process (hash rebuilt from disk)', async () => {
  await withRoot(async (storage) => {
    const data = randomBytes(200_000);
    const first = new Uploads(storage);
    const up = await first.start('r');
    await first.append('r', up.uuid, Readable.from([data.subarray(0, 123_457)]));
    const second = new Uploads(storage);
    assert.equal((await second.status('r', up.uuid)).size, 123_457);
    await second.append('r', up.uuid, Readable.from([data.subarray(123_457)]), { start: 123_457, end: data.length - 1 });
    await second.finish('r', up.uuid, parseDigest(digestOf(data)));
    assert.equal(await storage.blobSize(parseDigest(digestOf(data))), data.length);
  });
});

test('a wrong digest removes the upload and stores nothing', async () => {
  await withRoot(async (storage) => {
    const uploads = new Uploads(storage);
    const up = await uploads.start('r');
    await uploads.append('r', up.uuid, Readable.from([Buffer.from('content')]));
    const wrong = parseDigest(digestOf(Buffer.from('other')));
    await assert.rejects(uploads.finish('r', up.uuid, wrong), code('DIGEST_INVALID'));
    await assert.rejects(uploads.status('r', up.uuid), code('BLOB_UPLOAD_UNKNOWN'));
    await assert.rejects(stat(join(storage.root, 'blobs')), /ENOENT/);
    assert.equal(await storage.repoBlobSize('r', wrong), undefined);
  });
});

test('upload ids that are not uuids never reach the file system', async () => {
  await withRoot(async (storage) => {
    const uploads = new Uploads(storage);
    for (const id of ['..', '../../etc', '/etc/passwd', '', 'a'.repeat(36)]) {
      await assert.rejects(uploads.status('r', id), code('BLOB_UPLOAD_UNKNOWN'), id);
    }
  });
});

test('storage: tags, revisions, deletion of a manifest with its tags, catalog', async () => {
  await withRoot(async (storage) => {
    const body = Buffer.from('{"schemaVersion":2}');
    const d = parseDigest(digestOf(body));
    await storage.putManifest('lib/app', d, 'application/vnd.oci.image.manifest.v1+json', body, 'v1');
    await storage.putManifest('lib/app', d, 'application/vnd.oci.image.manifest.v1+json', body, 'v2');
    await storage.putManifest('lib/app/sub', d, 'application/vnd.oci.image.manifest.v1+json', body);
    assert.deepEqual(await storage.listTags('lib/app'), ['v1', 'v2']);
    assert.deepEqual(await storage.listTags('lib/app/sub'), []);
    assert.equal(await storage.listTags('lib'), undefined);
    assert.deepEqual(await storage.listRepositories(), ['lib/app', 'lib/app/sub']);
    assert.equal((await storage.getManifest('lib/app', { tag: 'v1' })).digest, digestOf(body));
    assert.equal(await storage.deleteManifest('lib/app', d), true);
    assert.deepEqual(await storage.listTags('lib/app'), []);
    await assert.rejects(storage.getManifest('lib/app', { digest: d }), code('MANIFEST_UNKNOWN'));
    assert.equal((await storage.getManifest('lib/app/sub', { digest: d })).size, body.length, 'other repositories keep it');
  });
});
