import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../../pkg/errors.js';
import {
  exactMatch,
  filtersToJSON,
  fuzzyMatch,
  getBoolOrDefault,
  matchKVList,
  parseFilters,
  validateFilters,
} from './filters.js';

const invalid = (msg: string) => (e: unknown) => e instanceof BerthError && e.kind === 'invalid-parameter' && e.message === msg;

test('parseFilters accepts the map and the legacy list forms', () => {
  assert.deepEqual(parseFilters(null), new Map());
  assert.deepEqual(parseFilters(''), new Map());
  assert.deepEqual(parseFilters('null'), new Map());
  assert.deepEqual(
    parseFilters('{"label":{"a=b":true,"c":true},"type":{"container":true}}'),
    new Map([
      ['label', ['a=b', 'c']],
      ['type', ['container']],
    ]),
  );
  assert.deepEqual(parseFilters('{"label":["a=b","a=b","c"]}'), new Map([['label', ['a=b', 'c']]]));
});

test('parseFilters rejects malformed documents like dockerd', () => {
  for (const bad of ['{', '[]', '"x"', '{"label":"a"}', '{"label":[1]}', '{"label":{"a":"yes"}}', '42']) {
    assert.throws(() => parseFilters(bad), invalid('invalid filter'), bad);
  }
});

test('validateFilters names the offending filter', () => {
  assert.throws(() => validateFilters(parseFilters('{"xyz":{"1":true}}'), ['label']), invalid("invalid filter 'xyz'"));
  validateFilters(parseFilters('{"label":{"1":true}}'), ['label', 'name']);
});

test('matching helpers', () => {
  const f = parseFilters('{"name":{"web":true},"label":{"a=1":true,"b":true},"dangling":{"true":true}}');
  assert.equal(exactMatch(f, 'name', 'web'), true);
  assert.equal(exactMatch(f, 'name', 'web2'), false);
  assert.equal(exactMatch(f, 'absent', 'x'), true);
  assert.equal(fuzzyMatch(f, 'name', 'web2'), true);
  assert.equal(matchKVList(f, 'label', { a: '1', b: '' }), true);
  assert.equal(matchKVList(f, 'label', { a: '2', b: '' }), false);
  assert.equal(matchKVList(f, 'label', { a: '1' }), false);
  assert.equal(matchKVList(f, 'label', {}), false);
  assert.equal(getBoolOrDefault(f, 'dangling', false), true);
  assert.equal(getBoolOrDefault(f, 'other', true), true);
  assert.throws(() => getBoolOrDefault(parseFilters('{"dangling":{"maybe":true}}'), 'dangling', false), /invalid filter 'dangling=\[maybe\]'/);
  assert.equal(filtersToJSON(new Map()), '');
  assert.equal(filtersToJSON({ label: ['a=b'] }), '{"label":{"a=b":true}}');
});
