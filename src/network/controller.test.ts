// The real thing: bridges, namespaces, veths, nftables, the proxy and the embedded DNS, with
// test-unique names, own data/exec roots, and traffic only between the host and namespaces made
// here. Everything is removed in `after`, and the test checks nothing is left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import dgram from 'node:dgram';
import pino from 'pino';
import { NetworkController } from './controller.js';
import type { ConnectOptions } from './endpoint.js';
import { containerNetworks, inspectNetwork, listNetworks, pruneNetworks } from '../daemon/networkviews.js';
import { runCommand } from '../pkg/command.js';
import { aRecord, buildResponse, parseQuery, TYPE_A } from './dns.js';
import { BerthError } from '../pkg/errors.js';
import { generateID } from '../pkg/stringid.js';

async function canRun(): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const [cmd, args] of [['ip', ['-V']], ['nft', ['--version']], ['unshare', ['--version']], ['nsenter', ['--version']], ['busybox', ['true']]] as const) {
    const r = await runCommand(cmd, [...args]).catch(() => ({ code: 127, stdout: '', stderr: '' }));
    if (r.code !== 0) return `needs ${cmd}`;
  }
  return false;
}

const skip = await canRun();
const tag = randomBytes(3).toString('hex');
const table = `bt${tag}`;
const logger = pino({ level: 'silent' });

/** Veths on this test's bridges (named bt-…): other daemons on the host may add their own meanwhile. */
async function ourVeths(): Promise<string> {
  const out = (await runCommand('ip', ['-o', 'link', 'show', 'type', 'veth'])).stdout;
  return out.split('\n').filter((l) => / master bt-/.test(l)).map((l) => l.replace(/^\d+: /, '')).join('\n');
}

async function snapshot(): Promise<{ veth: string; netns: string; nft: string }> {
  const veth = await ourVeths();
  const netns = (await runCommand('ip', ['netns'])).stdout;
  const nft = (await runCommand('nft', ['list', 'tables'])).stdout.split('\n').filter((l) => l.includes(table)).join('\n');
  return { veth, netns, nft };
}

async function inNs(ns: string, cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await runCommand('nsenter', [`--net=${ns}`, ...cmd]);
  return { code: r.code, out: r.stdout + r.stderr };
}

