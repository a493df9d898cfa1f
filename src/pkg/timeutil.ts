// Time the way dockerd reads and writes it: a nanosecond wall clock, Go's RFC 3339 forms,
// Go durations, and the `since`/`until` values of the API (moby's timetypes.GetTimestamp).
import { invalidParameter } from './errors.js';

export const ZERO_TIME = '0001-01-01T00:00:00Z';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

// ───────────────────────────── the clock ─────────────────────────────

let wallBase = BigInt(Date.now()) * NS_PER_MS;
let hrBase = process.hrtime.bigint();

/**
 * Wall-clock nanoseconds: Date.now() only has milliseconds, so extend it with the
 * monotonic clock and re-anchor whenever the two drift apart (clock steps, NTP).
 */
export function nowNano(): bigint {
  const t = wallBase + (process.hrtime.bigint() - hrBase);
  const wall = BigInt(Date.now()) * NS_PER_MS;
  const drift = t - wall;
  if (drift > 2n * NS_PER_MS || drift < -2n * NS_PER_MS) {
    wallBase = wall;
    hrBase = process.hrtime.bigint();
    return wall;
  }
  return t;
}

export function dateToNano(d: Date): bigint {
  return BigInt(d.getTime()) * NS_PER_MS;
}

// ───────────────────────────── formatting ─────────────────────────────

function splitNano(ns: bigint): { ms: number; frac: string } {
  let sec = ns / NS_PER_S;
  let rem = ns % NS_PER_S;
  if (rem < 0n) {
    rem += NS_PER_S;
    sec -= 1n;
  }
  return { ms: Number(sec) * 1000, frac: rem.toString().padStart(9, '0') };
}

/** Go's time.RFC3339Nano in UTC: fraction with trailing zeros trimmed (none if zero). */
export function formatRFC3339Nano(ns: bigint): string {
  const { ms, frac } = splitNano(ns);
  const base = new Date(ms).toISOString().slice(0, 19);
  const f = frac.replace(/0+$/, '');
  return f ? `${base}.${f}Z` : `${base}Z`;
}

