import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatRFC3339Nano,
  formatRFC3339NanoFixed,
  parseGoDuration,
  parseRFC3339Nano,
  parseTimestamp,
  parseTimestampNano,
  rfc3339Local,
  rfc3339Nano,
} from './timeutil.js';

const T0 = 1_795_852_800_000_000_000n; // 2026-11-28T08:00:00Z
const NOW = Date.UTC(2026, 10, 28, 8, 0, 0); // the same instant in milliseconds
const MIN = 60_000_000_000n;

test('RFC3339Nano trims trailing zeros of the fraction; the Fixed variant keeps nine digits', () => {
  assert.equal(formatRFC3339Nano(T0 + 123_456_789n), '2026-11-28T08:00:00.123456789Z');
  assert.equal(formatRFC3339Nano(T0 + 120_000_000n), '2026-11-28T08:00:00.12Z');
  assert.equal(formatRFC3339Nano(T0 + 1n), '2026-11-28T08:00:00.000000001Z');
  assert.equal(formatRFC3339Nano(T0), '2026-11-28T08:00:00Z');
  assert.equal(formatRFC3339NanoFixed(T0 + 120_000_000n), '2026-11-28T08:00:00.120000000Z');
  assert.equal(formatRFC3339NanoFixed(T0), '2026-11-28T08:00:00.000000000Z');
  assert.equal(rfc3339Nano(new Date(NOW + 500)), '2026-11-28T08:00:00.5Z');
  assert.equal(rfc3339Nano(new Date(NOW)), '2026-11-28T08:00:00Z');
  assert.match(rfc3339Nano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
  assert.match(rfc3339Local(new Date(0)), /^19(70|69)-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
});

test('parseRFC3339Nano reads any fraction and offset', () => {
  assert.equal(parseRFC3339Nano('2026-11-28T08:00:00.123456789Z'), T0 + 123_456_789n);
  assert.equal(parseRFC3339Nano('2026-11-28T09:00:00.5+01:00'), T0 + 500_000_000n);
  assert.equal(parseRFC3339Nano('nope'), undefined);
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1h30m'), 5400e9);
  assert.equal(parseGoDuration('1.5h'), 5400e9);
  assert.equal(parseGoDuration('10m'), 600e9);
  assert.equal(parseGoDuration('500ms'), 500e6);
  assert.equal(parseGoDuration('1µs'), 1e3);
  assert.equal(parseGoDuration('.5s'), 500e6);
  assert.equal(parseGoDuration('-10s'), -10e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration('10'), { message: 'time: missing unit in duration "10"' });
  assert.throws(() => parseGoDuration('10x'), { message: 'time: unknown unit "x" in duration "10x"' });
  assert.throws(() => parseGoDuration('1h.'), { message: 'time: invalid duration "1h."' });
});

test('since/until: durations count back from now', () => {
  const now = BigInt(NOW) * 1_000_000n;
  assert.equal(parseTimestampNano('1h30m', NOW), now - 90n * MIN);
  assert.equal(parseTimestampNano('10m', NOW), now - 10n * MIN);
  assert.equal(parseTimestampNano('1.5h', NOW), now - 90n * MIN);
  assert.equal(parseTimestampNano('-1m', NOW), now + MIN);
  assert.equal(parseTimestamp('10m', NOW).getTime(), NOW - 600_000);
});

test('since/until: unix seconds with an optional fraction', () => {
  assert.equal(parseTimestampNano('1700000000.5'), 1_700_000_000_500_000_000n);
  assert.equal(parseTimestampNano('1700000000.123456789'), 1_700_000_000_123_456_789n);
  assert.equal(parseTimestampNano('1700000000'), 1_700_000_000_000_000_000n);
  assert.equal(parseTimestampNano('0'), 0n);
  assert.equal(parseTimestamp('1700000000.5').getTime(), 1_700_000_000_500);
});

test('since/until: RFC 3339 forms, with a zone or in the local one', () => {
  assert.equal(parseTimestampNano('2026-11-28T08:00:00Z'), T0);
  assert.equal(parseTimestampNano('2026-11-28T08:00:00.25Z'), T0 + 250_000_000n);
  assert.equal(parseTimestampNano('2026-11-28T09:00:00+01:00'), T0);
  assert.equal(parseTimestampNano('2026-11-28T07:30:00-00:30'), T0);
  assert.equal(parseTimestampNano('2026-11-28T08Z'), T0);
  assert.equal(parseTimestampNano('2026-11-28T08:00Z'), T0);
  assert.equal(parseTimestampNano('2026-11-28Z'), T0 - 8n * 60n * MIN);
  const local = BigInt(new Date(NOW).getTimezoneOffset()) * MIN;
  assert.equal(parseTimestampNano('2026-11-28', NOW), T0 - 8n * 60n * MIN + local);
  assert.equal(parseTimestampNano('2026-11-28T08:00:00', NOW), T0 + local);
  assert.equal(parseTimestampNano('2026-11-28T08', NOW), T0 + local);
});

test('since/until: invalid values', () => {
  for (const v of ['', 'yesterday', '10x', '2026-13-01', '2026-02-30', '2026-11-28T25:00:00Z', '2026-11-28T08:00:00+01', '1.', '-5', '2026-11-28T08.5Z']) {
    assert.throws(() => parseTimestampNano(v), { message: `failed to parse value as time or duration: "${v}"` }, v);
  }
});
