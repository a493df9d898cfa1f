// IPv6 on user-defined bridge networks through the real docker CLI: `network create --ipv6
// --subnet`, `run --ip6`, what inspect shows (EnableIPv6, the IPv6 IPAM config, GlobalIPv6Address,
// IPv6Gateway), addresses and default routes inside containers, the embedded DNS's AAAA answers,
// TCP between two containers over IPv6 (by address and by name), and dockerd's errors.
//
// Every prefix is a random unique local one (fd00::/8); traffic stays between the test's containers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startDaemon, type Daemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut, inspectField, waitLogs } from './helpers.js';

/** A random fdXX:XXXX:XXXX:: /48 for this run; networks take /64s of it. */
const rnd = randomBytes(5);
const ula = `fd${rnd.toString('hex', 0, 1)}:${rnd.readUInt16BE(1).toString(16)}:${rnd.readUInt16BE(3).toString(16)}`;

let daemon: Daemon | undefined;
const d = (): Daemon => {
  if (!daemon) throw new Error('daemon not started');
  return daemon;
};

before(async () => {
  daemon = await startDaemon();
  await importBusybox(daemon);
});

after(async () => {
  await daemon?.cleanup();
});

interface NetworkInspect {
  EnableIPv6: boolean;
  IPAM: { Config: { Subnet: string; Gateway?: string }[] };
  Containers: Record<string, { Name: string; IPv4Address: string; IPv6Address: string }>;
}
const inspectNet = async (name: string): Promise<NetworkInspect> => JSON.parse(await dockerOut(d(), ['network', 'inspect', name]))[0];

test('--ipv6 network: v6 addresses, routes, AAAA answers and TCP between two containers', async () => {
  await dockerOk(d(), ['network', 'create', '--ipv6', '--subnet', `${ula}:1::/64`, 'v6net']);
  const net = await inspectNet('v6net');
  assert.equal(net.EnableIPv6, true);
  assert.equal(net.IPAM.Config.length, 2, JSON.stringify(net.IPAM));
  assert.match(net.IPAM.Config[0].Subnet, /^10\./);
  assert.deepEqual(net.IPAM.Config[1], { Subnet: `${ula}:1::/64`, Gateway: `${ula}:1::1` });

  // A server with a fixed IPv6 address: one line per connection, over TCP.
  await dockerOk(d(), ['run', '-d', '--name', 'srv', '--network', 'v6net', '--ip6', `${ula}:1::10`, 'busybox', 'sh', '-c',
    'echo listening; while true; do echo hello-over-v6 | nc -l -p 8080; done']);
  await waitLogs(d(), 'srv', 'listening');
  assert.equal(await inspectField(d(), 'srv', '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}'), `${ula}:1::10`);
  assert.equal(await inspectField(d(), 'srv', '{{.NetworkSettings.Networks.v6net.GlobalIPv6PrefixLen}}'), '64');
  assert.equal(await inspectField(d(), 'srv', '{{.NetworkSettings.Networks.v6net.IPv6Gateway}}'), `${ula}:1::1`);
  assert.equal(await inspectField(d(), 'srv', '{{.NetworkSettings.Networks.v6net.IPAMConfig.IPv6Address}}'), `${ula}:1::10`);
  assert.match(await inspectField(d(), 'srv', '{{.NetworkSettings.Networks.v6net.IPAddress}}'), /^10\./);
  const members = Object.values((await inspectNet('v6net')).Containers);
  assert.equal(members[0].IPv6Address, `${ula}:1::10/64`);

  const out = await dockerOut(d(), ['run', '--rm', '--name', 'cli', '--network', 'v6net', 'busybox', 'sh', '-c', [
    'ip -6 addr show dev eth0 scope global', 'ip -6 route', 'cat /etc/hosts',
    'echo ====', 'nslookup -type=AAAA srv 127.0.0.11', 'nslookup -type=A srv 127.0.0.11',
    `echo ====; nc ${ula}:1::10 8080 </dev/null`,
    'echo ====; ping -6 -c1 -W5 srv',
  ].join('; ')]);
  const [inside, lookups, byAddress, byName] = out.split('====\n');
  // The second address of the subnet (the first is the subnet-router anycast, ::1 the gateway, ::10 taken).
  assert.match(inside, new RegExp(`inet6 ${ula}:1::2/64 scope global`), inside);
  assert.match(inside, new RegExp(`default via ${ula}:1::1 dev eth0`), inside);
  assert.match(inside, new RegExp(`^${ula}:1::2\\s+[0-9a-f]{12}$`, 'm'), inside);
  assert.ok(lookups.includes(`${ula}:1::10`), `AAAA for srv:\n${lookups}`);
  assert.match(lookups, /Address: 10\.\d+\.\d+\.\d+/, `A for srv still answered:\n${lookups}`);
  assert.equal(byAddress.trim(), 'hello-over-v6', out);
  assert.ok(byName.includes(`PING srv (${ula}:1::10)`) && /1 packets received/.test(byName), `ping -6 by name:\n${byName}`);
  await dockerOk(d(), ['rm', '-f', 'srv']);
  await dockerOk(d(), ['network', 'rm', 'v6net']);
});

