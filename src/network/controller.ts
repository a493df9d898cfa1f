// The network controller (dockerd's libnetwork.Controller, for Berth): the one entry point the
// daemon uses. It owns the state's lock and orchestrates the parts: the store (state.json),
// networks (networks.ts) and their bridges (bridge.ts), sandboxes and endpoints (sandbox.ts,
// endpoint.ts), published ports (portmapper.ts) and the embedded DNS (resolver.ts). The Engine
// API's views of all this are built by the daemon (src/daemon/networkviews.ts). See docs/networking.md.
import type { IdentityMapping } from '../pkg/idmap.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { forbidden } from '../pkg/errors.js';
import { truncateID } from '../pkg/stringid.js';
import { DEFAULT_ADDRESS_POOLS, validatePools } from './ipam.js';
import { Firewall } from './firewall.js';
import { deleteLink, readSysctl, writeSysctl } from './netlink.js';
import { ensureBridge, programFirewall } from './bridge.js';
import { ensurePredefined, newBridgeNetwork } from './networks.js';
import type { ConnectOptions } from './endpoint.js';
import type { NetworkControllerOptions } from './options.js';
import { PortMapper } from './portmapper.js';
import { Resolver } from './resolver.js';
import { Sandboxes } from './sandbox.js';
import {
  NetworkStore, type EndpointRecord, type NetworkRecord, type SandboxOptions, type SandboxRecord,
} from './store.js';
import type { NetworkCreateRequest } from '../api/types/network.js';

export class NetworkController {
  private readonly store: NetworkStore;
  private readonly firewall: Firewall;
  private readonly ports: PortMapper;
  private readonly resolver: Resolver;
  private readonly sandboxes: Sandboxes;
  private closed = false;

  private constructor(private readonly opts: NetworkControllerOptions) {
    this.store = new NetworkStore(opts.dataRoot);
    this.firewall = new Firewall(opts.firewallTable ?? 'berth', opts.iptables ?? true);
    this.ports = new PortMapper(this.store, opts.logger);
    this.resolver = new Resolver(this.store, opts.dnsUpstreams);
    this.sandboxes = new Sandboxes({
      store: this.store, ports: this.ports, resolver: this.resolver, logger: opts.logger,
      netnsDir: join(opts.execRoot, 'netns'), resolvConfPath: opts.resolvConfPath,
      applyFirewall: () => this.applyFirewall(),
      event: (action, n, extra) => this.event(action, n, extra),
    });
  }

  private get logger(): Logger { return this.opts.logger; }

  /**
   * Loads the state (or creates the predefined networks `bridge`, `host`, `none`), brings every
   * bridge up and installs Berth's firewall table. Endpoints of the last run stay untouched until
   * `restore` says which containers are still running.
   */
  static async open(opts: NetworkControllerOptions): Promise<NetworkController> {
    validatePools(opts.defaultAddressPools ?? DEFAULT_ADDRESS_POOLS);
    const c = new NetworkController(opts);
    await mkdir(join(opts.dataRoot, 'network'), { recursive: true, mode: 0o700 });
    await mkdir(join(opts.execRoot, 'netns'), { recursive: true, mode: 0o711 });
    await c.ports.loadEphemeralRange();
    await c.store.load();
    await c.store.lock.run(async () => {
      await ensurePredefined(c.store, opts, c.logger);
      for (const n of c.store.state.networks) if (n.driver === 'bridge') await ensureBridge(n);
      await c.applyFirewall();
      await c.store.save();
    });
    if ((await readSysctl('/proc/sys/net/ipv4/ip_forward')) === '0') {
      c.logger.info('enabling IPv4 forwarding (net.ipv4.ip_forward=1)');
      await writeSysctl('/proc/sys/net/ipv4/ip_forward', '1').catch((err) => c.logger.warn({ err }, 'cannot enable ip_forward'));
    }
    return c;
  }

