// The daemon's side of networking: what create, start, exit, rm, inspect/ps, restore and
// `docker network connect/disconnect` ask of the NetworkController (src/network/controller.ts).
// The API's views of networks are in networkviews.ts; the /networks routes' backend in networkbackend.ts.
// See docs/networking.md ("What the daemon calls, and when").
import { writeFile } from 'node:fs/promises';
import type { Container } from '../container/container.js';
import { NetworkController } from '../network/controller.js';
import type { NetworkControllerOptions } from '../network/options.js';
import { readHostResolvConf } from '../network/resolver.js';
import type { LinkSpec } from '../network/store.js';
import type { ResolvOverrides } from '../network/resolvconf.js';
import { validatePortBindings } from '../network/portspec.js';
import type { EndpointSettings, PortMap } from '../api/types/network.js';
import { conflict, forbidden, invalidParameter, isKind, notFound } from '../pkg/errors.js';
import { writeFileAtomic } from '../pkg/atomicfile.js';
import { defaultHosts, extraHostsLines } from './netfiles.js';
import { containerNetworks } from './networkviews.js';
import type { Daemon } from './daemon.js';

/** berthd's networking settings (flags / daemon.json, dockerd's names), as the controller takes them. */
export type NetworkDaemonOptions = Pick<
  NetworkControllerOptions,
  'bridgeName' | 'bip' | 'defaultAddressPools' | 'ipMasq' | 'iptables' | 'icc' | 'mtu' | 'firewallTable' | 'ipv6' | 'fixedCidrV6'
> & {
  /** The daemon's `dns`, `dns-search`, `dns-opts`: each applies to containers that do not set their own. */
  dns?: ResolvOverrides;
  /** `host-gateway-ips`: what `--add-host name:host-gateway` resolves to (default: the default bridge's gateways). */
  hostGatewayIps?: string[];
};

/** A container's configured networks (dockerd keeps them in NetworkSettings.Networks). */
export type ConfiguredNetworks = Record<string, Partial<EndpointSettings>>;

export async function openNetworks(d: Daemon, o: NetworkDaemonOptions): Promise<NetworkController> {
  return NetworkController.open({
    dataRoot: d.opts.dataRoot,
    execRoot: d.opts.execRoot,
    logger: d.logger.child({ module: 'network' }),
    bridgeName: o.bridgeName,
    bip: o.bip,
    defaultAddressPools: o.defaultAddressPools,
    ipMasq: o.ipMasq,
    iptables: o.iptables,
    icc: o.icc,
    mtu: o.mtu,
    ipv6: o.ipv6,
    fixedCidrV6: o.fixedCidrV6,
    firewallTable: o.firewallTable,
    onEvent: (action, id, attrs) => d.events.publish({ Type: 'network', Action: action, Actor: { ID: id, Attributes: attrs } }),
  });
}

const bridgeLike = (mode: string): boolean => mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');

/**
 * Create-time: port bindings are checked, and the networks the container will join are recorded
 * (NetworkMode first, then the other EndpointsConfig entries), by their canonical names. An
 * unknown network is not an error here (dockerd fails the start instead).
 */
export function configureNetworks(
  d: Daemon,
  c: Container,
  endpointsConfig: Record<string, Partial<EndpointSettings> | null> | null | undefined,
): void {
  const h = c.hostConfig;
  validatePortBindings(h.PortBindings as PortMap | null);
  const mode = h.NetworkMode;
  const nets: ConfiguredNetworks = {};
  if (mode.startsWith('container:')) {
    c.record.NetworkSettings = { SandboxKey: '', Networks: nets };
    return;
  }
  const canonical = (name: string): string => {
    if (name === 'default') return 'bridge';
    try {
      return d.networks.resolve(name).name;
    } catch {
      return name;
    }
  };
  const cfgs = endpointsConfig ?? {};
  const primary = canonical(mode);
  const own = cfgs[mode] ?? cfgs[primary] ?? {};
  nets[primary] = endpointConfig(own);
  if (bridgeLike(mode)) {
    for (const [name, cfg] of Object.entries(cfgs)) {
      if (name === mode || name === primary) continue;
      nets[canonical(name)] = endpointConfig(cfg ?? {});
    }
  }
  if (!bridgeLike(mode) && Object.keys(cfgs).some((k) => k !== mode && k !== primary)) {
    throw invalidParameter(`conflicting options: cannot attach both user-defined and non-user-defined network-modes`);
  }
  c.record.NetworkSettings = { SandboxKey: '', Networks: nets };
}

