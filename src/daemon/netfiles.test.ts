import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extraHostsLines, validateExtraHost } from './netfiles.js';

test("validateExtraHost: dockerd's name:ip, split at the first colon", () => {
  for (const ok of ['a:192.0.2.1', 'a:fd00::1', 'a:::1', 'gw:host-gateway']) validateExtraHost(ok);
  assert.throws(() => validateExtraHost('a=192.0.2.1'), /^Error: bad format for add-host: "a=192.0.2.1"$|bad format for add-host: "a=192\.0\.2\.1"/);
  assert.throws(() => validateExtraHost(':192.0.2.1'), /bad format for add-host: ":192\.0\.2\.1"/);
  assert.throws(() => validateExtraHost('a:[fd00::1]'), /invalid IP address in add-host: "\[fd00::1\]"/);
  assert.throws(() => validateExtraHost('a:host'), /invalid IP address in add-host: "host"/);
});

test('extraHostsLines: host-gateway gives a line per gateway address', () => {
  assert.deepEqual(extraHostsLines(['a:192.0.2.1', 'gw:host-gateway', 'b:fd00::1'], ['10.0.0.1', 'fd00::1']),
    ['192.0.2.1\ta', '10.0.0.1\tgw', 'fd00::1\tgw', 'fd00::1\tb']);
  assert.deepEqual(extraHostsLines(null, []), []);
  assert.throws(() => extraHostsLines(['gw:host-gateway'], []), /unable to derive the IP value for host-gateway/);
});
