// The Engine API's view of networking, built from the network controller's records (as moby's
// daemon/network.go builds it from libnetwork's objects): network resources for list and inspect,
// the list and prune filters, and a container's endpoints for its NetworkSettings.
import { invalidParameter, notFound } from '../pkg/errors.js';
import { matchLabelFilters } from '../pkg/labels.js';
import { parseTimestamp } from '../pkg/timeutil.js';
import { matchKVList, validateFilters, type Filters } from '../api/types/filters.js';
import type { NetworkController } from '../network/controller.js';
import { AddressPool, type AddressPoolState } from '../network/ipam.js';
import { AddressPool6 } from '../network/ipam6.js';
import { parseBool } from '../network/networks.js';
import type { EndpointRecord, NetworkRecord } from '../network/store.js';
import type {
  EndpointResource, EndpointSettings, IPAMConfig, NetworkPruneReport, NetworkResource, PortMap,
} from '../api/types/network.js';

/** GET /networks/{id}'s shape; the containers' endpoints only for inspect. */
function networkResource(ctl: NetworkController, n: NetworkRecord, withContainers: boolean): NetworkResource {
  const containers: Record<string, EndpointResource> = {};
  if (withContainers) {
    for (const e of ctl.endpointsOf(n.id)) {
      containers[e.containerId] = {
        Name: e.name, EndpointID: e.id, MacAddress: e.mac,
        IPv4Address: `${e.ip}/${new AddressPool(n.pool!).prefixLen}`,
        IPv6Address: e.ip6 && n.pool6 ? `${e.ip6}/${new AddressPool6(n.pool6).prefixLen}` : '',
      };
    }
  }
  const config: IPAMConfig[] = [];
  const isV6 = (c: IPAMConfig): boolean => (c.Subnet ?? '').includes(':');
  const withUser = (pool: AddressPoolState, user: IPAMConfig): IPAMConfig => {
    const c: IPAMConfig = { Subnet: pool.subnet };
    if (user.IPRange) c.IPRange = user.IPRange;
    c.Gateway = pool.gateway;
    if (user.AuxiliaryAddresses && Object.keys(user.AuxiliaryAddresses).length) c.AuxiliaryAddresses = user.AuxiliaryAddresses;
    return c;
  };
  if (n.pool) config.push(withUser(n.pool, n.ipamUser.find((c) => !isV6(c)) ?? {}));
  // Without IPv6 an IPv6 config the user gave is not shown: dockerd lists allocated pools only.
  if (n.pool6) config.push(withUser(n.pool6, n.ipamUser.find(isV6) ?? {}));
  return {
    Name: n.name, Id: n.id, Created: n.created, Scope: 'local', Driver: n.driver,
    EnableIPv4: n.driver === 'bridge', EnableIPv6: !!n.pool6,
    IPAM: { Driver: 'default', Options: n.ipamOptions, Config: config },
    Internal: n.internal, Attachable: n.attachable, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false,
    Containers: containers, Options: { ...n.options }, Labels: { ...n.labels },
  };
}

/** GET /networks: `docker network ls --filter` (dangling, driver, id, label, name, scope, type). */
export function listNetworks(ctl: NetworkController, filters: Filters = new Map()): NetworkResource[] {
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
  return ctl.networks()
    .filter((n) =>
      any('driver', (v) => v === n.driver) &&
      any('id', (v) => n.id.startsWith(v)) &&
      any('name', (v) => n.name.includes(v)) &&
      any('scope', (v) => v === 'local') &&
      any('type', (v) => (v === 'builtin') === n.predefined) &&
      matchKVList(filters, 'label', n.labels) &&
      (dangling === undefined || dangling === (!n.predefined && ctl.endpointsOf(n.id).length === 0)))
    .map((n) => networkResource(ctl, n, false));
}

/** GET /networks/{id}: only local-scope networks exist. */
export function inspectNetwork(ctl: NetworkController, idOrName: string, opts: { verbose?: boolean; scope?: string } = {}): NetworkResource {
  const n = ctl.network(idOrName);
  if (opts.scope && opts.scope !== 'local') throw notFound(`network ${idOrName} not found`);
  return networkResource(ctl, n, true);
}

/** POST /networks/prune: unused user networks, narrowed by `until`, `label` and `label!`. */
export async function pruneNetworks(ctl: NetworkController, filters: Filters = new Map()): Promise<NetworkPruneReport> {
  validateFilters(filters, ['until', 'label', 'label!']);
  const until = (filters.get('until') ?? []).map((v) => {
    try {
      return parseTimestamp(v).getTime();
    } catch (err) {
      throw invalidParameter((err as Error).message);
    }
  });
  const deleted = await ctl.prune((n) => {
    if (until.some((u) => Date.parse(n.created) >= u)) return false;
    return matchLabelFilters(n.labels, filters);
  });
  return { NetworksDeleted: deleted };
}

/** A container's settings on one network, as NetworkSettings.Networks[name] shows them. */
function endpointSettings(n: NetworkRecord, ep: EndpointRecord): EndpointSettings {
  const pool = new AddressPool(n.pool!);
  return {
    IPAMConfig: ep.staticIp || ep.staticIp6
      ? { ...(ep.staticIp ? { IPv4Address: ep.staticIp } : {}), ...(ep.staticIp6 ? { IPv6Address: ep.staticIp6 } : {}) }
      : null,
    Links: ep.links.length ? ep.links.map((l) => `${l.name}:${l.alias}`) : null,
    Aliases: ep.aliases.length ? [...ep.aliases] : null,
    MacAddress: ep.mac, DriverOpts: null, GwPriority: 0,
    NetworkID: n.id, EndpointID: ep.id, Gateway: n.pool!.gateway, IPAddress: ep.ip, IPPrefixLen: pool.prefixLen,
    IPv6Gateway: ep.ip6 ? n.pool6?.gateway ?? '' : '',
    GlobalIPv6Address: ep.ip6 ?? '',
    GlobalIPv6PrefixLen: ep.ip6 && n.pool6 ? new AddressPool6(n.pool6).prefixLen : 0,
    DNSNames: ep.dnsNames.length ? [...ep.dnsNames] : null,
  };
}

/** NetworkSettings pieces for container inspect: sandbox key, ports, and one entry per network. */
export function containerNetworks(
  ctl: NetworkController, containerId: string,
): { SandboxKey: string; Ports: PortMap; Networks: Record<string, EndpointSettings> } | undefined {
  const sb = ctl.sandbox(containerId);
  if (!sb) return undefined;
  const ports: PortMap = {};
  const networks: Record<string, EndpointSettings> = {};
  for (const ep of sb.endpoints) {
    const n = ctl.networkById(ep.networkId);
    if (!n) continue;
    networks[n.name] = endpointSettings(n, ep);
    for (const k of ep.exposed) ports[k] ??= null;
    for (const p of ep.ports) {
      const k = `${p.containerPort}/${p.proto}`;
      (ports[k] ??= []);
      ports[k]!.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
    }
  }
  return { SandboxKey: sb.netnsPath, Ports: ports, Networks: networks };
}