/**
 * A container's DNS settings, as dockerd's buildSandboxOptions picks them: its own servers, search
 * domains and options where it has them, the daemon's for each it has not.
 */
export function containerDns(d: Daemon, c: Container): ResolvOverrides {
  const h = c.hostConfig;
  const daemon = d.opts.network?.dns ?? {};
  const pick = (own: string[] | null | undefined, def: string[] | undefined): string[] => (own?.length ? own : def ?? []);
  return {
    dns: pick(h.Dns, daemon.dns),
    dnsSearch: pick(h.DnsSearch, daemon.dnsSearch),
    dnsOptions: pick(h.DnsOptions, daemon.dnsOptions),
  };
}

/**
 * What `--add-host name:host-gateway` stands for: the daemon's host-gateway-ips, else the default
 * bridge's gateway addresses (dockerd's setHostGatewayIP).
 */
export function hostGatewayIps(d: Daemon): string[] {
  const configured = d.opts.network?.hostGatewayIps ?? [];
  if (configured.length) return configured;
  return d.networks?.defaultGateways() ?? [];
}

/** The user-given part of an endpoint's settings. */
function endpointConfig(cfg: Partial<EndpointSettings>): Partial<EndpointSettings> {
  const out: Partial<EndpointSettings> = {};
  if (cfg.IPAMConfig && (cfg.IPAMConfig.IPv4Address || cfg.IPAMConfig.IPv6Address)) out.IPAMConfig = { ...cfg.IPAMConfig };
  if (cfg.Aliases?.length) out.Aliases = [...cfg.Aliases];
  if (cfg.Links?.length) out.Links = [...cfg.Links];
  if (cfg.MacAddress) out.MacAddress = cfg.MacAddress;
  if (cfg.DriverOpts && Object.keys(cfg.DriverOpts).length) out.DriverOpts = { ...cfg.DriverOpts };
  return out;
}

export function configuredNetworks(c: Container): ConfiguredNetworks {
  const nets = c.record.NetworkSettings?.Networks;
  if (nets) return nets;
  const mode = c.hostConfig.NetworkMode;
  return mode.startsWith('container:') ? {} : { [mode]: {} };
}

