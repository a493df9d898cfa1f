// Networks as records: the predefined ones (bridge, host, none) and a user's bridge network built
// from a create request, with dockerd's validation and messages. Nothing here touches the host
// except the look at host routes and links that keeps new subnets and bridges from clashing.
import type { Logger } from 'pino';
import { conflict, forbidden, invalidParameter, notFound } from '../pkg/errors.js';
import { generateID } from '../pkg/stringid.js';
import { canonical, formatIPv4, formatPrefix, overlaps, parseCIDR, parseIPv4, type Prefix } from './ip.js';
import {
  AddressPool, choosePool, DEFAULT_ADDRESS_POOLS, errPoolOverlap, ipamConfigErrors, parseBip,
} from './ipam.js';
import { chooseULA64, ipamConfigErrors6, newPool6 } from './ipam6.js';
import { canonical6, formatPrefix6, parseCIDR6 } from './ip6.js';
import { deleteLink, hostRoutes, linkExists } from './netlink.js';
import {
  OPT_BRIDGE_NAME, OPT_DEFAULT_BRIDGE, OPT_HOST_BINDING, OPT_ICC, OPT_MASQ, OPT_MTU,
} from './bridge.js';
import type { NetworkControllerOptions } from './options.js';
import type { NetworkRecord, NetworkStore } from './store.js';
import type { NetworkCreateRequest } from '../api/types/network.js';

const PREDEFINED = ['bridge', 'host', 'none', 'default'];

/** Go's strconv.ParseBool: the spellings dockerd accepts for boolean options and filters. */
export const parseBool = (v: string): boolean | undefined =>
  ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v) ? true : ['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v) ? false : undefined;

const validIfname = (s: string): boolean => /^[A-Za-z0-9_.-]{1,15}$/.test(s) && s !== '.' && s !== '..';

/** A subnet from the default address pools that no network and no host route uses. */
async function autoSubnet(store: NetworkStore, opts: NetworkControllerOptions, ignore: string[] = []): Promise<Prefix> {
  const inUse = store.state.networks
    .filter((n) => n.pool && !ignore.includes(n.id))
    .map((n) => canonical(parseCIDR(n.pool!.subnet)!));
  const ours = new Set(store.state.networks.map((n) => n.bridge).filter((b): b is string => !!b));
  const routes = await hostRoutes((dev) => ours.has(dev));
  return choosePool(opts.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS, inUse, routes);
}

async function defaultBridgeSubnet(
  store: NetworkStore, opts: NetworkControllerOptions, existing: NetworkRecord | undefined,
): Promise<{ subnet: Prefix; gateway: string }> {
  if (opts.bip) return parseBip(opts.bip);
  if (existing?.pool && existing.bridge === (opts.bridgeName ?? 'berth0')) {
    return { subnet: canonical(parseCIDR(existing.pool.subnet)!), gateway: existing.pool.gateway };
  }
  const subnet = await autoSubnet(store, opts, existing ? [existing.id] : []);
  return { subnet, gateway: formatIPv4(subnet.addr + 1) };
}

/**
 * The default bridge's IPv6 subnet with --ipv6: --fixed-cidr-v6, else the unique local /64 it
 * already has, else a new one (dockerd 27+ no longer needs --fixed-cidr-v6).
 */
function defaultBridgeSubnet6(store: NetworkStore, opts: NetworkControllerOptions, existing: NetworkRecord | undefined): { subnet: string } | undefined {
  if (!opts.ipv6) return undefined;
  if (opts.fixedCidrV6) {
    const c = parseCIDR6(opts.fixedCidrV6);
    if (!c) throw invalidParameter(`invalid fixed-cidr-v6: ${opts.fixedCidrV6} is not a valid IPv6 CIDR address`);
    return { subnet: formatPrefix6(canonical6(c)) };
  }
  if (existing?.pool6) return { subnet: existing.pool6.subnet };
  return { subnet: formatPrefix6(chooseULA64(store.state.networks.filter((n) => n.pool6).map((n) => canonical6(parseCIDR6(n.pool6!.subnet)!)))) };
}

/**
 * The predefined networks exist: `bridge` (made again when its settings changed and no container
 * is on it), `host` and `none`.
 */
export async function ensurePredefined(store: NetworkStore, opts: NetworkControllerOptions, logger: Logger): Promise<void> {
  const now = new Date().toISOString();
  const bridgeName = opts.bridgeName ?? 'berth0';
  let br = store.state.networks.find((n) => n.name === 'bridge' && n.predefined);
  const desired = await defaultBridgeSubnet(store, opts, br);
  const desired6 = defaultBridgeSubnet6(store, opts, br);
  if (br && (br.bridge !== bridgeName || br.pool?.subnet !== formatPrefix(desired.subnet) || br.pool?.gateway !== desired.gateway ||
    br.pool6?.subnet !== desired6?.subnet)) {
    if (store.endpointsOf(br.id).length === 0) {
      await deleteLink(br.bridge!).catch(() => undefined);
      store.state.networks = store.state.networks.filter((n) => n !== br);
      br = undefined;
    } else {
      logger.warn('default bridge settings changed while containers are attached; keeping the old ones until they stop');
    }
  }
  if (!br) {
    const masq = opts.ipMasq ?? true;
    const icc = opts.icc ?? true;
    const mtu = opts.mtu ?? 1500;
    store.state.networks.unshift({
      id: generateID(), name: 'bridge', created: now, driver: 'bridge', predefined: true, internal: false, attachable: false,
      labels: {},
      options: {
        [OPT_DEFAULT_BRIDGE]: 'true', [OPT_ICC]: String(icc), [OPT_MASQ]: String(masq),
        [OPT_HOST_BINDING]: '0.0.0.0', [OPT_BRIDGE_NAME]: bridgeName, [OPT_MTU]: String(mtu),
      },
      ipamOptions: null, ipamUser: [], bridge: bridgeName, mtu, icc, masquerade: masq, hostBindingIp: '0.0.0.0',
      pool: AddressPool.create({ subnet: desired.subnet, gateway: desired.gateway }).state,
      pool6: desired6 ? newPool6({ Subnet: desired6.subnet }, store.state.networks.map((n) => n.pool6)).state : undefined,
    });
  }
  for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
    if (store.state.networks.some((n) => n.name === name && n.predefined)) continue;
    store.state.networks.push({
      id: generateID(), name, created: now, driver, predefined: true, internal: false, attachable: false,
      labels: {}, options: {}, ipamOptions: null, ipamUser: [],
    });
  }
}

