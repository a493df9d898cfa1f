// A streaming tar reader of our own (ustar, GNU and PAX), pulled one entry at a time. Every byte
// of the stream goes through it exactly once, so it can hash the whole stream and tell a
// tar-split sink which bytes are tar structure (headers, PAX records, padding, the end blocks and
// anything after them) and which are file content — the content of an entry whose consumer
// `claim`ed it (the file it wrote it to) is recorded as a reference, everything else verbatim.

import { invalidParameter } from '../pkg/errors.js';

const BLOCK = 512;

/** The header fields the appliers use (the shape tar-stream gives, so both can serve). */
export interface TarHeader {
  name: string;
  size?: number;
  mode?: number;
  mtime?: Date;
  type?: string | null;
  linkname?: string | null;
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string | undefined> | null;
}

/** Where the structure of a tar stream is recorded (see tarsplit.ts). */
export interface SplitSink {
  raw(b: Buffer): void | Promise<void>;
  file(path: string, size: number): void | Promise<void>;
}

export interface TarEntry extends AsyncIterable<Buffer> {
  readonly header: TarHeader;
  /** The content will be found again at `path` (relative to the layer root). */
  claim(path: string): void;
}

const TYPES: Record<string, string> = {
  '0': 'file',
  '\0': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
  '7': 'contiguous-file',
  x: 'pax-header',
  g: 'pax-global-header',
  L: 'gnu-long-path',
  K: 'gnu-long-link-path',
  S: 'gnu-sparse',
  D: 'gnu-dumpdir',
  V: 'gnu-volume-header',
  M: 'gnu-multivolume',
};

function bad(msg: string): Error {
  return invalidParameter(`invalid tar archive: ${msg}`);
}

function cstring(b: Buffer, start: number, end: number, enc: BufferEncoding = 'utf8'): string {
  let e = start;
  while (e < end && b[e] !== 0) e++;
  return b.toString(enc, start, e);
}

