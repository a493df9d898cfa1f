// daemon.json, merged with the flags the way dockerd merges them: a directive given both ways is an error.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { errnoCode } from '../../pkg/errors.js';

export interface DaemonConfig {
  hosts: string[];
  'data-root': string;
  'exec-root': string;
  containerd?: string;
  pidfile: string;
  debug: boolean;
  'log-level': string;
  // Networking, as dockerd names them.
  bridge?: string;
  bip?: string;
  'default-address-pools'?: { base: string; size: number }[];
  'ip-masq'?: boolean;
  iptables?: boolean;
  icc?: boolean;
  mtu?: number;
  /** IPv6 on the default bridge, with the subnet of `fixed-cidr-v6` (or a unique local /64). */
  ipv6?: boolean;
  'fixed-cidr-v6'?: string;
  /** DNS servers, search domains and resolver options of containers (dockerd's `dns`, `dns-search`, `dns-opts`). */
  dns?: string[];
  'dns-search'?: string[];
  'dns-opts'?: string[];
  /** What `--add-host name:host-gateway` resolves to (default: the default bridge's gateway). */
  'host-gateway-ip'?: string;
  'host-gateway-ips'?: string[];
  /** Berth's own nftables table (default `berth`). */
  'firewall-table'?: string;
  // Runtime: the default log driver and its options, and whether containers outlive berthd.
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
  /** Containers keep running while berthd is down (default true; false: SIGTERM stops them). */
  'live-restore'?: boolean;
  /** Containers per containerd shim (0 or 1: a shim per container). */
  'shim-group-size'?: number;
  // The API's tcp listeners and unix sockets, as dockerd: TLS, client verification, socket group.
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  group?: string;
  /** User namespaces: `default` (the dockremap user) or user[:group] whose subordinate ranges map root. */
  'userns-remap'?: string;
  // Registries, as dockerd: Docker Hub mirrors, registries reached over HTTP or unverified TLS.
  'registry-mirrors'?: string[];
  'insecure-registries'?: string[];
}

const defaults: Omit<DaemonConfig, 'hosts'> = {
  'data-root': '/var/lib/berth',
  'exec-root': '/run/berth',
  pidfile: '/var/run/berthd.pid',
  debug: false,
  'log-level': 'info',
};

const flagToKey: Record<string, keyof DaemonConfig> = {
  host: 'hosts',
  dataRoot: 'data-root',
  execRoot: 'exec-root',
  containerd: 'containerd',
  pidfile: 'pidfile',
  debug: 'debug',
  logLevel: 'log-level',
  bridge: 'bridge',
  bip: 'bip',
  defaultAddressPool: 'default-address-pools',
  ipMasq: 'ip-masq',
  iptables: 'iptables',
  icc: 'icc',
  mtu: 'mtu',
  ipv6: 'ipv6',
  fixedCidrV6: 'fixed-cidr-v6',
  dns: 'dns',
  dnsSearch: 'dns-search',
  dnsOpt: 'dns-opts',
  hostGatewayIp: 'host-gateway-ips',
  firewallTable: 'firewall-table',
  logDriver: 'log-driver',
  logOpt: 'log-opts',
  liveRestore: 'live-restore',
  shimGroupSize: 'shim-group-size',
  tls: 'tls',
  tlsverify: 'tlsverify',
  tlscacert: 'tlscacert',
  tlscert: 'tlscert',
  tlskey: 'tlskey',
  group: 'group',
  usernsRemap: 'userns-remap',
  registryMirror: 'registry-mirrors',
  insecureRegistry: 'insecure-registries',
};

const known = new Set<string>([...Object.values(flagToKey), 'host-gateway-ip']);

