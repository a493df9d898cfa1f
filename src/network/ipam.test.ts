import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressPool, choosePool, DEFAULT_ADDRESS_POOLS, parseBip, ipamConfigErrors, validatePools } from './ipam.js';
import { canonical, formatPrefix, parseCIDR } from './ip.js';
import { BerthError } from '../pkg/errors.js';

const P = (s: string) => canonical(parseCIDR(s)!);

test('choosePool takes the first free subnet, skipping networks and host routes', () => {
  assert.equal(formatPrefix(choosePool(DEFAULT_ADDRESS_POOLS, [], [])), '172.17.0.0/16');
  assert.equal(formatPrefix(choosePool(DEFAULT_ADDRESS_POOLS, [P('172.17.0.0/16')], [P('172.18.5.0/24')])), '172.19.0.0/16');
  const pools = [{ base: '10.9.0.0/23', size: 24 }];
  assert.equal(formatPrefix(choosePool(pools, [P('10.9.0.0/24')], [])), '10.9.1.0/24');
  assert.throws(() => choosePool(pools, [P('10.9.0.0/24'), P('10.9.1.0/24')], []), (e: BerthError) =>
    e.kind === 'invalid-parameter' && e.message === 'all predefined address pools have been fully subnetted');
});

test('validatePools rejects non-canonical and too-small pools', () => {
  assert.throws(() => validatePools([{ base: '10.0.0.1/8', size: 24 }]), /not in canonical form/);
  assert.throws(() => validatePools([{ base: '10.0.0.0/24', size: 16 }]), /smaller prefix/);
  validatePools([{ base: '10.0.0.0/8', size: 24 }]);
});

test('ipamConfigErrors: dockerd messages, all of them', () => {
  assert.deepEqual(ipamConfigErrors([{ Subnet: '10.1.0.1/16' }]), ['invalid subnet 10.1.0.1/16: it should be 10.1.0.0/16']);
  assert.deepEqual(ipamConfigErrors([{ Subnet: '10.1.0.0/16', Gateway: '10.2.0.1', IPRange: '10.3.0.0/24' }]), [
    'invalid ip-range 10.3.0.0/24: parent subnet 10.1.0.0/16 doesn\'t contain ip-range',
    'invalid gateway 10.2.0.1: parent subnet 10.1.0.0/16 doesn\'t contain this address',
  ]);
  assert.match(ipamConfigErrors([{ Subnet: '10.1.0.0/24', IPRange: '10.1.0.0/16' }]).join('\n'), /CIDR block is bigger than its parent subnet/);
  assert.deepEqual(ipamConfigErrors([{ Subnet: '10.1.0.0/24', Gateway: 'fd00::1' }]), ['invalid gateway fd00::1: parent subnet is an IPv4 block']);
  assert.deepEqual(ipamConfigErrors([{ Subnet: '10.1.0.0/16', Gateway: '10.1.0.254', IPRange: '10.1.5.0/24' }]), []);
});

test('addresses: serial allocation, gateway reserved, release, static, exhaustion', () => {
  const pool = AddressPool.create({ subnet: P('10.7.0.0/29') });
  assert.equal(pool.state.gateway, '10.7.0.1');
  assert.equal(pool.allocate('a'), '10.7.0.2');
  assert.equal(pool.allocate('b'), '10.7.0.3');
  pool.release('10.7.0.2');
  // Serial: a released address is not reused at once.
  assert.equal(pool.allocate('c'), '10.7.0.4');
  assert.equal(pool.allocate('d', '10.7.0.2'), '10.7.0.2');
  assert.throws(() => pool.allocate('e', '10.7.0.3'), (e: BerthError) => e.kind === 'forbidden' && e.message === 'Address already in use');
  assert.throws(() => pool.allocate('e', '10.7.0.1'), /Address already in use/);
  assert.throws(() => pool.allocate('e', '10.8.0.3'), (e: BerthError) => e.kind === 'invalid-parameter' && /does not belong to any of this network's subnets/.test(e.message));
  assert.equal(pool.allocate('f'), '10.7.0.5');
  assert.equal(pool.allocate('g'), '10.7.0.6');
  assert.throws(() => pool.allocate('h'), (e: BerthError) => e.kind === 'unavailable');
  // Broadcast (.7) and network (.0) are never handed out.
  assert.equal(pool.ownerOf('10.7.0.7'), undefined);
});

test('ip-range limits dynamic addresses, static ones may be anywhere in the subnet', () => {
  const pool = AddressPool.create({ subnet: P('10.7.0.0/24'), ipRange: '10.7.0.128/25', gateway: '10.7.0.254' });
  assert.equal(pool.allocate('a'), '10.7.0.128');
  assert.equal(pool.allocate('b', '10.7.0.10'), '10.7.0.10');
});

test('pool state round-trips through JSON and retain frees orphans', () => {
  const pool = AddressPool.create({ subnet: P('10.7.0.0/24'), aux: { host1: '10.7.0.200' } });
  pool.allocate('ep1');
  pool.allocate('ep2');
  const restored = new AddressPool(JSON.parse(JSON.stringify(pool.state)));
  assert.equal(restored.allocate('ep3'), '10.7.0.4');
  restored.retain((owner) => owner !== 'ep2');
  assert.equal(restored.ownerOf('10.7.0.3'), undefined);
  assert.equal(restored.ownerOf('10.7.0.2'), 'ep1');
  assert.equal(restored.ownerOf('10.7.0.1'), 'gateway');
  assert.equal(restored.ownerOf('10.7.0.200'), 'aux:host1');
});

test('parseBip keeps the host part as the gateway', () => {
  const b = parseBip('10.50.0.1/24');
  assert.equal(formatPrefix(b.subnet), '10.50.0.0/24');
  assert.equal(b.gateway, '10.50.0.1');
  assert.throws(() => parseBip('10.50.0.0/24'));
});
