import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAuthHeader, parseChallenges } from './auth.js';

test('WWW-Authenticate: bearer with quoted params, several challenges, escapes', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
  ]);
  assert.deepEqual(parseChallenges(['Basic realm="Registry Realm"', 'Bearer realm="a\\"b", error=insufficient_scope']), [
    { scheme: 'basic', params: { realm: 'Registry Realm' } },
    { scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } },
  ]);
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges(''), []);
});

test('X-Registry-Auth: base64url JSON, the auth field split, garbage refused', () => {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.deepEqual(decodeAuthHeader(enc({ username: 'u', password: 'p?>~', serveraddress: 'reg:5000' })), { username: 'u', password: 'p?>~', serveraddress: 'reg:5000' });
  assert.deepEqual(decodeAuthHeader(enc({ auth: Buffer.from('me:pa:ss').toString('base64') })), { auth: Buffer.from('me:pa:ss').toString('base64'), username: 'me', password: 'pa:ss' });
  assert.deepEqual(decodeAuthHeader(enc({})), {});
  assert.equal(decodeAuthHeader(undefined), undefined);
  assert.throws(() => decodeAuthHeader('!!!notjson'), /invalid X-Registry-Auth header/);
  assert.throws(() => decodeAuthHeader(Buffer.from('[1]').toString('base64')), /not a JSON object/);
});
