// /etc/hostname, /etc/hosts and /etc/resolv.conf of a container, written into its directory and
// bind-mounted by the spec, as dockerd does.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Container } from '../container/container.js';
import { invalidParameter } from '../pkg/errors.js';
import type { ResolvOverrides } from '../network/resolvconf.js';
import { writeFileAtomic } from '../pkg/atomicfile.js';

export const defaultHosts = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/** The special --add-host address that stands for the daemon's host-gateway-ips. */
export const HOST_GATEWAY = 'host-gateway';

/** dockerd's opts.ValidateExtraHost: `name:ip` (split at the first colon), the ip an address or `host-gateway`. */
export function validateExtraHost(entry: string): void {
  const i = entry.indexOf(':');
  if (i <= 0) throw invalidParameter(`bad format for add-host: ${JSON.stringify(entry)}`);
  const ip = entry.slice(i + 1);
  if (ip !== HOST_GATEWAY && !isIP(ip)) throw invalidParameter(`invalid IP address in add-host: ${JSON.stringify(ip)}`);
}

/**
 * /etc/hosts lines for ExtraHosts; `host-gateway` gives a line per address of `gatewayIps`
 * (dockerd: "unable to derive the IP value for host-gateway" when there is none).
 */
export function extraHostsLines(extraHosts: string[] | null | undefined, gatewayIps: string[]): string[] {
  const out: string[] = [];
  for (const extra of extraHosts ?? []) {
    const i = extra.indexOf(':');
    if (i <= 0) continue;
    const name = extra.slice(0, i);
    const ip = extra.slice(i + 1);
    if (ip !== HOST_GATEWAY) {
      out.push(`${ip}\t${name}`);
      continue;
    }
    if (gatewayIps.length === 0) throw invalidParameter('unable to derive the IP value for host-gateway');
    for (const gw of gatewayIps) out.push(`${gw}\t${name}`);
  }
  return out;
}

// dockerd's fallback when the host has no usable resolver left.
const fallbackNameservers = ['8.8.8.8', '8.8.4.4'];

async function hostFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

/** The host's resolv.conf without loopback resolvers, which a container's namespace cannot reach. */
export function filterResolvConf(content: string): string {
  const lines = content.split('\n').filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !m || !(m[1].startsWith('127.') || m[1] === '::1');
  });
  let out = lines.join('\n').trimEnd() + '\n';
  if (!/^\s*nameserver\s/m.test(out)) out += fallbackNameservers.map((ns) => `nameserver ${ns}`).join('\n') + '\n';
  return out.replace(/^\n+/, '');
}

/**
 * The files a new container starts with; `dns`: its DNS settings merged with the daemon's,
 * `gatewayIps`: what `host-gateway` stands for.
 */
export async function writeNetworkFiles(c: Container, dns: ResolvOverrides, gatewayIps: string[]): Promise<void> {
  const cfg = c.record.Config;
  const h = c.hostConfig;
  const isHost = h.NetworkMode === 'host';
  const hostname = cfg.Domainname ? `${cfg.Hostname}.${cfg.Domainname}` : cfg.Hostname;
  await writeFileAtomic(c.record.HostnamePath, `${cfg.Hostname}\n`, 0o644);

  let hosts: string;
  if (isHost && !h.ExtraHosts?.length) {
    hosts = await hostFile('/etc/hosts');
  } else {
    // With extra hosts even --network host gets a file of its own (dockerd: so that they can
    // override a name of the host's file).
    hosts = defaultHosts.join('\n') + '\n';
    for (const line of extraHostsLines(h.ExtraHosts, gatewayIps)) hosts += `${line}\n`;
    // No bridge address yet: the container's own name resolves to loopback, as with --network none.
    if (h.NetworkMode !== 'none' && !isHost) hosts += `127.0.1.1\t${hostname}${hostname !== cfg.Hostname ? ` ${cfg.Hostname}` : ''}\n`;
  }
  await writeFileAtomic(c.record.HostsPath, hosts, 0o644);

  let resolv = await hostFile('/etc/resolv.conf');
  if (!isHost) resolv = filterResolvConf(resolv);
  if (dns.dns?.length || dns.dnsSearch?.length || dns.dnsOptions?.length) {
    const keep = resolv.split('\n').filter((l) =>
      !(dns.dns?.length && /^\s*nameserver\s/.test(l)) &&
      !(dns.dnsSearch?.length && /^\s*(search|domain)\s/.test(l)) &&
      !(dns.dnsOptions?.length && /^\s*options\s/.test(l)),
    );
    const lines = [...(dns.dns ?? []).map((ns) => `nameserver ${ns}`), ...keep.filter((l) => l.trim() !== '')];
    if (dns.dnsSearch?.length) lines.push(`search ${dns.dnsSearch.join(' ')}`);
    if (dns.dnsOptions?.length) lines.push(`options ${dns.dnsOptions.join(' ')}`);
    resolv = lines.join('\n') + '\n';
  }
  await writeFileAtomic(c.record.ResolvConfPath, resolv, 0o644);
}
