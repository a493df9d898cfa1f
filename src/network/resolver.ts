// The embedded DNS server of each sandbox on a user-defined network (dockerd's 127.0.0.11): names
// and aliases of the containers on the sandbox's networks, PTR records, and forwarding of the rest
// to the upstreams learnt from the host's resolv.conf (or --dns). Also the container's resolv.conf.
import { readFile } from 'node:fs/promises';
import { canonical, contains, parseCIDR, parseIPv4 } from './ip.js';
import { canonical6, contains6, formatIPv6, fromReverse6, parseCIDR6, parseIPv6 } from './ip6.js';
import { aaaaRecord, aRecord, DnsServer, ptrRecord, TYPE_A, TYPE_AAAA, TYPE_PTR, type Question, type Resolution } from './dns.js';
import { openNamespaceSockets } from './nssockets.js';
import { buildResolvConf, EMBEDDED_DNS_IP, upstreamServers } from './resolvconf.js';
import { isUserDefined, type NetworkRecord, type NetworkStore, type SandboxRecord } from './store.js';

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Reads the host resolv.conf (for callers that have not got it already). */
export async function readHostResolvConf(path = '/etc/resolv.conf'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

export class Resolver {
  private readonly servers = new Map<string, DnsServer>(); // container ID → its DNS server

  /** `dnsUpstreams`: berthd's own setting, which wins over what the host's resolv.conf says. */
  constructor(private readonly store: NetworkStore, private readonly dnsUpstreams: string[] | undefined) {}

  /** The sandbox's DNS server listens (on 127.0.0.11:53 inside its namespace). */
  async ensure(sb: SandboxRecord): Promise<void> {
    if (this.servers.has(sb.containerId)) return;
    const { udp, tcp } = await openNamespaceSockets(sb.netnsPath, EMBEDDED_DNS_IP, 53);
    this.servers.set(sb.containerId, new DnsServer(udp, tcp, (q) => this.answer(sb.containerId, q)));
  }

  /** The DNS server stops once the sandbox has left its last user-defined network. */
  async stopIfUnused(sb: SandboxRecord): Promise<void> {
    if (this.store.onUserNetwork(sb)) return;
    await this.stop(sb.containerId);
  }

  async stop(containerId: string): Promise<void> {
    const srv = this.servers.get(containerId);
    this.servers.delete(containerId);
    await srv?.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const srv of this.servers.values()) await srv.close().catch(() => undefined);
    this.servers.clear();
  }

  /** The embedded DNS server's answer for one question from a container. */
  private answer(containerId: string, q: Question): Resolution {
    const sb = this.store.sandbox(containerId);
    if (!sb) return { kind: 'refused' };
    const nets = sb.endpoints
      .map((e) => this.store.networkById(e.networkId))
      .filter((n): n is NetworkRecord => n !== undefined && isUserDefined(n));
    const name = q.name.toLowerCase().replace(/\.$/, '');
    if (q.qtype === TYPE_A || q.qtype === TYPE_AAAA) {
      // A name of ours always gets NOERROR; AAAA records only from networks with IPv6.
      let known = false;
      const ips: string[] = [];
      for (const n of nets) {
        for (const e of this.store.endpointsOf(n.id)) {
          if (!e.dnsNames.some((d) => d.toLowerCase() === name || `${d}.${n.name}`.toLowerCase() === name)) continue;
          known = true;
          const ip = q.qtype === TYPE_A ? e.ip : e.ip6;
          if (ip) ips.push(ip);
        }
      }
      const unique = shuffle([...new Set(ips)]);
      if (known) return { kind: 'answer', answers: q.qtype === TYPE_A ? unique.map(aRecord) : unique.map((ip) => aaaaRecord(parseIPv6(ip)!)) };
    } else if (q.qtype === TYPE_PTR && name.endsWith('.ip6.arpa')) {
      const ip = fromReverse6(name.slice(0, -'.ip6.arpa'.length));
      if (ip !== undefined) {
        const text = formatIPv6(ip);
        for (const n of nets) {
          const e = this.store.endpointsOf(n.id).find((x) => x.ip6 === text);
          if (e) return { kind: 'answer', answers: [ptrRecord(`${e.name}.${n.name}`)] };
        }
        if (nets.some((n) => n.pool6 && contains6(canonical6(parseCIDR6(n.pool6.subnet)!), ip))) return { kind: 'nxdomain' };
      }
    } else if (q.qtype === TYPE_PTR && name.endsWith('.in-addr.arpa')) {
      const ip = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
      for (const n of nets) {
        const e = this.store.endpointsOf(n.id).find((x) => x.ip === ip);
        if (e) return { kind: 'answer', answers: [ptrRecord(`${e.name}.${n.name}`)] };
      }
      const addr = parseIPv4(ip);
      if (addr !== undefined && nets.some((n) => contains(canonical(parseCIDR(n.pool!.subnet)!), addr))) return { kind: 'nxdomain' };
    }
    // Not ours: forwarded from berthd's namespace, unless every network of the container is internal.
    const external = sb.endpoints.some((e) => {
      const n = this.store.networkById(e.networkId);
      return n !== undefined && !n.internal;
    });
    if (!external) return { kind: 'refused' };
    const upstreams = (sb.options.dns?.length ? sb.options.dns : this.dnsUpstreams ?? sb.upstreams ?? [])
      .filter((u) => !u.startsWith(EMBEDDED_DNS_IP));
    return upstreams.length ? { kind: 'forward', upstreams } : { kind: 'refused' };
  }

  /** The container's /etc/resolv.conf, given the host's. */
  resolvConf(containerId: string, hostResolv: string): string {
    const sb = this.store.sandbox(containerId);
    const embedded = !!sb && this.store.onUserNetwork(sb);
    if (sb && embedded && !sb.upstreams) sb.upstreams = upstreamServers(hostResolv, sb.options);
    return buildResolvConf(hostResolv, embedded, sb?.options ?? {});
  }
}
