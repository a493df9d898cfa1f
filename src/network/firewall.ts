// Berth's packet filter: one nftables table of its own (`table inet berth`, IPv4 and IPv6 alike),
// regenerated whole from the controller's state and swapped in by a single `nft -f` transaction.
// The host's tables and chains are never read or touched; removing Berth's rules is
// `delete table inet berth`.
import { mustRun, runCommand } from '../pkg/command.js';

export interface FwNetwork {
  bridge: string;
  subnet: string;
  internal: boolean;
  /** Inter-container communication on the bridge (com.docker.network.bridge.enable_icc). */
  icc: boolean;
  /** Outbound NAT (com.docker.network.bridge.enable_ip_masquerade, and the daemon's --ip-masq). */
  masquerade: boolean;
}

export interface FwPort {
  bridge: string;
  proto: 'tcp' | 'udp' | 'sctp';
  /** '' or '0.0.0.0' = every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

const q = (s: string): string => JSON.stringify(s);

/** The complete table, in nft's syntax. Pure: unit-tested against its expected text. */
export function renderRuleset(table: string, networks: FwNetwork[], ports: FwPort[]): string {
  const L: string[] = [];
  L.push(`table inet ${table} {`);
  // Published ports: DNAT of traffic that arrives for a local address (from outside, or from the
  // host itself to a non-loopback address). Loopback is the userland proxy's.
  L.push('\tchain port-dnat {');
  for (const p of ports) {
    const ip = p.hostIp && p.hostIp !== '0.0.0.0' ? `ip daddr ${p.hostIp} ` : '';
    if (p.hostIp.startsWith('127.')) continue;
    L.push(`\t\tiifname != ${q(p.bridge)} ${ip}${p.proto} dport ${p.hostPort} dnat ip to ${p.containerIp}:${p.containerPort}`);
  }
  L.push('\t}');
  L.push('\tchain nat-prerouting {');
  L.push('\t\ttype nat hook prerouting priority -100; policy accept;');
  L.push('\t\tfib daddr type local jump port-dnat');
  L.push('\t}');
  L.push('\tchain nat-output {');
  L.push('\t\ttype nat hook output priority -100; policy accept;');
  L.push('\t\tip daddr != 127.0.0.0/8 fib daddr type local jump port-dnat');
  L.push('\t}');
  L.push('\tchain nat-postrouting {');
  L.push('\t\ttype nat hook postrouting priority 100; policy accept;');
  for (const n of networks) {
    if (n.masquerade && !n.internal) L.push(`\t\tip saddr ${n.subnet} oifname != ${q(n.bridge)} masquerade`);
  }
  L.push('\t}');
  // Forwarding rules match by interface, so they hold for IPv6 as for IPv4; IPv6 gets no NAT.
  L.push('\tchain filter-forward {');
  L.push('\t\ttype filter hook forward priority 0; policy accept;');
  // Networks are isolated from each other before any chain can accept: a container never reaches
  // another network's containers by their addresses, published ports or not. What was DNATed
  // came through a port published on a host address, which any network may use (as in dockerd
  // since its isolation chains were dropped).
  for (const n of networks) {
    const others = networks.filter((x) => x.bridge !== n.bridge).map((x) => q(x.bridge));
    if (others.length > 0) L.push(`\t\tiifname ${q(n.bridge)} oifname { ${others.join(', ')} } ct status & dnat == 0 drop`);
  }
  for (const n of networks) {
    L.push(`\t\toifname ${q(n.bridge)} jump fwd-in-${n.bridge}`);
    L.push(`\t\tiifname ${q(n.bridge)} jump fwd-out-${n.bridge}`);
  }
  L.push('\t}');
  for (const n of networks) {
    // Traffic towards the bridge's containers.
    L.push(`\tchain fwd-in-${n.bridge} {`);
    L.push(`\t\tiifname ${q(n.bridge)} ${n.icc ? 'accept' : 'drop'}`);
    if (!n.internal) {
      L.push('\t\tct state established,related accept');
      for (const p of ports.filter((x) => x.bridge === n.bridge)) {
        L.push(`\t\tip daddr ${p.containerIp} ${p.proto} dport ${p.containerPort} accept`);
      }
    }
    L.push('\t\tdrop');
    L.push('\t}');
    // Traffic from the bridge's containers to anywhere else (same-bridge traffic was decided above).
    L.push(`\tchain fwd-out-${n.bridge} {`);
    L.push(n.internal ? `\t\toifname != ${q(n.bridge)} drop` : `\t\taccept`);
    L.push('\t}');
  }
  L.push('}');
  return L.join('\n') + '\n';
}

export class Firewall {
  constructor(readonly table: string, private readonly enabled: boolean) {}

  /**
   * Replaces the table atomically: create-if-missing, delete, define — one transaction, which
   * also drops the IPv4-only `ip` table of earlier Berth versions.
   */
  async apply(networks: FwNetwork[], ports: FwPort[]): Promise<void> {
    if (!this.enabled) return;
    await mustRun('nft', ['-f', '-'], this.deletion() + renderRuleset(this.table, networks, ports));
  }

  /** Removes Berth's table, if present. */
  async remove(): Promise<void> {
    if (!this.enabled) return;
    await runCommand('nft', ['-f', '-'], this.deletion());
  }

  private deletion(): string {
    return ['ip', 'inet'].map((f) => `table ${f} ${this.table}\ndelete table ${f} ${this.table}\n`).join('');
  }
}
