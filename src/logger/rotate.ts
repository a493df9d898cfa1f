// Rotating log files, as dockerd's loggerutils.LogFile keeps them: the current file at `path`,
// older ones at `path.1` … `path.<max-file - 1>` (newest first), optionally gzip-compressed
// (`path.1.gz`, the gzip header's Extra holding {"lastTime": …} of the file's last record so
// readers asking for `since` can skip it). A file rotates once it has reached max-size, at a
// record boundary. Plus the json-file driver with rotation and attrs, and reading any
// line-framed log across its rotated (and compressed) files.
//
// The writer never blocks the container: log() encodes and queues; one write loop appends
// batches, rotating between records and waiting for the previous compression before the next
// rotation; nothing is dropped or reordered, across rotations included.

import { createReadStream, createWriteStream, watch, type FSWatcher } from 'node:fs';
import { open, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { createDeflateRaw, createGunzip, crc32 } from 'node:zlib';
import { errnoCode } from '../pkg/errors.js';
import { Mutex } from '../pkg/mutex.js';
import { dateToNano, formatRFC3339Nano, formatRFC3339NanoFixed, nowNano, parseRFC3339Nano } from '../pkg/timeutil.js';
import type { LogMessage, LogRecord, LogSource, ReadLogsOptions } from './lines.js';
import { detailsPrefix } from './loginfo.js';

const NS_PER_MS = 1_000_000n;

export interface RotateOptions {
  /** Bytes; <= 0 for no rotation. */
  maxSize: number;
  /** Files kept, the current one included (>= 1). */
  maxFiles: number;
  compress: boolean;
  mode?: number;
}

export interface Follower {
  /** Called (and awaited, with the files locked) after a rotation created the new current file. */
  onRotate(): Promise<void>;
  /** Called after every batch written. */
  onWrite(): void;
  /** The writer closed. */
  onClose(): void;
}

const live = new Map<string, RotatingFileWriter>();

/** The rotated file name of generation i (1 = newest rotated). */
export const rotatedName = (path: string, i: number, compressed: boolean): string => `${path}.${i}${compressed ? '.gz' : ''}`;

/** Byte-level rotating appender of whole records. */
export class RotatingFileWriter {
  private queue: { buf: Buffer; ns: bigint }[] = [];
  private head = 0;
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private closed = false;
  private size: number;
  private lastNs = 0n;
  private compressing: Promise<void> | undefined;
  private readonly followers = new Set<Follower>();
  /** Held while files are renamed/created, and by readers opening the set of files. */
  readonly fsop = new Mutex();
  error: unknown;

  private constructor(
    private fh: FileHandle,
    readonly path: string,
    readonly opts: RotateOptions,
    size: number,
  ) {
    this.size = size;
  }

  static async open(path: string, opts: RotateOptions): Promise<RotatingFileWriter> {
    const fh = await open(path, 'a', opts.mode ?? 0o640);
    const w = new RotatingFileWriter(fh, path, { ...opts, maxFiles: Math.max(1, opts.maxFiles) }, (await fh.stat()).size);
    live.set(path, w);
    return w;
  }

  /** The open writer of a log file in this process, if any (readers use it to follow rotations). */
  static live(path: string): RotatingFileWriter | undefined {
    return live.get(path);
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues one encoded record (it must end with '\n'); never waits. */
  write(record: Buffer, timeNs: bigint): void {
    if (this.closed) return;
    this.queue.push({ buf: record, ns: timeNs });
    this.queuedBytes += record.length;
    this.writing ??= this.writeLoop();
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flush();
    await this.compressing;
    await this.fh.close().catch(() => undefined);
    if (live.get(this.path) === this) live.delete(this.path);
    for (const f of this.followers) f.onClose();
    this.followers.clear();
  }

  follow(f: Follower): () => void {
    this.followers.add(f);
    return () => this.followers.delete(f);
  }

  private async writeLoop(): Promise<void> {
    const cap = this.opts.maxSize;
    try {
      while (this.head < this.queue.length) {
        if (cap > 0 && this.size >= cap) {
          try {
            await this.rotate();
          } catch (err) {
            this.error = err;
          }
        }
        const parts: Buffer[] = [];
        let bytes = 0;
        while (this.head < this.queue.length && (cap <= 0 || this.size + bytes < cap)) {
          const r = this.queue[this.head]!;
          this.queue[this.head++] = undefined as never;
          parts.push(r.buf);
          bytes += r.buf.length;
          this.lastNs = r.ns;
        }
        if (this.head > 4096 && this.head * 2 > this.queue.length) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        this.queuedBytes -= bytes;
        const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes);
        try {
          let off = 0;
          while (off < data.length) off += (await this.fh.write(data, off, data.length - off)).bytesWritten;
        } catch (err) {
          this.error = err;
        }
        this.size += bytes;
        for (const f of this.followers) f.onWrite();
      }
      this.queue = [];
      this.head = 0;
    } finally {
      this.writing = undefined;
    }
  }

  private async rotate(): Promise<void> {
    // The previous compression must finish before its file moves on.
    await this.compressing;
    const { maxFiles, compress } = this.opts;
    const lastNs = this.lastNs;
    await this.fsop.run(async () => {
      await this.fh.close().catch(() => undefined);
      try {
        if (maxFiles >= 2) {
          await unlinkIfExists(rotatedName(this.path, maxFiles - 1, compress));
          for (let i = maxFiles - 1; i > 1; i--) {
            await rename(rotatedName(this.path, i - 1, compress), rotatedName(this.path, i, compress)).catch((e) => {
              if (errnoCode(e) !== 'ENOENT') throw e;
            });
          }
          await rename(this.path, rotatedName(this.path, 1, false)).catch((e) => {
            if (errnoCode(e) !== 'ENOENT') throw e;
          });
        } else {
          await unlinkIfExists(this.path);
        }
      } catch (err) {
        this.error = err;
      }
      this.fh = await open(this.path, 'w', this.opts.mode ?? 0o640);
      this.size = 0;
      for (const f of this.followers) await f.onRotate().catch(() => undefined);
    });
    if (compress && maxFiles >= 2) {
      this.compressing = compressFile(rotatedName(this.path, 1, false), lastNs).catch((err) => {
        this.error = err;
      });
    }
  }
}

async function unlinkIfExists(p: string): Promise<void> {
  await unlink(p).catch((e) => {
    if (errnoCode(e) !== 'ENOENT') throw e;
  });
}

/**
 * gzips `file` to `file.gz` with {"lastTime": …} in the gzip header's Extra field (as dockerd),
 * then removes `file`. Readers find a complete copy at every moment: the .gz only replaces the
 * plain file once it is fully written.
 */
export async function compressFile(file: string, lastNs: bigint): Promise<void> {
  const tmp = `${file}.gz.tmp`;
  const extra = Buffer.from(JSON.stringify({ lastTime: formatRFC3339Nano(lastNs) }));
  const header = Buffer.alloc(12);
  header.set([0x1f, 0x8b, 8, 4 /* FEXTRA */, 0, 0, 0, 0, 0, 255], 0);
  header.writeUInt16LE(extra.length, 10);
  await writeFile(tmp, Buffer.concat([header, extra]), { mode: 0o640 });
  let crc = 0;
  let isize = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      crc = crc32(chunk, crc);
      isize = (isize + chunk.length) >>> 0;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(file), tap, createDeflateRaw(), createWriteStream(tmp, { flags: 'a' }));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(isize, 4);
    await writeFile(tmp, trailer, { flag: 'a' });
    await rename(tmp, `${file}.gz`);
    await unlink(file);
  } catch (err) {
    await unlinkIfExists(tmp).catch(() => undefined);
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
}

