import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchAllLabels, matchLabel, matchLabelFilters } from './labels.js';

test('a key alone matches when the label is set, whatever its value', () => {
  assert.equal(matchLabel({ a: '1', b: '' }, 'a'), true);
  assert.equal(matchLabel({ a: '1', b: '' }, 'b'), true);
  assert.equal(matchLabel({ a: '1' }, 'c'), false);
  assert.equal(matchLabel(undefined, 'a'), false);
  assert.equal(matchLabel(null, 'a'), false);
});

test('key=value matches only an equal value; the value may contain "="', () => {
  assert.equal(matchLabel({ a: '1' }, 'a=1'), true);
  assert.equal(matchLabel({ a: '1' }, 'a=2'), false);
  assert.equal(matchLabel({ a: '' }, 'a='), true);
  assert.equal(matchLabel({ a: 'x=y' }, 'a=x=y'), true);
  assert.equal(matchLabel({ a: 'x=y' }, 'a=x'), false);
});

test('prototype properties are not labels', () => {
  for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
    assert.equal(matchLabel({ a: '1' }, key), false, key);
    assert.equal(matchLabel({}, `${key}=x`), false, key);
  }
  const own = JSON.parse('{"constructor":"c","__proto__":"p"}') as Record<string, string>;
  assert.equal(matchLabel(own, 'constructor'), true);
  assert.equal(matchLabel(own, 'constructor=c'), true);
  assert.equal(matchLabel(own, '__proto__=p'), true);
  assert.equal(matchLabel({ toString: 't' }, 'toString'), true);
});

test('matchAllLabels needs every value; none given matches anything', () => {
  assert.equal(matchAllLabels({ a: '1', b: '' }, ['a=1', 'b']), true);
  assert.equal(matchAllLabels({ a: '1' }, ['a=1', 'b']), false);
  assert.equal(matchAllLabels({}, []), true);
  assert.equal(matchAllLabels(undefined, []), true);
  assert.equal(matchAllLabels(undefined, ['a']), false);
});

test('label filters: all of label, none of label!', () => {
  const f = (o: Record<string, string[]>): Map<string, string[]> => new Map(Object.entries(o));
  const labels = { app: 'web', tier: 'front' };
  assert.equal(matchLabelFilters(labels, f({})), true);
  assert.equal(matchLabelFilters(labels, f({ label: ['app=web', 'tier'] })), true);
  assert.equal(matchLabelFilters(labels, f({ label: ['app=db'] })), false);
  assert.equal(matchLabelFilters(labels, f({ 'label!': ['app=db'] })), true);
  assert.equal(matchLabelFilters(labels, f({ 'label!': ['app'] })), false);
  assert.equal(matchLabelFilters(labels, f({ 'label!': ['nope', 'tier=front'] })), false);
  assert.equal(matchLabelFilters(labels, f({ label: ['constructor'] })), false);
  assert.equal(matchLabelFilters({}, f({ 'label!': ['constructor'] })), true);
});
