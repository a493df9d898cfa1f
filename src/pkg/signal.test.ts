import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignal } from './signal.js';

const invalid = (raw: string): { message: string } => ({ message: `Invalid signal: ${raw}` });

test('numbers from 1 to 64', () => {
  assert.equal(parseSignal('9'), 9);
  assert.equal(parseSignal('1'), 1);
  assert.equal(parseSignal('64'), 64);
  assert.equal(parseSignal('015'), 15);
  for (const raw of ['0', '65', '-1', '1.5', '']) assert.throws(() => parseSignal(raw), invalid(raw), raw);
});

test('names with or without SIG, in any case', () => {
  assert.equal(parseSignal('KILL'), 9);
  assert.equal(parseSignal('SIGKILL'), 9);
  assert.equal(parseSignal('sigterm'), 15);
  assert.equal(parseSignal('hup'), 1);
  assert.equal(parseSignal('SIGQUIT'), 3);
  assert.equal(parseSignal('CLD'), 17);
  for (const raw of ['SIGFOO', 'SIG', 'FOO', ' KILL', 'constructor', 'toString']) {
    assert.throws(() => parseSignal(raw), invalid(raw), raw);
  }
});

test('real-time signals within SIGRTMIN..SIGRTMAX', () => {
  assert.equal(parseSignal('RTMIN'), 34);
  assert.equal(parseSignal('RTMIN+3'), 37);
  assert.equal(parseSignal('SIGRTMIN+15'), 49);
  assert.equal(parseSignal('rtmax-14'), 50);
  assert.equal(parseSignal('RTMAX-1'), 63);
  assert.equal(parseSignal('RTMAX'), 64);
  for (const raw of ['RTMIN+40', 'RTMIN+16', 'RTMAX-15', 'RTMAX-40', 'RTMIN+0', 'RTMIN-1', 'RTMAX+1']) {
    assert.throws(() => parseSignal(raw), invalid(raw), raw);
  }
});
