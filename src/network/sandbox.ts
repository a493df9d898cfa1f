// Sandboxes: a container's named network namespace and its endpoints on the networks it joins —
// made, connected, disconnected, released, and taken over again after a berthd restart. Every
// method expects the caller (the controller) to hold the store's lock.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { BerthError, forbidden, systemError } from '../pkg/errors.js';
import { truncateID } from '../pkg/stringid.js';
import { AddressPool } from './ipam.js';
import { AddressPool6 } from './ipam6.js';
import { createNetns, deleteLink, netnsMounted, removeNetns, usernsPathOf } from './netlink.js';
import type { IdentityMapping } from '../pkg/idmap.js';
import { addVeth, configureInterface, moveDefaultRoute } from './bridge.js';
import { newEndpoint, validateConnect, type ConnectOptions } from './endpoint.js';
import type { PortMapper } from './portmapper.js';
import { readHostResolvConf, type Resolver } from './resolver.js';
import { upstreamServers } from './resolvconf.js';
import {
  isUserDefined, type EndpointRecord, type NetworkRecord, type NetworkStore, type SandboxOptions, type SandboxRecord,
} from './store.js';

export interface SandboxDeps {
  store: NetworkStore;
  ports: PortMapper;
  resolver: Resolver;
  logger: Logger;
  /** Where sandboxes' namespaces are bound: <execRoot>/netns. */
  netnsDir: string;
  resolvConfPath?: string;
  applyFirewall(): Promise<void>;
  event(action: string, n: NetworkRecord, extra?: Record<string, string>): void;
}

export class Sandboxes {
  constructor(private readonly d: SandboxDeps) {}

  private get store(): NetworkStore { return this.d.store; }

  /**
   * A fresh network namespace for a container, bound at <netnsDir>/<id12>, loopback up; owned by
   * a user namespace with `idMap`'s mappings for a remapped container (see createNetns).
   */
  async create(containerId: string, options: SandboxOptions, idMap?: IdentityMapping): Promise<{ netnsPath: string }> {
    const old = this.store.sandbox(containerId);
    if (old) await this.release(old);
    const netnsPath = join(this.d.netnsDir, containerId.slice(0, 12));
    await removeNetns(netnsPath).catch(() => undefined);
    await createNetns(netnsPath, idMap);
    this.store.state.sandboxes.push({ containerId, netnsPath, options: { ...options }, endpoints: [] });
    try {
      await this.store.save();
    } catch (err) {
      this.store.state.sandboxes = this.store.state.sandboxes.filter((s) => s.containerId !== containerId);
      await removeNetns(netnsPath).catch(() => undefined);
      throw err;
    }
    return { netnsPath };
  }

