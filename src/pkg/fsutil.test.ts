import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exists } from './fsutil.js';

test('exists: files and directories yes; missing paths, paths through a file and dangling links no', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fsutil-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'f');
  await writeFile(file, 'x');
  await symlink(file, join(dir, 'good'));
  await symlink(join(dir, 'missing'), join(dir, 'dangling'));
  assert.equal(await exists(dir), true);
  assert.equal(await exists(file), true);
  assert.equal(await exists(join(dir, 'good')), true);
  assert.equal(await exists(join(dir, 'missing')), false);
  assert.equal(await exists(join(file, 'below')), false);
  assert.equal(await exists(join(dir, 'dangling')), false);
});

test('exists: other errors are not hidden', async () => {
  await assert.rejects(exists('a\0b'));
});