  private event(action: string, n: NetworkRecord, extra: Record<string, string> = {}): void {
    this.opts.onEvent?.(action, n.id, { name: n.name, type: n.driver, ...extra });
  }

  private async applyFirewall(): Promise<void> {
    await programFirewall(this.firewall, this.store);
  }

  // ---------------------------------------------------------------------------------------------
  // Reading (for the daemon's views)

  /** Every network, predefined ones first. */
  networks(): readonly NetworkRecord[] {
    return this.store.state.networks;
  }

  /** A network by full ID, exact name or unique ID prefix (dockerd's FindNetwork; 404 when none). */
  network(idOrName: string): NetworkRecord {
    return this.store.find(idOrName);
  }

  networkById(id: string): NetworkRecord | undefined {
    return this.store.networkById(id);
  }

  /** The endpoints on a network, whichever containers they belong to. */
  endpointsOf(networkId: string): readonly EndpointRecord[] {
    return this.store.endpointsOf(networkId);
  }

  /** A container's sandbox: its namespace and endpoints, if it has one. */
  sandbox(containerId: string): SandboxRecord | undefined {
    return this.store.sandbox(containerId);
  }

  /** The default bridge's gateway addresses (IPv4, then IPv6 when it has it). */
  defaultGateways(): string[] {
    const br = this.store.state.networks.find((n) => n.name === 'bridge' && n.predefined);
    return [br?.pool?.gateway, br?.pool6?.gateway].filter((g): g is string => !!g);
  }

  /** Resolves a name, ID or ID prefix to the network's ID and name (404 when there is none). */
  resolve(idOrName: string): { id: string; name: string; driver: string; predefined: boolean } {
    const n = this.store.find(idOrName);
    return { id: n.id, name: n.name, driver: n.driver, predefined: n.predefined };
  }

  // ---------------------------------------------------------------------------------------------
  // Networks

  async create(req: NetworkCreateRequest): Promise<{ Id: string; Warning: string }> {
    return this.store.lock.run(async () => {
      const rec = await newBridgeNetwork(this.store, this.opts, req);
      this.store.state.networks.push(rec);
      try {
        await ensureBridge(rec);
        await this.applyFirewall();
        await this.store.save();
      } catch (err) {
        this.store.state.networks = this.store.state.networks.filter((n) => n !== rec);
        await deleteLink(rec.bridge!).catch(() => undefined);
        await this.applyFirewall().catch(() => undefined);
        throw err;
      }
      this.event('create', rec);
      return { Id: rec.id, Warning: '' };
    });
  }

  async remove(idOrName: string): Promise<void> {
    await this.store.lock.run(async () => {
      const n = this.store.find(idOrName);
      if (n.predefined) throw forbidden(`${n.name} is a pre-defined network and cannot be removed`);
      const eps = this.store.endpointsOf(n.id);
      if (eps.length) {
        const list = eps.map((e) => `name:${JSON.stringify(e.name)} id:${JSON.stringify(truncateID(e.id))}`).join(', ');
        throw forbidden(`error while removing network: network ${n.name} has active endpoints (${list})`);
      }
      await this.removeNetworkLocked(n);
    });
  }

  private async removeNetworkLocked(n: NetworkRecord): Promise<void> {
    this.store.state.networks = this.store.state.networks.filter((x) => x !== n);
    await this.applyFirewall();
    if (n.bridge) await deleteLink(n.bridge);
    await this.store.save();
    this.event('destroy', n);
  }

