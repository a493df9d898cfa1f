import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRuleset } from './firewall.js';
import { runCommand } from '../pkg/command.js';

const nets = [
  { bridge: 'bt-a', subnet: '10.213.1.0/24', internal: false, icc: true, masquerade: true },
  { bridge: 'bt-b', subnet: '10.213.2.0/24', internal: true, icc: false, masquerade: true },
];
const ports = [
  { bridge: 'bt-a', proto: 'tcp' as const, hostIp: '', hostPort: 8080, containerIp: '10.213.1.2', containerPort: 80 },
  { bridge: 'bt-a', proto: 'udp' as const, hostIp: '127.0.0.1', hostPort: 5353, containerIp: '10.213.1.2', containerPort: 53 },
];

test('renderRuleset: NAT, published ports, isolation, internal networks', () => {
  const r = renderRuleset('berth', nets, ports);
  assert.match(r, /^table inet berth \{/);
  assert.match(r, /iifname != "bt-a" tcp dport 8080 dnat ip to 10\.213\.1\.2:80/);
  // Loopback bindings are the proxy's alone.
  assert.doesNotMatch(r, /dport 5353 dnat/);
  assert.match(r, /ip saddr 10\.213\.1\.0\/24 oifname != "bt-a" masquerade/);
  assert.doesNotMatch(r, /10\.213\.2\.0\/24 oifname != "bt-b" masquerade/);
  // Traffic between networks is dropped before any chain can accept it, unless a published port DNATed it.
  assert.match(r, /policy accept;\n\t\tiifname "bt-a" oifname \{ "bt-b" \} ct status & dnat == 0 drop\n\t\tiifname "bt-b" oifname \{ "bt-a" \} ct status & dnat == 0 drop\n\t\toifname "bt-a" jump fwd-in-bt-a\n/);
  assert.match(r, /chain fwd-in-bt-a \{\n\t\tiifname "bt-a" accept\n\t\tct state established,related accept\n\t\tip daddr 10\.213\.1\.2 tcp dport 80 accept/);
  assert.match(r, /chain fwd-in-bt-b \{\n\t\tiifname "bt-b" drop\n\t\tdrop\n\t\}/);
  assert.match(r, /chain fwd-out-bt-b \{\n\t\toifname != "bt-b" drop\n\t\}/);
  // One inet table: the forward rules name interfaces only, so they hold for IPv6 too.
  const forward = r.slice(r.indexOf('chain filter-forward'));
  assert.doesNotMatch(forward.replace(/\t\tip daddr \S+ (tcp|udp|sctp) dport \d+ accept\n/g, ''), /\bip6? (s|d)addr/);
});

test('the ruleset is valid nft syntax', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const r = await runCommand('nft', ['-c', '-f', '-'], renderRuleset('berth-check', nets, ports));
  if (r.code === 127 || /not found/.test(r.stderr)) return t.skip('no nft');
  assert.equal(r.code, 0, r.stderr);
});
