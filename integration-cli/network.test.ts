// Networking through the real docker CLI: the default bridge, user-defined networks with the
// embedded DNS, aliases, published ports (-p, -P, conflicts), isolation between networks, the
// host/none/container: modes, `docker network …` with dockerd's errors, connect/disconnect, and
// a berthd restart under a container with a published port.
//
// The daemon gets its own bridge, nftables table and address pool (see the harness), and the
// embedded DNS forwards to a stub on loopback in this process: nothing leaves the machine. The
// host's veths, named netns and nft tables must be as before once the daemon is cleaned up.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { startDaemon, type Daemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut, inspectField, waitUntil } from './helpers.js';

const run = promisify(execFile);

// --- host state, before and after --------------------------------------------------------------

/** Names of veths, bridges our daemon made (from its state file), collected as the tests go. */
const ours = new Set<string>();
async function collectOurs(): Promise<void> {
  if (!daemon) return;
  const st = JSON.parse(await readFile(`${daemon.dataRoot}/network/state.json`, 'utf8').catch(() => '{}')) as {
    networks?: { bridge?: string }[];
    sandboxes?: { endpoints: { hostVeth: string }[] }[];
  };
  for (const n of st.networks ?? []) if (n.bridge) ours.add(n.bridge);
  for (const s of st.sandboxes ?? []) for (const e of s.endpoints) ours.add(e.hostVeth);
}

/** What of ours is still on the host: veths, bridges, the nft table, named netns. */
async function leftovers(table: string): Promise<string[]> {
  const links = (await run('ip', ['-o', 'link', 'show']).catch(() => ({ stdout: '' }))).stdout;
  const names = links.split('\n').filter(Boolean).map((l) => l.split(':')[1]?.trim().split('@')[0]);
  const tables = (await run('nft', ['list', 'tables']).catch(() => ({ stdout: '' }))).stdout;
  const left = names.filter((n) => ours.has(n));
  if (tables.split('\n').some((l) => l.trim() === `table inet ${table}`)) left.push(`nft table ${table}`);
  return left;
}

async function hostNetState(): Promise<string> {
  const veth = (await run('ip', ['-o', 'link', 'show', 'type', 'veth']).catch(() => ({ stdout: '' }))).stdout;
  const netns = (await run('ip', ['netns']).catch(() => ({ stdout: '' }))).stdout;
  const tables = (await run('nft', ['list', 'tables']).catch(() => ({ stdout: '' }))).stdout;
  const names = veth.split('\n').filter(Boolean).map((l) => l.split(':')[1]?.trim().split('@')[0]).sort();
  return JSON.stringify({ veth: names, netns: netns.trim(), tables: tables.trim().split('\n').sort() });
}

// --- a DNS stub on loopback: every A question gets 192.0.2.53 ----------------------------------

const STUB_ANSWER = '192.0.2.53';
const stub = createSocket('udp4');
let stubQueries = 0;
stub.on('message', (msg, rinfo) => {
  stubQueries++;
  // Question: from byte 12 to the end of the first name + 4.
  let i = 12;
  while (i < msg.length && msg[i] !== 0) i += msg[i] + 1;
  const qEnd = i + 5;
  const qtype = msg.readUInt16BE(i + 1);
  const header = Buffer.alloc(12);
  msg.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(qtype === 1 ? 1 : 0, 6);
  const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...STUB_ANSWER.split('.').map(Number)]);
  stub.send(Buffer.concat([header, msg.subarray(12, qEnd), qtype === 1 ? answer : Buffer.alloc(0)]), rinfo.port, rinfo.address);
});
// On port 53 of an address of its own in 127/8: the daemon's `dns` setting takes addresses only, as dockerd's.
const stubIp = `127.53.${randomInt(1, 255)}.${randomInt(1, 255)}`;
await new Promise<void>((resolve) => stub.bind(53, stubIp, resolve));

// --- the daemon ----------------------------------------------------------------------------------

let daemon: Daemon | undefined;
let hostBefore = '';
let failed = false;
const d = (): Daemon => {
  if (!daemon) throw new Error('daemon not started');
  return daemon;
};

before(async () => {
  hostBefore = await hostNetState();
  daemon = await startDaemon({ config: { dns: [stubIp] } });
  await importBusybox(daemon);
});