test('--ipv6 without a subnet: a unique local /64; connect gives a running container an IPv6 address', async () => {
  await dockerOk(d(), ['network', 'create', '--ipv6', 'autov6']);
  const net = await inspectNet('autov6');
  assert.equal(net.EnableIPv6, true);
  assert.match(net.IPAM.Config[1].Subnet, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
  await dockerOk(d(), ['run', '-d', '--name', 'late', 'busybox', 'sleep', '300']);
  await dockerOk(d(), ['network', 'connect', 'autov6', 'late']);
  const v6 = await inspectField(d(), 'late', '{{.NetworkSettings.Networks.autov6.GlobalIPv6Address}}');
  assert.ok(v6.startsWith(net.IPAM.Config[1].Subnet.replace(/::\/64$/, ':')), v6);
  assert.ok((await dockerOut(d(), ['exec', 'late', 'ip', '-6', 'addr', 'show', 'dev', 'eth1'])).includes(`inet6 ${v6}/64`));
  await dockerOk(d(), ['rm', '-f', 'late']);
  await dockerOk(d(), ['network', 'rm', 'autov6']);
});

test("IPv6 errors and edge cases, as dockerd's", async () => {
  await dockerOk(d(), ['network', 'create', '--ipv6', '--subnet', `${ula}:2::/64`, 'first6']);
  // Overlapping IPv6 subnets.
  await dockerFails(d(), ['network', 'create', '--ipv6', '--subnet', `${ula}::/48`, 'over6'], 1,
    'invalid pool request: Pool overlaps with other one on this address space');
  // A gateway outside the subnet, host bits in the subnet.
  // (the CLI checks the gateway itself; the API gets dockerd's message)
  await assert.rejects(d().client.json('POST', '/networks/create', { body: {
    Name: 'badgw', EnableIPv6: true, IPAM: { Config: [{ Subnet: `${ula}:3::/64`, Gateway: `${ula}:4::1` }] },
  } }), (err: Error & { status?: number }) => {
    assert.equal(err.status, 400);
    assert.equal(err.message, `invalid network config:\ninvalid gateway ${ula}:4::1: parent subnet ${ula}:3::/64 doesn't contain this address`);
    return true;
  });
  await dockerFails(d(), ['network', 'create', '--ipv6', '--subnet', `${ula}:3::5/64`, 'hostbits'], 1,
    `invalid subnet ${ula}:3::5/64: it should be ${ula}:3::/64`);
  // --ip6 on a network without IPv6, and outside the network's IPv6 subnet.
  await dockerOk(d(), ['network', 'create', 'only4']);
  await dockerFails(d(), ['run', '--rm', '--network', 'only4', '--ip6', `${ula}:2::20`, 'busybox', 'true'], 125,
    `no configured subnet contains IP address ${ula}:2::20`);
  await dockerFails(d(), ['run', '--rm', '--network', 'first6', '--ip6', `${ula}:9::20`, 'busybox', 'true'], 125,
    `no configured subnet contains IP address ${ula}:9::20`);
  // A static address already taken.
  await dockerOk(d(), ['run', '-d', '--name', 'holder', '--network', 'first6', '--ip6', `${ula}:2::20`, 'busybox', 'sleep', '300']);
  await dockerFails(d(), ['run', '--rm', '--network', 'first6', '--ip6', `${ula}:2::20`, 'busybox', 'true'], 125, 'Address already in use');
  // An IPv6 subnet without --ipv6: dockerd (28) creates the network without IPv6 and inspect
  // lists only the pools it allocated.
  await dockerOk(d(), ['network', 'create', '--subnet', `${ula}:5::/64`, 'quiet6']);
  const quiet = await inspectNet('quiet6');
  assert.equal(quiet.EnableIPv6, false);
  assert.equal(quiet.IPAM.Config.length, 1, JSON.stringify(quiet.IPAM));
  assert.match(quiet.IPAM.Config[0].Subnet, /^10\./);
  const v6 = await dockerOut(d(), ['run', '--rm', '--network', 'quiet6', 'busybox', 'sh', '-c', 'ip -6 addr show scope global; echo done']);
  assert.equal(v6, 'done');
  await dockerOk(d(), ['rm', '-f', 'holder']);
  for (const n of ['first6', 'only4', 'quiet6']) await dockerOk(d(), ['network', 'rm', n]);
});

test('berthd restart: a running container keeps its IPv6 address, route and name', async () => {
  await dockerOk(d(), ['network', 'create', '--ipv6', '--subnet', `${ula}:6::/64`, 'keep6']);
  await dockerOk(d(), ['run', '-d', '--name', 'kept', '--network', 'keep6', '--ip6', `${ula}:6::30`, 'busybox', 'sleep', '600']);
  await dockerOk(d(), ['run', '-d', '--name', 'peer', '--network', 'keep6', 'busybox', 'sleep', '600']);
  await d().restart();
  assert.equal(await inspectField(d(), 'kept', '{{.NetworkSettings.Networks.keep6.GlobalIPv6Address}}'), `${ula}:6::30`);
  // The address is still the container's: IPAM did not forget it.
  await dockerFails(d(), ['run', '--rm', '--network', 'keep6', '--ip6', `${ula}:6::30`, 'busybox', 'true'], 125, 'Address already in use');
  // The bridge has its gateway again, the embedded DNS answers AAAA, and the peer reaches kept by name.
  const out = await dockerOut(d(), ['exec', 'peer', 'sh', '-c',
    `ping -6 -c1 -W5 ${ula}:6::1 >/dev/null && echo GW-OK; nslookup -type=AAAA kept 127.0.0.11; ping -6 -c1 -W5 kept >/dev/null && echo NAME-OK`]);
  assert.ok(out.includes('GW-OK'), out);
  assert.ok(out.includes(`${ula}:6::30`), out);
  assert.ok(out.includes('NAME-OK'), out);
  await dockerOk(d(), ['rm', '-f', 'kept', 'peer']);
  await dockerOk(d(), ['network', 'rm', 'keep6']);
});

test('berthd --ipv6 --fixed-cidr-v6: the default bridge has IPv6, and host-gateway its IPv6 gateway too', async () => {
  const d6 = await startDaemon({ config: { ipv6: true, 'fixed-cidr-v6': `${ula}:7::/64` } });
  try {
    await importBusybox(d6);
    const bridge = JSON.parse(await dockerOut(d6, ['network', 'inspect', 'bridge']))[0] as NetworkInspect;
    assert.equal(bridge.EnableIPv6, true);
    assert.deepEqual(bridge.IPAM.Config[1], { Subnet: `${ula}:7::/64`, Gateway: `${ula}:7::1` });
    const gw4 = bridge.IPAM.Config[0].Gateway;
    await dockerOk(d6, ['run', '-d', '--name', 'dual', '--add-host', 'hgw:host-gateway', 'busybox', 'sleep', '300']);
    const v6 = await inspectField(d6, 'dual', '{{.NetworkSettings.GlobalIPv6Address}}');
    assert.equal(v6, `${ula}:7::2`);
    assert.equal(await inspectField(d6, 'dual', '{{.NetworkSettings.IPv6Gateway}}'), `${ula}:7::1`);
    assert.equal(await inspectField(d6, 'dual', '{{.NetworkSettings.GlobalIPv6PrefixLen}}'), '64');
    const out = await dockerOut(d6, ['exec', 'dual', 'sh', '-c', `cat /etc/hosts; ip -6 route; ping -6 -c1 -W5 ${ula}:7::1 >/dev/null && echo GW-OK`]);
    assert.ok(out.split('\n').includes(`${gw4}\thgw`), out);
    assert.ok(out.split('\n').includes(`${ula}:7::1\thgw`), out);
    assert.match(out, new RegExp(`default via ${ula}:7::1 dev eth0`), out);
    assert.ok(out.includes('GW-OK'), out);
    // --ip6 stays a user-defined networks' option, as in dockerd.
    await dockerFails(d6, ['run', '--rm', '--ip6', `${ula}:7::99`, 'busybox', 'true'], 125,
      'user-specified IP address is supported on user-defined networks only');
    await dockerOk(d6, ['rm', '-f', 'dual']);
  } finally {
    await d6.cleanup();
  }
});