/** dockerd's RFC3339NanoFixed (always 9 digits), used for `docker logs --timestamps`. */
export function formatRFC3339NanoFixed(ns: bigint): string {
  const { ms, frac } = splitNano(ns);
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

/** RFC3339Nano of a Date (milliseconds; use formatRFC3339Nano(nowNano()) for a finer now). */
export function rfc3339Nano(date: Date = new Date()): string {
  return formatRFC3339Nano(dateToNano(date));
}

/** Go's time.RFC3339 in the local zone ("2006-01-02T15:04:05Z07:00"), no fraction. */
export function rfc3339Local(d: Date): string {
  const off = -d.getTimezoneOffset();
  const local = new Date(d.getTime() + off * 60_000).toISOString().slice(0, 19);
  if (off === 0) return `${local}Z`;
  const a = Math.abs(off);
  return `${local}${off < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
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

// ───────────────────────────── parsing ─────────────────────────────

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses RFC 3339 (any fraction, any offset) to nanoseconds; undefined if malformed. */
export function parseRFC3339Nano(s: string): bigint | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (Number.isNaN(ms)) return undefined;
  let ns = BigInt(ms) * NS_PER_MS + BigInt((m[7] ?? '').padEnd(9, '0') || '0');
  const tz = m[8]!;
  if (tz !== 'Z' && tz !== 'z') {
    const sign = tz[0] === '-' ? -1n : 1n;
    const mins = BigInt(+tz.slice(1, 3) * 60 + +tz.slice(4, 6));
    ns -= sign * mins * 60_000_000_000n;
  }
  return ns;
}

/** Parses RFC 3339 (any fraction precision) into a Date; ZERO_TIME gives undefined. */
export function parseTime(s: string | undefined): Date | undefined {
  if (!s || s.startsWith('0001-01-01')) return undefined;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration ("1h30m", "1.5h", "-10s", "0") in nanoseconds, or its error message. */
function readGoDuration(s: string): number | string {
  const invalid = `time: invalid duration ${JSON.stringify(s)}`;
  let rest = s;
  let sign = 1;
  if (rest[0] === '-' || rest[0] === '+') {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return invalid;
  let total = 0;
  while (rest !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    if ((num[1] ?? '') === '' && (num[2] ?? '') === '') return invalid;
    rest = rest.slice(num[0].length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') return `time: missing unit in duration ${JSON.stringify(s)}`;
    const scale = DURATION_UNITS[unit];
    if (scale === undefined) return `time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(s)}`;
    rest = rest.slice(unit.length);
    total += Number(`${num[1] || '0'}.${num[2] || '0'}`) * scale;
  }
  return sign * Math.round(total);
}

/** Go's time.ParseDuration in nanoseconds; an invalid parameter error with Go's message otherwise. */
export function parseGoDuration(s: string): number {
  const d = readGoDuration(s);
  if (typeof d === 'string') throw invalidParameter(d);
  return d;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{1,2})(?::(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * The RFC 3339 variants GetTimestamp accepts: a date, a date and hour, hour:minute, or a full
 * time with optional fraction; with a zone ("Z", "±hh:mm"), or else in the zone of `now`.
 */
function parseDateTime(value: string, now: number): bigint | undefined {
  const m = DATE_TIME.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  // As GetTimestamp picks its layout: a zone is expected exactly when the value has a Z, a '+' or
  // a third '-'; a '.' asks for seconds.
  const inLocation = !/[zZ+]/.test(value) && value.split('-').length - 1 !== 3;
  if ((zone !== undefined) === inLocation) return undefined;
  if (value.includes('.') && sec === undefined) return undefined;
  const month = +mo!;
  const day = +d!;
  const hour = +(h ?? 0);
  const minute = +(mi ?? 0);
  const second = +(sec ?? 0);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(+y!, month - 1, day, hour, minute, second);
  if (day < 1 || new Date(ms).getUTCDate() !== day) return undefined;
  let offsetMin: number;
  if (inLocation) offsetMin = -new Date(now).getTimezoneOffset();
  else if (zone === 'Z') offsetMin = 0;
  else offsetMin = (zone![0] === '-' ? -1 : 1) * (+zone!.slice(1, 3) * 60 + +zone!.slice(4, 6));
  const nanos = BigInt((frac ?? '').slice(0, 9).padEnd(9, '0'));
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * NS_PER_MS + nanos;
}

/**
 * A `since`/`until` value in nanoseconds since the epoch, as moby's timetypes.GetTimestamp
 * reads it: a Go duration meaning that long before `now` ("10m", "1h30m", "1.5h"), an RFC 3339
 * date or time (see parseDateTime), or unix seconds with an optional fraction ("1700000000.5").
 */
export function parseTimestampNano(value: string, now = Date.now()): bigint {
  if (value !== '0') {
    const d = readGoDuration(value);
    if (typeof d === 'number') return BigInt(now) * NS_PER_MS - BigInt(d);
  }
  const t = parseDateTime(value, now);
  if (t !== undefined) return t;
  const unix = /^\+?(\d+)(?:\.(\d+))?$/.exec(value);
  if (unix && !value.includes('-')) {
    return BigInt(unix[1]!) * NS_PER_S + BigInt((unix[2] ?? '').slice(0, 9).padEnd(9, '0'));
  }
  throw new Error(`failed to parse value as time or duration: "${value}"`);
}

/** parseTimestampNano as a Date (milliseconds, rounded down). */
export function parseTimestamp(value: string, now = Date.now()): Date {
  const ns = parseTimestampNano(value, now);
  return new Date(Number(ns / NS_PER_MS - (ns % NS_PER_MS < 0n ? 1n : 0n)));
}