/** The lastTime recorded in a rotated file's gzip header, in ns (undefined if absent). */
export async function gzipLastTime(file: string): Promise<bigint | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(12 + 256);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead < 12 || buf[0] !== 0x1f || buf[1] !== 0x8b || !(buf[3]! & 4)) return undefined;
    const xlen = buf.readUInt16LE(10);
    const extra = buf.subarray(12, Math.min(bytesRead, 12 + xlen)).toString('utf8');
    const t = (JSON.parse(extra) as { lastTime?: string }).lastTime;
    return t ? parseRFC3339Nano(t) : undefined;
  } catch {
    return undefined;
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------
// Reading.

/** One decoded record of a line-framed log. */
export interface DecodedLine {
  stream: LogSource;
  /** With its '\n' unless partial. */
  line: Buffer;
  ns: bigint;
  attrs?: Record<string, string>;
}

export type LineDecoder = (line: Buffer) => DecodedLine | undefined;

export interface ReadOptions extends ReadLogsOptions {
  /** `docker logs --details`: prefix each line with its attrs ("k=v,k2=v2 "). */
  details?: boolean;
}

export interface ReadRecord extends LogRecord {
  attrs?: Record<string, string>;
}

/** A file of the set, newest last. */
interface Source {
  name: string;
  /** Opened eagerly (so rotation cannot pull it away); undefined for compressed files. */
  fh?: FileHandle;
  /** Size captured when opened. */
  size: number;
  gz?: string;
}

async function openSources(path: string, maxFiles: number, sinceNs: bigint | undefined): Promise<{ rotated: Source[]; current?: Source }> {
  const rotated: Source[] = [];
  for (let i = maxFiles - 1; i >= 1; i--) {
    const plain = rotatedName(path, i, false);
    try {
      const fh = await open(plain, 'r');
      rotated.push({ name: plain, fh, size: (await fh.stat()).size });
      continue;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    const gz = rotatedName(path, i, true);
    try {
      const st = await stat(gz);
      if (sinceNs !== undefined) {
        const last = await gzipLastTime(gz);
        if (last !== undefined && last < sinceNs) continue;
      }
      // Keep the file reachable even if rotation removes it before we read it.
      const fh = await open(gz, 'r');
      rotated.push({ name: gz, fh, size: st.size, gz });
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }
  let current: Source | undefined;
  try {
    const fh = await open(path, 'r');
    current = { name: path, fh, size: (await fh.stat()).size };
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  return { rotated, current };
}

/** Complete lines of a source from its start, as buffers (streamed; gzip decompressed). */
async function* sourceLines(src: Source, upTo?: number): AsyncGenerator<Buffer> {
  const end = upTo ?? src.size;
  if (!src.gz && end === 0) return;
  const stream = src.gz
    ? src.fh!.createReadStream({ autoClose: false, start: 0 }).pipe(createGunzip())
    : src.fh!.createReadStream({ autoClose: false, start: 0, end: end - 1 });
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    let p = 0;
    for (let nl = buf.indexOf(0x0a, p); nl >= 0; nl = buf.indexOf(0x0a, p)) {
      yield buf.subarray(p, nl + 1);
      p = nl + 1;
    }
    carry = Buffer.from(buf.subarray(p));
  }
}

async function countLines(src: Source): Promise<number> {
  let n = 0;
  for await (const _ of sourceLines(src)) n++;
  return n;
}

/**
 * Reads a line-framed log across its rotated files (oldest first), then the current file, and
 * with `follow` keeps reading what is appended — across rotations when the writer lives in this
 * process (RotatingFileWriter.live), else by polling the current file. Ends when `signal`
 * aborts (after draining what was written meanwhile) or `until` passes.
 */
export async function* readRotatedLogs(
  path: string,
  maxFiles: number,
  decode: LineDecoder,
  opts: ReadOptions,
  signal: AbortSignal,
): AsyncGenerator<ReadRecord> {
  const sinceNs = opts.since ? dateToNano(opts.since) : undefined;
  const untilNs = opts.until ? dateToNano(opts.until) : undefined;
  let sinceActive = sinceNs !== undefined;
  const tail = opts.tail ?? -1;
  const writer = opts.follow ? RotatingFileWriter.live(path) : undefined;

  // Rotations while following: each new current file is opened as it is created.
  const nextFiles: FileHandle[] = [];
  let wake: (() => void) | undefined;
  let writerClosed = false;
  let unfollow: (() => void) | undefined;
  const follower: Follower = {
    onRotate: async () => {
      nextFiles.push(await open(path, 'r'));
      wake?.();
    },
    onWrite: () => wake?.(),
    onClose: () => {
      writerClosed = true;
      wake?.();
    },
  };

  const open0 = async (): Promise<{ rotated: Source[]; current?: Source }> => openSources(path, maxFiles, sinceNs);
  const { rotated, current } = writer
    ? await writer.fsop.run(async () => {
        const r = await open0();
        unfollow = writer.follow(follower);
        return r;
      })
    : await open0();
  const all = current ? [...rotated, current] : rotated;

  const emit = (d: DecodedLine): ReadRecord | 'skip' | 'stop' => {
    if (sinceActive) {
      if (d.ns < sinceNs!) return 'skip';
      sinceActive = false;
    }
    if (untilNs !== undefined && d.ns > untilNs) return 'stop';
    if (d.stream === 'stdout' ? !opts.stdout : !opts.stderr) return 'skip';
    let line = d.line;
    if (opts.details) line = Buffer.concat([detailsPrefix(d.attrs), line]);
    if (opts.timestamps) line = Buffer.concat([Buffer.from(formatRFC3339NanoFixed(d.ns) + ' '), line]);
    const r: ReadRecord = { stream: d.stream, line, time: new Date(Number(d.ns / NS_PER_MS)), timeNano: d.ns };
    if (d.attrs) r.attrs = d.attrs;
    return r;
  };

  try {
    // Where to start: skip whole files, then lines, so that `tail` lines remain.
    let startFile = 0;
    let skipLines = 0;
    if (tail === 0) startFile = all.length;
    else if (tail > 0) {
      let need = tail;
      startFile = 0;
      for (let i = all.length - 1; i >= 0; i--) {
        const n = await countLines(all[i]!);
        if (n >= need) {
          startFile = i;
          skipLines = n - need;
          need = 0;
          break;
        }
        need -= n;
      }
    }
    for (let i = startFile; i < all.length; i++) {
      let skip = i === startFile ? skipLines : 0;
      for await (const raw of sourceLines(all[i]!)) {
        if (skip > 0) {
          skip--;
          continue;
        }
        const d = decode(raw);
        if (!d) continue;
        const r = emit(d);
        if (r === 'stop') return;
        if (r !== 'skip') yield r;
      }
    }
    if (!opts.follow) return;

    // Follow the current file from where the snapshot ended.
    let fh: FileHandle | undefined = current?.fh;
    let offset = current?.size ?? 0;
    let ownFh = false; // fh not in `all` (closed here)
    let carry: Buffer = Buffer.alloc(0);
    const readBuf = Buffer.alloc(64 * 1024);

    async function* drain(): AsyncGenerator<ReadRecord, boolean> {
      for (;;) {
        if (!fh) {
          const n = nextFiles.shift();
          if (!n) {
            // No writer here: the file may appear later.
            if (!writer) {
              try {
                fh = await open(path, 'r');
                ownFh = true;
                offset = 0;
              } catch {
                return true;
              }
            } else return true;
          } else {
            fh = n;
            ownFh = true;
            offset = 0;
          }
        }
        for (;;) {
          const { bytesRead } = await fh.read(readBuf, 0, readBuf.length, offset);
          if (bytesRead === 0) break;
          offset += bytesRead;
          const chunk = carry.length ? Buffer.concat([carry, readBuf.subarray(0, bytesRead)]) : readBuf.subarray(0, bytesRead);
          let p = 0;
          for (let nl = chunk.indexOf(0x0a, p); nl >= 0; nl = chunk.indexOf(0x0a, p)) {
            const d = decode(chunk.subarray(p, nl + 1));
            p = nl + 1;
            if (!d) continue;
            const r = emit(d);
            if (r === 'stop') return false;
            if (r !== 'skip') yield r;
          }
          carry = Buffer.from(chunk.subarray(p));
        }
        // Rotated away: the old file is complete; continue with the next one.
        if (nextFiles.length > 0) {
          if (ownFh) await fh.close().catch(() => undefined);
          fh = undefined;
          carry = Buffer.alloc(0);
          continue;
        }
        if (!writer) {
          // Polling mode: notice a replaced file (rotation by another process).
          const st = await stat(path).catch(() => undefined);
          const mine = await fh.stat().catch(() => undefined);
          if (st && mine && st.ino !== mine.ino) {
            if (ownFh) await fh.close().catch(() => undefined);
            fh = undefined;
            carry = Buffer.alloc(0);
            continue;
          }
        }
        return true;
      }
    }

    let untilTimer: NodeJS.Timeout | undefined;
    let untilPassed = false;
    if (untilNs !== undefined) {
      const ms = Number(untilNs / NS_PER_MS) - Date.now();
      if (ms <= 0) return;
      untilTimer = setTimeout(() => {
        untilPassed = true;
        wake?.();
      }, ms);
    }
    const onAbort = (): void => wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    let watcher: FSWatcher | undefined;
    if (!writer) {
      try {
        watcher = watch(path, { persistent: false }, () => wake?.());
        watcher.on('error', () => watcher?.close());
      } catch {
        // polling only
      }
    }
    try {
      if (!(yield* drain())) return;
      while (!signal.aborted && !untilPassed && !writerClosed) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, writer ? 1000 : 250);
          function done(): void {
            clearTimeout(t);
            wake = undefined;
            resolve();
          }
          wake = done;
        });
        if (!(yield* drain())) return;
      }
      // Stopped: what was written just before (give a half-written record a moment).
      if (!(yield* drain())) return;
      if (carry.length > 0) {
        await delay(200);
        yield* drain();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (untilTimer) clearTimeout(untilTimer);
      watcher?.close();
      if (ownFh) await fh?.close().catch(() => undefined);
    }
  } finally {
    unfollow?.();
    for (const f of nextFiles) await f.close().catch(() => undefined);
    for (const s of all) await s.fh?.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// json-file with rotation.

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };
const goJSON = (s: string): string => JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);

