// The network controller (dockerd's libnetwork.Controller + bridge driver, for Berth): networks and
// their Linux bridges, per-container sandboxes (named network namespaces), endpoints (veth pairs
// with IPAM addresses), published ports (nftables DNAT + the userland proxy), the embedded DNS
// server, and the state that lets all of it survive a berthd restart. See docs/networking.md.
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  BerthError, conflict, errnoCode, forbidden, invalidParameter, notFound, systemError,
} from '../pkg/errors.js';
import { Mutex } from '../pkg/mutex.js';
import { readJSON, writeJSONAtomic } from '../pkg/atomicfile.js';
import { generateID, truncateID } from '../pkg/stringid.js';
import { matchKVList, validateFilters, type Filters } from '../api/types/filters.js';
import { parseTimestamp } from '../pkg/timeutil.js';
import { matchLabelFilters } from '../pkg/labels.js';
import { canonical, contains, formatIPv4, formatPrefix, overlaps, parseCIDR, parseIPv4, type Prefix } from './ip.js';
import {
  AddressPool, choosePool, DEFAULT_ADDRESS_POOLS, errPoolOverlap, parseBip, validateIPAMConfig, validatePools,
  type AddressPoolSpec, type AddressPoolState,
} from './ipam.js';
import { Firewall, type FwNetwork, type FwPort } from './firewall.js';
import {
  createNetns, deleteLink, hostRoutes, ipBatch, linkExists, netnsMounted, readSysctl, removeNetns, writeSysctl,
} from './netlink.js';
import { portRequests, type PortRequest, type Proto } from './portspec.js';
import { startProxy, type Proxy } from './proxy.js';
import { aRecord, DnsServer, ptrRecord, TYPE_A, TYPE_AAAA, TYPE_PTR, type Question, type Resolution } from './dns.js';
import { openNamespaceSockets } from './nssockets.js';
import { buildResolvConf, EMBEDDED_DNS_IP, upstreamServers, type ResolvOverrides } from './resolvconf.js';
import type {
  EndpointResource, EndpointSettings, IPAMConfig, NetworkCreateRequest, NetworkResource, PortMap, PortSet,
} from './types.js';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';
export const OPT_DEFAULT_BRIDGE = 'com.docker.network.bridge.default_bridge';

const PREDEFINED = ['bridge', 'host', 'none', 'default'];

export interface NetworkControllerOptions {
  dataRoot: string;
  execRoot: string;
  logger: Logger;
  /** The default bridge's interface (dockerd: docker0). */
  bridgeName?: string;
  /** The default bridge's address and prefix, e.g. 10.200.0.1/24 (dockerd --bip). */
  bip?: string;
  defaultAddressPools?: AddressPoolSpec[];
  /** Outbound NAT for the default bridge (dockerd --ip-masq). */
  ipMasq?: boolean;
  /** Program Berth's firewall table at all (dockerd --iptables). */
  iptables?: boolean;
  /** Inter-container communication on the default bridge (dockerd --icc). */
  icc?: boolean;
  /** Default MTU of bridges and veths. */
  mtu?: number;
  /** nftables table name (default `berth`); tests use their own. */
  firewallTable?: string;
  /** Prefix of user-defined networks' bridges (default `br-`, + 12 hex digits of the network ID). */
  bridgePrefix?: string;
  /** Where the embedded DNS forwards unknown names (default: the host resolv.conf's nameservers). */
  dnsUpstreams?: string[];
  resolvConfPath?: string;
  onEvent?: (action: string, id: string, attrs: Record<string, string>) => void;
}

/** Options of a container's sandbox, fixed at createSandbox. */
export interface SandboxOptions extends ResolvOverrides {
  hostname?: string;
  domainname?: string;
}

export interface LinkSpec {
  /** The linked container's ID (it must be on the default bridge). */
  containerId: string;
  /** Its name, without the leading slash. */
  name: string;
  alias: string;
}

