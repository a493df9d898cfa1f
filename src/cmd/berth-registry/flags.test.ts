import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, parseListen } from './flags.js';

test('parseListen takes host:port, [v6]:port and :port', () => {
  assert.deepEqual(parseListen('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':5000'), { host: '0.0.0.0', port: 5000 });
  for (const bad of ['5000', 'host', 'host:', 'h:70000', '::1:5000']) assert.throws(() => parseListen(bad), /invalid --listen/, bad);
});

test('parseDuration reads Go-style durations', () => {
  assert.equal(parseDuration('168h'), 168 * 3600_000);
  assert.equal(parseDuration('1h30m'), 5400_000);
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('250ms'), 250);
  for (const bad of ['', 'h', '10', '5d', '1h x']) assert.throws(() => parseDuration(bad), /invalid duration/, bad);
});
