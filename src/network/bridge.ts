// The bridge driver: a Linux bridge per network, a veth pair per endpoint (host end on the bridge,
// the other end renamed and addressed inside the container's namespace), and the firewall table
// rendered from every bridge network and published port.
import { randomBytes } from 'node:crypto';
import { AddressPool } from './ipam.js';
import { AddressPool6 } from './ipam6.js';
import { Firewall, type FwNetwork, type FwPort } from './firewall.js';
import { ipBatch, linkExists } from './netlink.js';
import type { EndpointRecord, NetworkRecord, NetworkStore } from './store.js';

export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_MTU = 'com.docker.network.driver.mtu';
export const OPT_ICC = 'com.docker.network.bridge.enable_icc';
export const OPT_MASQ = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPT_HOST_BINDING = 'com.docker.network.bridge.host_binding_ipv4';
export const OPT_DEFAULT_BRIDGE = 'com.docker.network.bridge.default_bridge';

/** The bridge exists, has the network's MTU and gateway address, and is up. */
export async function ensureBridge(n: NetworkRecord): Promise<void> {
  const br = n.bridge!;
  const pool = new AddressPool(n.pool!);
  const lines: string[] = [];
  if (!(await linkExists(br))) lines.push(`link add name ${br} mtu ${n.mtu ?? 1500} type bridge`);
  lines.push(`link set dev ${br} mtu ${n.mtu ?? 1500}`);
  lines.push(`addr replace ${n.pool!.gateway}/${pool.prefixLen} dev ${br}`);
  // nodad: the gateway answers at once instead of after duplicate address detection.
  if (n.pool6) lines.push(`addr replace ${n.pool6.gateway}/${new AddressPool6(n.pool6).prefixLen} dev ${br} nodad`);
  lines.push(`link set dev ${br} up`);
  await ipBatch(lines);
}

/**
 * The endpoint's veth pair: the host end enslaved to the bridge and up, the peer moved into the
 * namespace under a temporary name, which is returned.
 */
export async function addVeth(n: NetworkRecord, ep: EndpointRecord, netnsPath: string): Promise<string> {
  const peer = `vb${randomBytes(4).toString('hex').slice(0, 7)}`;
  const mtu = n.mtu ?? 1500;
  await ipBatch([
    `link add name ${ep.hostVeth} mtu ${mtu} type veth peer name ${peer} mtu ${mtu} netns ${netnsPath}`,
    `link set dev ${ep.hostVeth} master ${n.bridge}`,
    `link set dev ${ep.hostVeth} up`,
  ]);
  return peer;
}

/** Inside the namespace: the peer gets the endpoint's name, MAC and address, and maybe the default route. */
export async function configureInterface(
  n: NetworkRecord, ep: EndpointRecord, peer: string, netnsPath: string, defaultRoute: boolean,
): Promise<void> {
  const lines = [
    `link set dev ${peer} name ${ep.ifname}`,
    `link set dev ${ep.ifname} address ${ep.mac}`,
    `addr add ${ep.ip}/${new AddressPool(n.pool!).prefixLen} dev ${ep.ifname}`,
    `link set dev ${ep.ifname} up`,
  ];
  if (ep.ip6 && n.pool6) lines.push(`addr add ${ep.ip6}/${new AddressPool6(n.pool6).prefixLen} dev ${ep.ifname} nodad`);
  if (defaultRoute) lines.push(...defaultRoutes(n, ep));
  await ipBatch(lines, netnsPath);
}

/** The default routes through a network's gateways: IPv4, and IPv6 when the network has it. */
function defaultRoutes(n: NetworkRecord, ep: EndpointRecord): string[] {
  const routes = [`route replace default via ${n.pool!.gateway} dev ${ep.ifname}`];
  if (ep.ip6 && n.pool6) routes.push(`route replace ::/0 via ${n.pool6.gateway} dev ${ep.ifname}`);
  return routes;
}

/** Moves the namespace's default route to another endpoint's network. */
export async function moveDefaultRoute(n: NetworkRecord, ep: EndpointRecord, netnsPath: string): Promise<void> {
  await ipBatch(defaultRoutes(n, ep), netnsPath);
}

/** Renders Berth's firewall table from the whole state: isolation, NAT, and the published ports' DNAT. */
export async function programFirewall(firewall: Firewall, store: NetworkStore): Promise<void> {
  const nets: FwNetwork[] = [];
  const ports: FwPort[] = [];
  for (const n of store.state.networks) {
    if (n.driver !== 'bridge') continue;
    nets.push({ bridge: n.bridge!, subnet: n.pool!.subnet, internal: n.internal, icc: n.icc ?? true, masquerade: n.masquerade ?? true });
  }
  for (const s of store.state.sandboxes) {
    for (const e of s.endpoints) {
      const n = store.networkById(e.networkId);
      if (!n) continue;
      for (const p of e.ports) {
        ports.push({ bridge: n.bridge!, proto: p.proto, hostIp: p.hostIp, hostPort: p.hostPort, containerIp: e.ip, containerPort: p.containerPort });
      }
    }
  }
  await firewall.apply(nets, ports);
}
