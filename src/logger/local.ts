// The `local` log driver: dockerd keeps protobuf-framed records under
// <container>/local-logs/container.log; Berth keeps its own compact line format there instead
// (the file is private to the engine — dockerd deliberately does not expose its path):
//
//   <stream: 1|2><kind: f|p|e><time: ns since the epoch, decimal> <payload>\n
//
// kind f = a full line (the payload is the line without its '\n'), p = a partial line (no
// '\n'), e/E = a full/partial line whose payload is escaped (\\ and \n) because it had a '\n'
// inside.
// No JSON escaping, no attrs (the local driver takes no labels/env/tag). Rotation defaults as
// dockerd: 20 MB × 5 files, compressed.

import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { dateToNano, nowNano } from '../pkg/timeutil.js';
import type { LogMessage } from './lines.js';
import { RotatingFileWriter, readRotatedLogs, type DecodedLine, type LineDecoder, type ReadOptions, type ReadRecord, type RotateOptions } from './rotate.js';

export const LOCAL_DEFAULT_MAX_SIZE = 20 * 1024 * 1024;
export const LOCAL_DEFAULT_MAX_FILES = 5;
export const LOCAL_DEFAULT_COMPRESS = true;

/** Where the local driver keeps a container's log. */
export const localLogPath = (containerDir: string): string => join(containerDir, 'local-logs', 'container.log');

export function encodeLocalRecord(line: Buffer, source: 'stdout' | 'stderr', ns: bigint): Buffer {
  const s = source === 'stdout' ? '1' : '2';
  const full = line.length > 0 && line[line.length - 1] === 0x0a;
  const body = full ? line.subarray(0, line.length - 1) : line;
  if (body.includes(0x0a)) {
    const esc = body.toString('latin1').replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    return Buffer.concat([Buffer.from(`${s}${full ? 'e' : 'E'}${ns} `), Buffer.from(esc, 'latin1'), Buffer.from('\n')]);
  }
  return Buffer.concat([Buffer.from(`${s}${full ? 'f' : 'p'}${ns} `), body, Buffer.from('\n')]);
}

export const decodeLocalLine: LineDecoder = (raw) => {
  if (raw.length < 4) return undefined;
  const s = raw[0];
  const kind = String.fromCharCode(raw[1]!);
  const sp = raw.indexOf(0x20, 2);
  if ((s !== 0x31 && s !== 0x32) || sp < 0 || !'fpeE'.includes(kind)) return undefined;
  const nsText = raw.toString('latin1', 2, sp);
  if (!/^-?\d+$/.test(nsText)) return undefined;
  let body = raw.subarray(sp + 1, raw[raw.length - 1] === 0x0a ? raw.length - 1 : raw.length);
  if (kind === 'e' || kind === 'E') {
    body = Buffer.from(body.toString('latin1').replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\')), 'latin1');
  }
  const full = kind === 'f' || kind === 'e';
  const d: DecodedLine = { stream: s === 0x31 ? 'stdout' : 'stderr', line: full ? Buffer.concat([body, Buffer.from('\n')]) : Buffer.from(body), ns: BigInt(nsText) };
  return d;
};

export class LocalLogger {
  readonly name = 'local';
  private constructor(readonly writer: RotatingFileWriter) {}

  /** `path` is localLogPath(containerDir); its directory is created (0700, as dockerd). */
  static async open(path: string, opts: Partial<RotateOptions> = {}): Promise<LocalLogger> {
    await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
    return new LocalLogger(
      await RotatingFileWriter.open(path, {
        maxSize: opts.maxSize ?? LOCAL_DEFAULT_MAX_SIZE,
        maxFiles: opts.maxFiles ?? LOCAL_DEFAULT_MAX_FILES,
        compress: opts.compress ?? LOCAL_DEFAULT_COMPRESS,
        mode: opts.mode ?? 0o640,
      }),
    );
  }

  get path(): string {
    return this.writer.path;
  }

  get pendingBytes(): number {
    return this.writer.pendingBytes;
  }

  log(msg: LogMessage): void {
    const ns = msg.timeNano ?? (msg.time ? dateToNano(msg.time) : nowNano());
    this.writer.write(encodeLocalRecord(msg.line, msg.source, ns), ns);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  close(): Promise<void> {
    return this.writer.close();
  }
}

/** `docker logs` for a local-driver log with its rotated files. */
export function readLocalLogs(path: string, maxFiles: number, opts: ReadOptions, signal: AbortSignal): AsyncGenerator<ReadRecord> {
  return readRotatedLogs(path, maxFiles, decodeLocalLine, opts, signal);
}