/** A numeric field: octal ASCII, or GNU base-256 when the high bit of the first byte is set. */
export function parseNumeric(b: Buffer, start: number, end: number): number {
  if (b[start]! & 0x80) {
    let v = 0;
    const neg = (b[start]! & 0x40) !== 0;
    for (let i = start; i < end; i++) {
      let byte = b[i]!;
      if (i === start) byte &= 0x7f;
      if (neg) byte ^= 0xff;
      v = v * 256 + byte;
    }
    return neg ? -(v + 1) : v;
  }
  const s = b.toString('latin1', start, end).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`invalid numeric field ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

function checksumOK(b: Buffer): boolean {
  let want: number;
  try {
    want = parseNumeric(b, 148, 156);
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 32 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return want === unsigned || want === signed;
}

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** PAX records "len key=value\n"; xattr values kept as latin1 so their bytes survive. */
export function parsePax(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < b.length) {
    if (b[off] === 0) break;
    const sp = b.indexOf(0x20, off);
    if (sp < 0) throw bad('malformed PAX record');
    const len = Number(b.toString('latin1', off, sp));
    if (!Number.isInteger(len) || len <= 0 || off + len > b.length) throw bad('malformed PAX record length');
    const rec = b.subarray(sp + 1, off + len - 1); // without the trailing newline
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw bad('malformed PAX record');
    const key = rec.toString('utf8', 0, eq);
    out[key] = key.startsWith('SCHILY.xattr.') ? rec.toString('latin1', eq + 1) : rec.toString('utf8', eq + 1);
    off += len;
  }
  return out;
}

/** Pulls bytes from an async iterator with a small queue of pending chunks. */
class ByteSource {
  private chunks: Buffer[] = [];
  private avail = 0;
  private eof = false;
  total = 0;

  constructor(
    private readonly it: AsyncIterator<Buffer | Uint8Array>,
    private readonly onChunk?: (b: Buffer) => void,
  ) {}

  private async pull(): Promise<boolean> {
    if (this.eof) return false;
    const r = await this.it.next();
    if (r.done) {
      this.eof = true;
      return false;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
    if (b.length) {
      this.onChunk?.(b);
      this.total += b.length;
      this.chunks.push(b);
      this.avail += b.length;
    }
    return true;
  }

  /** At most `n` (≥1) bytes without copying; undefined at the end of the stream. */
  async some(n: number): Promise<Buffer | undefined> {
    while (this.avail === 0) if (!(await this.pull())) return undefined;
    const first = this.chunks[0]!;
    if (first.length <= n) {
      this.chunks.shift();
      this.avail -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(n);
    this.avail -= n;
    return first.subarray(0, n);
  }

  /** Exactly `n` bytes, or fewer at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.avail < n) if (!(await this.pull())) break;
    const parts: Buffer[] = [];
    let want = Math.min(n, this.avail);
    while (want > 0) {
      const b = (await this.some(want))!;
      parts.push(b);
      want -= b.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

export interface TarReaderOptions {
  sink?: SplitSink;
  /** Sees every byte of the stream, in order (hashing). */
  onChunk?: (b: Buffer) => void;
}

export class TarReader {
  private readonly src: ByteSource;
  private readonly sink?: SplitSink;
  private pending?: () => Promise<void>;
  private ended = false;
  private globalPax: Record<string, string> = {};

  constructor(src: AsyncIterable<Buffer | Uint8Array>, opts: TarReaderOptions = {}) {
    this.src = new ByteSource(src[Symbol.asyncIterator](), opts.onChunk);
    this.sink = opts.sink;
  }

  /** Bytes read so far (the whole stream once `next` has returned undefined). */
  get bytesRead(): number {
    return this.src.total;
  }

  private async raw(b: Buffer): Promise<void> {
    if (this.sink && b.length) await this.sink.raw(b);
  }

  private async block(): Promise<Buffer | undefined> {
    const b = await this.src.read(BLOCK);
    if (b.length === 0) return undefined;
    if (b.length < BLOCK) throw bad('unexpected end of archive');
    return b;
  }

  /** Reads `size` content bytes plus padding as raw structure and returns the content. */
  private async metaContent(size: number): Promise<Buffer> {
    if (size > 1 << 20) throw bad('extended header too large');
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const b = await this.src.read(padded);
    if (b.length < padded) throw bad('unexpected end of archive');
    await this.raw(b);
    return b.subarray(0, size);
  }

  /** The next entry, or undefined at the end of the archive. Unread content is skipped. */
  async next(): Promise<TarEntry | undefined> {
    if (this.pending) {
      const p = this.pending;
      this.pending = undefined;
      await p();
    }
    if (this.ended) return undefined;
    let pax: Record<string, string> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = await this.block();
      if (!h) {
        this.ended = true;
        return undefined; // no end blocks; tolerated as Go's reader does at a header boundary
      }
      if (isZero(h)) {
        // End of archive: the rest of the stream (second zero block, record padding) is structure.
        await this.raw(h);
        for (;;) {
          const b = await this.src.some(1 << 16);
          if (!b) break;
          await this.raw(b);
        }
        this.ended = true;
        return undefined;
      }
      if (!checksumOK(h)) throw bad('header checksum mismatch');
      await this.raw(h);
      const flag = String.fromCharCode(h[156]!);
      let size = parseNumeric(h, 124, 136);
      if (size < 0) throw bad('negative size');
      if (flag === 'x' || flag === 'g') {
        const recs = parsePax(await this.metaContent(size));
        if (flag === 'g') this.globalPax = { ...this.globalPax, ...recs };
        else pax = { ...(pax ?? {}), ...recs };
        continue;
      }
      if (flag === 'L' || flag === 'K') {
        const content = await this.metaContent(size);
        const s = cstring(content, 0, content.length);
        if (flag === 'L') longName = s;
        else longLink = s;
        continue;
      }
      const magic = h.toString('latin1', 257, 263);
      let name = cstring(h, 0, 100);
      if (magic === 'ustar\0') {
        const prefix = cstring(h, 345, 500);
        if (prefix) name = `${prefix}/${name}`;
      }
      let linkname = cstring(h, 157, 257);
      const all = { ...this.globalPax, ...(pax ?? {}) };
      if (longName !== undefined) name = longName;
      if (longLink !== undefined) linkname = longLink;
      if (all.path !== undefined) name = all.path;
      if (all.linkpath !== undefined) linkname = all.linkpath;
      if (all.size !== undefined) {
        if (!/^\d+$/.test(all.size)) throw bad(`invalid PAX size ${JSON.stringify(all.size)}`);
        size = Number(all.size);
      }
      let type = TYPES[flag] ?? 'unknown';
      if ((flag === '0' || flag === '\0') && name.endsWith('/')) type = 'directory';
      const num = (key: string, start: number, end: number): number => {
        const v = all[key];
        if (v !== undefined && /^-?\d+$/.test(v)) return Number(v);
        return parseNumeric(h, start, end);
      };
      const mtimeSec = all.mtime !== undefined && Number.isFinite(Number(all.mtime)) ? Number(all.mtime) : parseNumeric(h, 136, 148);
      const header: TarHeader = {
        name,
        size,
        mode: parseNumeric(h, 100, 108),
        uid: num('uid', 108, 116),
        gid: num('gid', 116, 124),
        mtime: new Date(mtimeSec * 1000),
        type,
        linkname,
        uname: all.uname ?? cstring(h, 265, 297),
        gname: all.gname ?? cstring(h, 297, 329),
        devmajor: magic.startsWith('ustar') ? parseNumeric(h, 329, 337) : 0,
        devminor: magic.startsWith('ustar') ? parseNumeric(h, 337, 345) : 0,
        pax: pax || Object.keys(this.globalPax).length ? all : null,
      };
      return this.entry(header, size);
    }
  }

  private entry(header: TarHeader, size: number): TarEntry {
    let claimed: string | undefined;
    let remaining = size;
    let started = false;
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    const finishContent = async (): Promise<void> => {
      if (padding) {
        const p = await this.src.read(padding);
        if (p.length < padding) throw bad('unexpected end of archive');
        await this.raw(p);
      }
    };
    const announce = async (): Promise<void> => {
      if (started) return;
      started = true;
      if (claimed !== undefined && size > 0 && this.sink) await this.sink.file(claimed, size);
    };
    const drain = async (): Promise<void> => {
      await announce();
      while (remaining > 0) {
        const b = await this.src.some(Math.min(remaining, 1 << 20));
        if (!b) throw bad('unexpected end of archive');
        remaining -= b.length;
        if (claimed === undefined) await this.raw(b);
      }
      await finishContent();
    };
    this.pending = drain;
    const self = this;
    return {
      header,
      claim(path: string) {
        if (started) throw new Error('tar entry claimed after its content was read');
        claimed = path;
      },
      async *[Symbol.asyncIterator]() {
        await announce();
        while (remaining > 0) {
          const b = await self.src.some(Math.min(remaining, 1 << 20));
          if (!b) throw bad('unexpected end of archive');
          remaining -= b.length;
          if (claimed === undefined) await self.raw(b);
          yield b;
        }
      },
    };
  }
}
