// An endpoint (a container's attachment to one network) as a record: the connect options dockerd
// validates, and the names, addresses and ports the new endpoint will carry.
import { randomBytes } from 'node:crypto';
import { invalidParameter } from '../pkg/errors.js';
import { generateID, truncateID } from '../pkg/stringid.js';
import { canonical, contains, parseCIDR, parseIPv4 } from './ip.js';
import { canonical6, contains6, normalizeIPv6, parseCIDR6, parseIPv6 } from './ip6.js';
import { portRequests, type PortRequest } from './portspec.js';
import { isUserDefined, type EndpointRecord, type LinkSpec, type NetworkRecord } from './store.js';
import type { PortMap, PortSet } from '../api/types/network.js';

export interface ConnectOptions {
  aliases?: string[];
  ipv4?: string;
  ipv6?: string;
  hostname: string;
  domainname?: string;
  /** The container's name (no leading slash): the endpoint's name, and a DNS name. */
  name: string;
  exposedPorts?: PortSet | null;
  portBindings?: PortMap | null;
  publishAll?: boolean;
  links?: LinkSpec[];
  macAddress?: string;
  driverOpts?: Record<string, string> | null;
}

const randomMac = (): string => {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
};

function nextIfname(eps: EndpointRecord[]): string {
  for (let i = 0; ; i++) if (!eps.some((e) => e.ifname === `eth${i}`)) return `eth${i}`;
}

function normPortKey(k: string): string {
  const [port, proto] = k.split('/');
  return `${port}/${(proto || 'tcp').toLowerCase()}`;
}

/** dockerd's endpoint settings checks (all reported at once); returns the port mapping requests. */
export function validateConnect(n: NetworkRecord, opts: ConnectOptions): PortRequest[] {
  const errs: string[] = [];
  if (!isUserDefined(n)) {
    if (opts.ipv4 || opts.ipv6) errs.push('user-specified IP address is supported on user-defined networks only');
    if (opts.aliases?.length) errs.push('network-scoped aliases are only supported for user-defined networks');
  }
  if (opts.ipv4 !== undefined && opts.ipv4 !== '') {
    const ip = parseIPv4(opts.ipv4);
    if (ip === undefined || ip === 0) errs.push(`invalid IPv4 address: ${opts.ipv4}`);
    else if (isUserDefined(n) && !contains(canonical(parseCIDR(n.pool!.subnet)!), ip)) {
      errs.push(`no configured subnet contains IP address ${opts.ipv4}`);
    }
  }
  if (opts.ipv6 !== undefined && opts.ipv6 !== '') {
    const ip = parseIPv6(opts.ipv6);
    // dockerd: IPv4 written as IPv6 (::ffff:a.b.c.d) and the unspecified address are not endpoint addresses.
    if (ip === undefined || ip === 0n || ip >> 32n === 0xffffn) errs.push(`invalid IPv6 address: ${opts.ipv6}`);
    else if (isUserDefined(n) && !(n.pool6 && contains6(canonical6(parseCIDR6(n.pool6.subnet)!), ip))) {
      errs.push(`no configured subnet contains IP address ${opts.ipv6}`);
    }
  }
  if (opts.macAddress && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(opts.macAddress)) errs.push(`invalid MAC address: ${opts.macAddress}`);
  if (errs.length) throw invalidParameter(`invalid endpoint settings:\n${errs.join('\n')}`);
  return portRequests(opts.exposedPorts, opts.portBindings, opts.publishAll ?? false);
}

/** The new endpoint's record, without its address (IPAM allocates it against the record's ID). */
export function newEndpoint(n: NetworkRecord, siblings: EndpointRecord[], containerId: string, opts: ConnectOptions): EndpointRecord {
  return {
    id: generateID(), networkId: n.id, containerId, name: opts.name,
    ifname: nextIfname(siblings), hostVeth: `veth${randomBytes(4).toString('hex').slice(0, 7)}`,
    mac: (opts.macAddress || randomMac()).toLowerCase(), ip: '',
    staticIp: opts.ipv4 || undefined,
    staticIp6: opts.ipv6 ? normalizeIPv6(opts.ipv6) ?? opts.ipv6 : undefined,
    aliases: [...(opts.aliases ?? [])],
    dnsNames: isUserDefined(n) ? [...new Set([opts.name, ...(opts.aliases ?? []), truncateID(containerId), opts.hostname].filter(Boolean))] : [],
    exposed: Object.keys({ ...(opts.exposedPorts ?? {}), ...(opts.portBindings ?? {}) }).map(normPortKey),
    ports: [], links: opts.links ?? [], hostname: opts.hostname, domainname: opts.domainname,
  };
}
