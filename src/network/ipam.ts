// IPAM, after libnetwork's default IPAM driver: subnets for networks (user-given or carved from
// the default address pools, never overlapping another network or a route of the host) and
// addresses within a network's subnet (serial allocation, the gateway reserved).
import { BerthError, forbidden, invalidParameter } from '../pkg/errors.js';
import {
  canonical, contains, formatIPv4, formatPrefix, lastAddr, maskOf, overlaps, parseCIDR, parseIPv4, prefixSize,
  type Prefix,
} from './ip.js';
import type { IPAMConfig } from '../api/types/network.js';

export interface AddressPoolSpec {
  base: string;
  size: number;
}

/** dockerd's local-scope defaults (ipamutils.localScopeDefaultNetworks). */
export const DEFAULT_ADDRESS_POOLS: AddressPoolSpec[] = [
  { base: '172.17.0.0/16', size: 16 },
  { base: '172.18.0.0/16', size: 16 },
  { base: '172.19.0.0/16', size: 16 },
  { base: '172.20.0.0/14', size: 16 },
  { base: '172.24.0.0/14', size: 16 },
  { base: '172.28.0.0/14', size: 16 },
  { base: '192.168.0.0/16', size: 20 },
];

export const errPoolOverlap = (): BerthError =>
  forbidden('invalid pool request: Pool overlaps with other one on this address space');
export const errNoMoreSubnets = (): BerthError => invalidParameter('all predefined address pools have been fully subnetted');
export const errIPAlreadyAllocated = (): BerthError => forbidden('Address already in use');

export function validatePools(pools: AddressPoolSpec[]): void {
  pools.forEach((p, i) => {
    const c = parseCIDR(p.base);
    if (!c) throw invalidParameter(`invalid base pool "${p.base}"`);
    if (canonical(c).addr !== c.ip) throw invalidParameter(`network at index ${i} (${p.base}) is not in canonical form`);
    if (!Number.isInteger(p.size) || p.size < c.bits || p.size > 32) {
      throw invalidParameter(`network at index ${i} (${p.base}) has a smaller prefix (/${c.bits}) than the target size of that pool (/${p.size})`);
    }
  });
}

/** The first subnet of the pools overlapping neither a network in use nor a host route. */
export function choosePool(pools: AddressPoolSpec[], inUse: Prefix[], hostRoutes: Prefix[]): Prefix {
  for (const pool of pools) {
    const base = canonical(parseCIDR(pool.base)!);
    const step = 2 ** (32 - pool.size);
    for (let a = base.addr; a <= lastAddr(base); a += step) {
      const cand: Prefix = { addr: a, bits: pool.size };
      if (inUse.some((p) => overlaps(p, cand))) continue;
      if (hostRoutes.some((p) => overlaps(p, cand))) continue;
      return cand;
    }
  }
  throw errNoMoreSubnets();
}

/** A network's IPv4 configuration, normalised. */
export interface SubnetConfig {
  subnet: string;
  gateway: string;
  ipRange?: string;
}

/** dockerd's validateIpamConfig for the IPv4 entries (see networks.ts, which reports them all at once). */
export function ipamConfigErrors(cfgs: IPAMConfig[]): string[] {
  const errs: string[] = [];
  for (const cfg of cfgs) {
    const subnet = cfg.Subnet ? parseCIDR(cfg.Subnet) : undefined;
    if (cfg.Subnet && !subnet) {
      errs.push(`invalid subnet ${cfg.Subnet}: invalid CIDR address: ${cfg.Subnet}`);
      continue;
    }
    if (subnet && canonical(subnet).addr !== subnet.ip) {
      errs.push(`invalid subnet ${cfg.Subnet}: it should be ${formatPrefix(canonical(subnet))}`);
    }
    const net = subnet ? canonical(subnet) : undefined;
    if (cfg.IPRange) {
      const r = parseCIDR(cfg.IPRange);
      if (!r) errs.push(`invalid ip-range ${cfg.IPRange}: invalid CIDR address: ${cfg.IPRange}`);
      else if (!net) errs.push(`invalid ip-range ${cfg.IPRange}: parent subnet is not specified`);
      else {
        if (r.bits < net.bits) errs.push(`invalid ip-range ${cfg.IPRange}: CIDR block is bigger than its parent subnet ${cfg.Subnet}`);
        if (canonical(r).addr !== r.ip) errs.push(`invalid ip-range ${cfg.IPRange}: it should be ${formatPrefix(canonical(r))}`);
        if (!contains(net, canonical(r).addr)) errs.push(`invalid ip-range ${cfg.IPRange}: parent subnet ${cfg.Subnet} doesn't contain ip-range`);
      }
    }
    if (cfg.Gateway) {
      const g = parseIPv4(cfg.Gateway);
      if (g === undefined) errs.push(`invalid gateway ${cfg.Gateway}: ${cfg.Gateway.includes(':') ? 'parent subnet is an IPv4 block' : 'invalid address'}`);
      else if (!net) errs.push(`invalid gateway ${cfg.Gateway}: parent subnet is not specified`);
      else if (!contains(net, g)) errs.push(`invalid gateway ${cfg.Gateway}: parent subnet ${cfg.Subnet} doesn't contain this address`);
    }
    for (const [name, addr] of Object.entries(cfg.AuxiliaryAddresses ?? {})) {
      const a = parseIPv4(addr);
      if (a === undefined) errs.push(`invalid auxiliary address ${name}: ${addr.includes(':') ? 'parent subnet is an IPv4 block' : 'invalid address'}`);
      else if (net && !contains(net, a)) errs.push(`invalid auxiliary address ${name}: parent subnet ${cfg.Subnet} doesn't contain this address`);
    }
  }
  return errs;
}