  /**
   * Attaches the sandbox to a bridge network: veth pair, address, default route (first
   * non-internal network), published ports, DNS. All or nothing.
   */
  async connect(containerId: string, netnsPath: string, network: string, opts: ConnectOptions): Promise<EndpointRecord> {
    const n = this.store.find(network);
    if (n.driver === 'host') throw forbidden('container cannot be disconnected from host network or connected to host network');
    if (n.driver === 'null') throw forbidden('container cannot be connected to the none network');
    let sb = this.store.sandbox(containerId);
    // A namespace the daemon made itself (not via createSandbox) is recorded once its endpoint
    // has its addresses: a refused request leaves nothing behind.
    const implicit = !sb;
    sb ??= { containerId, netnsPath, options: { hostname: opts.hostname, domainname: opts.domainname }, endpoints: [] };
    sb.netnsPath = netnsPath;
    if (sb.endpoints.some((e) => e.networkId === n.id)) {
      throw forbidden(`endpoint with name ${opts.name} already exists in network ${n.name}`);
    }
    const requests = validateConnect(n, opts);

    const pool = new AddressPool(n.pool!);
    const ep = newEndpoint(n, sb.endpoints, containerId, opts);
    ep.ip = pool.allocate(ep.id, opts.ipv4 || undefined);
    const pool6 = n.pool6 ? new AddressPool6(n.pool6) : undefined;
    try {
      if (pool6) ep.ip6 = pool6.allocate(ep.id, opts.ipv6 || undefined);
    } catch (err) {
      pool.release(ep.ip);
      throw err;
    }
    if (implicit) this.store.state.sandboxes.push(sb);
    const sbRef = sb;
    let linked = false;
    try {
      const peer = await addVeth(n, ep, netnsPath);
      linked = true;
      const gw = !n.internal && !sbRef.gatewayEndpoint;
      await configureInterface(n, ep, peer, netnsPath, gw);
      if (gw) sbRef.gatewayEndpoint = ep.id;
      sbRef.endpoints.push(ep);
      await this.d.ports.map(n, ep, requests);
      await this.d.applyFirewall();
      if (isUserDefined(n)) {
        sbRef.upstreams ??= upstreamServers(await readHostResolvConf(this.d.resolvConfPath), sbRef.options);
        await this.d.resolver.ensure(sbRef);
      }
      await this.store.save();
    } catch (err) {
      await this.d.ports.unmap(ep);
      sbRef.endpoints = sbRef.endpoints.filter((e) => e !== ep);
      if (sbRef.gatewayEndpoint === ep.id) sbRef.gatewayEndpoint = undefined;
      pool.release(ep.ip);
      if (ep.ip6) pool6?.release(ep.ip6);
      if (linked) await deleteLink(ep.hostVeth).catch(() => undefined);
      await this.d.applyFirewall().catch(() => undefined);
      await this.d.resolver.stopIfUnused(sbRef);
      if (implicit && sbRef.endpoints.length === 0) {
        this.store.state.sandboxes = this.store.state.sandboxes.filter((s) => s !== sbRef);
      }
      await this.store.save().catch(() => undefined);
      if (err instanceof BerthError && err.kind !== 'system') throw err;
      if (err instanceof BerthError && /^driver failed/.test(err.message)) throw err;
      throw systemError(`failed to create endpoint ${opts.name} on network ${n.name}: ${(err as Error).message}`, err);
    }
    this.d.event('connect', n, { container: containerId });
    return ep;
  }

  async disconnect(containerId: string, network: string, force: boolean): Promise<void> {
    const n = this.store.find(network);
    const sb = this.store.sandbox(containerId);
    const ep = sb?.endpoints.find((e) => e.networkId === n.id);
    if (!sb || !ep) {
      if (force) return;
      throw forbidden(`container ${containerId} is not connected to the network ${n.name}`);
    }
    await this.teardownEndpoint(sb, ep);
    if (sb.gatewayEndpoint === ep.id) {
      sb.gatewayEndpoint = undefined;
      const next = sb.endpoints.find((e) => !this.store.networkById(e.networkId)?.internal);
      if (next) {
        const nn = this.store.networkById(next.networkId)!;
        await moveDefaultRoute(nn, next, sb.netnsPath)
          .then(() => { sb.gatewayEndpoint = next.id; })
          .catch((err) => this.d.logger.warn({ err, containerId }, 'cannot move the default route'));
      }
    }
    await this.d.resolver.stopIfUnused(sb);
    await this.d.applyFirewall();
    await this.store.save();
    this.d.event('disconnect', n, { container: containerId });
  }

  /** Removes an endpoint: proxies, veth (both ends go with the host side), address. */
  private async teardownEndpoint(sb: SandboxRecord, ep: EndpointRecord): Promise<void> {
    await this.d.ports.unmap(ep);
    await deleteLink(ep.hostVeth).catch((err) => this.d.logger.warn({ err, veth: ep.hostVeth }, 'deleting veth'));
    const n = this.store.networkById(ep.networkId);
    if (n?.pool) new AddressPool(n.pool).release(ep.ip);
    if (n?.pool6 && ep.ip6) new AddressPool6(n.pool6).release(ep.ip6);
    sb.endpoints = sb.endpoints.filter((e) => e !== ep);
  }