after(async () => {
  stub.close();
  if (!daemon) return;
  if (failed || process.env['BERTH_TEST_LOG']) console.error((await daemon.logs()).split('\n').slice(-150).join('\n'));
  if (process.env['BERTH_TEST_KEEP']) {
    await daemon.stop();
    return;
  }
  await collectOurs();
  const table = JSON.parse(await readFile(`${daemon.dir}/daemon.json`, 'utf8'))['firewall-table'] as string;
  await daemon.cleanup();
  // Veths go with their namespace, which the kernel frees asynchronously. Other test files may
  // run at the same time, so what is checked is that nothing of ours is left; the whole-host
  // comparison (veths, `ip netns`, nft tables) is reported when it differs.
  await waitUntil('our links and table to be gone', async () => (await leftovers(table)).length === 0, 10_000, 200).catch(async () => {
    assert.deepEqual(await leftovers(table), [], 'berthd left networking state behind');
  });
  const now = await hostNetState();
  if (now !== hostBefore) console.error(`host network state changed during the run (other tests?):\n before ${hostBefore}\n after  ${now}`);
});

/** Runs a test body and remembers failures (the daemon's log is printed then). */
function t(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      await collectOurs();
    }
  });
}

const HTTPD = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www';

/** Starts busybox httpd serving "hello from <hostname>" on port 80. */
async function webServer(name: string, args: string[]): Promise<string> {
  const id = await dockerOut(d(), ['run', '-d', '--name', name, ...args, 'busybox', 'sh', '-c', HTTPD]);
  return id;
}