/** The legacy links (`name:alias`) of a container on the default bridge, resolved to running containers. */
function linkSpecs(d: Daemon, c: Container): LinkSpec[] {
  const out: LinkSpec[] = [];
  for (const l of c.hostConfig.Links ?? []) {
    const i = l.indexOf(':');
    const target = (i < 0 ? l : l.slice(0, i)).replace(/^\//, '');
    const alias = linkAlias(l);
    const peer = d.containers.find(target);
    if (!peer) throw notFound(`could not get container for ${target}`);
    if (!peer.running) throw invalidParameter(`cannot link to a non running container: ${peer.name} AS ${c.name}/${alias}`);
    out.push({ containerId: peer.id, name: peer.name.slice(1), alias });
  }
  return out;
}

/**
 * The environment legacy links give a container, as dockerd's links package builds it:
 * ALIAS_NAME, ALIAS_ENV_<var> for the peer's environment, and ALIAS_PORT… for its exposed ports.
 */
export function linkEnv(d: Daemon, c: Container): string[] {
  if (c.hostConfig.NetworkMode !== 'bridge' || !c.hostConfig.Links?.length) return [];
  const env: string[] = [];
  for (const link of linkSpecs(d, c)) {
    const peer = d.containers.get(link.containerId);
    const prefix = link.alias.toUpperCase().replace(/-/g, '_');
    const ip = (d.networks ? containerNetworks(d.networks, peer.id) : undefined)?.Networks['bridge']?.IPAddress ?? '';
    const ports = Object.keys(peer.record.Config.ExposedPorts ?? {})
      .map((k) => { const [port, proto = 'tcp'] = k.split('/'); return { port: Number(port), proto }; })
      .sort((a, b) => a.port - b.port || a.proto.localeCompare(b.proto));
    if (ports.length > 0) env.push(`${prefix}_PORT=${ports[0].proto}://${ip}:${ports[0].port}`);
    for (const { port, proto } of ports) {
      const key = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
      env.push(`${key}=${proto}://${ip}:${port}`, `${key}_ADDR=${ip}`, `${key}_PORT=${port}`, `${key}_PROTO=${proto}`);
    }
    env.push(`${prefix}_NAME=${c.name}/${link.alias}`);
    for (const v of peer.record.Config.Env ?? []) {
      const i = v.indexOf('=');
      const key = v.slice(0, i);
      if (i > 0 && key !== 'HOME' && key !== 'PATH') env.push(`${prefix}_ENV_${key}=${v.slice(i + 1)}`);
    }
  }
  return env;
}

function connectOptions(c: Container, cfg: Partial<EndpointSettings>) {
  const rc = c.record.Config;
  return {
    name: c.name.slice(1),
    hostname: rc.Hostname,
    domainname: rc.Domainname || undefined,
    aliases: cfg.Aliases ?? undefined,
    ipv4: cfg.IPAMConfig?.IPv4Address || undefined,
    ipv6: cfg.IPAMConfig?.IPv6Address || undefined,
    macAddress: cfg.MacAddress || undefined,
    driverOpts: cfg.DriverOpts ?? null,
  };
}

export type NetworkOption = { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };

/**
 * Start-time, before the spec is built: for bridge-like modes a sandbox is created and attached
 * to every configured network (ports and links on the NetworkMode network only), and the hosts
 * and resolv.conf files are rewritten. On failure everything is released.
 */
export async function setupNetworking(d: Daemon, c: Container): Promise<NetworkOption> {
  const h = c.hostConfig;
  const mode = h.NetworkMode;
  if (mode === 'host') return { mode: 'host' };
  if (mode.startsWith('container:')) {
    const peer = d.containers.get(mode.slice('container:'.length));
    if (!peer.running) throw conflict(`cannot join network namespace of a non running container: container ${peer.id} is not running`);
    return { mode: 'path', path: `/proc/${peer.state.Pid}/ns/net` };
  }
  if (mode === 'none') return { mode: 'new' };
  let nets = configuredNetworks(c);
  if (Object.keys(nets).length === 0) nets = { [mode]: {} };
  // Unknown networks fail the start (404), before anything is made.
  const resolved = Object.keys(nets).map((name) => ({ name, net: d.networks.resolve(name) }));
  for (const r of resolved) {
    if (r.net.driver === 'host' || r.net.driver === 'null') {
      throw invalidParameter(`conflicting options: cannot attach both user-defined and non-user-defined network-modes`);
    }
  }
  const cfg = c.record.Config;
  const { netnsPath } = await d.networks.createSandbox(c.id, {
    hostname: cfg.Hostname,
    domainname: cfg.Domainname || undefined,
    ...containerDns(d, c),
  }, h.UsernsMode === 'host' ? undefined : d.opts.idMap);
  try {
    const primary = d.networks.resolve(mode).id;
    // The NetworkMode network first (it gets the default route), with the ports and links.
    const ordered = [...resolved].sort((a, b) => Number(b.net.id === primary) - Number(a.net.id === primary));
    for (const { name, net } of ordered) {
      const isPrimary = net.id === primary;
      await d.networks.connect(c.id, netnsPath, net.id, {
        ...connectOptions(c, nets[name]),
        ...(isPrimary
          ? {
              exposedPorts: cfg.ExposedPorts ?? null,
              portBindings: h.PortBindings as PortMap | null,
              publishAll: h.PublishAllPorts,
              links: net.name === 'bridge' ? linkSpecs(d, c) : [],
            }
          : {}),
      });
    }
    await writeNetworkFilesFor(d, c);
    c.record.NetworkSettings = { ...(c.record.NetworkSettings ?? { Networks: nets }), SandboxKey: netnsPath };
  } catch (err) {
    await d.networks.releaseSandbox(c.id).catch((e) => d.logger.warn({ err: e, id: c.id }, 'releasing sandbox after a failed start'));
    throw err;
  }
  return { mode: 'path', path: netnsPath };
}

/** /etc/hosts (defaults, extra hosts, the container's addresses, links) and /etc/resolv.conf. */
export async function writeNetworkFilesFor(d: Daemon, c: Container): Promise<void> {
  const h = c.hostConfig;
  let hosts = defaultHosts.join('\n') + '\n';
  for (const line of extraHostsLines(h.ExtraHosts, hostGatewayIps(d))) hosts += `${line}\n`;
  for (const line of d.networks.hostsEntries(c.id)) hosts += `${line}\n`;
  // A running container has these files bind-mounted: a rename would leave it the old inode,
  // so they change in place (as dockerd's etchosts does); before a start, atomically.
  const write = c.running ? (path: string, data: string) => writeFile(path, data) : (path: string, data: string) => writeFileAtomic(path, data, 0o644);
  await write(c.record.HostsPath, hosts);
  await write(c.record.ResolvConfPath, d.networks.resolvConf(c.id, await readHostResolvConf()));
}

/** After the task is gone (exit, stop, kill) and on rm: the sandbox goes. Never throws. */
export async function releaseNetworking(d: Daemon, c: Container): Promise<void> {
  if (!d.networks) return;
  await d.networks.releaseSandbox(c.id).catch((err) => d.logger.warn({ err, id: c.id }, 'releasing network sandbox'));
  if (c.record.NetworkSettings) c.record.NetworkSettings.SandboxKey = '';
}

/** berthd start-up, after the containers are restored: running ones keep their endpoints. */
export async function restoreNetworking(d: Daemon): Promise<void> {
  const running = d.containers.all()
    .filter((c) => c.running && c.record.NetworkSettings?.SandboxKey)
    .map((c) => ({ containerId: c.id, netnsPath: c.record.NetworkSettings!.SandboxKey! }));
  await d.networks.restore(running);
}

const emptyEndpoint = (): EndpointSettings => ({
  IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0, NetworkID: '', EndpointID: '',
  Gateway: '', IPAddress: '', IPPrefixLen: 0, IPv6Gateway: '', GlobalIPv6Address: '', GlobalIPv6PrefixLen: 0, DNSNames: null,
});

/** NetworkSettings for inspect (full) and ps (Networks only), as dockerd shows them. */
export function networkSettingsView(d: Daemon, c: Container, forList: boolean): Record<string, unknown> {
  const live = c.running && d.networks ? containerNetworks(d.networks, c.id) : undefined;
  const networks: Record<string, EndpointSettings> = {};
  for (const [name, cfg] of Object.entries(configuredNetworks(c))) {
    let netId = '';
    try {
      netId = d.networks?.resolve(name).id ?? '';
    } catch {
      // removed meanwhile
    }
    networks[name] = live?.Networks[name] ?? {
      ...emptyEndpoint(),
      IPAMConfig: cfg.IPAMConfig ?? null,
      Links: cfg.Links ?? null,
      Aliases: cfg.Aliases ?? null,
      MacAddress: cfg.MacAddress ?? '',
      DriverOpts: cfg.DriverOpts ?? null,
      NetworkID: c.running ? netId : '',
    };
  }
  for (const [name, ep] of Object.entries(live?.Networks ?? {})) networks[name] ??= ep;
  if (forList) return { Networks: networks };
  const br = networks['bridge'];
  const ports: PortMap = live?.Ports ?? {};
  return {
    Bridge: '', SandboxID: live ? c.id : '', SandboxKey: live?.SandboxKey ?? '', Ports: ports,
    HairpinMode: false, LinkLocalIPv6Address: '', LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null, SecondaryIPv6Addresses: null,
    EndpointID: br?.EndpointID ?? '', Gateway: br?.Gateway ?? '',
    GlobalIPv6Address: br?.GlobalIPv6Address ?? '', GlobalIPv6PrefixLen: br?.GlobalIPv6PrefixLen ?? 0,
    IPAddress: br?.IPAddress ?? '', IPPrefixLen: br?.IPPrefixLen ?? 0, IPv6Gateway: br?.IPv6Gateway ?? '', MacAddress: br?.MacAddress ?? '',
    Networks: networks,
  };
}

/** The `Ports` of docker ps: published bindings, then exposed ports without one. */
export function listPorts(d: Daemon, c: Container): { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] {
  const live = c.running && d.networks ? containerNetworks(d.networks, c.id) : undefined;
  const out: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  const ports = live?.Ports ?? Object.fromEntries(Object.keys(c.record.Config.ExposedPorts ?? {}).map((k) => [k, null]));
  for (const [key, bindings] of Object.entries(ports)) {
    const [p, proto = 'tcp'] = key.split('/');
    if (!bindings?.length) {
      out.push({ PrivatePort: Number(p), Type: proto });
      continue;
    }
    for (const b of bindings) out.push({ IP: b.HostIp || '0.0.0.0', PrivatePort: Number(p), PublicPort: Number(b.HostPort), Type: proto });
  }
  return out;
}

/** The `network` filter of docker ps: a network name or ID (prefix) the container is on. */
export function onNetwork(d: Daemon, c: Container, values: string[]): boolean {
  const names = Object.keys(configuredNetworks(c));
  const ids = names.map((n) => {
    try {
      return d.networks?.resolve(n).id ?? '';
    } catch {
      return '';
    }
  });
  return values.some((v) => names.includes(v) || ids.some((id) => id !== '' && id.startsWith(v)));
}

/** The alias a legacy link entry (`name[:alias]`) gives its peer. */
function linkAlias(link: string): string {
  const i = link.indexOf(':');
  return (i < 0 ? link.replace(/^\//, '') : link.slice(i + 1)).split('/').pop()!;
}

/**
 * `docker rm --link /parent/alias` (dockerd's rmLink): the parent loses the link, at once in its
 * /etc/hosts when it runs, and in its configuration for the next start.
 */
export async function removeLink(d: Daemon, linkName: string): Promise<void> {
  const name = linkName.replace(/^\/+/, '');
  const slash = name.lastIndexOf('/');
  if (slash < 0) throw conflict('Conflict, cannot remove the default link name of the container');
  const alias = name.slice(slash + 1);
  const parent = d.containers.find(name.slice(0, slash));
  if (!parent?.hostConfig.Links?.some((l) => linkAlias(l) === alias)) throw notFound(`No such container: ${linkName}`);
  await parent.lock.run(async () => {
    parent.hostConfig.Links = parent.hostConfig.Links!.filter((l) => linkAlias(l) !== alias);
    if (parent.running && d.networks) {
      await d.networks.unlink(parent.id, alias);
      await writeNetworkFilesFor(d, parent);
    }
    await parent.save();
  });
}

/** `docker network connect`: a running container is attached at once, a stopped one only configured. */
export async function connectContainer(
  d: Daemon, idOrName: string, network: { id: string; name: string }, config: Partial<EndpointSettings>,
): Promise<void> {
  const c = d.containers.get(idOrName);
  await c.lock.run(async () => {
    const mode = c.hostConfig.NetworkMode;
    if (!bridgeLike(mode)) {
      throw forbidden(mode.startsWith('container:')
        ? 'container sharing network namespace with another container or host cannot be connected to any other network'
        : `container cannot be disconnected from host network or connected to host network`);
    }
    const nets = { ...configuredNetworks(c) };
    const cfg = endpointConfig(config);
    if (c.running) {
      const netnsPath = c.record.NetworkSettings?.SandboxKey;
      if (!netnsPath) throw conflict(`container ${c.id} has no network sandbox`);
      await d.networks.connect(c.id, netnsPath, network.id, connectOptions(c, cfg));
      nets[network.name] = cfg;
      c.record.NetworkSettings = { SandboxKey: netnsPath, Networks: nets };
      await writeNetworkFilesFor(d, c);
    } else {
      if (nets[network.name]) throw forbidden(`endpoint with name ${c.name.slice(1)} already exists in network ${network.name}`);
      nets[network.name] = cfg;
      c.record.NetworkSettings = { SandboxKey: '', Networks: nets };
    }
    await c.save();
  });
}

/** `docker network disconnect`: a running container is detached at once, a stopped one only configured. */
export async function disconnectContainer(
  d: Daemon, idOrName: string, network: { id: string; name: string }, force: boolean,
): Promise<void> {
  const c = d.containers.find(idOrName);
  if (!c) {
    // dockerd: a forced disconnect of a container that is gone cleans the endpoint up.
    if (force) return;
    throw notFound(`No such container: ${idOrName}`);
  }
  await c.lock.run(async () => {
    const mode = c.hostConfig.NetworkMode;
    if (mode === 'host' || network.name === 'host') throw forbidden('container cannot be disconnected from host network or connected to host network');
    const nets = { ...configuredNetworks(c) };
    if (c.running) {
      try {
        await d.networks.disconnect(c.id, network.id, force);
      } catch (err) {
        if (!(isKind(err, 'forbidden') && nets[network.name])) throw err;
      }
      delete nets[network.name];
      c.record.NetworkSettings = { SandboxKey: c.record.NetworkSettings?.SandboxKey ?? '', Networks: nets };
      await writeNetworkFilesFor(d, c);
    } else {
      if (!nets[network.name] && !force) throw forbidden(`container ${c.id} is not connected to network ${network.name}`);
      delete nets[network.name];
      c.record.NetworkSettings = { SandboxKey: '', Networks: nets };
    }
    await c.save();
  });
}
