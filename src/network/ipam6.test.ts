import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BerthError } from '../pkg/errors.js';
import { ipamConfigErrors6, newPool6 } from './ipam6.js';

test('ipamConfigErrors6: dockerd messages, addresses as parsed', () => {
  assert.deepEqual(ipamConfigErrors6({ Subnet: 'fd00:0:0:1::5/64' }), ['invalid subnet fd00:0:0:1::5/64: it should be fd00:0:0:1::/64']);
  assert.deepEqual(ipamConfigErrors6({ Subnet: 'fd00::/64', Gateway: 'fd01::1', IPRange: 'fd00:0:0:1::/80' }), [
    "invalid ip-range fd00:0:0:1::/80: parent subnet fd00::/64 doesn't contain ip-range",
    "invalid gateway fd01::1: parent subnet fd00::/64 doesn't contain this address",
  ]);
  assert.deepEqual(ipamConfigErrors6({ Subnet: 'fd00::/64', Gateway: '10.0.0.1', AuxiliaryAddresses: { a: 'fd00::9' } }),
    ['invalid gateway 10.0.0.1: parent subnet is an IPv6 block']);
  assert.deepEqual(ipamConfigErrors6({ Subnet: 'fd00::/64', IPRange: 'fd00::/48' }), ['invalid ip-range fd00::/48: CIDR block is bigger than its parent subnet fd00::/64']);
  assert.deepEqual(ipamConfigErrors6({ Subnet: 'fd00::/64', Gateway: 'fd00::fe', IPRange: 'fd00::100/120' }), []);
});

test('newPool6: the user subnet or a ULA /64, never overlapping; serial allocation after the gateway', () => {
  const pool = newPool6({ Subnet: 'fd00:a::/64', AuxiliaryAddresses: { r: 'fd00:a::3' } }, []);
  assert.equal(pool.state.gateway, 'fd00:a::1');
  assert.equal(pool.allocate('e1'), 'fd00:a::2');
  assert.equal(pool.allocate('e2'), 'fd00:a::4', 'aux addresses are skipped');
  assert.equal(pool.allocate('e3', 'FD00:A::0010'), 'fd00:a::10');
  assert.throws(() => pool.allocate('e4', 'fd00:a::10'), (e: BerthError) => e.kind === 'forbidden' && e.message === 'Address already in use');
  assert.throws(() => pool.allocate('e4', 'fd00:a::'), /Address already in use/, 'the subnet-router anycast address');
  assert.throws(() => pool.allocate('e4', 'fd00:b::1'), /does not belong to any of this network's subnets/);
  pool.release('fd00:a::2');
  pool.release('fd00:a::1');
  assert.equal(pool.state.allocated['fd00:a::1'], 'gateway');
  pool.retain((owner) => owner !== 'e3');
  assert.equal(pool.state.allocated['fd00:a::10'], undefined);
  assert.throws(() => newPool6({ Subnet: 'fd00:a::/48' }, [pool.state]), /Pool overlaps with other one on this address space/);
  const auto = newPool6(undefined, [pool.state]);
  assert.match(auto.state.subnet, /^fd[0-9a-f]{2}:[0-9a-f:]+\/64$/);
  assert.equal(auto.prefixLen, 64);
  // A small range fills up and says so.
  const tiny = newPool6({ Subnet: 'fd00:c::/126' }, []);
  assert.deepEqual([tiny.allocate('a'), tiny.allocate('b')], ['fd00:c::2', 'fd00:c::3']);
  assert.throws(() => tiny.allocate('c'), /no available IPv6 addresses/);
});
