// What every log driver shares, in dockerd's forms: nanosecond wall-clock times formatted and
// parsed as Go's RFC3339Nano, and the splitting of a container's raw output into log lines
// (the writers and readers live in rotate.ts and local.ts).

export const MAX_LINE = 16 * 1024;

export type LogSource = 'stdout' | 'stderr';

export interface LogMessage {
  /** The line with its trailing '\n', or without one when partial. */
  line: Buffer;
  source: LogSource;
  time?: Date;
  /** Nanoseconds since the epoch; wins over `time` (a Date only holds milliseconds). */
  timeNano?: bigint;
}

export interface LogRecord {
  stream: LogSource;
  /** As logged: ends with '\n' unless partial; prefixed with the timestamp when asked. */
  line: Buffer;
  time: Date;
  timeNano: bigint;
}

// ---------------------------------------------------------------------------------------
// Time: nanosecond wall clock and Go's RFC3339Nano.

const NS_PER_MS = 1_000_000n;
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

function splitNano(ns: bigint): { ms: number; frac: string } {
  let sec = ns / 1_000_000_000n;
  let rem = ns % 1_000_000_000n;
  if (rem < 0n) {
    rem += 1_000_000_000n;
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


// ---------------------------------------------------------------------------------------
// Line splitting, as moby's logger.Copier does it.

/**
 * Splits a container's raw output into log lines: each complete line is emitted with its
 * '\n'; a run of MAX_LINE bytes without a newline is emitted as a partial line (no '\n'),
 * and so is whatever is left at end(). Partial pieces of one line share the first
 * piece's timestamp, as dockerd does.
 */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private partialTime: bigint | undefined;

  constructor(
    private readonly onLine: (line: Buffer, timeNano: bigint) => void,
    private readonly maxLine: number = MAX_LINE,
  ) {}

  write(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let p = 0;
    for (;;) {
      // Only look for a newline within the line's allowance, as the copier's full buffer does.
      const limit = Math.min(buf.length, p + this.maxLine);
      const nl = buf.subarray(p, limit).indexOf(0x0a);
      if (nl >= 0) {
        this.emit(buf.subarray(p, p + nl + 1), false);
        p += nl + 1;
      } else if (buf.length - p >= this.maxLine) {
        this.emit(buf.subarray(p, p + this.maxLine), true);
        p += this.maxLine;
      } else break;
    }
    // Copy the remainder so the caller's chunk (often a pooled buffer) is not retained.
    this.pending = p < buf.length ? Buffer.from(buf.subarray(p)) : Buffer.alloc(0);
  }

  /** Emits an unterminated last line as a partial line (the splitter stays usable). */
  flush(): void {
    this.end();
  }

  /** Flushes an unterminated last line as a partial line. */
  end(): void {
    if (this.pending.length > 0) this.emit(this.pending, true);
    this.pending = Buffer.alloc(0);
    this.partialTime = undefined;
  }

  private emit(line: Buffer, partial: boolean): void {
    const t = this.partialTime ?? nowNano();
    if (partial) this.partialTime = t;
    else this.partialTime = undefined;
    // Emitted lines are copies: the logger keeps them past this call.
    this.onLine(Buffer.from(line), t);
  }
}

/** What `docker logs` asks of any driver's reader. */
export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  since?: Date;
  until?: Date;
  /** Last N lines; -1 (or undefined) = all, 0 = none (then only followed lines). */
  tail?: number;
  follow: boolean;
  /** Prefix each line with dockerd's fixed-width RFC3339Nano timestamp and a space. */
  timestamps?: boolean;
}
