import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRoute, splitTarget } from './routes.js';
import { RegistryError } from './errors.js';

const D = `sha256:${'b'.repeat(64)}`;

test('matchRoute recognises every API route, names with slashes included', () => {
  assert.deepEqual(matchRoute('/v2/'), { kind: 'base' });
  assert.deepEqual(matchRoute('/v2'), { kind: 'base' });
  assert.deepEqual(matchRoute('/v2/_catalog'), { kind: 'catalog' });
  assert.deepEqual(matchRoute('/v2/a/b/tags/list'), { kind: 'tags', name: 'a/b' });
  assert.deepEqual(matchRoute('/v2/a/manifests/latest'), { kind: 'manifest', name: 'a', reference: 'latest' });
  assert.deepEqual(matchRoute(`/v2/a/b/blobs/${D}`), { kind: 'blob', name: 'a/b', digest: D });
  assert.deepEqual(matchRoute(`/v2/a/blobs/${encodeURIComponent(D)}`), { kind: 'blob', name: 'a', digest: D });
  assert.deepEqual(matchRoute(`/v2/a/b/referrers/${D}`), { kind: 'referrers', name: 'a/b', digest: D });
  assert.deepEqual(matchRoute('/v2/a/blobs/uploads/'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(matchRoute('/v2/a/blobs/uploads'), { kind: 'uploads', name: 'a' });
  assert.deepEqual(matchRoute('/v2/a/blobs/uploads/u-1'), { kind: 'upload', name: 'a', uuid: 'u-1' });
  // A repository may be called like a route word.
  assert.deepEqual(matchRoute('/v2/manifests/blobs/tags/list'), { kind: 'tags', name: 'manifests/blobs' });
  assert.equal(matchRoute('/v1/_ping'), undefined);
  assert.equal(matchRoute('/v2/a/unknown'), undefined);
});

test('matchRoute refuses hostile names, encoded or not, with NAME_INVALID', () => {
  for (const path of [
    '/v2/../tags/list',
    '/v2/%2e%2e/tags/list',
    '/v2/%2E%2E/x/tags/list',
    '/v2/a/%2e%2e/%2e%2e/manifests/latest',
    '/v2//etc/tags/list',
    '/v2/a%2f..%2f..%2fetc/blobs/uploads/',
    '/v2/Upper/manifests/x',
    '/v2/a/_layers/tags/list',
  ]) {
    assert.throws(() => matchRoute(path), (e: unknown) => e instanceof RegistryError && e.code === 'NAME_INVALID', path);
  }
  assert.equal(matchRoute('/v2/a%00/tags/list'), undefined, 'NUL is no route');
  assert.equal(matchRoute('/v2/%zz/tags/list'), undefined, 'bad percent-encoding is no route');
});

test('splitTarget separates path and query', () => {
  const { path, query } = splitTarget('/v2/a/tags/list?n=2&last=x');
  assert.equal(path, '/v2/a/tags/list');
  assert.equal(query.get('n'), '2');
  assert.equal(splitTarget('/v2/').query.toString(), '');
});
