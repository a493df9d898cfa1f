// Downloads one blob to a file, verifying its size and digest as it streams (dockerd's
// v2LayerDescriptor.Download): too many bytes, too few, or the wrong digest fail it, and only a
// verified file is handed on. Transient network failures start it over, with backoff.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { BerthError, invalidParameter } from '../pkg/errors.js';
import type { Repository } from '../registry/repository.js';
import { RegistryError } from '../registry/transport.js';
import type { Descriptor } from './manifest.js';
import { ByteProgress, update, type ProgressOutput } from './progress.js';

const MAX_ATTEMPTS = 4;

/** A failure that another try cannot fix (the registry served wrong content). */
class VerificationError extends BerthError {
  constructor(message: string) {
    super('invalid-parameter', message);
  }
}

function retryable(err: unknown): boolean {
  // Requests are retried by the transport already; this starts over a body that broke off.
  if (err instanceof VerificationError || err instanceof RegistryError) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error).message === 'unexpected EOF';
}

/** Fetches `desc` from `repo` into `file`, reporting `Downloading`, `Verifying Checksum`, `Download complete` under `id`. */
export async function downloadBlob(repo: Repository, desc: Descriptor, file: string, out: ProgressOutput, id: string, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      await downloadOnce(repo, desc, file, out, id, signal);
      return;
    } catch (err) {
      await rm(file, { force: true });
      if (signal?.aborted || attempt >= MAX_ATTEMPTS || !retryable(err)) throw err;
      await delay(250 * 2 ** (attempt - 1), undefined, { signal });
    }
  }
}

async function downloadOnce(repo: Repository, desc: Descriptor, file: string, out: ProgressOutput, id: string, signal?: AbortSignal): Promise<void> {
  const { body, length } = await repo.openBlob(desc.digest);
  if (length !== undefined && length !== desc.size) {
    body.destroy();
    throw new VerificationError(`blob ${desc.digest}: registry sent ${length} bytes, the manifest says ${desc.size}`);
  }
  const progress = new ByteProgress(out, id, 'Downloading', desc.size);
  const hash = createHash('sha256');
  let n = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > desc.size) {
        cb(new VerificationError(`blob ${desc.digest} is larger than the ${desc.size} bytes its manifest gives`));
        return;
      }
      hash.update(chunk);
      progress.add(chunk.length);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(file, { mode: 0o600 }), { signal });
  } catch (err) {
    // The connection dropped mid-body: as Go's reader reports it.
    if (!(err instanceof BerthError) && !signal?.aborted && n < desc.size) throw Object.assign(new Error('unexpected EOF'), { cause: err });
    throw err;
  }
  if (n < desc.size) throw new Error('unexpected EOF');
  progress.finish();
  update(out, id, 'Verifying Checksum');
  if (`sha256:${hash.digest('hex')}` !== desc.digest) throw new VerificationError(`filesystem layer verification failed for digest ${desc.digest}`);
  update(out, id, 'Download complete');
}

/** Reads a small blob (an image config) whole, verified against its descriptor. */
export async function fetchSmallBlob(repo: Repository, desc: Descriptor, limit: number): Promise<Buffer> {
  if (desc.size > limit) throw invalidParameter(`blob ${desc.digest} is too large (${desc.size} bytes)`);
  for (let attempt = 1; ; attempt++) {
    try {
      const { body } = await repo.openBlob(desc.digest);
      const chunks: Buffer[] = [];
      let n = 0;
      for await (const c of body as AsyncIterable<Buffer>) {
        n += c.length;
        if (n > desc.size) {
          body.destroy();
          throw new VerificationError(`blob ${desc.digest} is larger than the ${desc.size} bytes its manifest gives`);
        }
        chunks.push(c);
      }
      const buf = Buffer.concat(chunks);
      if (n < desc.size) throw new Error('unexpected EOF');
      if (`sha256:${createHash('sha256').update(buf).digest('hex')}` !== desc.digest) {
        throw new VerificationError(`image config verification failed for digest ${desc.digest}`);
      }
      return buf;
    } catch (err) {
      if (attempt >= MAX_ATTEMPTS || !retryable(err)) throw err;
      await delay(250 * 2 ** (attempt - 1));
    }
  }
}