export interface ConnectOptions {
  aliases?: string[];
  ipv4?: string;
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

interface NetworkRecord {
  id: string;
  name: string;
  created: string;
  driver: 'bridge' | 'host' | 'null';
  predefined: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  /** The user's IPAM config (inspect echoes it, completed). */
  ipamUser: IPAMConfig[];
  bridge?: string;
  mtu?: number;
  icc?: boolean;
  masquerade?: boolean;
  hostBindingIp?: string;
  pool?: AddressPoolState;
}

interface PortMapping {
  proto: Proto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

interface EndpointRecord {
  id: string;
  networkId: string;
  containerId: string;
  name: string;
  ifname: string;
  hostVeth: string;
  mac: string;
  ip: string;
  staticIp?: string;
  aliases: string[];
  dnsNames: string[];
  exposed: string[];
  ports: PortMapping[];
  links: LinkSpec[];
  hostname: string;
  domainname?: string;
}

interface SandboxRecord {
  containerId: string;
  netnsPath: string;
  options: SandboxOptions;
  endpoints: EndpointRecord[];
  /** The endpoint that holds the default route. */
  gatewayEndpoint?: string;
  /** Where the embedded DNS forwards: learnt from the host's resolv.conf (or --dns). */
  upstreams?: string[];
}

interface State {
  version: 1;
  networks: NetworkRecord[];
  sandboxes: SandboxRecord[];
}

const parseBool = (v: string): boolean | undefined =>
  ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v) ? false : undefined;

const randomMac = (): string => {
  const b = randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
};

const validIfname = (s: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(s) && s !== '.' && s !== '..';

function shuffle<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export class NetworkController {
  private state: State = { version: 1, networks: [], sandboxes: [] };
  private readonly lock = new Mutex();
  private readonly proxies = new Map<string, Proxy[]>(); // endpoint ID → its proxies
  private readonly dns = new Map<string, DnsServer>(); // container ID → its DNS server
  private readonly firewall: Firewall;
  private ephemeral: [number, number] = [32768, 60999];
  private ephemeralNext = 0;
  private closed = false;

  private constructor(private readonly opts: NetworkControllerOptions) {
    this.firewall = new Firewall(opts.firewallTable ?? 'berth', opts.iptables ?? true);
  }

  private get logger(): Logger { return this.opts.logger; }
  private get statePath(): string { return join(this.opts.dataRoot, 'network', 'state.json'); }
  private get netnsDir(): string { return join(this.opts.execRoot, 'netns'); }

  /**
   * Loads the state (or creates the predefined networks `bridge`, `host`, `none`), brings every
   * bridge up and installs Berth's firewall table. Endpoints of the last run stay untouched until
   * `restore` says which containers are still running.
   */
  static async open(opts: NetworkControllerOptions): Promise<NetworkController> {
    validatePools(opts.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS);
    const c = new NetworkController(opts);
    await mkdir(join(opts.dataRoot, 'network'), { recursive: true, mode: 0o700 });
    await mkdir(c.netnsDir, { recursive: true, mode: 0o711 });
    const range = await readSysctl('/proc/sys/net/ipv4/ip_local_port_range');
    const m = range ? /^(\d+)\s+(\d+)$/.exec(range) : null;
    if (m) c.ephemeral = [Number(m[1]), Number(m[2])];
    c.ephemeralNext = c.ephemeral[0];
    const saved = await readJSON<State>(c.statePath);
    if (saved) c.state = saved;
    await c.lock.run(async () => {
      await c.ensurePredefined();
      for (const n of c.state.networks) if (n.driver === 'bridge') await c.ensureBridge(n);
      await c.applyFirewall();
      await c.save();
    });
    if ((await readSysctl('/proc/sys/net/ipv4/ip_forward')) === '0') {
      c.logger.info('enabling IPv4 forwarding (net.ipv4.ip_forward=1)');
      await writeSysctl('/proc/sys/net/ipv4/ip_forward', '1').catch((err) => c.logger.warn({ err }, 'cannot enable ip_forward'));
    }
    return c;
  }

  // ---------------------------------------------------------------------------------------------
  // State

  private async save(): Promise<void> {
    await writeJSONAtomic(this.statePath, this.state);
  }

  private event(action: string, n: NetworkRecord, extra: Record<string, string> = {}): void {
    this.opts.onEvent?.(action, n.id, { name: n.name, type: n.driver, ...extra });
  }

  private async ensurePredefined(): Promise<void> {
    const now = new Date().toISOString();
    const bridgeName = this.opts.bridgeName ?? 'berth0';
    let br = this.state.networks.find((n) => n.name === 'bridge' && n.predefined);
    const desired = await this.defaultBridgeSubnet(br);
    if (br && (br.bridge !== bridgeName || br.pool?.subnet !== formatPrefix(desired.subnet) || br.pool?.gateway !== desired.gateway)) {
      if (this.endpointsOf(br.id).length === 0) {
        await deleteLink(br.bridge!).catch(() => undefined);
        this.state.networks = this.state.networks.filter((n) => n !== br);
        br = undefined;
      } else {
        this.logger.warn('default bridge settings changed while containers are attached; keeping the old ones until they stop');
      }
    }
    if (!br) {
      const masq = this.opts.ipMasq ?? true;
      const icc = this.opts.icc ?? true;
      const mtu = this.opts.mtu ?? 1500;
      this.state.networks.unshift({
        id: generateID(), name: 'bridge', created: now, driver: 'bridge', predefined: true, internal: false, attachable: false,
        labels: {},
        options: {
          [OPT_DEFAULT_BRIDGE]: 'true', [OPT_ICC]: String(icc), [OPT_MASQ]: String(masq),
          [OPT_HOST_BINDING]: '0.0.0.0', [OPT_BRIDGE_NAME]: bridgeName, [OPT_MTU]: String(mtu),
        },
        ipamOptions: null, ipamUser: [], bridge: bridgeName, mtu, icc, masquerade: masq, hostBindingIp: '0.0.0.0',
        pool: AddressPool.create({ subnet: desired.subnet, gateway: desired.gateway }).state,
      });
    }
    for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
      if (this.state.networks.some((n) => n.name === name && n.predefined)) continue;
      this.state.networks.push({
        id: generateID(), name, created: now, driver, predefined: true, internal: false, attachable: false,
        labels: {}, options: {}, ipamOptions: null, ipamUser: [],
      });
    }
  }

  private async defaultBridgeSubnet(existing: NetworkRecord | undefined): Promise<{ subnet: Prefix; gateway: string }> {
    if (this.opts.bip) return parseBip(this.opts.bip);
    if (existing?.pool && existing.bridge === (this.opts.bridgeName ?? 'berth0')) {
      return { subnet: canonical(parseCIDR(existing.pool.subnet)!), gateway: existing.pool.gateway };
    }
    const subnet = await this.autoSubnet(existing ? [existing.id] : []);
    return { subnet, gateway: formatIPv4(subnet.addr + 1) };
  }

  private async autoSubnet(ignore: string[] = []): Promise<Prefix> {
    const inUse = this.state.networks
      .filter((n) => n.pool && !ignore.includes(n.id))
      .map((n) => canonical(parseCIDR(n.pool!.subnet)!));
    const ours = new Set(this.state.networks.map((n) => n.bridge).filter((b): b is string => !!b));
    const routes = await hostRoutes((dev) => ours.has(dev));
    return choosePool(this.opts.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS, inUse, routes);
  }

  private async ensureBridge(n: NetworkRecord): Promise<void> {
    const br = n.bridge!;
    const pool = new AddressPool(n.pool!);
    const lines: string[] = [];
    if (!(await linkExists(br))) lines.push(`link add name ${br} mtu ${n.mtu ?? 1500} type bridge`);
    lines.push(`link set dev ${br} mtu ${n.mtu ?? 1500}`);
    lines.push(`addr replace ${n.pool!.gateway}/${pool.prefixLen} dev ${br}`);
    lines.push(`link set dev ${br} up`);
    await ipBatch(lines);
  }

  private endpointsOf(networkId: string): EndpointRecord[] {
    return this.state.sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === networkId));
  }

  private async applyFirewall(): Promise<void> {
    const nets: FwNetwork[] = [];
    const ports: FwPort[] = [];
    for (const n of this.state.networks) {
      if (n.driver !== 'bridge') continue;
      nets.push({ bridge: n.bridge!, subnet: n.pool!.subnet, internal: n.internal, icc: n.icc ?? true, masquerade: n.masquerade ?? true });
    }
    for (const s of this.state.sandboxes) {
      for (const e of s.endpoints) {
        const n = this.networkById(e.networkId);
        if (!n) continue;
        for (const p of e.ports) {
          ports.push({ bridge: n.bridge!, proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: e.ip, containerPort: p.containerPort });
        }
      }
    }
    await this.firewall.apply(nets, ports);
  }

  private networkById(id: string): NetworkRecord | undefined {
    return this.state.networks.find((n) => n.id === id);
  }

  /** dockerd's FindNetwork: full ID, then exact name, then a unique ID prefix. */
  private find(term: string): NetworkRecord {
    const byId = this.state.networks.find((n) => n.id === term);
    if (byId) return byId;
    const byName = this.state.networks.filter((n) => n.name === term);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) throw invalidParameter(`network ${term} is ambiguous (${byName.length} matches found on name)`);
    const byPrefix = term ? this.state.networks.filter((n) => n.id.startsWith(term)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw invalidParameter(`network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${term} not found`);
  }

  private sandbox(containerId: string): SandboxRecord | undefined {
    return this.state.sandboxes.find((s) => s.containerId === containerId);
  }

  private isUserDefined(n: NetworkRecord): boolean {
    return n.driver === 'bridge' && !n.predefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Network API

  /** Resolves a name, ID or ID prefix to the network's ID and name (404 when there is none). */
  resolve(idOrName: string): { id: string; name: string; driver: string; predefined: boolean } {
    const n = this.find(idOrName);
    return { id: n.id, name: n.name, driver: n.driver, predefined: n.predefined };
  }

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    return this.lock.run(() => this.createLocked(req));
  }

  private async createLocked(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    const name = req.Name ?? '';
    if (PREDEFINED.includes(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
    if (name === '') throw invalidParameter('invalid name: name is empty');
    if (this.state.networks.some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
    const driver = req.Driver || 'bridge';
    if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
    if (req.Scope && req.Scope !== 'local') throw forbidden('cannot create a swarm scoped network when swarm is not active');
    if (req.ConfigOnly || req.ConfigFrom?.Network) throw invalidParameter('config-only networks are not supported');
    if (req.Ingress) throw forbidden('Ingress network can only be global scope network');
    if (req.EnableIPv6) throw invalidParameter('IPv6 networks are not supported by Berth');
    if (req.EnableIPv4 === false) throw invalidParameter('IPv4 cannot be disabled: Berth networks are IPv4-only');
    const ipamDriver = req.IPAM?.Driver || 'default';
    if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
    const cfgs = (req.IPAM?.Config ?? []).filter((c) => c && (c.Subnet || c.Gateway || c.IPRange || c.AuxiliaryAddresses));
    if (cfgs.some((c) => (c.Subnet ?? '').includes(':') || (c.Gateway ?? '').includes(':'))) {
      throw invalidParameter('IPv6 networks are not supported by Berth');
    }
    validateIPAMConfig(cfgs);
    if (cfgs.length > 1) throw forbidden(`bridge driver doesn't support multiple subnets`);

    const options: Record<string, string> = { ...(req.Options ?? {}) };
    const id = generateID();
    const bridge = options[OPT_BRIDGE_NAME] ?? `${this.opts.bridgePrefix ?? 'br-'}${id.slice(0, 12)}`;
    if (!validIfname(bridge)) throw invalidParameter(`invalid bridge name: ${bridge}`);
    const parseOptBool = (key: string, def: boolean): boolean => {
      if (options[key] === undefined) return def;
      const b = parseBool(options[key]);
      if (b === undefined) {
        throw invalidParameter(`failed to parse ${key} value: ${options[key]} (strconv.ParseBool: parsing "${options[key]}": invalid syntax)`);
      }
      return b;
    };
    const icc = parseOptBool(OPT_ICC, true);
    const masquerade = parseOptBool(OPT_MASQ, true);
    let mtu = this.opts.mtu ?? 1500;
    if (options[OPT_MTU] !== undefined) {
      if (!/^-?\d+$/.test(options[OPT_MTU])) {
        throw invalidParameter(`failed to parse ${OPT_MTU} value: ${options[OPT_MTU]} (strconv.Atoi: parsing "${options[OPT_MTU]}": invalid syntax)`);
      }
      mtu = Number(options[OPT_MTU]);
      if (mtu < 68 || mtu > 65535) throw invalidParameter(`invalid MTU number: ${mtu}`);
    }
    const hostBindingIp = options[OPT_HOST_BINDING] ?? '0.0.0.0';
    if (parseIPv4(hostBindingIp) === undefined) {
      throw invalidParameter(`failed to parse ${OPT_HOST_BINDING} value: ${hostBindingIp} (invalid IP address)`);
    }
    const clash = this.state.networks.find((n) => n.bridge === bridge);
    if (clash) {
      throw forbidden(`cannot create network ${id} (${bridge}): conflicts with network ${clash.id} (${clash.bridge}): networks have same bridge name`);
    }
    if (await linkExists(bridge)) throw forbidden(`cannot create network ${id} (${bridge}): an interface named ${bridge} already exists on the host`);

    // The subnet: the user's (not overlapping any other network) or one carved from the pools.
    let subnet: Prefix;
    const cfg = cfgs[0];
    if (cfg?.Subnet) {
      subnet = canonical(parseCIDR(cfg.Subnet)!);
      if (this.state.networks.some((n) => n.pool && overlaps(canonical(parseCIDR(n.pool.subnet)!), subnet))) throw errPoolOverlap();
    } else {
      subnet = await this.autoSubnet();
    }
    const pool = AddressPool.create({ subnet, gateway: cfg?.Gateway, ipRange: cfg?.IPRange, aux: cfg?.AuxiliaryAddresses });
    const rec: NetworkRecord = {
      id, name, created: new Date().toISOString(), driver: 'bridge', predefined: false,
      internal: req.Internal ?? false, attachable: req.Attachable ?? false,
      labels: { ...(req.Labels ?? {}) }, options, ipamOptions: req.IPAM?.Options ?? null,
      ipamUser: cfgs.map((c) => ({ ...c })),
      bridge, mtu, icc, masquerade, hostBindingIp, pool: pool.state,
    };
    this.state.networks.push(rec);
    try {
      await this.ensureBridge(rec);
      await this.applyFirewall();
      await this.save();
    } catch (err) {
      this.state.networks = this.state.networks.filter((n) => n !== rec);
      await deleteLink(bridge).catch(() => undefined);
      await this.applyFirewall().catch(() => undefined);
      throw err;
    }
    this.event('create', rec);
    return { Id: id, Warning: '' };
  }

  private view(n: NetworkRecord, withContainers: boolean): NetworkResource {
    const containers: Record<string, EndpointResource> = {};
    if (withContainers) {
      for (const e of this.endpointsOf(n.id)) {
        containers[e.containerId] = {
          Name: e.name, EndpointID: e.id, MacAddress: e.mac,
          IPv4Address: `${e.ip}/${new AddressPool(n.pool!).prefixLen}`, IPv6Address: '',
        };
      }
    }
    const config: IPAMConfig[] = [];
    if (n.pool) {
      const user = n.ipamUser[0] ?? {};
      const c: IPAMConfig = { Subnet: n.pool.subnet };
      if (user.IPRange) c.IPRange = user.IPRange;
      c.Gateway = n.pool.gateway;
      if (user.AuxiliaryAddresses && Object.keys(user.AuxiliaryAddresses).length) c.AuxiliaryAddresses = user.AuxiliaryAddresses;
      config.push(c);
    }
    return {
      Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver,
      EnableIPv4: n.driver === 'bridge', EnableIPv6: false,
      IPAM: { Driver: 'default', Options: n.ipamOptions, Config: config },
      Internal: n.internal, Attachable: n.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
      Containers: containers, Options: { ...n.options }, Labels: { ...n.labels },
    };
  }

  list(filters: Filters = new Map()): NetworkResource[] {
    validateFilters(filters, ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type']);
    for (const t of filters.get('type') ?? []) {
      if (t !== 'custom' && t !== 'builtin') throw invalidParameter(`invalid filter: 'type'='${t}'`);
    }
    let dangling: boolean | undefined;
    const dv = filters.get('dangling');
    if (dv && dv.length) {
      const b = dv.map((v) => parseBool(v));
      if (b.some((x) => x === undefined) || new Set(b).size > 1) throw invalidParameter(`invalid filter: 'dangling'='${dv.join(',')}'`);
      dangling = b[0];
    }
    const any = (key: string, pred: (v: string) => boolean): boolean => {
      const vs = filters.get(key);
      return !vs || vs.length === 0 || vs.some(pred);
    };
    return this.state.networks
      .filter((n) =>
        any('driver', (v) => v === n.driver) &&
        any('id', (v) => n.id.startsWith(v)) &&
        any('name', (v) => n.name.includes(v)) &&
        any('scope', (v) => v === 'local') &&
        any('type', (v) => (v === 'builtin') === n.predefined) &&
        matchKVList(filters, 'label', n.labels) &&
        (dangling === undefined || dangling === (!n.predefined && this.endpointsOf(n.id).length === 0)))
      .map((n) => this.view(n, false));
  }

  inspect(idOrName: string, opts: { verbose?: boolean; scope?: string } = {}): NetworkResource {
    const n = this.find(idOrName);
    if (opts.scope && opts.scope !== 'local') throw notFound(`network ${idOrName} not found`);
    return this.view(n, true);
  }

  async remove(idOrName: string): Promise<void> {
    await this.lock.run(async () => {
      const n = this.find(idOrName);
      if (n.predefined) throw forbidden(`${n.name} is a pre-defined network and cannot be removed`);
      const eps = this.endpointsOf(n.id);
      if (eps.length) {
        const list = eps.map((e) => `name:${JSON.stringify(e.name)} id:${JSON.stringify(truncateID(e.id))}`).join(', ');
        throw forbidden(`error while removing network: network ${n.name} has active endpoints (${list})`);
      }
      await this.removeNetworkLocked(n);
    });
  }

  private async removeNetworkLocked(n: NetworkRecord): Promise<void> {
    this.state.networks = this.state.networks.filter((x) => x !== n);
    await this.applyFirewall();
    if (n.bridge) await deleteLink(n.bridge);
    await this.save();
    this.event('destroy', n);
  }

  async prune(filters: Filters = new Map()): Promise<{ NetworksDeleted: string[] }> {
    validateFilters(filters, ['until', 'label', 'label!']);
    const until = (filters.get('until') ?? []).map((v) => {
      try {
        return parseTimestamp(v).getTime();
      } catch (err) {
        throw invalidParameter((err as Error).message);
      }
    });
    return this.lock.run(async () => {
      const deleted: string[] = [];
      for (const n of [...this.state.networks]) {
        if (n.predefined || this.endpointsOf(n.id).length) continue;
        if (until.some((u) => Date.parse(n.created) >= u)) continue;
        if (!matchLabelFilters(n.labels, filters)) continue;
        try {
          await this.removeNetworkLocked(n);
          deleted.push(n.name);
        } catch (err) {
          this.logger.warn({ err, network: n.name }, 'prune: could not remove network');
        }
      }
      return { NetworksDeleted: deleted };
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Container hooks

  /** A fresh network namespace for a container, bound at <execRoot>/netns/<id12>, loopback up. */
  async createSandbox(containerId: string, options: SandboxOptions = {}): Promise<{ netnsPath: string }> {
    return this.lock.run(async () => {
      const old = this.sandbox(containerId);
      if (old) await this.releaseLocked(old);
      const netnsPath = join(this.netnsDir, containerId.slice(0, 12));
      await removeNetns(netnsPath).catch(() => undefined);
      await createNetns(netnsPath);
      this.state.sandboxes.push({ containerId, netnsPath, options: { ...options }, endpoints: [] });
      try {
        await this.save();
      } catch (err) {
        this.state.sandboxes = this.state.sandboxes.filter((s) => s.containerId !== containerId);
        await removeNetns(netnsPath).catch(() => undefined);
        throw err;
      }
      return { netnsPath };
    });
  }

  /**
   * Attaches the sandbox to a bridge network: veth pair, address, default route (first
   * non-internal network), published ports, DNS. All or nothing.
   */
  async connect(containerId: string, netnsPath: string, network: string, opts: ConnectOptions): Promise<EndpointSettings> {
    return this.lock.run(() => this.connectLocked(containerId, netnsPath, network, opts));
  }

  private async connectLocked(containerId: string, netnsPath: string, network: string, opts: ConnectOptions): Promise<EndpointSettings> {
    const n = this.find(network);
    if (n.driver === 'host') throw forbidden('container cannot be disconnected from host network or connected to host network');
    if (n.driver === 'null') throw forbidden('container cannot be connected to the none network');
    let sb = this.sandbox(containerId);
    const implicit = !sb;
    if (!sb) {
      sb = { containerId, netnsPath, options: { hostname: opts.hostname, domainname: opts.domainname }, endpoints: [] };
      this.state.sandboxes.push(sb);
    }
    sb.netnsPath = netnsPath;
    if (sb.endpoints.some((e) => e.networkId === n.id)) {
      throw forbidden(`endpoint with name ${opts.name} already exists in network ${n.name}`);
    }
    const errs: string[] = [];
    if (!this.isUserDefined(n)) {
      if (opts.ipv4) errs.push('user-specified IP address is supported on user-defined networks only');
      if (opts.aliases?.length) errs.push('network-scoped aliases are only supported for user-defined networks');
    }
    if (opts.ipv4 !== undefined && opts.ipv4 !== '') {
      const ip = parseIPv4(opts.ipv4);
      if (ip === undefined || ip === 0) errs.push(`invalid IPv4 address: ${opts.ipv4}`);
      else if (this.isUserDefined(n) && !contains(canonical(parseCIDR(n.pool!.subnet)!), ip)) {
        errs.push(`no configured subnet contains IP address ${opts.ipv4}`);
      }
    }
    if (opts.macAddress && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(opts.macAddress)) errs.push(`invalid MAC address: ${opts.macAddress}`);
    if (errs.length) throw invalidParameter(`invalid endpoint settings:\n${errs.join('\n')}`);
    const requests = portRequests(opts.exposedPorts, opts.portBindings, opts.publishAll ?? false);

    const pool = new AddressPool(n.pool!);
    const id = generateID();
    const ep: EndpointRecord = {
      id, networkId: n.id, containerId, name: opts.name,
      ifname: nextIfname(sb.endpoints), hostVeth: `veth${randomBytes(4).toString('hex').slice(0, 7)}`,
      mac: (opts.macAddress || randomMac()).toLowerCase(), ip: '',
      staticIp: opts.ipv4 || undefined,
      aliases: [...(opts.aliases ?? [])],
      dnsNames: this.isUserDefined(n) ? dedup([opts.name, ...(opts.aliases ?? []), truncateID(containerId), opts.hostname].filter(Boolean)) : [],
      exposed: Object.keys({ ...(opts.exposedPorts ?? {}), ...(opts.portBindings ?? {}) }).map(normPortKey),
      ports: [], links: opts.links ?? [], hostname: opts.hostname, domainname: opts.domainname,
    };
    ep.ip = pool.allocate(id, opts.ipv4 || undefined);
    const sbRef = sb;
    let linked = false;
    try {
      const peer = `vb${randomBytes(4).toString('hex').slice(0, 7)}`;
      const mtu = n.mtu ?? 1500;
      await ipBatch([
        `link add name ${ep.hostVeth} mtu ${mtu} type veth peer name ${peer} mtu ${mtu} netns ${netnsPath}`,
        `link set dev ${ep.hostVeth} master ${n.bridge}`,
        `link set dev ${ep.hostVeth} up`,
      ]);
      linked = true;
      const gw = !n.internal && !sbRef.gatewayEndpoint;
      const lines = [
        `link set dev ${peer} name ${ep.ifname}`,
        `link set dev ${ep.ifname} address ${ep.mac}`,
        `addr add ${ep.ip}/${pool.prefixLen} dev ${ep.ifname}`,
        `link set dev ${ep.ifname} up`,
      ];
      if (gw) lines.push(`route replace default via ${n.pool!.gateway} dev ${ep.ifname}`);
      await ipBatch(lines, netnsPath);
      if (gw) sbRef.gatewayEndpoint = id;
      sbRef.endpoints.push(ep);
      await this.mapPorts(n, ep, requests);
      await this.applyFirewall();
      if (this.isUserDefined(n)) {
        sbRef.upstreams ??= upstreamServers(await readHostResolvConf(this.opts.resolvConfPath), sbRef.options);
        await this.ensureDns(sbRef);
      }
      await this.save();
    } catch (err) {
      await this.unmapPorts(ep);
      sbRef.endpoints = sbRef.endpoints.filter((e) => e !== ep);
      if (sbRef.gatewayEndpoint === id) sbRef.gatewayEndpoint = undefined;
      pool.release(ep.ip);
      if (linked) await deleteLink(ep.hostVeth).catch(() => undefined);
      await this.applyFirewall().catch(() => undefined);
      await this.stopDnsIfUnused(sbRef);
      if (implicit && sbRef.endpoints.length === 0) {
        // A namespace the daemon made itself (not via createSandbox): forget it again.
        this.state.sandboxes = this.state.sandboxes.filter((s) => s !== sbRef);
      }
      await this.save().catch(() => undefined);
      if (err instanceof BerthError && err.kind !== 'system') throw err;
      if (err instanceof BerthError && /^driver failed/.test(err.message)) throw err;
      throw systemError(`failed to create endpoint ${opts.name} on network ${n.name}: ${(err as Error).message}`, err);
    }
    this.event('connect', n, { container: containerId });
    return this.endpointSettings(n, ep);
  }

  private endpointSettings(n: NetworkRecord, ep: EndpointRecord): EndpointSettings {
    const pool = new AddressPool(n.pool!);
    return {
      IPAMConfig: ep.staticIp ? { IPv4Address: ep.staticIp } : null,
      Links: ep.links.length ? ep.links.map((l) => `${l.name}:${l.alias}`) : null,
      Aliases: ep.aliases.length ? [...ep.aliases] : null,
      MacAddress: ep.mac, DriverOpts: null, GwPriority: 0,
      NetworkID: n.id, EndpointID: ep.id, Gateway: n.pool!.gateway, IPAddress: ep.ip, IPPrefixLen: pool.prefixLen,
      IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0,
      DNSNames: ep.dnsNames.length ? [...ep.dnsNames] : null,
    };
  }

  /** Allocates host ports (binding each through the userland proxy) for an endpoint's requests. */
  private async mapPorts(n: NetworkRecord, ep: EndpointRecord, requests: PortRequest[]): Promise<void> {
    const proxies: Proxy[] = [];
    this.proxies.set(ep.id, proxies);
    for (const r of requests) {
      const hostIp = r.hostIp || n.hostBindingIp || '0.0.0.0';
      const candidates = r.hostPortStart === 0 ? this.ephemeralCandidates() : range(r.hostPortStart, r.hostPortEnd);
      const single = r.hostPortStart !== 0 && r.hostPortStart === r.hostPortEnd;
      let mapped: PortMapping | undefined;
      let lastErr: string | undefined;
      for (const port of candidates) {
        if (this.portTaken(r.proto, hostIp, port)) {
          lastErr = `Bind for ${hostIp}:${port} failed: port is already allocated`;
          if (single) break;
          continue;
        }
        try {
          const p = await startProxy({ proto: r.proto, hostIp, hostPort: port, containerIp: ep.ip, containerPort: r.containerPort });
          proxies.push(p);
          mapped = { proto: r.proto, containerPort: r.containerPort, hostIp, hostPort: port };
          break;
        } catch (err) {
          const code = errnoCode(err);
          lastErr = `failed to bind host port ${hostIp}:${port}/${r.proto}: ${code === 'EADDRINUSE' ? 'address already in use' : (err as Error).message}`;
          if (single || (code !== 'EADDRINUSE' && code !== 'EACCES')) break;
        }
      }
      if (!mapped) {
        if (!single && lastErr?.startsWith('Bind for')) lastErr = 'all ports are allocated';
        throw systemError(`driver failed programming external connectivity on endpoint ${ep.name} (${ep.id}): ${lastErr ?? 'all ports are allocated'}`);
      }
      if (r.hostPortStart === 0) this.ephemeralNext = mapped.hostPort + 1;
      ep.ports.push(mapped);
    }
  }

  private *ephemeralCandidates(): Generator<number> {
    const [lo, hi] = this.ephemeral;
    const n = hi - lo + 1;
    const start = this.ephemeralNext >= lo && this.ephemeralNext <= hi ? this.ephemeralNext - lo : 0;
    for (let i = 0; i < n; i++) yield lo + ((start + i) % n);
  }

  private portTaken(proto: Proto, ip: string, port: number): boolean {
    for (const s of this.state.sandboxes) {
      for (const e of s.endpoints) {
        for (const p of e.ports) {
          if (p.proto === proto && p.hostPort === port && (p.hostIp === ip || p.hostIp === '0.0.0.0' || ip === '0.0.0.0')) return true;
        }
      }
    }
    return false;
  }

  private async unmapPorts(ep: EndpointRecord): Promise<void> {
    const ps = this.proxies.get(ep.id) ?? [];
    this.proxies.delete(ep.id);
    await Promise.all(ps.map((p) => p.close().catch(() => undefined)));
  }

  private async ensureDns(sb: SandboxRecord): Promise<void> {
    if (this.dns.has(sb.containerId)) return;
    const { udp, tcp } = await openNamespaceSockets(sb.netnsPath, EMBEDDED_DNS_IP, 53);
    this.dns.set(sb.containerId, new DnsServer(udp, tcp, (q) => this.resolveQuery(sb.containerId, q)));
  }

  private async stopDnsIfUnused(sb: SandboxRecord): Promise<void> {
    const needed = sb.endpoints.some((e) => {
      const n = this.networkById(e.networkId);
      return n !== undefined && this.isUserDefined(n);
    });
    if (needed) return;
    const srv = this.dns.get(sb.containerId);
    this.dns.delete(sb.containerId);
    await srv?.close().catch(() => undefined);
  }

  /** The embedded DNS server's answer for one question from a container. */
  private resolveQuery(containerId: string, q: Question): Resolution {
    const sb = this.sandbox(containerId);
    if (!sb) return { kind: 'refused' };
    const nets = sb.endpoints
      .map((e) => this.networkById(e.networkId))
      .filter((n): n is NetworkRecord => n !== undefined && this.isUserDefined(n));
    const name = q.name.toLowerCase().replace(/\.$/, '');
    if (q.qtype === TYPE_A || q.qtype === TYPE_AAAA) {
      const ips: string[] = [];
      for (const n of nets) {
        for (const e of this.endpointsOf(n.id)) {
          if (e.dnsNames.some((d) => d.toLowerCase() === name || `${d}.${n.name}`.toLowerCase() === name)) ips.push(e.ip);
        }
      }
      if (ips.length) return { kind: 'answer', answers: q.qtype === TYPE_A ? shuffle(dedup(ips)).map(aRecord) : [] };
    } else if (q.qtype === TYPE_PTR && name.endsWith('.in-addr.arpa')) {
      const ip = name.slice(0, -'.in-addr.arpa'.length).split('.').reverse().join('.');
      for (const n of nets) {
        const e = this.endpointsOf(n.id).find((x) => x.ip === ip);
        if (e) return { kind: 'answer', answers: [ptrRecord(`${e.name}.${n.name}`)] };
      }
      const addr = parseIPv4(ip);
      if (addr !== undefined && nets.some((n) => contains(canonical(parseCIDR(n.pool!.subnet)!), addr))) return { kind: 'nxdomain' };
    }
    // Not ours: forwarded from berthd's namespace, unless every network of the container is internal.
    const external = sb.endpoints.some((e) => {
      const n = this.networkById(e.networkId);
      return n !== undefined && !n.internal;
    });
    if (!external) return { kind: 'refused' };
    const upstreams = (sb.options.dns?.length ? sb.options.dns : this.opts.dnsUpstreams ?? sb.upstreams ?? [])
      .filter((u) => !u.startsWith(EMBEDDED_DNS_IP));
    return upstreams.length ? { kind: 'forward', upstreams } : { kind: 'refused' };
  }

  async disconnect(containerId: string, network: string, force = false): Promise<void> {
    await this.lock.run(async () => {
      const n = this.find(network);
      const sb = this.sandbox(containerId);
      const ep = sb?.endpoints.find((e) => e.networkId === n.id);
      if (!sb || !ep) {
        if (force) return;
        throw forbidden(`container ${containerId} is not connected to the network ${n.name}`);
      }
      await this.teardownEndpoint(sb, ep);
      if (sb.gatewayEndpoint === ep.id) {
        sb.gatewayEndpoint = undefined;
        const next = sb.endpoints.find((e) => !this.networkById(e.networkId)?.internal);
        if (next) {
          const nn = this.networkById(next.networkId)!;
          await ipBatch([`route replace default via ${nn.pool!.gateway} dev ${next.ifname}`], sb.netnsPath)
            .then(() => { sb.gatewayEndpoint = next.id; })
            .catch((err) => this.logger.warn({ err, containerId }, 'cannot move the default route'));
        }
      }
      await this.stopDnsIfUnused(sb);
      await this.applyFirewall();
      await this.save();
      this.event('disconnect', n, { container: containerId });
    });
  }

  /** Removes an endpoint: proxies, veth (both ends go with the host side), address. */
  private async teardownEndpoint(sb: SandboxRecord, ep: EndpointRecord): Promise<void> {
    await this.unmapPorts(ep);
    await deleteLink(ep.hostVeth).catch((err) => this.logger.warn({ err, veth: ep.hostVeth }, 'deleting veth'));
    const n = this.networkById(ep.networkId);
    if (n?.pool) new AddressPool(n.pool).release(ep.ip);
    sb.endpoints = sb.endpoints.filter((e) => e !== ep);
  }

  /** Everything of a container's networking goes: endpoints, port mappings, proxies, DNS, netns. */
  async releaseSandbox(containerId: string): Promise<void> {
    await this.lock.run(async () => {
      const sb = this.sandbox(containerId);
      if (!sb) {
        await removeNetns(join(this.netnsDir, containerId.slice(0, 12))).catch(() => undefined);
        return;
      }
      await this.releaseLocked(sb);
      await this.applyFirewall();
      await this.save();
    });
  }

  private async releaseLocked(sb: SandboxRecord): Promise<void> {
    const srv = this.dns.get(sb.containerId);
    this.dns.delete(sb.containerId);
    await srv?.close().catch(() => undefined);
    for (const ep of [...sb.endpoints]) {
      const n = this.networkById(ep.networkId);
      await this.teardownEndpoint(sb, ep);
      if (n) this.event('disconnect', n, { container: sb.containerId });
    }
    if (sb.netnsPath.startsWith(this.netnsDir + '/')) await removeNetns(sb.netnsPath).catch((err) => this.logger.warn({ err }, 'removing netns'));
    this.state.sandboxes = this.state.sandboxes.filter((s) => s !== sb);
  }

  /**
   * After a berthd restart: sandboxes of running containers keep their endpoints, addresses and
   * port mappings (proxies and DNS listeners are reopened); every other sandbox is released.
   * Stray namespace files under <execRoot>/netns are removed.
   */
  async restore(running: { containerId: string; netnsPath: string }[]): Promise<void> {
    await this.lock.run(async () => {
      const live = new Map(running.map((r) => [r.containerId, r.netnsPath]));
      for (const sb of [...this.state.sandboxes]) {
        const path = live.get(sb.containerId);
        if (path === undefined || !(await netnsMounted(path))) {
          await this.releaseLocked(sb);
          continue;
        }
        sb.netnsPath = path;
        for (const ep of sb.endpoints) {
          const n = this.networkById(ep.networkId);
          if (!n) continue;
          const proxies: Proxy[] = [];
          this.proxies.set(ep.id, proxies);
          for (const p of ep.ports) {
            try {
              proxies.push(await startProxy({ ...p, containerIp: ep.ip }));
            } catch (err) {
              this.logger.warn({ err, port: p }, 'restore: cannot reopen the userland proxy');
            }
          }
        }
        try {
          if (sb.endpoints.some((e) => { const n = this.networkById(e.networkId); return n && this.isUserDefined(n); })) await this.ensureDns(sb);
        } catch (err) {
          this.logger.warn({ err, container: sb.containerId }, 'restore: cannot reopen the embedded DNS server');
        }
      }
      // Free addresses no endpoint owns any more (a crash between allocation and save).
      const owners = new Set(this.state.sandboxes.flatMap((s) => s.endpoints.map((e) => e.id)));
      for (const n of this.state.networks) if (n.pool) new AddressPool(n.pool).retain((o) => owners.has(o));
      const keep = new Set(this.state.sandboxes.map((s) => s.netnsPath));
      for (const f of await readdir(this.netnsDir).catch(() => [] as string[])) {
        const p = join(this.netnsDir, f);
        if (!keep.has(p)) await removeNetns(p).catch(() => undefined);
      }
      await this.applyFirewall();
      await this.save();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Views for the daemon

  /** Lines the container's /etc/hosts gets after the defaults: its own addresses, then links. */
  hostsEntries(containerId: string): string[] {
    const sb = this.sandbox(containerId);
    if (!sb) return [];
    const out: string[] = [];
    for (const ep of sb.endpoints) {
      const host = ep.hostname || sb.options.hostname || '';
      const dom = ep.domainname ?? sb.options.domainname;
      if (host) out.push(`${ep.ip}\t${dom ? `${host}.${dom} ${host}` : host}`);
    }
    for (const ep of sb.endpoints) {
      for (const l of ep.links) {
        const target = this.sandbox(l.containerId)?.endpoints.find((e) => e.networkId === ep.networkId);
        if (target) out.push(`${target.ip}\t${l.alias}${l.alias !== l.name ? ` ${l.name}` : ''} ${truncateID(l.containerId)}`);
      }
    }
    return out;
  }

  /** The container's /etc/resolv.conf, given the host's. */
  resolvConf(containerId: string, hostResolv: string): string {
    const sb = this.sandbox(containerId);
    const embedded = !!sb && sb.endpoints.some((e) => {
      const n = this.networkById(e.networkId);
      return n !== undefined && this.isUserDefined(n);
    });
    if (sb && embedded && !sb.upstreams) sb.upstreams = upstreamServers(hostResolv, sb.options);
    return buildResolvConf(hostResolv, embedded, sb?.options ?? {});
  }

  /** NetworkSettings pieces for container inspect: sandbox key, ports, and one entry per network. */
  containerNetworks(containerId: string): { SandboxKey: string; Ports: PortMap; Networks: Record<string, EndpointSettings> } | undefined {
    const sb = this.sandbox(containerId);
    if (!sb) return undefined;
    const ports: PortMap = {};
    const networks: Record<string, EndpointSettings> = {};
    for (const ep of sb.endpoints) {
      const n = this.networkById(ep.networkId);
      if (!n) continue;
      networks[n.name] = this.endpointSettings(n, ep);
      for (const k of ep.exposed) ports[k] ??= null;
      for (const p of ep.ports) {
        const k = `${p.containerPort}/${p.proto}`;
        (ports[k] ??= []);
        ports[k]!.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
      }
    }
    return { SandboxKey: sb.netnsPath, Ports: ports, Networks: networks };
  }

  /** Stops listeners (DNS, proxies) and leaves kernel state for live restore. */
  async close(): Promise<void> {
    await this.lock.run(async () => {
      if (this.closed) return;
      this.closed = true;
      for (const srv of this.dns.values()) await srv.close().catch(() => undefined);
      this.dns.clear();
      for (const id of [...this.proxies.keys()]) {
        const ps = this.proxies.get(id) ?? [];
        this.proxies.delete(id);
        await Promise.all(ps.map((p) => p.close().catch(() => undefined)));
      }
      await this.save().catch(() => undefined);
      // With no container left on a network, leave the host as it was: the bridges and the
      // firewall table come back from the saved state at the next start. Running containers
      // (live restore) keep theirs.
      if (this.state.sandboxes.length === 0) {
        for (const n of this.state.networks) if (n.bridge) await deleteLink(n.bridge).catch(() => undefined);
        await this.firewall.remove().catch(() => undefined);
      }
    });
  }

  /**
   * Removes everything Berth's networking made: sandboxes, every bridge (the default one too),
   * the firewall table and the state file. For tests and uninstalls, never on a normal exit.
   */
  async destroy(): Promise<void> {
    await this.lock.run(async () => {
      for (const sb of [...this.state.sandboxes]) await this.releaseLocked(sb).catch((err) => this.logger.warn({ err }, 'destroy: sandbox'));
      for (const n of [...this.state.networks]) if (n.bridge) await deleteLink(n.bridge).catch(() => undefined);
      this.state.networks = [];
      await this.firewall.remove();
      await this.save();
      this.closed = true;
    });
  }
}

function nextIfname(eps: EndpointRecord[]): string {
  for (let i = 0; ; i++) if (!eps.some((e) => e.ifname === `eth${i}`)) return `eth${i}`;
}

function dedup<T>(a: T[]): T[] {
  return [...new Set(a)];
}

function* range(a: number, b: number): Generator<number> {
  for (let i = a; i <= b; i++) yield i;
}

function normPortKey(k: string): string {
  const [port, proto] = k.split('/');
  return `${port}/${(proto || 'tcp').toLowerCase()}`;
}

/** Reads the host resolv.conf (for callers that have not got it already). */
export async function readHostResolvConf(path = '/etc/resolv.conf'): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}
