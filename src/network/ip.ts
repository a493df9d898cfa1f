// IPv4 address and prefix arithmetic on plain numbers (uint32 held in a JS number).

export interface Prefix {
  /** The network address (host bits zero when canonical). */
  addr: number;
  bits: number;
}

const octet = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Parses a dotted-quad IPv4 address; undefined when it is not one. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => octet.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Parses `a.b.c.d/n`, keeping the host bits (see `canonical`). Undefined when malformed. */
export function parseCIDR(s: string): { ip: number; bits: number } | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIPv4(s.slice(0, slash));
  const bitsStr = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(bitsStr)) return undefined;
  const bits = Number(bitsStr);
  if (bits > 32) return undefined;
  return { ip, bits };
}

export function canonical(p: { ip: number; bits: number }): Prefix {
  return { addr: (p.ip & maskOf(p.bits)) >>> 0, bits: p.bits };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIPv4(p.addr)}/${p.bits}`;
}

export function prefixSize(p: Prefix): number {
  return 2 ** (32 - p.bits);
}

export function lastAddr(p: Prefix): number {
  return p.addr + prefixSize(p) - 1;
}

export function contains(p: Prefix, ip: number): boolean {
  return ((ip & maskOf(p.bits)) >>> 0) === p.addr;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.addr <= lastAddr(b) && b.addr <= lastAddr(a);
}

export function isIPv6ish(s: string): boolean {
  return s.includes(':');
}
