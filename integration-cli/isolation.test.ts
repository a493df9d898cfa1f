// Isolation between bridge networks through the real docker CLI: a container reaches the
// containers of its own network and none on another one by their addresses, for tcp and udp,
// whether or not the target publishes ports, for user-defined networks and the default bridge,
// and again after a berthd restart has rewritten the firewall. A port published on the host's
// addresses stays reachable from every network through those addresses, as with dockerd.
//
// Each target serves tcp with busybox httpd and udp with a small DNS-shaped responder that this
// process runs inside the target's network namespace (busybox has no udp server; its nslookup
// is the udp client). Every negative probe is followed by a positive one from the target's own
// network, so "nothing arrived" is checked only once something sent later has arrived.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { startDaemon, type Daemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerOk, dockerOut, inspectField, waitUntil } from './helpers.js';

let daemon: Daemon | undefined;
const d = (): Daemon => {
  if (!daemon) throw new Error('daemon not started');
  return daemon;
};
const responders: ChildProcess[] = [];

/** Names the udp responder saw, per target. */
const received = new Map<string, string[]>();

// Answers every DNS question with an empty NOERROR reply (so nslookup returns at once) and
// prints the question's first label.
const RESPONDER = `
const dgram = require('node:dgram');
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => {
  if (m.length < 13) return;
  console.log(m.subarray(13, 13 + m[12]).toString());
  const reply = Buffer.from(m);
  reply.writeUInt16BE(0x8180, 2);
  s.send(reply, r.port, r.address);
});
s.bind(53, process.argv[1], () => console.log('ready'));
`;

interface Target {
  name: string;
  network: string;
  publish: boolean;
  ip: string;
}

const targets: Target[] = [
  { name: 'pub1', network: 'n1', publish: true, ip: '' },
  { name: 'plain1', network: 'n1', publish: false, ip: '' },
  { name: 'pubb', network: 'bridge', publish: true, ip: '' },
  { name: 'plainb', network: 'bridge', publish: false, ip: '' },
];
/** A client container on each network. */
const clients: Record<string, string> = { n1: 'cli1', n2: 'cli2', bridge: 'clib' };

async function startTarget(t: Target): Promise<void> {
  const publish = t.publish ? ['-p', '127.0.0.1::80', '-p', '80', '-p', '127.0.0.1::53/udp'] : [];
  const httpd = 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www';
  await dockerOk(d(), ['run', '-d', '--name', t.name, '--hostname', t.name, '--network', t.network, ...publish, 'busybox', 'sh', '-c', httpd]);
  t.ip = await inspectField(d(), t.name, `{{.NetworkSettings.Networks.${t.network}.IPAddress}}`);
  const pid = await inspectField(d(), t.name, '{{.State.Pid}}');
  const child = spawn('nsenter', ['-t', pid, '-n', '--', process.execPath, '-e', RESPONDER, t.ip], { stdio: ['ignore', 'pipe', 'inherit'] });
  responders.push(child);
  const seen: string[] = [];
  received.set(t.name, seen);
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`udp responder for ${t.name} exited (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') resolve();
      else seen.push(line);
    });
  });
  await ready;
}

/** What an HTTP request from `client` to ip:port brings back ('' when it cannot connect). */
async function httpProbe(client: string, ip: string, port: string): Promise<string> {
  const r = await d().docker(['exec', client, 'sh', '-c', `printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 2 ${ip} ${port} | tail -n1`]);
  return r.stdout.trim();
}

const tcpProbe = (client: string, t: Target) => httpProbe(client, t.ip, '80');

/** Sends one udp question named `label` from `client` to the target (bounded to 2 s without a reply). */
async function udpProbe(client: string, t: Target, label: string): Promise<void> {
  await d().docker(['exec', client, 'timeout', '2', 'nslookup', `${label}.probe`, t.ip]);
}

let probeCount = 0;

/** The target answers its own network over tcp and udp, and nothing from `others` reaches it. */
async function checkIsolated(t: Target, others: string[], phase: string): Promise<void> {
  const own = clients[t.network]!;
  assert.equal(await tcpProbe(own, t), `hello from ${t.name}`, `${phase}: ${own} reaches ${t.name} over tcp`);
  const blocked = others.map((client) => ({ client, label: `neg${++probeCount}` }));
  const tcp = await Promise.all(blocked.map(({ client }) => tcpProbe(client, t)));
  blocked.forEach(({ client }, i) => assert.equal(tcp[i], '', `${phase}: ${client} must not reach ${t.name} (${t.network}) over tcp`));
  await Promise.all(blocked.map(({ client, label }) => udpProbe(client, t, label)));
  // A question sent after the blocked ones, from the target's own network, must arrive.
  const marker = `pos${++probeCount}`;
  await udpProbe(own, t, marker);
  const seen = received.get(t.name)!;
  await waitUntil(`${phase}: ${marker} at ${t.name}`, async () => seen.includes(marker));
  for (const { client, label } of blocked) {
    assert.ok(!seen.includes(label), `${phase}: ${client} must not reach ${t.name} (${t.network}) over udp (saw ${seen.join(',')})`);
  }
  if (!t.publish) return;
  // The port published on every host address: reachable from the other networks through the
  // host's address on their own bridge (their gateway).
  const hostPort = (await dockerOut(d(), ['port', t.name, '80/tcp'])).split('\n').find((l) => l.startsWith('0.0.0.0:'))!.split(':')[1]!;
  for (const { client } of blocked) {
    const gateway = await inspectField(d(), client, '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}');
    assert.equal(await httpProbe(client, gateway, hostPort), `hello from ${t.name}`, `${phase}: ${client} reaches ${t.name}'s published port through ${gateway}`);
  }
}

async function checkAll(phase: string): Promise<void> {
  await Promise.all(targets.map((t) => {
    const others = Object.entries(clients).filter(([net]) => net !== t.network).map(([, c]) => c);
    return checkIsolated(t, others, phase);
  }));
}

before(async () => {
  daemon = await startDaemon();
  await importBusybox(daemon);
  for (const net of ['n1', 'n2']) await dockerOk(d(), ['network', 'create', net]);
  for (const [net, name] of Object.entries(clients)) {
    await dockerOk(d(), ['run', '-d', '--name', name, '--network', net, 'busybox', 'sleep', '3600']);
  }
  for (const t of targets) await startTarget(t);
});

after(async () => {
  for (const child of responders) child.kill('SIGKILL');
  await daemon?.cleanup();
});

test('bridge networks are isolated from each other, published ports or not, tcp and udp', async () => {
  await checkAll('first start');
});

test('isolation holds after a berthd restart rewrites the firewall', async () => {
  await d().restart();
  // The restored containers keep their addresses and the responders keep running.
  for (const t of targets) {
    assert.equal(await inspectField(d(), t.name, `{{.NetworkSettings.Networks.${t.network}.IPAddress}}`), t.ip);
  }
  assert.equal(await dockerOut(d(), ['inspect', '-f', '{{.State.Running}}', 'cli2']), 'true');
  await checkAll('after restart');
});