/** Validates a create request and builds the new bridge network's record (not yet stored or made). */
export async function newBridgeNetwork(
  store: NetworkStore, opts: NetworkControllerOptions, req: NetworkCreateRequest,
): Promise<NetworkRecord> {
  const name = req.Name ?? '';
  if (PREDEFINED.includes(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
  if (name === '') throw invalidParameter('invalid name: name is empty');
  if (store.state.networks.some((n) => n.name === name)) throw conflict(`network with name ${name} already exists`);
  const driver = req.Driver || 'bridge';
  if (driver === 'host' || driver === 'null') throw forbidden(`only one instance of "${driver}" network is allowed`);
  if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
  if (req.Scope && req.Scope !== 'local') throw forbidden('cannot create a swarm scoped network when swarm is not active');
  if (req.ConfigOnly || req.ConfigFrom?.Network) throw invalidParameter('config-only networks are not supported');
  if (req.Ingress) throw forbidden('Ingress network can only be global scope network');
  if (req.EnableIPv4 === false) throw invalidParameter('IPv4 cannot be disabled: Berth networks always have IPv4');
  const enableIPv6 = req.EnableIPv6 === true;
  const ipamDriver = req.IPAM?.Driver || 'default';
  if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);
  const cfgs = (req.IPAM?.Config ?? []).filter((c) => c && (c.Subnet || c.Gateway || c.IPRange || c.AuxiliaryAddresses));
  // As dockerd: a config's family is its subnet's (IPv4 without one); IPv6 ones count only with EnableIPv6.
  const v4 = cfgs.filter((c) => !(c.Subnet ?? '').includes(':'));
  const v6 = enableIPv6 ? cfgs.filter((c) => (c.Subnet ?? '').includes(':')) : [];
  const errs = [...ipamConfigErrors(v4), ...v6.flatMap((c) => ipamConfigErrors6(c))];
  if (errs.length) throw invalidParameter(`invalid network config:\n${errs.join('\n')}`);
  if (v4.length > 1 || v6.length > 1) throw forbidden(`bridge driver doesn't support multiple subnets`);

  const options: Record<string, string> = { ...(req.Options ?? {}) };
  const id = generateID();
  const bridge = options[OPT_BRIDGE_NAME] ?? `${opts.bridgePrefix ?? 'br-'}${id.slice(0, 12)}`;
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
  let mtu = opts.mtu ?? 1500;
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
  const clash = store.state.networks.find((n) => n.bridge === bridge);
  if (clash) {
    throw forbidden(`cannot create network ${id} (${bridge}): conflicts with network ${clash.id} (${clash.bridge}): networks have same bridge name`);
  }
  if (await linkExists(bridge)) throw forbidden(`cannot create network ${id} (${bridge}): an interface named ${bridge} already exists on the host`);

  // The subnet: the user's (not overlapping any other network) or one carved from the pools.
  let subnet: Prefix;
  const cfg = v4[0];
  if (cfg?.Subnet) {
    subnet = canonical(parseCIDR(cfg.Subnet)!);
    if (store.state.networks.some((n) => n.pool && overlaps(canonical(parseCIDR(n.pool.subnet)!), subnet))) throw errPoolOverlap();
  } else {
    subnet = await autoSubnet(store, opts);
  }
  const pool = AddressPool.create({ subnet, gateway: cfg?.Gateway, ipRange: cfg?.IPRange, aux: cfg?.AuxiliaryAddresses });
  const pool6 = enableIPv6 ? newPool6(v6[0], store.state.networks.map((n) => n.pool6)).state : undefined;
  return {
    id, name, created: new Date().toISOString(), driver: 'bridge', predefined: false,
    internal: req.Internal ?? false, attachable: req.Attachable ?? false,
    labels: { ...(req.Labels ?? {}) }, options, ipamOptions: req.IPAM?.Options ?? null,
    ipamUser: cfgs.map((c) => ({ ...c })),
    bridge, mtu, icc, masquerade, hostBindingIp, pool: pool.state, pool6,
  };
}
