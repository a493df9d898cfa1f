// IPv6 address and prefix arithmetic on bigints (128-bit), beside ip.ts's IPv4 on numbers.
import { isIPv6 } from 'node:net';
import { parseIPv4 } from './ip.js';

export interface Prefix6 {
  /** The network address (host bits zero when canonical). */
  addr: bigint;
  bits: number;
}

const ALL = (1n << 128n) - 1n;

/** Parses an IPv6 address (`::` and a trailing dotted quad allowed, no zone); undefined when it is not one. */
export function parseIPv6(s: string): bigint | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIPv4(g)!;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const [head, tail] = s.split('::');
  const h = groupsOf(head);
  const t = tail === undefined ? [] : groupsOf(tail);
  const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** RFC 5952's text form: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The address in RFC 5952 form, or undefined when `s` is not an IPv6 address. */
export function normalizeIPv6(s: string): string | undefined {
  const n = parseIPv6(s);
  return n === undefined ? undefined : formatIPv6(n);
}

export function maskOf6(bits: number): bigint {
  return bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
}

/** Parses `addr/n`, keeping the host bits (see `canonical6`). Undefined when malformed. */
export function parseCIDR6(s: string): { ip: bigint; bits: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIPv6(s.slice(0, slash));
  const bitsStr = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(bitsStr)) return undefined;
  const bits = Number(bitsStr);
  if (bits > 128) return undefined;
  return { ip, bits };
}

export function canonical6(p: { ip: bigint; bits: number }): Prefix6 {
  return { addr: p.ip & maskOf6(p.bits), bits: p.bits };
}

export function formatPrefix6(p: Prefix6): string {
  return `${formatIPv6(p.addr)}/${p.bits}`;
}

export function prefixSize6(p: Prefix6): bigint {
  return 1n << BigInt(128 - p.bits);
}

export function contains6(p: Prefix6, ip: bigint): boolean {
  return (ip & maskOf6(p.bits)) === p.addr;
}

export function overlaps6(a: Prefix6, b: Prefix6): boolean {
  return contains6(a, b.addr) || contains6(b, a.addr);
}

/** The nibbles of `ip6.arpa` names: `…b.a.9.8.7.6.5.0.4.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2` → the address. */
export function fromReverse6(labels: string): bigint | undefined {
  const nibbles = labels.split('.');
  if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/i.test(x))) return undefined;
  return BigInt(`0x${nibbles.reverse().join('')}`);
}
