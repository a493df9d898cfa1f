// Detects and undoes layer compression by magic bytes: gzip, zstd, xz, bzip2, or none.

import { Readable, PassThrough } from 'node:stream';
import { spawn } from 'node:child_process';
import * as zlib from 'node:zlib';
import { invalidParameter } from '../pkg/errors.js';

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08) return 'gzip';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

/**
 * Reads at least `n` bytes (or to the end) and gives back the head plus a stream that still
 * yields every byte, head included.
 */
export function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    let settled = false;
    const cleanup = (): void => {
      src.off('readable', onReadable);
      src.off('end', onEnd);
      src.off('error', onError);
    };
    const finish = (ended: boolean): void => {
      if (settled) return;
      settled = true;
      cleanup();
      const head = Buffer.concat(chunks);
      if (ended) {
        resolve({ head, stream: Readable.from(head.length ? [head] : []) });
      } else {
        if (head.length) src.unshift(head);
        resolve({ head, stream: src });
      }
    };
    const onReadable = (): void => {
      let c: Buffer | string | null;
      while (len < n && (c = src.read() as Buffer | string | null) !== null) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        chunks.push(b);
        len += b.length;
      }
      if (len >= n) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onError = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    src.on('readable', onReadable);
    src.on('end', onEnd);
    src.on('error', onError);
  });
}

function spawnFilter(cmd: string, args: string[], input: Readable): Readable {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out = new PassThrough();
  const errs: Buffer[] = [];
  child.stderr.on('data', (b: Buffer) => errs.push(b));
  child.on('error', (e) => out.destroy(e));
  input.on('error', (e) => {
    child.kill();
    out.destroy(e);
  });
  child.stdin.on('error', () => {
    /* reported through the exit status */
  });
  input.pipe(child.stdin);
  child.stdout.pipe(out, { end: false });
  let exited: number | null | undefined;
  let stdoutDone = false;
  const maybeEnd = (): void => {
    if (exited === undefined || !stdoutDone) return;
    if (exited === 0) out.end();
    else out.destroy(new Error(`${cmd}: ${Buffer.concat(errs).toString('utf8').trim() || `exit ${exited}`}`));
  };
  child.stdout.on('end', () => {
    stdoutDone = true;
    maybeEnd();
  });
  child.on('close', (code) => {
    exited = code;
    maybeEnd();
  });
  out.on('close', () => {
    if (exited === undefined) child.kill();
  });
  return out;
}

/** Returns the uncompressed stream of `src` (which may already be uncompressed). */
export async function decompressStream(src: Readable): Promise<{ stream: Readable; compression: Compression }> {
  const { head, stream } = await peek(src, 6);
  const compression = detectCompression(head);
  switch (compression) {
    case 'none':
      return { stream, compression };
    case 'gzip': {
      const gunzip = zlib.createGunzip();
      stream.on('error', (e) => gunzip.destroy(e));
      return { stream: stream.pipe(gunzip), compression };
    }
    case 'zstd': {
      const mk = (zlib as unknown as { createZstdDecompress?: () => import('node:stream').Transform }).createZstdDecompress;
      if (mk) {
        const z = mk();
        stream.on('error', (e) => z.destroy(e));
        return { stream: stream.pipe(z), compression };
      }
      return { stream: spawnFilter('zstd', ['-d', '-c', '-q'], stream), compression };
    }
    case 'xz':
      return { stream: spawnFilter('xz', ['-d', '-c', '-q'], stream), compression };
    case 'bzip2':
      return { stream: spawnFilter('bzip2', ['-d', '-c', '-q'], stream), compression };
  }
  throw invalidParameter('unsupported compression format');
}
