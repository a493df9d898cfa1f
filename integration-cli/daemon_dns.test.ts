// The daemon's `dns`, `dns-search` and `dns-opts` (daemon.json) reaching containers as dockerd's
// do: written into /etc/resolv.conf on the default bridge and with --network host, the embedded
// DNS's upstreams on user-defined networks; a container's own --dns* setting wins, one by one.
// And `--add-host name:host-gateway` resolving to the daemon's `host-gateway-ip`.
//
// The daemon's DNS server is a stub on port 53 of an address of its own in 127/8, in this
// process: nothing leaves the machine.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { startDaemon, type Daemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerOk, dockerOut, inspectField } from './helpers.js';

const STUB_ANSWER = '192.0.2.77';
const stubIp = `127.54.${randomInt(1, 255)}.${randomInt(1, 255)}`;
const stub = createSocket('udp4');
const stubNames: string[] = [];
stub.on('message', (msg, rinfo) => {
  // Every A question gets STUB_ANSWER; anything else an empty NOERROR.
  let i = 12;
  const labels: string[] = [];
  while (i < msg.length && msg[i] !== 0) {
    labels.push(msg.toString('latin1', i + 1, i + 1 + msg[i]));
    i += msg[i] + 1;
  }
  stubNames.push(labels.join('.'));
  const qEnd = i + 5;
  const isA = msg.readUInt16BE(i + 1) === 1;
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(isA ? 1 : 0, 6);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...STUB_ANSWER.split('.').map(Number)]);
  stub.send(Buffer.concat([header, msg.subarray(12, qEnd), isA ? answer : Buffer.alloc(0)]), rinfo.port, rinfo.address);
});
await new Promise<void>((resolve) => stub.bind(53, stubIp, resolve));

let daemon: Daemon | undefined;
const d = (): Daemon => {
  if (!daemon) throw new Error('daemon not started');
  return daemon;
};

before(async () => {
  daemon = await startDaemon({
    config: {
      dns: [stubIp], 'dns-search': ['corp.berth.test', 'berth.test'], 'dns-opts': ['ndots:2', 'timeout:1'],
      'host-gateway-ip': '192.0.2.254',
    },
  });
  await importBusybox(daemon);
});

after(async () => {
  stub.close();
  await daemon?.cleanup();
});

const resolvOf = (args: string[]) => dockerOut(d(), ['run', '--rm', ...args, 'busybox', 'cat', '/etc/resolv.conf']);
const lines = (text: string, key: string) => text.split('\n').filter((l) => l.startsWith(`${key} `));

test('default bridge: the daemon dns, dns-search and dns-opts are the container resolv.conf', async () => {
  const rc = await resolvOf([]);
  assert.deepEqual(lines(rc, 'nameserver'), [`nameserver ${stubIp}`], rc);
  assert.deepEqual(lines(rc, 'search'), ['search corp.berth.test berth.test'], rc);
  assert.deepEqual(lines(rc, 'options'), ['options ndots:2 timeout:1'], rc);
});

test("a container's own --dns, --dns-search, --dns-opt each replace the daemon's", async () => {
  const own = await resolvOf(['--dns', '192.0.2.1']);
  assert.deepEqual(lines(own, 'nameserver'), ['nameserver 192.0.2.1'], own);
  assert.deepEqual(lines(own, 'search'), ['search corp.berth.test berth.test'], own);
  assert.deepEqual(lines(own, 'options'), ['options ndots:2 timeout:1'], own);
  const search = await resolvOf(['--dns-search', 'other.test', '--dns-opt', 'attempts:3']);
  assert.deepEqual(lines(search, 'nameserver'), [`nameserver ${stubIp}`], search);
  assert.deepEqual(lines(search, 'search'), ['search other.test'], search);
  assert.deepEqual(lines(search, 'options'), ['options attempts:3'], search);
  // The same rules at create time (the file a container has before it first starts) and for --network host.
  const host = await resolvOf(['--network', 'host', '--dns-search', 'h.test']);
  assert.deepEqual(lines(host, 'nameserver'), [`nameserver ${stubIp}`], host);
  assert.deepEqual(lines(host, 'search'), ['search h.test'], host);
  assert.deepEqual(lines(host, 'options'), ['options ndots:2 timeout:1'], host);
});

