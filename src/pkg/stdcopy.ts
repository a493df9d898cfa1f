// Docker's multiplexed stream framing (application/vnd.docker.multiplexed-stream), used for
// attach, exec and logs of containers without a TTY: every write becomes one frame,
// an 8-byte header [stream, 0, 0, 0, uint32 BE length] followed by the payload.

import { Transform, type Readable, type TransformCallback, type Writable } from 'node:stream';

export type StdStream = 0 | 1 | 2 | 3;
export const Stdin = 0;
export const Stdout = 1;
export const Stderr = 2;
/** Errors from the daemon itself; a demuxer reports them as an error and stops. */
export const Systemerr = 3;

export const HEADER_LEN = 8;
// A frame's length field is a uint32; split anything larger.
const MAX_FRAME = 0xffffffff;

export function frameHeader(stream: StdStream, length: number): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  h[0] = stream;
  h.writeUInt32BE(length, 4);
  return h;
}

/** One complete frame (header + payload) for `data` on `stream`. */
export function frame(stream: StdStream, data: Buffer): Buffer {
  if (data.length <= MAX_FRAME) return Buffer.concat([frameHeader(stream, data.length), data]);
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_FRAME) {
    const chunk = data.subarray(off, off + MAX_FRAME);
    parts.push(frameHeader(stream, chunk.length), chunk);
  }
  return Buffer.concat(parts);
}

/**
 * A Transform that frames everything written to it for one stream. Several StdWriters
 * (stdout, stderr) may pipe into the same destination: each chunk is framed whole, so
 * their frames interleave without corrupting each other.
 */
export class StdWriter extends Transform {
  readonly stream: StdStream;
  constructor(stream: StdStream) {
    super();
    this.stream = stream;
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // Empty writes would become zero-length frames, which carry nothing.
    if (buf.length === 0) return cb();
    cb(null, frame(this.stream, buf));
  }
}

/**
 * A writer for `stream` that frames into `out` without ending it when the writer ends,
 * so stdout and stderr writers can share one destination.
 */
export function createStdWriter(out: Writable, stream: StdStream): StdWriter {
  const w = new StdWriter(stream);
  w.pipe(out, { end: false });
  return w;
}

/** Error carried by a Systemerr frame. */
export class SystemStreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SystemStreamError';
  }
}

/**
 * Incremental demultiplexer: push arbitrary chunks, get payloads per stream. Frames may
 * be split anywhere, headers included. Stdin frames are reported as stdout, as
 * moby's StdCopy does.
 */
export class Demuxer {
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private want = HEADER_LEN;
  private current: StdStream | -1 = -1;
  private remaining = 0;

  constructor(private readonly onData: (stream: 1 | 2, chunk: Buffer) => void) {}

  /** Throws SystemStreamError on a Systemerr frame, Error on an unknown stream byte. */
  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining > 0) {
        // Payloads are passed on as they arrive rather than buffered to the frame end,
        // so a long frame streams; Systemerr payloads are collected (they are short).
        const n = Math.min(this.remaining, chunk.length - off);
        const part = chunk.subarray(off, off + n);
        off += n;
        this.remaining -= n;
        if (this.current === Systemerr) {
          this.pending.push(part);
          this.pendingLen += n;
          if (this.remaining === 0) throw new SystemStreamError(Buffer.concat(this.pending).toString());
        } else {
          this.onData(this.current === Stderr ? 2 : 1, part);
        }
        if (this.remaining === 0) this.current = -1;
        continue;
      }
      // Collect a header.
      const n = Math.min(this.want - this.pendingLen, chunk.length - off);
      this.pending.push(chunk.subarray(off, off + n));
      this.pendingLen += n;
      off += n;
      if (this.pendingLen < this.want) break;
      const header = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      this.pending = [];
      this.pendingLen = 0;
      const stream = header[0]!;
      if (stream > Systemerr) throw new Error(`stdcopy: unrecognized stream: ${stream}`);
      this.current = stream as StdStream;
      this.remaining = header.readUInt32BE(4);
      if (this.remaining === 0) {
        if (this.current === Systemerr) throw new SystemStreamError('');
        this.current = -1;
      }
    }
  }

  /** True when the input stopped in the middle of a frame. */
  get incomplete(): boolean {
    return this.pendingLen > 0 || this.remaining > 0;
  }
}

/**
 * Reads a multiplexed stream to its end, calling onData per payload piece. Resolves at
 * EOF (a truncated final frame is delivered as far as it goes, like StdCopy); rejects on a
 * Systemerr frame, an unknown stream byte or a read error.
 */
export async function demux(input: Readable, onData: (stream: 1 | 2, chunk: Buffer) => void): Promise<void> {
  const d = new Demuxer(onData);
  try {
    for await (const chunk of input) {
      d.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    }
  } catch (err) {
    input.destroy();
    throw err;
  }
}
