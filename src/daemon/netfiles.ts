// /etc/hostname, /etc/hosts and /etc/resolv.conf of a container, written into its directory and
// bind-mounted by the spec, as dockerd does.
import { readFile } from 'node:fs/promises';
import type { Container } from '../container/container.js';
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

/** The files a new container starts with; `dns`: its DNS settings merged with the daemon's. */
export async function writeNetworkFiles(c: Container, dns: ResolvOverrides): Promise<void> {
  const cfg = c.record.Config;
  const h = c.hostConfig;
  const isHost = h.NetworkMode === 'host';
  const hostname = cfg.Domainname ? `${cfg.Hostname}.${cfg.Domainname}` : cfg.Hostname;
  await writeFileAtomic(c.record.HostnamePath, `${cfg.Hostname}\n`, 0o644);

  let hosts: string;
  if (isHost) {
    hosts = await hostFile('/etc/hosts');
  } else {
    hosts = defaultHosts.join('\n') + '\n';
    for (const extra of h.ExtraHosts ?? []) {
      const i = extra.indexOf(':');
      if (i > 0) hosts += `${extra.slice(i + 1)}\t${extra.slice(0, i)}\n`;
    }
    // No bridge address yet: the container's own name resolves to loopback, as with --network none.
    if (h.NetworkMode !== 'none') hosts += `127.0.1.1\t${hostname}${hostname !== cfg.Hostname ? ` ${cfg.Hostname}` : ''}\n`;
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
