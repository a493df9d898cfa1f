import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from './blobs.js';

test('parseRange serves one byte range of a blob', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=90-200', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), null);
  assert.equal(parseRange('bytes=5-4', 100), null);
  assert.equal(parseRange('bytes=0-', 0), null);
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined, 'several ranges: the whole blob');
  assert.equal(parseRange('items=0-1', 100), undefined);
});