/** Serialisable state of one network's address space. */
export interface AddressPoolState {
  subnet: string;
  gateway: string;
  ipRange?: string;
  /** Allocated addresses → owner (an endpoint ID, `gateway`, or `aux:<name>`). */
  allocated: Record<string, string>;
  /** The last address handed out dynamically: the next search starts after it. */
  last?: string;
}

/** Addresses within one subnet. Mutations are in-memory; the caller persists `state`. */
export class AddressPool {
  readonly net: Prefix;
  readonly range: Prefix;

  constructor(readonly state: AddressPoolState) {
    this.net = canonical(parseCIDR(state.subnet)!);
    this.range = state.ipRange ? canonical(parseCIDR(state.ipRange)!) : this.net;
  }

  /** A new pool for a subnet; the gateway (default: first address) and aux addresses are reserved. */
  static create(cfg: { subnet: Prefix; gateway?: string; ipRange?: string; aux?: Record<string, string> }): AddressPool {
    const gateway = cfg.gateway ?? formatIPv4(cfg.subnet.addr + 1);
    const p = new AddressPool({
      subnet: formatPrefix(cfg.subnet),
      gateway,
      ipRange: cfg.ipRange ? formatPrefix(canonical(parseCIDR(cfg.ipRange)!)) : undefined,
      allocated: {},
    });
    p.state.allocated[gateway] = 'gateway';
    for (const [name, a] of Object.entries(cfg.aux ?? {})) p.state.allocated[a] = `aux:${name}`;
    return p;
  }

  get prefixLen(): number {
    return this.net.bits;
  }

  /** Usable addresses: the network and broadcast addresses are never handed out (below /31). */
  private usable(ip: number): boolean {
    if (this.net.bits >= 31) return true;
    return ip !== this.net.addr && ip !== lastAddr(this.net);
  }

  /**
   * Allocates `preferred` (anywhere in the subnet, as dockerd allows for static addresses) or the
   * next free address of the ip-range after the last one handed out.
   */
  allocate(owner: string, preferred?: string): string {
    if (preferred !== undefined) {
      const ip = parseIPv4(preferred);
      if (ip === undefined || !contains(this.net, ip)) {
        throw invalidParameter(`invalid address ${preferred}: It does not belong to any of this network's subnets`);
      }
      if (!this.usable(ip) || this.state.allocated[preferred] !== undefined) throw errIPAlreadyAllocated();
      this.state.allocated[preferred] = owner;
      return preferred;
    }
    const size = prefixSize(this.range);
    const last = this.state.last ? parseIPv4(this.state.last) : undefined;
    const start = last !== undefined && contains(this.range, last) ? last - this.range.addr + 1 : 0;
    for (let i = 0; i < size; i++) {
      const ip = this.range.addr + ((start + i) % size);
      const s = formatIPv4(ip);
      if (!this.usable(ip) || this.state.allocated[s] !== undefined) continue;
      this.state.allocated[s] = owner;
      this.state.last = s;
      return s;
    }
    throw new BerthError('unavailable', `no available IPv4 addresses on this network's address pools`);
  }

  release(ip: string): void {
    releaseAddress(this.state, ip);
  }

  /** Frees every address whose owner `keep` rejects (gateway and aux addresses stay). */
  retain(keep: (owner: string) => boolean): void {
    retainAddresses(this.state, keep);
  }

  ownerOf(ip: string): string | undefined {
    return this.state.allocated[ip];
  }
}

/** `addr/bits` with the host part of the bridge address (dockerd's --bip). */
export function parseBip(bip: string): { subnet: Prefix; gateway: string } {
  const c = parseCIDR(bip);
  if (!c) throw invalidParameter(`invalid bip ${bip}: invalid CIDR address`);
  const subnet = canonical(c);
  if (c.ip === subnet.addr && c.bits < 31) throw invalidParameter(`invalid bip ${bip}: the address is the network address`);
  return { subnet, gateway: formatIPv4(c.ip) };
}

export { maskOf };

/** The gateway and auxiliary addresses are the network's own: no endpoint frees them. */
const reserved = (owner: string): boolean => owner === 'gateway' || owner.startsWith('aux:');

/** Frees an endpoint's address (of either family's pool). */
export function releaseAddress(state: AddressPoolState, ip: string): void {
  const owner = state.allocated[ip];
  if (owner !== undefined && !reserved(owner)) delete state.allocated[ip];
}

/** Frees every endpoint address whose owner `keep` rejects (of either family's pool). */
export function retainAddresses(state: AddressPoolState, keep: (owner: string) => boolean): void {
  for (const [ip, owner] of Object.entries(state.allocated)) {
    if (!reserved(owner) && !keep(owner)) delete state.allocated[ip];
  }
}
