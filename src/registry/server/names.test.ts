import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isValidName, isValidTag, paginate, parsePage } from './names.js';
import { RegistryError } from './errors.js';

test('repository names follow the distribution grammar', () => {
  for (const ok of ['busybox', 'library/busybox', 'a/b/c', 'my-app', 'my__app', 'my_app', 'my.app', 'a--b', '0', 'x/y-z.w_v']) {
    assert.ok(isValidName(ok), ok);
  }
  for (const bad of [
    '', '.', '..', '../etc', 'a/../b', 'a/..', '/a', 'a/', 'a//b', 'A', 'Busybox', '_a', 'a/_manifests', 'a/_layers/b',
    'a.', '-a', 'a-', 'a___b', 'a\0b', 'a%2e', 'a b', 'a\\b', 'a:b', 'a'.repeat(256),
  ]) {
    assert.ok(!isValidName(bad), JSON.stringify(bad));
  }
  assert.ok(isValidName('a'.repeat(255)));
});

test('tags follow the distribution grammar', () => {
  for (const ok of ['latest', 'v1.0', '_x', 'A-b_c.d', 'a'.repeat(128)]) assert.ok(isValidTag(ok), ok);
  for (const bad of ['', '.', '..', '.hidden', '-x', 'a/b', 'a:b', 'a'.repeat(129), 'a\0']) assert.ok(!isValidTag(bad), JSON.stringify(bad));
});

test('parsePage takes non-negative integers only', () => {
  assert.deepEqual(parsePage(new URLSearchParams('n=2&last=b')), { n: 2, last: 'b' });
  assert.deepEqual(parsePage(new URLSearchParams('')), {});
  for (const bad of ['n=-1', 'n=1.5', 'n=abc', 'n=99999999999999999999']) {
    assert.throws(() => parsePage(new URLSearchParams(bad)), (e: unknown) => e instanceof RegistryError && e.code === 'PAGINATION_NUMBER_INVALID', bad);
  }
});

test('paginate cuts after `last` and reports whether more remain', () => {
  const all = ['a', 'b', 'c', 'd'];
  assert.deepEqual(paginate(all, {}), { entries: all, more: false });
  assert.deepEqual(paginate(all, { n: 2 }), { entries: ['a', 'b'], more: true });
  assert.deepEqual(paginate(all, { n: 2, last: 'b' }), { entries: ['c', 'd'], more: false });
  assert.deepEqual(paginate(all, { last: 'bb' }), { entries: ['c', 'd'], more: false });
  assert.deepEqual(paginate(all, { n: 0 }), { entries: [], more: false });
});
