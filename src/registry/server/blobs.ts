// Blob routes: GET/HEAD/DELETE /v2/<name>/blobs/<digest> and the upload routes under
// /v2/<name>/blobs/uploads/ (monolithic, chunked and resumable uploads, cross-repository mounts).

import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { formatDigest, parseDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { validateName } from './names.js';
import { contentLength, sendEmpty, sendError, API_VERSION_HEADER } from './respond.js';
import type { Storage } from './storage.js';
import type { Uploads, UploadStatus } from './uploads.js';

/** Blobs are read in 1 MiB chunks: far fewer syscalls and writes than the 64 KiB default. */
const READ_CHUNK = 1 << 20;

export interface BlobContext {
  storage: Storage;
  uploads: Uploads;
}

/** A single `bytes=a-b` / `bytes=a-` / `bytes=-n` range within `size`; null when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | null | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined; // not a form we serve: send it all
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return null;
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

export async function getBlob(ctx: BlobContext, req: IncomingMessage, res: ServerResponse, name: string, digestStr: string): Promise<void> {
  const d = parseDigest(digestStr);
  const size = await ctx.storage.repoBlobSize(name, d);
  if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', { digest: digestStr });
  const digest = formatDigest(d);
  const headers: Record<string, string | number> = {
    ...API_VERSION_HEADER,
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Cache-Control': 'max-age=31536000',
    'Accept-Ranges': 'bytes',
  };
  if (req.headers['if-none-match'] === `"${digest}"`) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const range = req.headers.range ? parseRange(req.headers.range, size) : undefined;
  if (range === null) {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
    res.end();
    return;
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Length': end - start + 1,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return;
  }
  await pipeline(createReadStream(ctx.storage.blobPath(d), { start, end, highWaterMark: READ_CHUNK }), res);
}

export async function deleteBlob(ctx: BlobContext, res: ServerResponse, name: string, digestStr: string): Promise<void> {
  const d = parseDigest(digestStr);
  if (!(await ctx.storage.unlinkBlob(name, d))) throw new RegistryError('BLOB_UNKNOWN', { digest: digestStr });
  sendEmpty(res, 202, { 'Docker-Content-Digest': formatDigest(d) });
}

function uploadLocation(name: string, uuid: string): string {
  return `/v2/${name}/blobs/uploads/${uuid}`;
}

/** The 202/204 answer about an upload in progress: where to send the next chunk, what arrived. */
function sendUploadStatus(res: ServerResponse, status: number, name: string, up: UploadStatus): void {
  sendEmpty(res, status, {
    Location: uploadLocation(name, up.uuid),
    Range: `0-${Math.max(up.size - 1, 0)}`,
    'Docker-Upload-UUID': up.uuid,
  });
}

function sendBlobCreated(res: ServerResponse, name: string, digest: string): void {
  sendEmpty(res, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
}

/** POST /v2/<name>/blobs/uploads/: a mount, a monolithic upload (`?digest=`), or a new session. */
export async function startUpload(ctx: BlobContext, req: IncomingMessage, res: ServerResponse, name: string, query: URLSearchParams): Promise<void> {
  const mount = query.get('mount');
  if (mount !== null) {
    const d = parseDigest(mount);
    const from = query.get('from');
    const available = from !== null ? await ctx.storage.repoBlobSize(validateName(from), d) : await ctx.storage.blobSize(d);
    if (available !== undefined) {
      await ctx.storage.linkBlob(name, d);
      sendBlobCreated(res, name, formatDigest(d));
      return;
    }
    // Not mountable: the client uploads it instead, into the session started below.
  }
  const digest = query.get('digest');
  if (digest !== null && mount === null) {
    const d = parseDigest(digest);
    const up = await ctx.uploads.start(name);
    try {
      await ctx.uploads.finish(name, up.uuid, d, req, contentLength(req));
    } catch (err) {
      await ctx.uploads.cancel(name, up.uuid).catch(() => undefined);
      throw err;
    }
    sendBlobCreated(res, name, formatDigest(d));
    return;
  }
  sendUploadStatus(res, 202, name, await ctx.uploads.start(name));
}

/** `Content-Range: <start>-<end>` of a PATCH (with or without a `bytes ` prefix). */
function parseContentRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(header.trim());
  if (!m || Number(m[2]) < Number(m[1])) throw new RegistryError('RANGE_INVALID', { 'Content-Range': header });
  return { start: Number(m[1]), end: Number(m[2]) };
}

/** GET, PATCH, PUT and DELETE of /v2/<name>/blobs/uploads/<uuid>. */
export async function handleUpload(ctx: BlobContext, req: IncomingMessage, res: ServerResponse, name: string, uuid: string, query: URLSearchParams): Promise<void> {
  switch (req.method) {
    case 'GET':
    case 'HEAD':
      sendUploadStatus(res, 204, name, await ctx.uploads.status(name, uuid));
      return;
    case 'PATCH': {
      let range: { start: number; end: number } | undefined;
      try {
        range = parseContentRange(req.headers['content-range']);
        sendUploadStatus(res, 202, name, await ctx.uploads.append(name, uuid, req, range, contentLength(req)));
      } catch (err) {
        if (err instanceof RegistryError && err.code === 'RANGE_INVALID') {
          // Tell the client where the upload really stands, so it can resume from there.
          const up = await ctx.uploads.status(name, uuid).catch(() => undefined);
          sendError(res, err, up ? { Location: uploadLocation(name, uuid), Range: `0-${Math.max(up.size - 1, 0)}`, 'Docker-Upload-UUID': uuid } : {});
          return;
        }
        throw err;
      }
      return;
    }
    case 'PUT': {
      const digest = query.get('digest');
      if (digest === null) throw new RegistryError('DIGEST_INVALID', 'digest missing');
      const d = parseDigest(digest);
      await ctx.uploads.finish(name, uuid, d, req, contentLength(req));
      sendBlobCreated(res, name, formatDigest(d));
      return;
    }
    case 'DELETE':
      await ctx.uploads.cancel(name, uuid);
      sendEmpty(res, 204);
      return;
    default:
      throw new RegistryError('UNSUPPORTED');
  }
}
