// Blob uploads. Each upload is a directory under <root>/_uploads/<uuid> holding `state.json`
// (repository, start time) and `data`, the bytes received so far: the offset is the file's size,
// so an upload survives a restart of the registry and a later PATCH resumes it. The sha256 of the
// data is kept incrementally in memory; after a restart it is rebuilt by reading the file once.
// A PATCH that fails part-way is undone (the file is cut back, the hash restored), so the data on
// disk is always what the client was told it is.

import { randomUUID, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readJSON, writeJSONAtomic } from '../../pkg/atomicfile.js';
import { Mutex } from '../../pkg/mutex.js';
import { formatDigest, hashFile, newHash, type Digest } from './digest.js';
import { RegistryError } from './errors.js';
import type { Storage } from './storage.js';

interface UploadState {
  repo: string;
  startedAt: string;
}

interface Live {
  mutex: Mutex;
  /** sha256 of the first `hashed` bytes of data. */
  hash?: Hash;
  hashed: number;
}

export interface UploadStatus {
  uuid: string;
  repo: string;
  /** Bytes received. */
  size: number;
  startedAt: Date;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Uploads {
  private readonly live = new Map<string, Live>();

  constructor(private readonly storage: Storage) {}

  private dir(uuid: string): string {
    return join(this.storage.uploadsDir, uuid);
  }

  async start(repo: string): Promise<UploadStatus> {
    const uuid = randomUUID();
    const dir = this.dir(uuid);
    await mkdir(dir, { recursive: true });
    await (await open(join(dir, 'data'), 'w', 0o644)).close();
    const startedAt = new Date();
    await writeJSONAtomic(join(dir, 'state.json'), { repo, startedAt: startedAt.toISOString() } satisfies UploadState);
    return { uuid, repo, size: 0, startedAt };
  }

  /** The upload `uuid` of `repo`; BLOB_UPLOAD_UNKNOWN when there is none (or it is another repository's). */
  async status(repo: string, uuid: string): Promise<UploadStatus> {
    const unknown = new RegistryError('BLOB_UPLOAD_UNKNOWN', { uuid });
    if (!UUID_RE.test(uuid)) throw unknown;
    const state = await readJSON<UploadState>(join(this.dir(uuid), 'state.json')).catch(() => undefined);
    if (!state || state.repo !== repo) throw unknown;
    const st = await stat(join(this.dir(uuid), 'data')).catch(() => undefined);
    if (!st) throw unknown;
    return { uuid, repo, size: st.size, startedAt: new Date(state.startedAt) };
  }

  private entry(uuid: string): Live {
    let l = this.live.get(uuid);
    if (!l) {
      l = { mutex: new Mutex(), hashed: 0 };
      this.live.set(uuid, l);
    }
    return l;
  }

  /**
   * Appends `body` to the upload. `range` (a PATCH's Content-Range) must start where the data
   * ends, else RANGE_INVALID; `length` (its Content-Length), when given, must be what arrives.
   */
  async append(repo: string, uuid: string, body: Readable, range?: { start: number; end: number }, length?: number): Promise<UploadStatus> {
    await this.status(repo, uuid);
    const l = this.entry(uuid);
    return l.mutex.run(async () => {
      const st = await this.status(repo, uuid);
      if (range && (range.start !== st.size || (length !== undefined && length !== range.end - range.start + 1))) {
        throw new RegistryError('RANGE_INVALID', { offset: st.size }, `content range ${range.start}-${range.end} does not continue the upload at ${st.size}`);
      }
      const hash = await this.hashAt(uuid, l, st.size);
      const before = hash.copy();
      let received = 0;
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          received += chunk.length;
          cb(null, chunk);
        },
      });
      try {
        await pipeline(body, hashing, createWriteStream(join(this.dir(uuid), 'data'), { flags: 'r+', start: st.size }));
        if (length !== undefined && received !== length) throw new RegistryError('SIZE_INVALID', { expected: length, received });
      } catch (err) {
        await truncate(join(this.dir(uuid), 'data'), st.size);
        l.hash = before;
        l.hashed = st.size;
        throw err;
      }
      l.hashed = st.size + received;
      return { ...st, size: st.size + received };
    });
  }

  /** The running sha256 of the first `size` bytes, read back from disk when not in memory. */
  private async hashAt(uuid: string, l: Live, size: number): Promise<Hash> {
    if (!l.hash || l.hashed !== size) {
      l.hash = newHash('sha256');
      await hashFile(join(this.dir(uuid), 'data'), l.hash, size);
      l.hashed = size;
    }
    return l.hash;
  }

  /**
   * Completes the upload: appends `body` if any, verifies the data against `digest` and moves it
   * into the blob store, linked into `repo`. On a mismatch the upload is removed and nothing is
   * stored (DIGEST_INVALID), as distribution does.
   */
  async finish(repo: string, uuid: string, digest: Digest, body?: Readable, length?: number): Promise<void> {
    if (body) await this.append(repo, uuid, body, undefined, length);
    const l = this.entry(uuid);
    await l.mutex.run(async () => {
      const st = await this.status(repo, uuid);
      const data = join(this.dir(uuid), 'data');
      let actual: string;
      if (digest.algorithm === 'sha256') {
        actual = (await this.hashAt(uuid, l, st.size)).copy().digest('hex');
      } else {
        const h = newHash(digest.algorithm);
        await hashFile(data, h);
        actual = h.digest('hex');
      }
      if (actual !== digest.hex) {
        await this.remove(uuid);
        throw new RegistryError('DIGEST_INVALID', { digest: formatDigest(digest), computed: `${digest.algorithm}:${actual}` });
      }
      const fh = await open(data, 'r+');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.storage.commitBlob(data, digest);
      await this.storage.linkBlob(repo, digest);
      await this.remove(uuid);
    });
  }

  async cancel(repo: string, uuid: string): Promise<void> {
    await this.status(repo, uuid);
    await this.entry(uuid).mutex.run(() => this.remove(uuid));
  }

  private async remove(uuid: string): Promise<void> {
    this.live.delete(uuid);
    await rm(this.dir(uuid), { recursive: true, force: true });
  }

  /** Every upload on disk, with when it started (an unreadable one counts as started at the epoch). */
  static async list(storage: Storage): Promise<{ uuid: string; startedAt: Date }[]> {
    const out: { uuid: string; startedAt: Date }[] = [];
    for (const uuid of await readdir(storage.uploadsDir).catch(() => [] as string[])) {
      const state = await readJSON<UploadState>(join(storage.uploadsDir, uuid, 'state.json')).catch(() => undefined);
      out.push({ uuid, startedAt: new Date(state?.startedAt ?? 0) });
    }
    return out;
  }
}