function httpGet(port: number, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', timeout: 3000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const getWhenReady = (port: number) => waitUntil(`http on ${port}`, () => httpGet(port).catch(() => ''), 10_000, 100);

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '0.0.0.0', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** `docker run --rm … busybox sh -c script` on a network, returning stdout (exit 0 required). */
const inNet = (netArgs: string[], script: string) => dockerOut(d(), ['run', '--rm', ...netArgs, 'busybox', 'sh', '-c', script]);

// --- tests ---------------------------------------------------------------------------------------

t('default bridge: an address from the bridge, the gateway, hosts entry, inspect and ps', async () => {
  await dockerOk(d(), ['run', '-d', '--name', 'b1', 'busybox', 'sleep', '300']);
  const [ip, gw, prefix, mac] = (await inspectField(d(), 'b1', '{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.MacAddress}}')).split(' ');
  assert.match(ip, /^10\.\d+\.\d+\.\d+$/);
  assert.match(gw, /^10\.\d+\.\d+\.1$/);
  assert.equal(prefix, '24');
  assert.match(mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(await inspectField(d(), 'b1', '{{.NetworkSettings.Networks.bridge.IPAddress}}'), ip);
  const inside = await dockerOut(d(), ['exec', 'b1', 'sh', '-c', 'ip -o -4 addr show eth0; ip route; cat /etc/hosts']);
  assert.ok(inside.includes(`inet ${ip}/24`), inside);
  assert.ok(inside.includes(`default via ${gw}`), inside);
  assert.match(inside, new RegExp(`^${ip.replace(/\./g, '\\.')}\\s+[0-9a-f]{12}$`, 'm'));
  assert.ok(!inside.includes('127.0.1.1'), inside);
  // The host reaches the container, and the container the gateway (the host).
  await dockerOk(d(), ['exec', 'b1', 'ping', '-c1', '-W2', gw]);
  assert.equal(await dockerOut(d(), ['ps', '--filter', 'network=bridge', '--format', '{{.Names}}']), 'b1');
  await dockerOk(d(), ['rm', '-f', 'b1']);
});

t('--add-host name:host-gateway is the default bridge gateway when the daemon sets no host-gateway-ip', async () => {
  const gw = JSON.parse(await dockerOut(d(), ['network', 'inspect', 'bridge']))[0].IPAM.Config[0].Gateway as string;
  for (const args of [[], ['--network', 'host']]) {
    const hosts = await dockerOut(d(), ['run', '--rm', ...args, '--add-host', 'host.docker.internal:host-gateway', 'busybox', 'cat', '/etc/hosts']);
    assert.ok(hosts.split('\n').includes(`${gw}\thost.docker.internal`), hosts);
  }
});

t('user-defined network: names, aliases and the embedded DNS (forwarding to the stub)', async () => {
  await dockerOk(d(), ['network', 'create', 'appnet']);
  await webServer('web', ['--network', 'appnet', '--network-alias', 'www', '--network-alias', 'front']);
  const webIp = await inspectField(d(), 'web', '{{.NetworkSettings.Networks.appnet.IPAddress}}');
  assert.match(webIp, /^10\./);
  // The legacy top-level fields stay empty off the default bridge, as in dockerd.
  assert.equal(await inspectField(d(), 'web', '{{.NetworkSettings.IPAddress}}'), '');
  assert.equal(await inspectField(d(), 'web', '{{json .NetworkSettings.Networks.appnet.Aliases}}'), '["www","front"]');
  const out = await inNet(['--network', 'appnet'], [
    'cat /etc/resolv.conf',
    'ping -c1 -W2 web >/dev/null && echo PING-OK',
    'nslookup web 127.0.0.11',
    'nslookup www 127.0.0.11',
    'nslookup example.invalid 127.0.0.11',
    'for h in web www front web.appnet; do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc $h 80 | tail -n1; done',
  ].join('; '));
  assert.match(out, /^nameserver 127\.0\.0\.11$/m);
  assert.ok(out.includes('PING-OK'), out);
  assert.equal(out.split(webIp).length - 1 >= 2, true, `web and www resolve to ${webIp}:\n${out}`);
  assert.ok(out.includes(STUB_ANSWER), `external names go to the loopback stub:\n${out}`);
  assert.ok(stubQueries > 0);
  const hello = out.split('\n').filter((l) => l.startsWith('hello from'));
  assert.equal(hello.length, 4, out);
  // A container on the same network by --ip, visible in network inspect.
  await dockerOk(d(), ['run', '-d', '--name', 'fixed', '--network', 'appnet', '--ip', webIp.replace(/\.\d+$/, '.200'), 'busybox', 'sleep', '300']);
  assert.equal(await inspectField(d(), 'fixed', '{{.NetworkSettings.Networks.appnet.IPAddress}}'), webIp.replace(/\.\d+$/, '.200'));
  const insp = JSON.parse(await dockerOut(d(), ['network', 'inspect', 'appnet']))[0];
  assert.deepEqual(Object.values(insp.Containers as Record<string, { Name: string }>).map((c) => c.Name).sort(), ['fixed', 'web']);
  await dockerOk(d(), ['rm', '-f', 'fixed']);
});

t('published ports: -p, -P, docker port, ps, and a port already taken', async () => {
  const port = await freePort();
  await webServer('pub', ['-p', `${port}:80`]);
  assert.match(await getWhenReady(port), /^hello from/);
  assert.equal(await dockerOut(d(), ['port', 'pub', '80']), `0.0.0.0:${port}`);
  assert.equal(await dockerOut(d(), ['ps', '--filter', 'name=pub', '--format', '{{.Ports}}']), `0.0.0.0:${port}->80/tcp`);
  // Through the bridge address too (DNAT, not the proxy).
  const gw = await inspectField(d(), 'pub', '{{.NetworkSettings.Gateway}}');
  assert.match(await httpGet(port, gw), /^hello from/);

  // The same host port again: dockerd's error, and nothing is left behind.
  const r = await dockerFails(d(), ['run', '-d', '--name', 'pub2', '-p', `${port}:80`, 'busybox', 'sleep', '300'], 125, 'port is already allocated');
  assert.match(r.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
  assert.equal(await inspectField(d(), 'pub2', '{{.State.Status}}'), 'created');
  await dockerOk(d(), ['rm', 'pub2']);

  // A host process holding the port.
  const holder = net.createServer();
  const held = await freePort();
  await new Promise<void>((resolve) => holder.listen(held, '0.0.0.0', resolve));
  try {
    await dockerFails(d(), ['run', '--rm', '-p', `${held}:80`, 'busybox', 'true'], 125, 'address already in use');
  } finally {
    holder.close();
  }

  // -P: every exposed port gets an ephemeral host port.
  await webServer('puball', ['--expose', '80', '-P']);
  const mapped = await dockerOut(d(), ['port', 'puball', '80/tcp']);
  const m = /^0\.0\.0\.0:(\d+)$/.exec(mapped);
  assert.ok(m, mapped);
  assert.match(await getWhenReady(Number(m[1])), /^hello from/);
  // A bad spec is refused at create.
  await dockerFails(d(), ['create', '-p', '80-70:80', 'busybox'], 125, /invalid/);
  await dockerOk(d(), ['rm', '-f', 'puball']);
  // The port is free again once its container is gone.
  await dockerOk(d(), ['rm', '-f', 'pub']);
  await waitUntil('port released', async () => (await httpGet(port).then(() => false, () => true)));
});

t('isolation between networks, connect and disconnect of a running container', async () => {
  await dockerOk(d(), ['network', 'create', 'isonet']);
  await dockerOk(d(), ['run', '-d', '--name', 'iso', '--network', 'isonet', 'busybox', 'sleep', '300']);
  const webIp = await inspectField(d(), 'web', '{{.NetworkSettings.Networks.appnet.IPAddress}}');
  // From isonet, web (on appnet) is neither resolvable nor reachable.
  // (The stub upstream answers every name, so "web" resolves — but not to web's address.)
  const probe = `nslookup web 127.0.0.11 2>&1 | grep -q '${webIp}' && echo RESOLVED; ` +
    `printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${webIp} 80 | grep -q hello && echo REACHED; echo done`;
  let out = await dockerOut(d(), ['exec', 'iso', 'sh', '-c', probe]);
  assert.equal(out, 'done');

  // docker network connect: iso joins appnet, gets eth1, and reaches web by name.
  await dockerOk(d(), ['network', 'connect', '--alias', 'isoalias', 'appnet', 'iso']);
  out = await dockerOut(d(), ['exec', 'iso', 'sh', '-c', `ip -o -4 addr show eth1 >/dev/null && echo ETH1; printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc web 80 | tail -n1`]);
  assert.match(out, /ETH1\nhello from/);
  assert.equal(await inspectField(d(), 'iso', '{{json .NetworkSettings.Networks.appnet.Aliases}}'), '["isoalias"]');
  await dockerOk(d(), ['exec', 'web', 'ping', '-c1', '-W2', 'isoalias']);
  await dockerFails(d(), ['network', 'connect', 'appnet', 'iso'], 1, 'endpoint with name iso already exists in network appnet');
  await dockerOk(d(), ['network', 'disconnect', 'appnet', 'iso']);
  out = await dockerOut(d(), ['exec', 'iso', 'sh', '-c', 'ip -o link show eth1 >/dev/null 2>&1 && echo ETH1; echo done']);
  assert.equal(out, 'done');
  assert.equal(await inspectField(d(), 'iso', '{{len .NetworkSettings.Networks}}'), '1');

  // A stopped container: connect only records the network; it is joined at the next start.
  await dockerOk(d(), ['create', '--name', 'later', '--network', 'isonet', 'busybox', 'sleep', '300']);
  await dockerOk(d(), ['network', 'connect', 'appnet', 'later']);
  await dockerOk(d(), ['start', 'later']);
  assert.match(await inspectField(d(), 'later', '{{.NetworkSettings.Networks.appnet.IPAddress}} {{.NetworkSettings.Networks.isonet.IPAddress}}'), /^10\.\S+ 10\.\S+$/);
  await dockerOk(d(), ['exec', 'later', 'ping', '-c1', '-W2', 'web']);
  await dockerOk(d(), ['rm', '-f', 'later']);
});

t('--network host, none and container:', async () => {
  const bridgeName = JSON.parse(await dockerOut(d(), ['network', 'inspect', 'bridge']))[0].Options['com.docker.network.bridge.name'];
  const hostLinks = await inNet(['--network', 'host'], 'ip -o link show');
  assert.ok(hostLinks.includes(bridgeName), hostLinks);
  const none = await inNet(['--network', 'none'], 'ip -o link show | cut -d: -f2');
  assert.equal(none.trim(), 'lo');
  const webIp = await inspectField(d(), 'web', '{{.NetworkSettings.Networks.appnet.IPAddress}}');
  const shared = await inNet(['--network', 'container:web'], 'ip -o -4 addr show eth0; printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc 127.0.0.1 80 | tail -n1');
  assert.ok(shared.includes(`inet ${webIp}/`), shared);
  assert.match(shared, /hello from/);
  await dockerFails(d(), ['run', '--rm', '--network', 'nosuchnet', 'busybox', 'true'], 125, 'network nosuchnet not found');
});

t('--link on the default bridge: hosts entry, reachability and the link environment', async () => {
  await dockerOk(d(), ['run', '-d', '--name', 'lk-db', '--expose', '5432', '-e', 'SECRET=s3', 'busybox', 'sleep', '300']);
  const ip = await inspectField(d(), 'lk-db', '{{.NetworkSettings.IPAddress}}');
  const out = await dockerOut(d(), ['run', '--rm', '--name', 'lk-app', '--link', 'lk-db:database', 'busybox', 'sh', '-c',
    'grep database /etc/hosts; ping -c1 -W2 database >/dev/null && echo PING_OK; env | grep ^DATABASE_ | sort']);
  assert.match(out, new RegExp(`^${ip.replace(/\./g, '\\.')}\tdatabase lk-db `, 'm'));
  assert.match(out, /^PING_OK$/m);
  assert.match(out, /^DATABASE_NAME=\/lk-app\/database$/m);
  assert.match(out, /^DATABASE_ENV_SECRET=s3$/m);
  assert.match(out, new RegExp(`^DATABASE_PORT=tcp://${ip.replace(/\./g, '\\.')}:5432$`, 'm'));
  assert.match(out, /^DATABASE_PORT_5432_TCP_PORT=5432$/m);
  const stopped = await dockerFails(d(), ['run', '--rm', '--link', 'nosuch:x', 'busybox', 'true'], 125);
  assert.match(stopped.stderr, /could not get container for nosuch/);

  // docker rm --link: the running parent loses the hosts entry at once, and the link for good.
  await dockerOk(d(), ['run', '-d', '--name', 'lk-web', '--link', 'lk-db:database', 'busybox', 'sleep', '300']);
  assert.match(await dockerOut(d(), ['exec', 'lk-web', 'cat', '/etc/hosts']), /\tdatabase lk-db /);
  await dockerOk(d(), ['rm', '--link', '/lk-web/database']);
  assert.doesNotMatch(await dockerOut(d(), ['exec', 'lk-web', 'cat', '/etc/hosts']), /database/);
  assert.equal(await inspectField(d(), 'lk-web', '{{json .HostConfig.Links}}'), '[]');
  await dockerOk(d(), ['restart', '-t', '0', 'lk-web']);
  assert.doesNotMatch(await dockerOut(d(), ['exec', 'lk-web', 'cat', '/etc/hosts']), /database/);
  await dockerFails(d(), ['rm', '--link', '/lk-web/database'], 1, 'No such container: lk-web/database');
  await dockerFails(d(), ['rm', '--link', 'lk-db'], 1, 'Conflict, cannot remove the default link name of the container');
  assert.equal(await inspectField(d(), 'lk-db', '{{.State.Running}}'), 'true', 'rm --link removes no container');
  await dockerOk(d(), ['rm', '-f', 'lk-web', 'lk-db']);
});

t('docker network create/ls/inspect/rm/prune and their errors', async () => {
  const sub = JSON.parse(await dockerOut(d(), ['network', 'inspect', 'appnet']))[0].IPAM.Config[0].Subnet as string;
  await dockerFails(d(), ['network', 'create', '--subnet', sub, 'overlap'], 1, 'invalid pool request: Pool overlaps with other one on this address space');
  await dockerFails(d(), ['network', 'create', 'appnet'], 1, 'network with name appnet already exists');
  await dockerFails(d(), ['network', 'create', 'host'], 1, 'operation is not permitted on predefined host network');
  await dockerFails(d(), ['network', 'rm', 'bridge'], 1, 'bridge is a pre-defined network and cannot be removed');
  await dockerFails(d(), ['network', 'rm', 'appnet'], 1, /error while removing network: network appnet has active endpoints \(name:"web"/);
  await dockerFails(d(), ['network', 'inspect', 'nope'], 1, 'network nope not found');
  await dockerOk(d(), ['network', 'create', '--subnet', '10.251.7.0/24', '--gateway', '10.251.7.254', '--label', 'k=v', 'custom']);
  const c = JSON.parse(await dockerOut(d(), ['network', 'inspect', 'custom']))[0];
  assert.deepEqual(c.IPAM.Config, [{ Subnet: '10.251.7.0/24', Gateway: '10.251.7.254' }]);
  assert.deepEqual(c.Labels, { k: 'v' });
  const ls = (await dockerOut(d(), ['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).split('\n').sort();
  for (const want of ['appnet bridge', 'bridge bridge', 'custom bridge', 'host host', 'isonet bridge', 'none null']) assert.ok(ls.includes(want), ls.join('\n'));
  assert.equal(await dockerOut(d(), ['network', 'ls', '-q', '--filter', 'label=k=v']), c.Id.slice(0, 12));
  await dockerOk(d(), ['network', 'create', 'unused']);
  const pruned = await dockerOut(d(), ['network', 'prune', '-f', '--filter', 'label=k=v']);
  assert.match(pruned, /Deleted Networks:\ncustom/);
  await dockerOk(d(), ['network', 'rm', 'unused']);
  const names = await dockerOut(d(), ['network', 'ls', '--format', '{{.Name}}']);
  assert.ok(!names.includes('custom') && !names.includes('unused'), names);
});

t('berthd restart: a running container keeps its address and published port', async () => {
  const port = await freePort();
  await webServer('keep', ['--network', 'appnet', '-p', `${port}:80`]);
  await getWhenReady(port);
  const ip = await inspectField(d(), 'keep', '{{.NetworkSettings.Networks.appnet.IPAddress}}');
  await d().restart();
  assert.equal(await inspectField(d(), 'keep', '{{.State.Status}} {{.NetworkSettings.Networks.appnet.IPAddress}}'), `running ${ip}`);
  assert.equal(await dockerOut(d(), ['port', 'keep', '80']), `0.0.0.0:${port}`);
  assert.match(await getWhenReady(port), /^hello from/);
  // The embedded DNS came back too.
  const out = await inNet(['--network', 'appnet'], 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc keep 80 | tail -n1');
  assert.match(out, /^hello from/);
  // Stopping releases it; starting again works.
  await dockerOk(d(), ['stop', '-t', '1', 'keep']);
  await waitUntil('port released', async () => (await httpGet(port).then(() => false, () => true)));
  await dockerOk(d(), ['start', 'keep']);
  assert.match(await getWhenReady(port), /^hello from/);
});

t('docker-compose (1.29): two services on a network, a published port, an alias; down cleans up', async (): Promise<void> => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const dir = await mkdtemp('/tmp/berth-compose-');
  const port = await freePort();
  try {
    await writeFile(`${dir}/docker-compose.yml`, [
      'version: "2.4"',
      'services:',
      '  web:',
      '    image: busybox',
      `    command: ["sh", "-c", ${JSON.stringify(HTTPD.replace(/\$/g, '$$$$'))}]`, // $$: compose interpolation
      `    ports: ["${port}:80"]`,
      '    networks:',
      '      front:',
      '        aliases: [webalias]',
      '  client:',
      '    image: busybox',
      '    command: ["sleep", "300"]',
      '    networks: [front]',
      'networks:',
      '  front: {}',
      '',
    ].join('\n'));
    const compose = (args: string[]) => run('docker-compose', ['-p', 'ctest', '-f', `${dir}/docker-compose.yml`, ...args], { env: d().dockerEnv, timeout: 60_000 });
    await compose(['up', '-d']);
    assert.match(await getWhenReady(port), /^hello from/);
    const { stdout } = await compose(['exec', '-T', 'client', 'sh', '-c', 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc webalias 80 | tail -n1; printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc web 80 | tail -n1']);
    assert.match(stdout, /^hello from \S+\nhello from \S+\n?$/);
    assert.match(await dockerOut(d(), ['network', 'ls', '--format', '{{.Name}}']), /^ctest_front$/m);
    await compose(['down', '-t', '1']);
    assert.equal(await dockerOut(d(), ['ps', '-aq', '--filter', 'label=com.docker.compose.project=ctest']), '');
    assert.doesNotMatch(await dockerOut(d(), ['network', 'ls', '--format', '{{.Name}}']), /ctest_front/);
    await waitUntil('port released', async () => (await httpGet(port).then(() => false, () => true)));
  } finally {
    await run('docker-compose', ['-p', 'ctest', '-f', `${dir}/docker-compose.yml`, 'down', '-t', '0'], { env: d().dockerEnv }).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