  /** A container's sandbox goes with everything in it (a stray namespace file too). */
  async releaseContainer(containerId: string): Promise<void> {
    const sb = this.store.sandbox(containerId);
    if (!sb) {
      await removeNetns(join(this.d.netnsDir, containerId.slice(0, 12))).catch(() => undefined);
      return;
    }
    await this.release(sb);
    await this.d.applyFirewall();
    await this.store.save();
  }

  /** Endpoints, DNS server and namespace go; the state is changed but not saved. */
  async release(sb: SandboxRecord): Promise<void> {
    await this.d.resolver.stop(sb.containerId);
    for (const ep of [...sb.endpoints]) {
      const n = this.store.networkById(ep.networkId);
      await this.teardownEndpoint(sb, ep);
      if (n) this.d.event('disconnect', n, { container: sb.containerId });
    }
    if (sb.netnsPath.startsWith(this.d.netnsDir + '/')) await removeNetns(sb.netnsPath).catch((err) => this.d.logger.warn({ err }, 'removing netns'));
    this.store.state.sandboxes = this.store.state.sandboxes.filter((s) => s !== sb);
  }

  /**
   * After a berthd restart: sandboxes of running containers keep their endpoints, addresses and
   * port mappings (proxies and DNS listeners are reopened); every other sandbox is released.
   * Stray namespace files under the netns directory are removed.
   */
  async restore(running: { containerId: string; netnsPath: string }[]): Promise<void> {
    const live = new Map(running.map((r) => [r.containerId, r.netnsPath]));
    for (const sb of [...this.store.state.sandboxes]) {
      const path = live.get(sb.containerId);
      if (path === undefined || !(await netnsMounted(path))) {
        await this.release(sb);
        continue;
      }
      sb.netnsPath = path;
      for (const ep of sb.endpoints) {
        if (this.store.networkById(ep.networkId)) await this.d.ports.reopen(ep);
      }
      try {
        if (this.store.onUserNetwork(sb)) await this.d.resolver.ensure(sb);
      } catch (err) {
        this.d.logger.warn({ err, container: sb.containerId }, 'restore: cannot reopen the embedded DNS server');
      }
    }
    // Free addresses no endpoint owns any more (a crash between allocation and save).
    const owners = new Set(this.store.state.sandboxes.flatMap((s) => s.endpoints.map((e) => e.id)));
    for (const n of this.store.state.networks) {
      if (n.pool) new AddressPool(n.pool).retain((o) => owners.has(o));
      if (n.pool6) new AddressPool6(n.pool6).retain((o) => owners.has(o));
    }
    const keep = new Set(this.store.state.sandboxes.flatMap((s) => [s.netnsPath, usernsPathOf(s.netnsPath)]));
    for (const f of await readdir(this.d.netnsDir).catch(() => [] as string[])) {
      const p = join(this.d.netnsDir, f);
      if (!keep.has(p)) await removeNetns(p).catch(() => undefined);
    }
    await this.d.applyFirewall();
    await this.store.save();
  }

  /** Lines the container's /etc/hosts gets after the defaults: its own addresses, then links. */
  hostsEntries(containerId: string): string[] {
    const sb = this.store.sandbox(containerId);
    if (!sb) return [];
    const out: string[] = [];
    for (const ep of sb.endpoints) {
      const host = ep.hostname || sb.options.hostname || '';
      const dom = ep.domainname ?? sb.options.domainname;
      if (host) out.push(`${ep.ip}\t${dom ? `${host}.${dom} ${host}` : host}`);
      if (host && ep.ip6) out.push(`${ep.ip6}\t${dom ? `${host}.${dom} ${host}` : host}`);
    }
    for (const ep of sb.endpoints) {
      for (const l of ep.links) {
        const target = this.store.sandbox(l.containerId)?.endpoints.find((e) => e.networkId === ep.networkId);
        if (target) out.push(`${target.ip}\t${l.alias}${l.alias !== l.name ? ` ${l.name}` : ''} ${truncateID(l.containerId)}`);
      }
    }
    return out;
  }
}
