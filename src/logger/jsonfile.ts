// The json-file log driver, byte-compatible with dockerd's: one JSON object per line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-28T08:00:00.123456789Z"}
// `log` keeps the line's newline; partial lines (longer than 16 KiB, or cut by EOF) are
// written without one, so concatenating `log` fields rebuilds the output exactly.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { errnoCode } from '../pkg/errors.js';

/** dockerd's copier buffer: a line longer than this is logged in partial pieces. */
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
// Encoding, matching moby's jsonlog.JSONLogs.MarshalJSONBuf.

// JSON.stringify leaves these alone; Go's encoder escapes them (HTML-safe JSON).
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};
const GO_ESCAPE_RE = /[<>&\u2028\u2029]/g;

function goJSONString(s: string): string {
  return JSON.stringify(s).replace(GO_ESCAPE_RE, (c) => GO_ESCAPES[c]!);
}

export function encodeRecord(line: Buffer, source: LogSource, ns: bigint): string {
  const parts: string[] = [];
  if (line.length > 0) parts.push(`"log":${goJSONString(line.toString('utf8'))}`);
  parts.push(`"stream":"${source}"`);
  parts.push(`"time":"${formatRFC3339Nano(ns)}"`);
  return `{${parts.join(',')}}\n`;
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

// ---------------------------------------------------------------------------------------
// Writer.

/**
 * Appends records to a json-file log. log() never waits: records are encoded at once and
 * queued, and a single write loop appends everything queued since its last write, so a
 * fast container is never throttled by the disk and no record is dropped or reordered.
 */
export class JSONFileLogger {
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private closed = false;
  private error: unknown;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<JSONFileLogger> {
    // 0640 as dockerd; O_APPEND so concurrent readers always see whole records appended.
    const fh = await open(path, 'a', 0o640);
    return new JSONFileLogger(fh, path);
  }

  /** Characters accepted but not yet written; lets callers watch for a stalled disk. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** The last write error, if any (writing continues with the following records). */
  get lastError(): unknown {
    return this.error;
  }

  log(msg: LogMessage): void {
    if (this.closed) return;
    const ns = msg.timeNano ?? (msg.time ? dateToNano(msg.time) : nowNano());
    const rec = encodeRecord(msg.line, msg.source, ns);
    this.queue.push(rec);
    this.queuedBytes += rec.length;
    this.writing ??= this.writeLoop();
  }

  /** Resolves once everything logged so far is in the file. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    await this.fh.close();
  }

  private async writeLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const text = this.queue.join('');
        this.queue = [];
        this.queuedBytes -= text.length;
        const data = Buffer.from(text, 'utf8');
        try {
          let off = 0;
          while (off < data.length) {
            const { bytesWritten } = await this.fh.write(data, off, data.length - off);
            off += bytesWritten;
          }
        } catch (err) {
          this.error = err;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}

/** Copies a container's output stream into the logger line by line until it ends. */
export async function copyToLogger(src: Readable, source: LogSource, logger: JSONFileLogger): Promise<void> {
  const splitter = new LineSplitter((line, timeNano) => logger.log({ line, source, timeNano }));
  try {
    for await (const chunk of src) splitter.write(chunk as Buffer);
  } finally {
    splitter.end();
  }
}

// ---------------------------------------------------------------------------------------
// Reader.

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

const BLOCK = 64 * 1024;
const POLL_MS = 250;
// After an abort, wait this long for a half-written last record to complete.
const DRAIN_GRACE_MS = 200;

interface Decoded {
  stream: LogSource;
  log: string;
  ns: bigint;
}

function decodeLine(text: string): Decoded | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { log?: unknown; stream?: unknown; time?: unknown };
  if (o.stream !== 'stdout' && o.stream !== 'stderr') return undefined;
  const ns = typeof o.time === 'string' ? parseRFC3339Nano(o.time) : undefined;
  if (ns === undefined) return undefined;
  return { stream: o.stream, log: typeof o.log === 'string' ? o.log : '', ns };
}

/** Offset where the last `n` complete records of [0, end) start; `end` must follow a '\n'. */
async function tailOffset(fh: FileHandle, end: number, n: number): Promise<number> {
  const buf = Buffer.alloc(BLOCK);
  let pos = end;
  let seen = 0;
  // The newline at end-1 terminates the last record; it is not a record boundary before it.
  let skipFirst = true;
  while (pos > 0) {
    const start = Math.max(0, pos - BLOCK);
    const len = pos - start;
    const { bytesRead } = await fh.read(buf, 0, len, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a) continue;
      if (skipFirst) {
        skipFirst = false;
        continue;
      }
      if (++seen === n) return start + i + 1;
    }
    pos = start;
  }
  return 0;
}

/**
 * Reads a json-file log. Without follow it returns at the current end of the file. With
 * follow it keeps yielding appended records (inotify via fs.watch, plus polling as a
 * fallback) until `signal` aborts or `until` passes; after an abort it drains the file once
 * more, so records written just before a container stopped are still delivered.
 * Callers should `await logger.flush()` before aborting to make that complete.
 */
