import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getXattrs, setXattrs } from './xattr.js';

test('xattrs are set and read in-process, on the path itself, never through a symlink', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-xattr-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const opaque = join(dir, 'opaque');
  const plain = join(dir, 'plain');
  const file = join(dir, 'file');
  const link = join(dir, 'link');
  await mkdir(opaque);
  await mkdir(plain);
  await writeFile(file, 'x');
  await symlink(opaque, link);

  await setXattrs([
    { path: opaque, name: 'trusted.overlay.opaque', value: Buffer.from('y') },
    { path: file, name: 'user.berth', value: Buffer.from([0, 1, 255]) },
  ]);
  const got = await getXattrs([opaque, plain, link, join(dir, 'missing')], 'trusted.overlay.opaque');
  assert.deepEqual(got.map((v) => v?.toString()), ['y', undefined, undefined, undefined]);
  assert.deepEqual((await getXattrs([file], 'user.berth'))[0], Buffer.from([0, 1, 255]));

  // Setting one on a symlink must not reach its target.
  await setXattrs([{ path: link, name: 'trusted.berth', value: Buffer.from('on-link') }]);
  assert.equal((await getXattrs([opaque], 'trusted.berth'))[0], undefined);
  assert.equal((await getXattrs([link], 'trusted.berth'))[0]?.toString(), 'on-link');

  await assert.rejects(setXattrs([{ path: join(dir, 'missing'), name: 'user.x', value: Buffer.from('1') }]));
});
