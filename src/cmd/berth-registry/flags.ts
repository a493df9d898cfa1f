// Parsing of berth-registry's flag values.

/** `host:port`, `[v6]:port` or `:port` (all addresses). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  if (!m) throw new Error(`invalid --listen address ${JSON.stringify(s)}: expected host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid --listen address ${JSON.stringify(s)}: port out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration such as `168h`, `1h30m`, `45s` or `0`, in milliseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * UNITS[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== s.length) throw new Error(`invalid duration ${JSON.stringify(s)}: expected e.g. 168h, 30m, 10s`);
  return total;
}
