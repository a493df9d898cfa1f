// IPv6 IPAM: a network's IPv6 subnet (the user's, or a unique local /64 of its own) and serial
// address allocation in it, as libnetwork's default IPAM does for IPv6 pools. The state has the
// same shape as the IPv4 pool's (ipam.ts), addresses kept in RFC 5952 form.
import { randomBytes } from 'node:crypto';
import { BerthError, invalidParameter } from '../pkg/errors.js';
import {
  canonical6, contains6, formatIPv6, formatPrefix6, normalizeIPv6, overlaps6, parseCIDR6, parseIPv6, prefixSize6, type Prefix6,
} from './ip6.js';
import { errIPAlreadyAllocated, errPoolOverlap, releaseAddress, retainAddresses, type AddressPoolState } from './ipam.js';
import type { IPAMConfig } from '../api/types/network.js';

/** A unique local (fd00::/8) /64 with a random global and subnet ID, clear of `inUse`. */
export function chooseULA64(inUse: Prefix6[]): Prefix6 {
  for (;;) {
    const b = randomBytes(7);
    const hex = b.toString('hex');
    const cand = canonical6(parseCIDR6(`fd${hex.slice(0, 2)}:${hex.slice(2, 6)}:${hex.slice(6, 10)}:${hex.slice(10, 14)}::/64`)!);
    if (!inUse.some((p) => overlaps6(p, cand))) return cand;
  }
}

/** dockerd's validateIpamConfig for the IPv6 entries (errors collected as it does). */
export function ipamConfigErrors6(user: IPAMConfig): string[] {
  const errs: string[] = [];
  const subnet = user.Subnet ? parseCIDR6(user.Subnet) : undefined;
  if (user.Subnet && !subnet) return [`invalid subnet ${user.Subnet}: invalid CIDR address: ${user.Subnet}`];
  // dockerd's messages show the addresses as parsed (RFC 5952 text).
  const text = (a: string | undefined): string | undefined => (a ? normalizeIPv6(a) ?? a : a);
  const cfg: IPAMConfig = {
    ...user,
    Subnet: subnet ? `${formatIPv6(subnet.ip)}/${subnet.bits}` : undefined,
    Gateway: text(user.Gateway),
  };
  const net = subnet ? canonical6(subnet) : undefined;
  if (subnet && net && net.addr !== subnet.ip) errs.push(`invalid subnet ${cfg.Subnet}: it should be ${formatPrefix6(net)}`);
  if (cfg.IPRange) {
    const r = parseCIDR6(cfg.IPRange);
    if (!r) errs.push(`invalid ip-range ${cfg.IPRange}: ${cfg.IPRange.includes(':') ? `invalid CIDR address: ${cfg.IPRange}` : 'parent subnet is an IPv6 block'}`);
    else if (!net) errs.push(`invalid ip-range ${cfg.IPRange}: parent subnet is not specified`);
    else {
      if (r.bits < net.bits) errs.push(`invalid ip-range ${cfg.IPRange}: CIDR block is bigger than its parent subnet ${cfg.Subnet}`);
      if (canonical6(r).addr !== r.ip) errs.push(`invalid ip-range ${cfg.IPRange}: it should be ${formatPrefix6(canonical6(r))}`);
      if (!overlaps6(net, canonical6(r))) errs.push(`invalid ip-range ${cfg.IPRange}: parent subnet ${cfg.Subnet} doesn't contain ip-range`);
    }
  }
  const address = (what: string, a: string): void => {
    const ip = parseIPv6(a);
    if (ip === undefined) errs.push(`${what}: ${a.includes('.') ? 'parent subnet is an IPv6 block' : 'invalid address'}`);
    else if (net && !contains6(net, ip)) errs.push(`${what}: parent subnet ${cfg.Subnet} doesn't contain this address`);
  };
  if (cfg.Gateway) address(`invalid gateway ${cfg.Gateway}`, cfg.Gateway);
  for (const [name, a] of Object.entries(cfg.AuxiliaryAddresses ?? {})) address(`invalid auxiliary address ${name}`, a);
  return errs;
}

/** The network's IPv6 pool: the user's subnet (not overlapping another network's) or a fresh ULA /64. */
export function newPool6(cfg: IPAMConfig | undefined, others: (AddressPoolState | undefined)[]): AddressPool6 {
  const inUse = others.filter((p): p is AddressPoolState => !!p).map((p) => canonical6(parseCIDR6(p.subnet)!));
  let subnet: Prefix6;
  if (cfg?.Subnet) {
    subnet = canonical6(parseCIDR6(cfg.Subnet)!);
    if (inUse.some((p) => overlaps6(p, subnet))) throw errPoolOverlap();
  } else {
    subnet = chooseULA64(inUse);
  }
  const gateway = cfg?.Gateway ? normalizeIPv6(cfg.Gateway)! : formatIPv6(subnet.addr + 1n);
  const pool = new AddressPool6({
    subnet: formatPrefix6(subnet),
    gateway,
    ipRange: cfg?.IPRange ? formatPrefix6(canonical6(parseCIDR6(cfg.IPRange)!)) : undefined,
    allocated: { [gateway]: 'gateway' },
  });
  for (const [name, a] of Object.entries(cfg?.AuxiliaryAddresses ?? {})) pool.state.allocated[normalizeIPv6(a)!] = `aux:${name}`;
  return pool;
}

/** Addresses within one IPv6 subnet. Mutations are in-memory; the caller persists `state`. */
export class AddressPool6 {
  readonly net: Prefix6;
  readonly range: Prefix6;

  constructor(readonly state: AddressPoolState) {
    this.net = canonical6(parseCIDR6(state.subnet)!);
    this.range = state.ipRange ? canonical6(parseCIDR6(state.ipRange)!) : this.net;
  }

  get prefixLen(): number {
    return this.net.bits;
  }

  /**
   * Allocates `preferred` (anywhere in the subnet) or the next free address of the ip-range after
   * the last one handed out; the subnet-router anycast address (the subnet's first) never.
   */
  allocate(owner: string, preferred?: string): string {
    if (preferred !== undefined) {
      const ip = parseIPv6(preferred);
      if (ip === undefined || !contains6(this.net, ip)) {
        throw invalidParameter(`invalid address ${preferred}: It does not belong to any of this network's subnets`);
      }
      const s = formatIPv6(ip);
      if (ip === this.net.addr || this.state.allocated[s] !== undefined) throw errIPAlreadyAllocated();
      this.state.allocated[s] = owner;
      return s;
    }
    const size = prefixSize6(this.range);
    const last = this.state.last ? parseIPv6(this.state.last) : undefined;
    const start = last !== undefined && contains6(this.range, last) ? last - this.range.addr + 1n : 0n;
    // A free address is at most (allocated + 1) steps away: the search is bounded even in a /64.
    const steps = BigInt(Object.keys(this.state.allocated).length + 2);
    for (let i = 0n; i < (steps < size ? steps : size); i++) {
      const ip = this.range.addr + ((start + i) % size);
      const s = formatIPv6(ip);
      if (ip === this.net.addr || this.state.allocated[s] !== undefined) continue;
      this.state.allocated[s] = owner;
      this.state.last = s;
      return s;
    }
    throw new BerthError('unavailable', `no available IPv6 addresses on this network's address pools`);
  }

  release(ip: string): void {
    releaseAddress(this.state, ip);
  }

  retain(keep: (owner: string) => boolean): void {
    retainAddresses(this.state, keep);
  }
}