export async function* readLogs(path: string, opts: ReadLogsOptions, signal: AbortSignal): AsyncGenerator<LogRecord> {
  const sinceNs = opts.since ? dateToNano(opts.since) : undefined;
  const untilNs = opts.until ? dateToNano(opts.until) : undefined;
  let sinceActive = sinceNs !== undefined;
  const tail = opts.tail ?? -1;

  let fh: FileHandle | undefined;
  let ino = 0;
  const reopen = async (): Promise<boolean> => {
    try {
      const h = await open(path, 'r');
      await fh?.close();
      fh = h;
      ino = (await h.stat()).ino;
      return true;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  };

  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort, { once: true });
  let untilTimer: NodeJS.Timeout | undefined;
  let untilPassed = false;

  try {
    if (!(await reopen()) && !opts.follow) return;

    let offset = 0;
    let carry = Buffer.alloc(0);
    if (fh) {
      const size = (await fh.stat()).size;
      // Only complete records count; a half-written last one is picked up when following.
      const end = await lastNewlineEnd(fh, size);
      if (tail === 0) offset = end;
      else if (tail > 0) offset = await tailOffset(fh, end, tail);
    }

    const readBuf = Buffer.alloc(BLOCK);
    // Reads from `offset` to the current end, yielding complete records. Returns false
    // when a record after `until` was seen (the stream is over).
    async function* drain(): AsyncGenerator<LogRecord, boolean> {
      if (!fh) return true;
      const size = (await fh.stat()).size;
      if (size < offset) {
        // Truncated under us: start over.
        offset = 0;
        carry = Buffer.alloc(0);
      }
      while (offset < size) {
        const { bytesRead } = await fh.read(readBuf, 0, Math.min(BLOCK, size - offset), offset);
        if (bytesRead === 0) break;
        offset += bytesRead;
        const chunk = carry.length > 0 ? Buffer.concat([carry, readBuf.subarray(0, bytesRead)]) : readBuf.subarray(0, bytesRead);
        let p = 0;
        for (let nl = chunk.indexOf(0x0a, p); nl >= 0; nl = chunk.indexOf(0x0a, p)) {
          const d = decodeLine(chunk.toString('utf8', p, nl));
          p = nl + 1;
          if (!d) continue;
          if (sinceActive) {
            if (d.ns < sinceNs!) continue;
            // Timestamps need not be monotonic: once one passes, take everything after it (as dockerd).
            sinceActive = false;
          }
          if (untilNs !== undefined && d.ns > untilNs) return false;
          if (d.stream === 'stdout' ? !opts.stdout : !opts.stderr) continue;
          let line = Buffer.from(d.log, 'utf8');
          if (opts.timestamps) line = Buffer.concat([Buffer.from(formatRFC3339NanoFixed(d.ns) + ' '), line]);
          yield { stream: d.stream, line, time: new Date(Number(d.ns / NS_PER_MS)), timeNano: d.ns };
        }
        carry = Buffer.from(chunk.subarray(p));
      }
      return true;
    }

    if (!(yield* drain())) return;
    if (!opts.follow) return;

    if (untilNs !== undefined) {
      const ms = Number(untilNs / NS_PER_MS) - Date.now();
      if (ms <= 0) return;
      untilTimer = setTimeout(() => {
        untilPassed = true;
        wake?.();
      }, ms);
    }

    const startWatch = (): void => {
      watcher?.close();
      watcher = undefined;
      try {
        watcher = watch(path, { persistent: false }, () => wake?.());
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        // No inotify (or file missing yet): polling alone still works.
      }
    };
    startWatch();

    while (!signal.aborted && !untilPassed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, watcher ? POLL_MS * 4 : POLL_MS);
        function done(): void {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
      // Replaced file (recreated log): follow the new one from its start.
      const st = await stat(path).catch(() => undefined);
      if (st && st.ino !== ino) {
        if (fh) {
          if (!(yield* drain())) return;
        }
        if (await reopen()) {
          offset = 0;
          carry = Buffer.alloc(0);
          startWatch();
        }
      }
      if (!(yield* drain())) return;
    }

    // Stopped: pick up what was written just before, waiting briefly for a record being
    // written to complete.
    if (!(yield* drain())) return;
    if (carry.length > 0) {
      await delay(DRAIN_GRACE_MS);
      yield* drain();
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (untilTimer) clearTimeout(untilTimer);
    watcher?.close();
    await fh?.close();
  }
}

/** The offset just past the last '\n' in [0, size). */
async function lastNewlineEnd(fh: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(BLOCK);
  let pos = size;
  while (pos > 0) {
    const start = Math.max(0, pos - BLOCK);
    const { bytesRead } = await fh.read(buf, 0, pos - start, start);
    const i = buf.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (i >= 0) return start + i + 1;
    pos = start;
  }
  return 0;
}