/** Go's json.Marshal of a map[string]string: keys sorted, HTML-safe escaping. */
export function goJSONMap(m: Record<string, string>): string {
  return `{${Object.keys(m).sort().map((k) => `${goJSON(k)}:${goJSON(m[k]!)}`).join(',')}}`;
}

/** dockerd's json-file record: {"log":…,"stream":…,"attrs":{…},"time":…}\n. */
export function encodeJSONRecord(line: Buffer, source: LogSource, ns: bigint, rawAttrs?: string): string {
  const parts: string[] = [];
  if (line.length > 0) parts.push(`"log":${goJSON(line.toString('utf8'))}`);
  parts.push(`"stream":"${source}"`);
  if (rawAttrs) parts.push(`"attrs":${rawAttrs}`);
  parts.push(`"time":"${formatRFC3339Nano(ns)}"`);
  return `{${parts.join(',')}}\n`;
}

export const decodeJSONLine: LineDecoder = (raw) => {
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as { log?: unknown; stream?: unknown; time?: unknown; attrs?: unknown };
  if (o.stream !== 'stdout' && o.stream !== 'stderr') return undefined;
  const ns = typeof o.time === 'string' ? parseRFC3339Nano(o.time) : undefined;
  if (ns === undefined) return undefined;
  const d: DecodedLine = { stream: o.stream, line: Buffer.from(typeof o.log === 'string' ? o.log : '', 'utf8'), ns };
  if (o.attrs && typeof o.attrs === 'object') d.attrs = o.attrs as Record<string, string>;
  return d;
};

