import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  familiarString,
  fullString,
  parseAnyReference,
  parseNormalizedNamed,
  tagNameOnly,
  familiarMatch,
} from './reference.js';
import { ReferenceStore } from './store.js';

const D = 'sha256:' + 'a'.repeat(64);

test('normalises references', () => {
  const cases: [string, string, string][] = [
    ['busybox', 'docker.io/library/busybox', 'busybox'],
    ['busybox:latest', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['library/busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['index.docker.io/foo/bar:t', 'docker.io/foo/bar:t', 'foo/bar:t'],
    ['foo/bar', 'docker.io/foo/bar', 'foo/bar'],
    ['host:5000/a/b:t', 'host:5000/a/b:t', 'host:5000/a/b:t'],
    ['localhost/x', 'localhost/x', 'localhost/x'],
    ['example.com/a', 'example.com/a', 'example.com/a'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
    ['[::1]:5000/x:y', '[::1]:5000/x:y', '[::1]:5000/x:y'],
    ['a__b/c-d.e:T_1.x-', 'docker.io/a__b/c-d.e:T_1.x-', 'a__b/c-d.e:T_1.x-'],
  ];
  for (const [input, full, familiar] of cases) {
    const r = parseNormalizedNamed(input);
    assert.equal(fullString(r), full, input);
    assert.equal(familiarString(r), familiar, input);
  }
  assert.equal(familiarString(tagNameOnly(parseNormalizedNamed('busybox'))), 'busybox:latest');
});

test('rejects invalid references with dockerd messages', () => {
  const cases: [string, string][] = [
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['foo/Bar:t', 'invalid reference format: repository name (foo/Bar) must be lowercase'],
    ['busybox:', 'invalid reference format'],
    ['-busybox', 'invalid reference format'],
    ['a b', 'invalid reference format'],
    ['', 'invalid reference format'],
    ['busybox:' + 'x'.repeat(129), 'invalid reference format'],
    ['busybox@sha256:abc', 'invalid reference format'],
    ['busybox@sha256:' + 'a'.repeat(63) + 'aa', 'invalid checksum digest length'],
    ['a'.repeat(64), `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`],
    ['x/' + 'a'.repeat(260), 'repository name must not be more than 255 characters'],
  ];
  for (const [input, msg] of cases) {
    assert.throws(() => parseNormalizedNamed(input), (e: Error) => e.message === msg, `${input} → ${msg}`);
  }
});

test('parseAnyReference takes IDs and digests', () => {
  assert.deepEqual(parseAnyReference('b'.repeat(64)), { digest: 'sha256:' + 'b'.repeat(64) });
  assert.deepEqual(parseAnyReference(D), { digest: D });
  assert.equal(fullString(parseAnyReference('abc123')), 'docker.io/library/abc123');
});

test('familiarMatch', () => {
  const r = parseNormalizedNamed('foo/bar:1.0');
  assert.ok(familiarMatch('foo/*', r));
  assert.ok(familiarMatch('foo/bar:1.*', r));
  assert.ok(!familiarMatch('bar*', r));
  assert.ok(familiarMatch('busybox', parseNormalizedNamed('busybox:latest')));
});

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('reference store persists repositories.json like dockerd', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ref-'));
  dirs.push(dir);
  const file = join(dir, 'repositories.json');
  const s = await ReferenceStore.open(file);
  const id1 = 'sha256:' + '1'.repeat(64);
  const id2 = 'sha256:' + '2'.repeat(64);
  await s.addTag(parseNormalizedNamed('busybox'), id1, false);
  await s.addDigest(parseNormalizedNamed(`busybox@${D}`), id1, false);
  await s.addTag(parseNormalizedNamed('host:5000/x:t'), id2, false);
  await assert.rejects(s.addTag(parseNormalizedNamed('busybox:latest'), id2, false), /Conflict: Tag busybox:latest is already set/);
  await assert.rejects(s.addTag(parseNormalizedNamed('sha256:x'), id2, true), /ambiguous tag/);
  const json = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(json, {
    Repositories: {
      busybox: { 'busybox:latest': id1, [`busybox@${D}`]: id1 },
      'host:5000/x': { 'host:5000/x:t': id2 },
    },
  });
  const s2 = await ReferenceStore.open(file);
  assert.equal(s2.get(parseNormalizedNamed('busybox')), id1);
  assert.deepEqual(s2.references(id1).map(familiarString), ['busybox:latest', `busybox@${D}`]);
  assert.equal(await s2.delete(parseNormalizedNamed('busybox')), true);
  assert.equal(await s2.delete(parseNormalizedNamed('busybox')), false);
  assert.equal(s2.get(parseNormalizedNamed('busybox')), undefined);
});
