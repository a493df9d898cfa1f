import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digestOf, formatDigest, hashFile, newHash, parseDigest } from './digest.js';
import { RegistryError } from './errors.js';

const HEX64 = 'a'.repeat(64);

test('parseDigest accepts sha256 and sha512 of the right length', () => {
  assert.deepEqual(parseDigest(`sha256:${HEX64}`), { algorithm: 'sha256', hex: HEX64 });
  assert.deepEqual(parseDigest(`sha512:${'0'.repeat(128)}`), { algorithm: 'sha512', hex: '0'.repeat(128) });
  assert.equal(formatDigest(parseDigest(`sha256:${HEX64}`)), `sha256:${HEX64}`);
});

test('parseDigest refuses malformed, hostile and unsupported digests with DIGEST_INVALID', () => {
  for (const bad of [
    '',
    'sha256',
    `sha256:${'a'.repeat(63)}`,
    `sha256:${'a'.repeat(65)}`,
    `sha256:${'A'.repeat(64)}`,
    `sha512:${HEX64}`,
    `md5:${'0'.repeat(32)}`,
    `SHA256:${HEX64}`,
    'sha256:../../../../etc/passwd',
    `sha256:${'a'.repeat(60)}/../`,
    `sha256:${'a'.repeat(63)}\0`,
    `/sha256:${HEX64}`,
    `sha256:${HEX64}/x`,
  ]) {
    assert.throws(() => parseDigest(bad), (err: unknown) => err instanceof RegistryError && err.code === 'DIGEST_INVALID', JSON.stringify(bad));
  }
});

test('digestOf and hashFile agree with node:crypto, hashFile also over a prefix', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'digest-test-'));
  try {
    const data = Buffer.from('hello registry');
    await writeFile(join(dir, 'f'), data);
    assert.equal(digestOf('sha256', data).hex, createHash('sha256').update(data).digest('hex'));
    const h = newHash('sha512');
    await hashFile(join(dir, 'f'), h);
    assert.equal(h.digest('hex'), createHash('sha512').update(data).digest('hex'));
    const prefix = newHash('sha256');
    await hashFile(join(dir, 'f'), prefix, 5);
    assert.equal(prefix.digest('hex'), createHash('sha256').update('hello').digest('hex'));
    const empty = newHash('sha256');
    await hashFile(join(dir, 'f'), empty, 0);
    assert.equal(empty.digest('hex'), createHash('sha256').digest('hex'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
