// /containers/{name}/archive: HEAD (stat), GET (download a tar) and PUT (extract a tar), the
// API behind `docker cp` (dockerd's router/container/copy.go). The ArchiveBackend resolves the
// container and reads or writes its filesystem; the routes negotiate the encoding and write the answer.
import { createDeflateRaw, createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Router, RouteContext } from '../router.js';
import { boolValue } from '../httputils.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { PathStat } from '../../api/types/container.js';

/** A tar of a path in a container, and the stat of that path. */
export interface ContainerArchive {
  stat: PathStat;
  stream: Readable;
  /** Releases the container's filesystem; called once the stream is over (sent or failed). */
  done(): Promise<void>;
}

export interface ArchiveBackend {
  /** lstat of `path` in the container (404 for an unknown container or path). */
  containerStatPath(name: string, path: string): Promise<PathStat>;
  /** Emits the container's "archive-path" event. */
  containerArchivePath(name: string, path: string): Promise<ContainerArchive>;
  /** Extracts the tar `content` into the directory `path`; emits "extract-to-dir". */
  containerExtractToDir(name: string, path: string, content: Readable, opts: { noOverwriteDirNonDir: boolean; copyUIDGID: boolean }): Promise<void>;
}

/** The X-Docker-Container-Path-Stat header: base64 of the stat's JSON. */
export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

function archiveParams(ctx: RouteContext): { name: string; path: string } {
  const name = ctx.params.name ?? '';
  if (name === '') throw invalidParameter('bad parameter: name cannot be empty');
  const path = ctx.query.get('path') ?? '';
  if (path === '') throw invalidParameter('bad parameter: path cannot be empty');
  // No file name holds a NUL: the kernel would refuse it (EINVAL), and so does Node's fs, with a TypeError.
  if (path.includes('\0')) throw invalidParameter(`lstat ${path}: invalid argument`);
  return { name, path };
}

/** Go's gddo NegotiateContentEncoding over ["gzip", "deflate"]. */
export function negotiateEncoding(req: IncomingMessage): 'gzip' | 'deflate' | undefined {
  const header = req.headers['accept-encoding'];
  if (!header) return undefined;
  let best: { enc: 'gzip' | 'deflate'; q: number } | undefined;
  for (const part of String(header).split(',')) {
    const [rawName, ...params] = part.trim().split(';');
    const enc = rawName!.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    if ((enc === 'gzip' || enc === 'deflate') && q > 0 && (!best || q > best.q)) best = { enc, q };
  }
  return best?.enc;
}

export function archiveRoutes(r: Router, b: ArchiveBackend): void {
  r.head('/containers/{name}/archive', async (ctx) => {
    const { name, path } = archiveParams(ctx);
    const stat = await b.containerStatPath(name, path);
    ctx.res.writeHead(200, { 'X-Docker-Container-Path-Stat': encodePathStat(stat) });
    ctx.res.end();
  });

  r.get('/containers/{name}/archive', async (ctx) => {
    const { name, path } = archiveParams(ctx);
    const out = await b.containerArchivePath(name, path);
    try {
      const enc = negotiateEncoding(ctx.req);
      ctx.res.writeHead(200, {
        'X-Docker-Container-Path-Stat': encodePathStat(out.stat),
        'Content-Type': 'application/x-tar',
        ...(enc ? { 'Content-Encoding': enc } : {}),
      });
      if (enc === 'gzip') await pipeline(out.stream, createGzip(), ctx.res);
      else if (enc === 'deflate') await pipeline(out.stream, createDeflateRaw(), ctx.res);
      else await pipeline(out.stream, ctx.res);
    } finally {
      await out.done();
    }
  });

  r.put('/containers/{name}/archive', async (ctx) => {
    const { name, path } = archiveParams(ctx);
    await b.containerExtractToDir(name, path, ctx.req, {
      // dockerd: overwriting a directory with a non-directory is allowed unless the flag is set and true.
      noOverwriteDirNonDir: ctx.query.has('noOverwriteDirNonDir') && boolValue(ctx.query, 'noOverwriteDirNonDir'),
      copyUIDGID: boolValue(ctx.query, 'copyUIDGID'),
    });
    ctx.res.writeHead(200);
    ctx.res.end();
  });
}
