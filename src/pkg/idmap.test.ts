import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityMapping, OVERFLOW_ID, parseSubIDFile, rangesToMaps } from './idmap.js';

test('parseSubIDFile: name or id, start, count; comments and blank lines skipped; bad lines refused', () => {
  const r = parseSubIDFile('# comment\nalice:100000:65536\n\n1001:165536:10\n', '/etc/subuid');
  assert.deepEqual(r, [
    { name: 'alice', start: 100000, count: 65536 },
    { name: '1001', start: 165536, count: 10 },
  ]);
  assert.throws(() => parseSubIDFile('alice:100000\n', '/etc/subuid'), /invalid subid range in \/etc\/subuid/);
  assert.throws(() => parseSubIDFile('alice:x:10\n', '/etc/subuid'), /invalid subid range/);
});

test('rangesToMaps lays ranges end to end from container ID 0', () => {
  assert.deepEqual(rangesToMaps([{ name: 'a', start: 100000, count: 10 }, { name: 'a', start: 500, count: 5 }]), [
    { containerID: 0, hostID: 100000, size: 10 },
    { containerID: 10, hostID: 500, size: 5 },
  ]);
});

test('IdentityMapping: both directions, root pair, unmapped IDs', () => {
  const m = new IdentityMapping(
    [{ containerID: 0, hostID: 100000, size: 65536 }],
    [{ containerID: 0, hostID: 200000, size: 1000 }, { containerID: 1000, hostID: 300000, size: 10 }],
  );
  assert.deepEqual(m.rootPair(), { uid: 100000, gid: 200000 });
  assert.deepEqual(m.toHost(1000, 1005), { uid: 101000, gid: 300005 });
  assert.deepEqual(m.toContainer(101000, 300005), { uid: 1000, gid: 1005 });
  assert.throws(() => m.toHost(65536, 0), /Container ID 65536 cannot be mapped to a host ID/);
  assert.throws(() => m.toHost(0, 1010), /Container ID 1010 cannot be mapped to a host ID/);
  assert.deepEqual(m.toContainer(0, 0), { uid: OVERFLOW_ID, gid: OVERFLOW_ID });
});
