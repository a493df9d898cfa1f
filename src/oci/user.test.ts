import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BerthError } from '../pkg/errors.js';
import { resolveUser, type ContainerFileReader } from './user.js';

const passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www:x:33:33:www-data:/var/www:/bin/false
app:x:1000:1000::/home/app:/bin/sh
1234:x:4321:4321::/:/bin/sh
`;
const group = `root:x:0:
# a comment
wheel:x:10:root,app
www-data:x:33:
app:x:1000:
docker:x:999:app,www
audio:x:29:app
`;

const files = (p: string | null = passwd, g: string | null = group): ContainerFileReader => async (path) => {
  const text = path === '/etc/passwd' ? p : path === '/etc/group' ? g : null;
  return text === null ? undefined : Buffer.from(text);
};

describe('resolveUser', () => {
  it('defaults to root with its groups', async () => {
    assert.deepEqual(await resolveUser('', null, files()), { uid: 0, gid: 0, additionalGids: [0, 10] });
  });

  it('resolves names with supplementary groups from membership', async () => {
    assert.deepEqual(await resolveUser('app', [], files()), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 29] });
    assert.deepEqual(await resolveUser('www', [], files()), { uid: 33, gid: 33, additionalGids: [33, 999] });
  });

  it('matches numeric uids by id only', async () => {
    assert.deepEqual(await resolveUser('1000', [], files()), { uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 29] });
    // "1234" is a uid, not the user named 1234.
    assert.deepEqual(await resolveUser('1234', [], files()), { uid: 1234, gid: 0, additionalGids: [0] });
    assert.deepEqual(await resolveUser('4321', [], files()), { uid: 4321, gid: 4321, additionalGids: [4321] });
  });

  it('uses an explicit group as the primary gid, without supplementary groups', async () => {
    assert.deepEqual(await resolveUser('app:docker', [], files()), { uid: 1000, gid: 999, additionalGids: [999] });
    assert.deepEqual(await resolveUser('app:5000', [], files()), { uid: 1000, gid: 5000, additionalGids: [5000] });
    assert.deepEqual(await resolveUser('7:8', [], files()), { uid: 7, gid: 8, additionalGids: [8] });
    assert.deepEqual(await resolveUser(':wheel', [], files()), { uid: 0, gid: 10, additionalGids: [10] });
  });

  it('reports missing names with dockerd’s messages', async () => {
    await assert.rejects(resolveUser('foo', [], files()), (e: unknown) =>
      e instanceof BerthError && e.message === 'unable to find user foo: no matching entries in passwd file');
    await assert.rejects(resolveUser('app:nogroup', [], files()), { message: 'unable to find group nogroup: no matching entries in group file' });
    await assert.rejects(resolveUser('root', ['nogroup'], files()), { message: 'unable to find group nogroup: no matching entries in group file' });
    await assert.rejects(resolveUser('99999999999', [], files()), { message: 'uids and gids must be in range 0-2147483647' });
    await assert.rejects(resolveUser('-1', [], files()), /must be in range/);
  });

  it('works without /etc/passwd or /etc/group', async () => {
    const none = files(null, null);
    assert.deepEqual(await resolveUser('', [], none), { uid: 0, gid: 0, additionalGids: [0] });
    assert.deepEqual(await resolveUser('1000:1000', ['50'], none), { uid: 1000, gid: 1000, additionalGids: [1000, 50] });
    await assert.rejects(resolveUser('app', [], none), /unable to find user app: no matching entries in passwd file/);
    await assert.rejects(resolveUser('', ['audio'], none), /unable to find group audio/);
  });

  it('adds GroupAdd by name or number, deduplicated', async () => {
    assert.deepEqual(await resolveUser('app', ['audio', '29', '4242', 'www-data'], files()), {
      uid: 1000, gid: 1000, additionalGids: [1000, 10, 999, 29, 29, 4242, 33],
    });
  });

  it('passes read failures on as system errors', async () => {
    await assert.rejects(resolveUser('', [], async () => { throw new Error('EIO'); }), (e: unknown) => e instanceof BerthError && e.kind === 'system');
  });
});