  /**
   * Removes every user-defined network with no endpoint that `selected` accepts; returns their
   * names. A network that cannot be removed is logged and skipped.
   */
  async prune(selected: (n: NetworkRecord) => boolean): Promise<string[]> {
    return this.store.lock.run(async () => {
      const deleted: string[] = [];
      for (const n of [...this.store.state.networks]) {
        if (n.predefined || this.store.endpointsOf(n.id).length) continue;
        if (!selected(n)) continue;
        try {
          await this.removeNetworkLocked(n);
          deleted.push(n.name);
        } catch (err) {
          this.logger.warn({ err, network: n.name }, 'prune: could not remove network');
        }
      }
      return deleted;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Container hooks

  /** A fresh network namespace for a container, bound at <execRoot>/netns/<id12>, loopback up. */
  async createSandbox(containerId: string, options: SandboxOptions = {}, idMap?: IdentityMapping): Promise<{ netnsPath: string }> {
    return this.store.lock.run(() => this.sandboxes.create(containerId, options, idMap));
  }

  /**
   * Attaches the sandbox to a bridge network: veth pair, address, default route (first
   * non-internal network), published ports, DNS. All or nothing.
   */
  async connect(containerId: string, netnsPath: string, network: string, opts: ConnectOptions): Promise<EndpointRecord> {
    return this.store.lock.run(() => this.sandboxes.connect(containerId, netnsPath, network, opts));
  }

  async disconnect(containerId: string, network: string, force = false): Promise<void> {
    await this.store.lock.run(() => this.sandboxes.disconnect(containerId, network, force));
  }

  /** `docker rm --link`: the container's endpoints forget the legacy link with this alias. */
  async unlink(containerId: string, alias: string): Promise<void> {
    await this.store.lock.run(async () => {
      for (const ep of this.store.sandbox(containerId)?.endpoints ?? []) ep.links = ep.links.filter((l) => l.alias !== alias);
      await this.store.save();
    });
  }

  /** Everything of a container's networking goes: endpoints, port mappings, proxies, DNS, netns. */
  async releaseSandbox(containerId: string): Promise<void> {
    await this.store.lock.run(() => this.sandboxes.releaseContainer(containerId));
  }

  /**
   * After a berthd restart: sandboxes of running containers keep their endpoints, addresses and
   * port mappings (proxies and DNS listeners are reopened); every other sandbox is released.
   * Stray namespace files under <execRoot>/netns are removed.
   */
  async restore(running: { containerId: string; netnsPath: string }[]): Promise<void> {
    await this.store.lock.run(() => this.sandboxes.restore(running));
  }

  /** Lines the container's /etc/hosts gets after the defaults: its own addresses, then links. */
  hostsEntries(containerId: string): string[] {
    return this.sandboxes.hostsEntries(containerId);
  }

  /** The container's /etc/resolv.conf, given the host's. */
  resolvConf(containerId: string, hostResolv: string): string {
    return this.resolver.resolvConf(containerId, hostResolv);
  }

  // ---------------------------------------------------------------------------------------------
  // Shutdown

  /** Stops listeners (DNS, proxies) and leaves kernel state for live restore. */
  async close(): Promise<void> {
    await this.store.lock.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.resolver.closeAll();
      await this.ports.closeAll();
      await this.store.save().catch(() => undefined);
      // With no container left on a network, leave the host as it was: the bridges and the
      // firewall table come back from the saved state at the next start. Running containers
      // (live restore) keep theirs.
      if (this.store.state.sandboxes.length === 0) {
        for (const n of this.store.state.networks) if (n.bridge) await deleteLink(n.bridge).catch(() => undefined);
        await this.firewall.remove().catch(() => undefined);
      }
    });
  }

  /**
   * Removes everything Berth's networking made: sandboxes, every bridge (the default one too),
   * the firewall table and the state file. For tests and uninstalls, never on a normal exit.
   */
  async destroy(): Promise<void> {
    await this.store.lock.run(async () => {
      for (const sb of [...this.store.state.sandboxes]) {
        await this.sandboxes.release(sb).catch((err) => this.logger.warn({ err }, 'destroy: sandbox'));
      }
      for (const n of [...this.store.state.networks]) if (n.bridge) await deleteLink(n.bridge).catch(() => undefined);
      this.store.state.networks = [];
      await this.firewall.remove();
      await this.store.save();
      this.closed = true;
    });
  }
}