test('user-defined network: 127.0.0.11 with the daemon search and options, forwarding to the daemon dns', async () => {
  await dockerOk(d(), ['network', 'create', 'dnsnet']);
  try {
    const out = await dockerOut(d(), ['run', '--rm', '--network', 'dnsnet', 'busybox', 'sh', '-c',
      'cat /etc/resolv.conf; echo ---; nslookup external.example 127.0.0.11']);
    const [rc, lookup] = out.split('---');
    assert.deepEqual(lines(rc, 'nameserver'), ['nameserver 127.0.0.11'], rc);
    assert.deepEqual(lines(rc, 'search'), ['search corp.berth.test berth.test'], rc);
    // ndots was chosen by the daemon's options, so the internal resolver adds no ndots:0.
    assert.deepEqual(lines(rc, 'options'), ['options ndots:2 timeout:1'], rc);
    assert.match(rc, new RegExp(`ExtServers: \\[host\\(${stubIp.replace(/\./g, '\\.')}\\)\\]`), rc);
    assert.ok(lookup.includes(STUB_ANSWER), `the embedded DNS forwards to the daemon dns:\n${lookup}`);
    assert.ok(stubNames.includes('external.example'), stubNames.join(','));
    // A container's own --dns replaces the daemon's as the upstream.
    const own = await dockerOut(d(), ['run', '--rm', '--network', 'dnsnet', '--dns', '192.0.2.1', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.match(own, /ExtServers: \[host\(192\.0\.2\.1\)\]/, own);
  } finally {
    await dockerOk(d(), ['network', 'rm', 'dnsnet']);
  }
});

test('--add-host: host-gateway is the daemon host-gateway-ip; name=ip and [v6] from the CLI', async () => {
  const hosts = (args: string[]) => dockerOut(d(), ['run', '--rm', ...args, '--add-host', 'gw:host-gateway', '--add-host', 'a=192.0.2.10',
    '--add-host', 'v6=[fd00::10]', '--add-host', 'b:192.0.2.11', 'busybox', 'cat', '/etc/hosts']);
  for (const args of [[], ['--network', 'host']]) {
    const out = await hosts(args);
    for (const line of ['192.0.2.254\tgw', '192.0.2.10\ta', 'fd00::10\tv6', '192.0.2.11\tb']) {
      assert.ok(out.split('\n').includes(line), `${JSON.stringify(line)} in /etc/hosts (${args.join(' ')}):\n${out}`);
    }
  }
  // The CLI turns name=ip into name:ip; the API itself takes only name:ip (dockerd's ValidateExtraHost).
  assert.deepEqual(JSON.parse(await dockerOut(d(), ['create', '--name', 'eh', '--add-host', 'a=192.0.2.10', '--add-host', 'gw:host-gateway', 'busybox'])
    .then(() => inspectField(d(), 'eh', '{{json .HostConfig.ExtraHosts}}'))), ['a:192.0.2.10', 'gw:host-gateway']);
  await dockerOk(d(), ['rm', 'eh']);
  for (const [entry, message] of [
    ['a=192.0.2.10', 'bad format for add-host: "a=192.0.2.10"'],
    [':192.0.2.10', 'bad format for add-host: ":192.0.2.10"'],
    ['a:not-an-ip', 'invalid IP address in add-host: "not-an-ip"'],
  ]) {
    await assert.rejects(
      d().client.json('POST', '/containers/create', { body: { Image: 'busybox', HostConfig: { ExtraHosts: [entry] } } }),
      (err: Error & { status?: number }) => {
        assert.equal(err.message, message);
        assert.equal(err.status, 400);
        return true;
      },
    );
  }
});