function tcpGet(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    let data = '';
    s.setTimeout(3000, () => { s.destroy(); reject(new Error('timeout')); });
    s.on('data', (d) => (data += d));
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

/** A TCP server inside a namespace, answering `hello from <name>` to every connection. */
async function serveInNs(ns: string, port: number, name: string): Promise<ChildProcess> {
  const code = `require('net').createServer(s=>s.end('hello from ${name}\\n')).listen(${port},'0.0.0.0',()=>console.log('ready'))`;
  const p = spawn('nsenter', [`--net=${ns}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    p.stdout!.once('data', () => resolve());
    p.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return p;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const rejectsWith = async (p: Promise<unknown>, kind: string, re: RegExp): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BerthError, String(e));
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, re);
    return true;
  });
};

describe('network controller on a real kernel', { skip }, () => {
  let before0: { veth: string; netns: string; nft: string };
  let root: string;
  let ctl: NetworkController;
  let stub: dgram.Socket;
  const servers: ChildProcess[] = [];
  const bridgeName = `bt-${tag}`;
  const opts = () => ({
    dataRoot: join(root, 'data'), execRoot: join(root, 'exec'), logger, bridgeName,
    defaultAddressPools: [{ base: '10.213.0.0/16', size: 24 }], firewallTable: table, bridgePrefix: 'bt-',
    dnsUpstreams: [`127.0.0.1:${(stub.address() as net.AddressInfo).port}`],
  });
  const ids = { c1: generateID(), c2: generateID(), c3: generateID(), c4: generateID(), c5: generateID() };
  const ns: Record<string, string> = {};
  let n1 = '';
  let n2 = '';
  let published = 0;
  /** Connects, and returns the endpoint as container inspect shows it. */
  const connect = async (id: string, nsPath: string, network: string, o: ConnectOptions) => {
    const ep = await ctl.connect(id, nsPath, network, o);
    return containerNetworks(ctl, id)!.Networks[ctl.networkById(ep.networkId)!.name];
  };

  before(async () => {
    before0 = await snapshot();
    root = await mkdtemp(join(tmpdir(), 'berth-net-'));
    // A stub upstream resolver on loopback: external.test → 192.0.2.55; the test never asks anything else.
    stub = dgram.createSocket('udp4');
    stub.on('message', (msg, rinfo) => {
      const q = parseQuery(msg);
      if (!q) return;
      const ans = q.name === 'external.test' && q.qtype === TYPE_A ? [aRecord('192.0.2.55')] : [];
      stub.send(buildResponse(msg, q, ans.length ? 0 : 3, ans), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => stub.bind(0, '127.0.0.1', () => r()));
    ctl = await NetworkController.open(opts());
  });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await ctl?.destroy().catch(() => undefined);
    stub?.close();
    // Belt and braces: whatever the controller may have missed.
    await runCommand('nft', ['delete', 'table', 'inet', table]);
    const links = (await runCommand('ip', ['-o', 'link', 'show'])).stdout;
    for (const m of links.matchAll(/^\d+: (bt-[0-9a-f]+)[:@]/gm)) await runCommand('ip', ['link', 'del', m[1]]);
    for (const f of await readdir(join(root, 'exec', 'netns')).catch(() => [] as string[])) {
      await runCommand('umount', ['-l', join(root, 'exec', 'netns', f)]);
    }
    await rm(root, { recursive: true, force: true });
  });

  it('creates the predefined networks with dockerd shapes', async () => {
    const names = listNetworks(ctl).map((n) => n.Name).sort();
    assert.deepEqual(names, ['bridge', 'host', 'none']);
    const br = inspectNetwork(ctl, 'bridge');
    assert.equal(br.Driver, 'bridge');
    assert.equal(br.Options['com.docker.network.bridge.name'], bridgeName);
    assert.match(br.IPAM.Config[0].Subnet!, /^10\.213\.\d+\.0\/24$/);
    assert.equal(inspectNetwork(ctl, 'none').Driver, 'null');
    assert.equal((await runCommand('ip', ['link', 'show', bridgeName])).code, 0);
    assert.match((await runCommand('nft', ['list', 'table', 'inet', table])).stdout, /nat-postrouting/);
  });

  it('creates user-defined networks and refuses bad ones with dockerd errors', async () => {
    n1 = (await ctl.create({ Name: `n1-${tag}`, IPAM: { Config: [{ Subnet: '10.213.201.0/24', Gateway: '10.213.201.254', IPRange: '10.213.201.0/25' }] }, Labels: { a: 'b' }, Options: { 'com.docker.network.driver.mtu': '1400' } })).Id;
    n2 = (await ctl.create({ Name: `n2-${tag}` })).Id;
    const i1 = inspectNetwork(ctl, `n1-${tag}`);
    assert.deepEqual(i1.IPAM.Config, [{ Subnet: '10.213.201.0/24', IPRange: '10.213.201.0/25', Gateway: '10.213.201.254' }]);
    assert.deepEqual(i1.Labels, { a: 'b' });
    assert.equal(listNetworks(ctl, new Map([['label', ['a=b']]])).length, 1);
    assert.equal(listNetworks(ctl, new Map([['type', ['custom']]])).length, 2);
    await rejectsWith(ctl.create({ Name: `n3-${tag}`, IPAM: { Config: [{ Subnet: '10.213.201.128/25' }] } }), 'forbidden', /Pool overlaps/);
    await rejectsWith(ctl.create({ Name: `n1-${tag}` }), 'conflict', /network with name n1-.* already exists/);
    await rejectsWith(ctl.create({ Name: 'bridge' }), 'forbidden', /operation is not permitted on predefined bridge network/);
    await rejectsWith(ctl.create({ Name: `n3-${tag}`, IPAM: { Config: [{ Subnet: '10.213.202.0/24', IPRange: '10.213.203.0/24' }] } }), 'invalid-parameter', /invalid network config:\ninvalid ip-range/);
    await rejectsWith(ctl.create({ Name: `n3-${tag}`, Options: { 'com.docker.network.driver.mtu': '10' } }), 'invalid-parameter', /invalid MTU number: 10/);
    await rejectsWith(ctl.create({ Name: `n3-${tag}`, Driver: 'weave' }), 'not-found', /plugin "weave" not found/);
    await rejectsWith(ctl.remove('bridge'), 'forbidden', /bridge is a pre-defined network and cannot be removed/);
    await rejectsWith(ctl.remove('nope-nope'), 'not-found', /network nope-nope not found/);
    // Nothing half-made by the refusals.
    assert.equal(listNetworks(ctl).length, 5);
  });

  it('connects sandboxes: addresses, routes, ping on a user network', async () => {
    for (const k of ['c1', 'c2', 'c3', 'c4'] as const) ns[k] = (await ctl.createSandbox(ids[k], { hostname: k })).netnsPath;
    const e1 = await connect(ids.c1, ns.c1, n1, { name: `c1-${tag}`, hostname: 'c1', aliases: ['web'] });
    assert.equal(e1.IPAddress, '10.213.201.1');
    assert.equal(e1.Gateway, '10.213.201.254');
    assert.equal(e1.IPPrefixLen, 24);
    assert.deepEqual(e1.Aliases, ['web']);
    assert.deepEqual(e1.DNSNames, [`c1-${tag}`, 'web', ids.c1.slice(0, 12), 'c1']);
    const e2 = await connect(ids.c2, ns.c2, `n1-${tag}`, { name: `c2-${tag}`, hostname: 'c2', ipv4: '10.213.201.200' });
    assert.equal(e2.IPAddress, '10.213.201.200');
    assert.deepEqual(e2.IPAMConfig, { IPv4Address: '10.213.201.200' });
    await ctl.connect(ids.c3, ns.c3, n2, { name: `c3-${tag}`, hostname: 'c3' });
    const link = await inNs(ns.c1, ['ip', '-o', 'link', 'show', 'eth0']);
    assert.match(link.out, /mtu 1400/);
    assert.match((await inNs(ns.c1, ['ip', 'route'])).out, /default via 10\.213\.201\.254 dev eth0/);
    const ping = await inNs(ns.c1, ['busybox', 'ping', '-c1', '-W2', '10.213.201.200']);
    assert.equal(ping.code, 0, ping.out);
    const inspect = inspectNetwork(ctl, n1);
    assert.deepEqual(Object.keys(inspect.Containers).sort(), [ids.c1, ids.c2].sort());
    assert.equal(inspect.Containers[ids.c2].IPv4Address, '10.213.201.200/24');
  });

  it('refuses bad connects without leaving anything', async () => {
    const vethBefore = await ourVeths();
    await rejectsWith(ctl.connect(ids.c1, ns.c1, n1, { name: `c1-${tag}`, hostname: 'c1' }), 'forbidden', /endpoint with name c1-.* already exists in network n1-/);
    await rejectsWith(ctl.connect(ids.c4, ns.c4, n1, { name: 'x', hostname: 'x', ipv4: '10.213.201.200' }), 'forbidden', /Address already in use/);
    await rejectsWith(ctl.connect(ids.c4, ns.c4, n1, { name: 'x', hostname: 'x', ipv4: '10.99.0.5' }), 'invalid-parameter', /invalid endpoint settings:\nno configured subnet contains IP address 10\.99\.0\.5/);
    await rejectsWith(ctl.connect(ids.c4, ns.c4, 'bridge', { name: 'x', hostname: 'x', ipv4: '10.213.0.9' }), 'invalid-parameter', /user-specified IP address is supported on user-defined networks only/);
    await rejectsWith(ctl.connect(ids.c4, ns.c4, 'bridge', { name: 'x', hostname: 'x', portBindings: { '80/tcp': [{ HostIp: '', HostPort: 'abc' }] } }), 'invalid-parameter', /invalid port specification: "abc"/);
    assert.equal(await ourVeths(), vethBefore);
    assert.equal(containerNetworks(ctl, ids.c4)?.Networks['bridge'], undefined);
    // Without a sandbox of its own (one the daemon makes implicitly), a refused connect records none.
    const bare = generateID();
    await rejectsWith(ctl.connect(bare, ns.c4, n1, { name: 'y', hostname: 'y', ipv4: '10.99.0.5' }), 'invalid-parameter', /no configured subnet contains IP address/);
    assert.equal(ctl.sandbox(bare), undefined);
  });

  it('resolves names and aliases through the embedded DNS, forwards the rest to the upstream', async () => {
    const a = await inNs(ns.c2, ['busybox', 'nslookup', `c1-${tag}`, '127.0.0.11']);
    assert.match(a.out, /Address: 10\.213\.201\.1\b/, a.out);
    const b = await inNs(ns.c2, ['busybox', 'nslookup', 'web', '127.0.0.11']);
    assert.match(b.out, /Address: 10\.213\.201\.1\b/, b.out);
    const c = await inNs(ns.c1, ['busybox', 'nslookup', `c2-${tag}.n1-${tag}`, '127.0.0.11']);
    assert.match(c.out, /Address: 10\.213\.201\.200\b/, c.out);
    const ext = await inNs(ns.c1, ['busybox', 'nslookup', 'external.test', '127.0.0.11']);
    assert.match(ext.out, /Address: 192\.0\.2\.55/, ext.out);
    // c3 is on another network: c1's name is not visible there.
    const iso = await inNs(ns.c3, ['busybox', 'nslookup', `c1-${tag}`, '127.0.0.11']);
    assert.doesNotMatch(iso.out, /10\.213\.201\.1\b/);
    assert.match(ctl.resolvConf(ids.c1, 'nameserver 10.0.0.1\nsearch example.com\n'), /^nameserver 127\.0\.0\.11\nsearch example\.com\noptions ndots:0\n/);
    assert.deepEqual(ctl.hostsEntries(ids.c1), ['10.213.201.1\tc1']);
  });

  it('isolates networks from each other', async () => {
    const r = await inNs(ns.c3, ['busybox', 'ping', '-c1', '-W1', '10.213.201.1']);
    assert.notEqual(r.code, 0, 'a container on n2 reached n1');
  });

  it('publishes ports on 127.0.0.1 (proxy) and the bridge address (NAT), and refuses taken ports', async () => {
    published = await freePort();
    const e4 = await connect(ids.c4, ns.c4, 'bridge', {
      name: `c4-${tag}`, hostname: 'c4',
      exposedPorts: { '80/tcp': {}, '81/tcp': {} }, portBindings: { '80/tcp': [{ HostIp: '', HostPort: String(published) }] }, publishAll: true,
    });
    servers.push(await serveInNs(ns.c4, 80, 'c4'));
    assert.equal(await tcpGet('127.0.0.1', published), 'hello from c4\n');
    assert.equal(await tcpGet(e4.Gateway, published), 'hello from c4\n');
    // From another namespace (routed, not local): only the DNAT rule can deliver this.
    const viaNat = await inNs(ns.c3, ['busybox', 'nc', '-w', '2', e4.Gateway, String(published)]);
    assert.match(viaNat.out, /hello from c4/, viaNat.out);
    const ports = containerNetworks(ctl, ids.c4)!.Ports;
    assert.deepEqual(ports['80/tcp'], [{ HostIp: '0.0.0.0', HostPort: String(published) }]);
    assert.ok(Number(ports['81/tcp']![0].HostPort) > 1024);
    assert.match(ctl.resolvConf(ids.c4, 'nameserver 127.0.0.53\nnameserver 10.0.0.2\n'), /^nameserver 10\.0\.0\.2\n$/);
    // The same port again: dockerd's allocator message; a port a host process holds: the bind error.
    ns.c5 = (await ctl.createSandbox(ids.c5)).netnsPath;
    await rejectsWith(
      ctl.connect(ids.c5, ns.c5, 'bridge', { name: 'c5', hostname: 'c5', portBindings: { '80/tcp': [{ HostIp: '', HostPort: String(published) }] } }),
      'system', new RegExp(`driver failed programming external connectivity on endpoint c5 \\(\\w+\\): Bind for 0\\.0\\.0\\.0:${published} failed: port is already allocated`),
    );
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '0.0.0.0', () => r()));
    const held = (holder.address() as net.AddressInfo).port;
    await rejectsWith(
      ctl.connect(ids.c5, ns.c5, 'bridge', { name: 'c5', hostname: 'c5', portBindings: { '80/tcp': [{ HostIp: '', HostPort: String(held) }] } }),
      'system', new RegExp(`failed to bind host port 0\\.0\\.0\\.0:${held}/tcp: address already in use`),
    );
    holder.close();
    await ctl.releaseSandbox(ids.c5);
  });

  it('keeps running containers\' networking across a restart and frees the rest', async () => {
    await ctl.close();
    ctl = await NetworkController.open(opts());
    await ctl.restore([{ containerId: ids.c1, netnsPath: ns.c1 }, { containerId: ids.c4, netnsPath: ns.c4 }]);
    assert.equal(containerNetworks(ctl, ids.c1)!.Networks[`n1-${tag}`].IPAddress, '10.213.201.1');
    assert.equal(containerNetworks(ctl, ids.c2), undefined);
    assert.equal((await readdir(join(root, 'exec', 'netns'))).length, 2);
    assert.equal(await tcpGet('127.0.0.1', published), 'hello from c4\n');
    const b = await inNs(ns.c1, ['busybox', 'nslookup', `c1-${tag}`, '127.0.0.11']);
    assert.match(b.out, /Address: 10\.213\.201\.1\b/, b.out);
    // c2's address is free again; static or not, it can be had.
    ns.c2 = (await ctl.createSandbox(ids.c2)).netnsPath;
    assert.equal((await connect(ids.c2, ns.c2, n1, { name: `c2-${tag}`, hostname: 'c2', ipv4: '10.213.201.200' })).IPAddress, '10.213.201.200');
  });

  it('refuses to remove a network with endpoints, then cleans up completely', async () => {
    await rejectsWith(ctl.remove(n1), 'forbidden', /error while removing network: network n1-\w+ has active endpoints \(name:"c1-\w+" id:"\w{12}", name:"c2-\w+" id:"\w{12}"\)/);
    await ctl.disconnect(ids.c1, n1);
    await rejectsWith(ctl.disconnect(ids.c1, n1), 'forbidden', /is not connected to the network/);
    for (const s of servers.splice(0)) s.kill('SIGKILL');
    for (const id of Object.values(ids)) await ctl.releaseSandbox(id);
    assert.deepEqual(await readdir(join(root, 'exec', 'netns')), []);
    await ctl.remove(n1);
    assert.deepEqual((await pruneNetworks(ctl)).NetworksDeleted, [`n2-${tag}`]);
    await ctl.destroy();
    const now = await snapshot();
    assert.equal(now.veth, before0.veth);
    assert.equal(now.netns, before0.netns);
    assert.equal(now.nft, before0.nft);
    assert.equal((await runCommand('ip', ['link', 'show', bridgeName])).code !== 0, true);
  });
});
