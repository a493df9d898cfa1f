import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityMapping } from '../pkg/idmap.js';
import { nextFreeRange, verifyUsernsSettings } from './userns.js';

test('nextFreeRange: 100000 up, past every range that overlaps', () => {
  assert.equal(nextFreeRange([]), 100000);
  assert.equal(nextFreeRange([{ name: 'a', start: 100000, count: 65536 }]), 165536);
  assert.equal(nextFreeRange([{ name: 'b', start: 165536, count: 10 }, { name: 'a', start: 100000, count: 65536 }]), 165546);
  assert.equal(nextFreeRange([{ name: 'a', start: 0, count: 1000 }, { name: 'b', start: 500000, count: 65536 }]), 100000);
});

test("verifyUsernsSettings: dockerd's refusals, lifted by --userns=host or no remapping", () => {
  const m = new IdentityMapping([{ containerID: 0, hostID: 100000, size: 65536 }], [{ containerID: 0, hostID: 100000, size: 65536 }]);
  const h = { UsernsMode: '', Privileged: false, NetworkMode: 'bridge', PidMode: '' };
  verifyUsernsSettings(h, m);
  assert.throws(() => verifyUsernsSettings({ ...h, Privileged: true }, m), /^BerthError: privileged mode is incompatible with user namespaces\.  You must run/);
  assert.throws(() => verifyUsernsSettings({ ...h, NetworkMode: 'host' }, m), /cannot share the host's network namespace when user namespaces are enabled/);
  assert.throws(() => verifyUsernsSettings({ ...h, PidMode: 'host' }, m), /cannot share the host PID namespace when user namespaces are enabled/);
  verifyUsernsSettings({ ...h, UsernsMode: 'host', Privileged: true, NetworkMode: 'host', PidMode: 'host' }, m);
  verifyUsernsSettings({ ...h, Privileged: true }, undefined);
});
