// /etc/resolv.conf for a container, as dockerd's libnetwork/internal/resolvconf writes it: the
// host's file without loopback resolvers (unreachable from the container's namespace), or, on
// user-defined networks, the embedded resolver at 127.0.0.11 with the real servers kept as its
// upstreams.

export const EMBEDDED_DNS_IP = '127.0.0.11';
const FALLBACK = ['8.8.8.8', '8.8.4.4'];

export interface ResolvOverrides {
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
}

export interface ParsedResolv {
  nameservers: string[];
  search: string[];
  options: string[];
  other: string[];
}

export function parseResolvConf(content: string): ParsedResolv {
  const out: ParsedResolv = { nameservers: [], search: [], options: [], other: [] };
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const [key, ...rest] = line.split(/\s+/);
    if (key === 'nameserver' && rest[0]) out.nameservers.push(rest[0]);
    else if (key === 'search' || key === 'domain') out.search = rest;
    else if (key === 'options') out.options.push(...rest);
    else out.other.push(line);
  }
  return out;
}

const isLoopback = (ns: string): boolean => ns.startsWith('127.') || ns === '::1';

/** The nameservers the embedded resolver forwards to (from the host's namespace, so loopback ones work too). */
export function upstreamServers(hostResolv: string, o: ResolvOverrides): string[] {
  if (o.dns?.length) return o.dns;
  return parseResolvConf(hostResolv).nameservers;
}

export function buildResolvConf(hostResolv: string, embedded: boolean, o: ResolvOverrides): string {
  const host = parseResolvConf(hostResolv);
  const search = o.dnsSearch?.length ? o.dnsSearch.filter((s) => s !== '.') : host.search;
  let options = o.dnsOptions?.length ? o.dnsOptions : host.options;
  const lines: string[] = [];
  if (embedded) {
    lines.push(`nameserver ${EMBEDDED_DNS_IP}`);
    if (search.length) lines.push(`search ${search.join(' ')}`);
    // The internal resolver answers single-label names: ndots:0 unless the user chose.
    if (!options.some((x) => x.startsWith('ndots:'))) options = [...options, 'ndots:0'];
    lines.push(`options ${options.join(' ')}`);
    const ext = upstreamServers(hostResolv, o);
    lines.push('', `# Based on host file: '/etc/resolv.conf' (internal resolver)`, `# ExtServers: [${ext.map((s) => `host(${s})`).join(' ')}]`);
    return lines.join('\n') + '\n';
  }
  // The default bridge has no IPv6: the host's IPv6 resolvers go too (dockerd's TransformForLegacyNw).
  let servers = o.dns?.length ? o.dns : host.nameservers.filter((ns) => !isLoopback(ns) && !ns.includes(':'));
  if (servers.length === 0) servers = FALLBACK;
  for (const ns of servers) lines.push(`nameserver ${ns}`);
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}
