// Published ports: host ports chosen (the given one, the first free one of a range, or the next
// ephemeral one) and bound by the userland proxy in berthd itself; the firewall's DNAT rules come
// from the same mappings (bridge.ts).
import type { Logger } from 'pino';
import { errnoCode, systemError } from '../pkg/errors.js';
import { readSysctl } from './netlink.js';
import type { PortRequest, Proto } from './portspec.js';
import { startProxy, type Proxy } from './proxy.js';
import type { EndpointRecord, NetworkRecord, NetworkStore, PortMapping } from './store.js';

function* range(a: number, b: number): Generator<number> {
  for (let i = a; i <= b; i++) yield i;
}

export class PortMapper {
  private readonly proxies = new Map<string, Proxy[]>(); // endpoint ID → its proxies
  private ephemeral: [number, number] = [32768, 60999];
  private ephemeralNext = 0;

  constructor(private readonly store: NetworkStore, private readonly logger: Logger) {}

  /** Ephemeral host ports come from the kernel's local port range, as dockerd's allocator does. */
  async loadEphemeralRange(): Promise<void> {
    const r = await readSysctl('/proc/sys/net/ipv4/ip_local_port_range');
    const m = r ? /^(\d+)\s+(\d+)$/.exec(r) : null;
    if (m) this.ephemeral = [Number(m[1]), Number(m[2])];
    this.ephemeralNext = this.ephemeral[0];
  }

  /** Allocates host ports (binding each through the userland proxy) for an endpoint's requests. */
  async map(n: NetworkRecord, ep: EndpointRecord, requests: PortRequest[]): Promise<void> {
    const proxies: Proxy[] = [];
    this.proxies.set(ep.id, proxies);
    for (const r of requests) {
      const hostIp = r.hostIp || n.hostBindingIp || '0.0.0.0';
      const candidates = r.hostPortStart === 0 ? this.ephemeralCandidates() : range(r.hostPortStart, r.hostPortEnd);
      const single = r.hostPortStart !== 0 && r.hostPortStart === r.hostPortEnd;
      let mapped: PortMapping | undefined;
      let lastErr: string | undefined;
      for (const port of candidates) {
        if (this.taken(r.proto, hostIp, port)) {
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

  private taken(proto: Proto, ip: string, port: number): boolean {
    for (const s of this.store.state.sandboxes) {
      for (const e of s.endpoints) {
        for (const p of e.ports) {
          if (p.proto === proto && p.hostPort === port && (p.hostIp === ip || p.hostIp === '0.0.0.0' || ip === '0.0.0.0')) return true;
        }
      }
    }
    return false;
  }

  /** Closes the endpoint's proxies (its mappings stay in the record until the endpoint goes). */
  async unmap(ep: EndpointRecord): Promise<void> {
    const ps = this.proxies.get(ep.id) ?? [];
    this.proxies.delete(ep.id);
    await Promise.all(ps.map((p) => p.close().catch(() => undefined)));
  }

  /** After a restart: the proxies of an endpoint's saved mappings are opened again. */
  async reopen(ep: EndpointRecord): Promise<void> {
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

  /** Every proxy closes (berthd shutting down). */
  async closeAll(): Promise<void> {
    for (const id of [...this.proxies.keys()]) {
      const ps = this.proxies.get(id) ?? [];
      this.proxies.delete(id);
      await Promise.all(ps.map((p) => p.close().catch(() => undefined)));
    }
  }
}
