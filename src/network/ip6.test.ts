import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonical6, contains6, formatIPv6, formatPrefix6, fromReverse6, normalizeIPv6, overlaps6, parseCIDR6, parseIPv6,
} from './ip6.js';

test('parseIPv6 and formatIPv6 round-trip in RFC 5952 form', () => {
  for (const [input, out] of [
    ['fd00::10', 'fd00::10'], ['FD00:0:0:0:0:0:0:10', 'fd00::10'], ['::', '::'], ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0db8:0000:0001:0000:0000:0000:0000', '2001:db8:0:1::'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'], ['::ffff:192.0.2.1', '::ffff:c000:201'],
  ]) assert.equal(normalizeIPv6(input), out, input);
  for (const bad of ['fd00', '192.0.2.1', 'fd00::1%eth0', 'fd00:::1', '', 'g::1']) assert.equal(parseIPv6(bad), undefined, bad);
  assert.equal(parseIPv6('::1'), 1n);
});

test('IPv6 prefixes: canonical form, containment, overlap, reverse names', () => {
  const p = canonical6(parseCIDR6('fd00:1:2:3::5/64')!);
  assert.equal(formatPrefix6(p), 'fd00:1:2:3::/64');
  assert.ok(contains6(p, parseIPv6('fd00:1:2:3:ffff::1')!));
  assert.ok(!contains6(p, parseIPv6('fd00:1:2:4::1')!));
  assert.ok(overlaps6(p, canonical6(parseCIDR6('fd00:1::/32')!)));
  assert.ok(!overlaps6(p, canonical6(parseCIDR6('fd00:1:2:4::/64')!)));
  assert.equal(parseCIDR6('fd00::/129'), undefined);
  assert.equal(parseCIDR6('fd00::'), undefined);
  const rev = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.d.f';
  assert.equal(formatIPv6(fromReverse6(rev)!), 'fd00:1:2:3::1');
  assert.equal(fromReverse6('1.0.d.f'), undefined);
});
