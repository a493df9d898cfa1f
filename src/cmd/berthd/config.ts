// daemon.json, merged with the flags the way dockerd merges them: a directive given both ways is an error.
import { readFile } from 'node:fs/promises';
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
  dns?: string[];
  /** Berth's own nftables table (default `berth`). */
  'firewall-table'?: string;
  // Runtime: the default log driver and its options, and whether containers outlive berthd.
  'log-driver'?: string;
  'log-opts'?: Record<string, string>;
  /** Containers keep running while berthd is down (default true; false: SIGTERM stops them). */
  'live-restore'?: boolean;
  // The API's tcp listeners and unix sockets, as dockerd: TLS, client verification, socket group.
  tls?: boolean;
  tlsverify?: boolean;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  group?: string;
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
  dns: 'dns',
  firewallTable: 'firewall-table',
  logDriver: 'log-driver',
  logOpt: 'log-opts',
  liveRestore: 'live-restore',
  tls: 'tls',
  tlsverify: 'tlsverify',
  tlscacert: 'tlscacert',
  tlscert: 'tlscert',
  tlskey: 'tlskey',
  group: 'group',
  registryMirror: 'registry-mirrors',
  insecureRegistry: 'insecure-registries',
};

const known = new Set<string>(Object.values(flagToKey));

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
  if (conflicts.length) {
    throw new Error(`the following directives are specified both as a flag and in the configuration file: ${conflicts.join(', ')}`);
  }
  // No host given: the unix socket, or with TLS on dockerd's tcp://localhost:2376.
  if (!Array.isArray(cfg['hosts']) || cfg['hosts'].length === 0) {
    cfg['hosts'] = cfg['tls'] === true || cfg['tlsverify'] !== undefined ? ['tcp://localhost:2376'] : ['unix:///var/run/berth.sock'];
  }
  return cfg as unknown as DaemonConfig;
}
