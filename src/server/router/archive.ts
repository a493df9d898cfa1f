// /containers/{name}/archive: HEAD (stat), GET (download a tar) and PUT (extract a tar), the
// API behind `docker cp` (dockerd's router/container/copy.go). The daemon supplies the container's
// root through rootOf (see daemon/archive.ts for what it must contain).
import { createDeflateRaw, createGzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { Router, RouteContext } from '../router.js';
import { boolValue } from '../httputils.js';
import { invalidParameter } from '../../pkg/errors.js';
import { archivePath, encodePathStat, extractToDir, statPath, type ContainerRoot } from '../../daemon/archive.js';

export interface ArchiveContainerRoot {
  /** The container's root: for a stopped container its mounted rootfs with its mounts overlaid, for a running one /proc/<pid>/root. */
  root: ContainerRoot;
  /** Called once the request is done with the root (unmount, unlock…). */
  release(): Promise<void>;
  /** Config.User, for PUT ?copyUIDGID=1 (docker cp -a). */
  user?: string;
  /** HostConfig.ReadonlyRootfs: PUT outside a writable mount is refused. */
  readonlyRootfs?: boolean;
  /** The container's mount points: PUT into a read-only one is refused. */
  mountPoints?: { Destination: string; RW: boolean }[];
}

export interface ArchiveBackend {
  /** Resolves a container reference (404 when unknown) and provides its root. */
  rootOf(containerRef: string): Promise<ArchiveContainerRoot>;
  /** Container events: "archive-path" after GET, "extract-to-dir" after PUT. */
  event?(containerRef: string, action: 'archive-path' | 'extract-to-dir'): void;
}

function archiveParams(ctx: RouteContext): { name: string; path: string } {
  const name = ctx.params.name ?? '';
  if (name === '') throw invalidParameter('bad parameter: name cannot be empty');
  const path = ctx.query.get('path') ?? '';
  if (path === '') throw invalidParameter('bad parameter: path cannot be empty');
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

export function archiveRoutes(r: Router, d: ArchiveBackend): void {
  r.head('/containers/{name}/archive', async (ctx) => {
    const { name, path } = archiveParams(ctx);
    const c = await d.rootOf(name);
    try {
      const stat = await statPath(c.root, path, { container: name });
      ctx.res.writeHead(200, { 'X-Docker-Container-Path-Stat': encodePathStat(stat) });
      ctx.res.end();
    } finally {
      await c.release();
    }
  });

  r.get('/containers/{name}/archive', async (ctx) => {
    const { name, path } = archiveParams(ctx);
    const c = await d.rootOf(name);
    let stream: Readable;
    let closed: Promise<void> | undefined;
    try {
      const out = await archivePath(c.root, path, { container: name });
      stream = out.stream;
      closed = out.closed;
      const enc = negotiateEncoding(ctx.req);
      ctx.res.writeHead(200, {
        'X-Docker-Container-Path-Stat': encodePathStat(out.stat),
        'Content-Type': 'application/x-tar',
        ...(enc ? { 'Content-Encoding': enc } : {}),
      });
      d.event?.(name, 'archive-path');
      if (enc === 'gzip') await pipeline(stream, createGzip(), ctx.res);
      else if (enc === 'deflate') await pipeline(stream, createDeflateRaw(), ctx.res);
      else await pipeline(stream, ctx.res);
    } finally {
      // The root's handles must be closed before it is unmounted.
      if (closed) await closed;
      await c.release();
    }
  });

  r.put('/containers/{name}/archive', async (ctx) => {
    const { name, path } = archiveParams(ctx);
    const c = await d.rootOf(name);
    try {
      // dockerd: overwriting a directory with a non-directory is allowed unless the flag is set and true.
      const noOverwriteDirNonDir = ctx.query.has('noOverwriteDirNonDir') && boolValue(ctx.query, 'noOverwriteDirNonDir');
      await extractToDir(c.root, path, ctx.req, {
        container: name,
        noOverwriteDirNonDir,
        copyUIDGID: boolValue(ctx.query, 'copyUIDGID'),
        user: c.user,
        readonlyRootfs: c.readonlyRootfs,
        mountPoints: c.mountPoints,
      });
      d.event?.(name, 'extract-to-dir');
      ctx.res.writeHead(200);
      ctx.res.end();
    } finally {
      await c.release();
    }
  });
}