export interface JSONFileOptions extends RotateOptions {
  /** Extra attributes (labels/env/tag) written with every record. */
  attrs?: Record<string, string>;
}

/** The json-file driver's writer: dockerd's format, rotation, compression, attrs. */
export class RotatingJSONFileLogger {
  readonly name = 'json-file';
  private readonly rawAttrs: string | undefined;

  private constructor(readonly writer: RotatingFileWriter, attrs: Record<string, string> | undefined) {
    this.rawAttrs = attrs && Object.keys(attrs).length > 0 ? goJSONMap(attrs) : undefined;
  }

  static async open(path: string, opts: JSONFileOptions): Promise<RotatingJSONFileLogger> {
    return new RotatingJSONFileLogger(await RotatingFileWriter.open(path, opts), opts.attrs);
  }

  get path(): string {
    return this.writer.path;
  }

  get pendingBytes(): number {
    return this.writer.pendingBytes;
  }

  log(msg: LogMessage): void {
    const ns = msg.timeNano ?? (msg.time ? dateToNano(msg.time) : nowNano());
    this.writer.write(Buffer.from(encodeJSONRecord(msg.line, msg.source, ns, this.rawAttrs), 'utf8'), ns);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** `docker logs` for a json-file log with its rotated files. */
export function readJSONFileLogs(path: string, maxFiles: number, opts: ReadOptions, signal: AbortSignal): AsyncGenerator<ReadRecord> {
  return readRotatedLogs(path, maxFiles, decodeJSONLine, opts, signal);
}