export async function loadDaemonConfig(
  path: string,
  flags: Record<string, unknown>,
  explicitPath: boolean,
): Promise<DaemonConfig> {
  let file: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    file = parsed as Record<string, unknown>;
  } catch (err) {
    // A missing default file is fine; a missing explicit one, or a broken one, is not.
    if (!(errnoCode(err) === 'ENOENT' && !explicitPath)) {
      throw new Error(`unable to configure the Berth daemon with file ${path}: ${(err as Error).message}`);
    }
  }
  const unknown = Object.keys(file).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`the following directives don't match any configuration option: ${unknown.join(', ')}`);
  const conflicts: string[] = [];
  const cfg: Record<string, unknown> = { ...defaults, ...file };
  for (const [flag, key] of Object.entries(flagToKey)) {
    if (flags[flag] === undefined) continue;
    if (key in file) conflicts.push(`${key}: (from flag: ${String(flags[flag])}, from file: ${String(file[key])})`);
    cfg[key] = flags[flag];
  }
  if ('host-gateway-ip' in file) {
    if ('host-gateway-ips' in file) throw new Error('host-gateway-ip and host-gateway-ips must not both be specified in the config file');
    if (flags['hostGatewayIp'] !== undefined) {
      conflicts.push(`host-gateway-ip: (from flag: ${String(flags['hostGatewayIp'])}, from file: ${String(file['host-gateway-ip'])})`);
    }
  }
  if (conflicts.length) {
    throw new Error(`the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`);
  }
  validateDnsConfig(cfg as Partial<DaemonConfig>);
  const groupSize = cfg['shim-group-size'];
  if (groupSize !== undefined && !(typeof groupSize === 'number' && Number.isInteger(groupSize) && groupSize >= 0 && groupSize <= 1000)) {
    throw new Error(`invalid shim-group-size ${String(groupSize)}: want a whole number from 0 to 1000`);
  }
  // No host given: the unix socket, or with TLS on dockerd's tcp://localhost:2376.
  if (!Array.isArray(cfg['hosts']) || cfg['hosts'].length === 0) {
    cfg['hosts'] = cfg['tls'] === true || cfg['tlsverify'] !== undefined ? ['tcp://localhost:2376'] : ['unix:///var/run/berth.sock'];
  }
  return cfg as unknown as DaemonConfig;
}

// dockerd's opts.ValidateDNSSearch: a domain name (with at least one letter), or "." for none.
const domainRe = /^((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*)\.?\s*$/;

const validDomain = (v: string): boolean => {
  const m = domainRe.exec(v);
  return /[a-zA-Z]/.test(v) && m !== null && m[1].length < 255;
};

/**
 * The DNS settings and host gateway addresses, checked as dockerd checks them; the old single
 * `host-gateway-ip` key becomes `host-gateway-ips`.
 */
function validateDnsConfig(cfg: Partial<DaemonConfig>): void {
  const list = (key: 'dns' | 'dns-search' | 'dns-opts' | 'host-gateway-ips'): string[] => {
    const v = cfg[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new Error(`${key} must be a list of strings`);
    return v;
  };
  for (const ip of list('dns')) if (!isIP(ip)) throw new Error(`IP address is not correctly formatted: ${ip}`);
  for (const d of list('dns-search')) if (d.trim() !== '.' && !validDomain(d.trim())) throw new Error(`${d} is not a valid domain`);
  list('dns-opts');
  if (cfg['host-gateway-ip'] !== undefined) {
    cfg['host-gateway-ips'] = [String(cfg['host-gateway-ip'])];
    delete cfg['host-gateway-ip'];
  }
  let v4 = 0;
  let v6 = 0;
  for (const ip of list('host-gateway-ips')) {
    const family = isIP(ip);
    if (!family) throw new Error(`invalid host-gateway-ip ${ip}: IP address is not correctly formatted`);
    if (family === 4 && ++v4 > 1) throw new Error('only one IPv4 host gateway IP address can be specified');
    if (family === 6 && ++v6 > 1) throw new Error('only one IPv6 host gateway IP address can be specified');
  }
}
