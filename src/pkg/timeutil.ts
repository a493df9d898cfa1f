// Time formatting the way Go's time package prints it in dockerd's JSON.

export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 as Go prints time.Time in JSON: fraction trimmed of trailing zeros, UTC. */
export function rfc3339Nano(date: Date = new Date()): string {
  const iso = date.toISOString();
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return frac ? `${iso.slice(0, 19)}.${frac}Z` : `${iso.slice(0, 19)}Z`;
}

/** Parses RFC 3339 (any fraction precision) into a Date; ZERO_TIME gives undefined. */
export function parseTime(s: string | undefined): Date | undefined {
  if (!s || s.startsWith('0001-01-01')) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Docker's units.HumanDuration, used in `docker ps` status strings. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/**
 * Parses the `since`/`until` forms dockerd accepts: unix seconds with optional fraction,
 * RFC 3339 timestamps, or Go durations relative to now ("10m", "1h30m").
 */
export function parseTimestamp(value: string, now = Date.now()): Date {
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const dur = parseGoDuration(value);
  if (dur !== undefined) return new Date(now - dur);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`failed to parse value as time or duration: "${value}"`);
  return d;
}

const unitMs: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

export function parseGoDuration(value: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    total += Number(m[1]) * unitMs[m[2]];
    matched = re.lastIndex;
  }
  return matched === value.length && matched > 0 ? total : undefined;
}
