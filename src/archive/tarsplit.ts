// Tar-split: what it takes to rebuild a layer's tar stream byte for byte from the files the layer
// was extracted to. While a layer is applied, every byte that is tar structure (headers, PAX and
// GNU records, padding, end-of-archive blocks, trailing bytes) is recorded verbatim and every run
// of file content as a reference to the file it was written to. The record is a gzip'd file of
// JSON lines:
//   {"r":"<base64>"}            raw bytes of the stream
//   {"f":"<path>","s":<size>}   <size> bytes of content, read from <root>/<path>
// Rebuilding streams the same bytes again and checks their sha256 against the layer's diffID.

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import * as zlib from 'node:zlib';
import type { SplitSink } from './tarreader.js';
import { systemError } from '../pkg/errors.js';

const FLUSH_AT = 48 * 1024;

/** Writes a tar-split record to `path`. Call `close()` at the end, `abort()` on failure. */
export class TarSplitWriter implements SplitSink {
  private readonly gz = zlib.createGzip({ level: 1 });
  private readonly out;
  private readonly done: Promise<void>;
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private failed?: Error;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { mode: 0o600 });
    this.gz.pipe(this.out);
    this.done = new Promise((resolve, reject) => {
      this.out.on('close', resolve);
      this.out.on('error', reject);
      this.gz.on('error', reject);
    });
    this.done.catch((err: Error) => (this.failed = err));
  }

  private async line(obj: unknown): Promise<void> {
    if (this.failed) throw this.failed;
    if (!this.gz.write(JSON.stringify(obj) + '\n')) await once(this.gz, 'drain');
  }

  private async flushRaw(): Promise<void> {
    if (this.pendingLen === 0) return;
    const b = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLen = 0;
    await this.line({ r: b.toString('base64') });
  }

  async raw(b: Buffer): Promise<void> {
    // Copy: the reader hands out views of buffers it may reuse.
    this.pending.push(Buffer.from(b));
    this.pendingLen += b.length;
    if (this.pendingLen >= FLUSH_AT) await this.flushRaw();
  }

  async file(path: string, size: number): Promise<void> {
    await this.flushRaw();
    await this.line({ f: path, s: size });
  }

  async close(): Promise<void> {
    await this.flushRaw();
    this.gz.end();
    await this.done;
  }

  abort(): void {
    this.gz.destroy();
    this.out.destroy();
  }
}

interface SplitLine {
  r?: string;
  f?: string;
  s?: number;
}

async function* rebuild(splitPath: string, root: string): AsyncGenerator<Buffer> {
  const input = createReadStream(splitPath).pipe(zlib.createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const text of lines) {
      if (!text) continue;
      const l = JSON.parse(text) as SplitLine;
      if (l.r !== undefined) {
        yield Buffer.from(l.r, 'base64');
        continue;
      }
      if (l.f === undefined || typeof l.s !== 'number') throw systemError(`corrupt tar-split record ${splitPath}`);
      const rel = posix.normalize('/' + l.f);
      const fh = await open(posix.join(root, rel), constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        let left = l.s;
        let pos = 0;
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(left, 1 << 20));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw systemError(`layer file ${rel} is shorter than recorded (${l.s} bytes)`);
          pos += bytesRead;
          left -= bytesRead;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

/**
 * The original tar stream of a layer, rebuilt from its tar-split record and its extracted
 * files under `root`. When `expectDigest` is given the stream fails at its end unless the bytes
 * hash to it.
 */
export function rebuildTar(splitPath: string, root: string, expectDigest?: string): Readable {
  async function* verified(): AsyncGenerator<Buffer> {
    const h = createHash('sha256');
    for await (const b of rebuild(splitPath, root)) {
      h.update(b);
      yield b;
    }
    const got = `sha256:${h.digest('hex')}`;
    if (expectDigest && got !== expectDigest) {
      throw systemError(`rebuilt layer tar does not match its digest: expected ${expectDigest}, got ${got}`);
    }
  }
  return Readable.from(verified(), { objectMode: false });
}

/** The length of the tar stream a tar-split record rebuilds, without reading the files. */
export async function tarSplitSize(splitPath: string): Promise<number> {
  const input = createReadStream(splitPath).pipe(zlib.createGunzip());
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    if (!text) continue;
    const l = JSON.parse(text) as SplitLine;
    if (l.r !== undefined) n += Buffer.byteLength(l.r, 'base64');
    else n += l.s ?? 0;
  }
  return n;
}
