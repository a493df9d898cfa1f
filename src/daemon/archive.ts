// `docker cp` on a container's root directory: stat (HEAD), archive (GET) and extract (PUT)
// with dockerd's path rules (daemon/archive_unix.go, containerfs_linux.go, go-archive's
// copy.go). The daemon hands in the container's root: for a stopped container its mounted
// rootfs plus the table of its volume and bind mounts (overlaid, as dockerd mounts them in a
// private namespace), for a running one /proc/<pid>/root, where the mounts are already in place.
// Every path is resolved inside that root the way a chroot would (pkg/scopedfs.ts): symlinks,
// `..` and absolute link targets never lead out of it, and nothing is written through a symlink.

import type { Stats } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import type { PathStat } from '../api/types/container.js';
import { BerthError, errnoCode, invalidParameter, notFound, systemError } from '../pkg/errors.js';
import { rfc3339Nano } from '../pkg/timeutil.js';
import { fdPath, readFileInRoot, ScopedRoot, type Resolved, type ScopedMount } from '../pkg/scopedfs.js';
import { extractScoped, packScoped, type ExtractOptions } from '../archive/scopedtar.js';
import { resolveUser } from '../oci/user.js';
import type { IdentityMapping } from '../pkg/idmap.js';

/** A container root: a directory, or one with host mounts overlaid at their destinations. */
export type ContainerRoot = string | ScopedRoot | { path: string; mounts?: ScopedMount[] };

export interface CpOptions {
  /** The container reference, for dockerd's "Could not find the file … in container …". */
  container?: string;
  /** --userns-remap: files on disk carry host IDs, archives the container's. */
  idMap?: IdentityMapping;
}

// Go's os.FileMode type bits.
export const GO_MODE = {
  dir: 2 ** 31,
  append: 2 ** 30,
  exclusive: 2 ** 29,
  temporary: 2 ** 28,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
  irregular: 2 ** 19,
} as const;

/** A stat mode as Go's os.FileMode (what dockerd puts in PathStat.mode). */
export function goFileMode(st: Pick<Stats, 'mode'>): number {
  let m = st.mode & 0o777;
  switch (st.mode & 0o170000) {
    case 0o040000: m += GO_MODE.dir; break;
    case 0o120000: m += GO_MODE.symlink; break;
    case 0o060000: m += GO_MODE.device; break;
    case 0o020000: m += GO_MODE.device + GO_MODE.charDevice; break;
    case 0o010000: m += GO_MODE.namedPipe; break;
    case 0o140000: m += GO_MODE.socket; break;
    case 0o100000: break;
    default: m += GO_MODE.irregular;
  }
  if (st.mode & 0o4000) m += GO_MODE.setuid;
  if (st.mode & 0o2000) m += GO_MODE.setgid;
  if (st.mode & 0o1000) m += GO_MODE.sticky;
  return m;
}

export function isGoDir(mode: number): boolean {
  return Math.floor(mode / GO_MODE.dir) % 2 === 1;
}

/** Go's filepath.Base. */
export function goBase(p: string): string {
  if (p === '') return '.';
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

const specifiesCurrentDir = (p: string): boolean => goBase(p) === '.';

/** go-archive's PreserveTrailingDotOrSeparator. */
export function preserveTrailingDotOrSeparator(cleaned: string, original: string): string {
  let out = cleaned;
  if (!specifiesCurrentDir(out) && specifiesCurrentDir(original)) {
    if (!out.endsWith('/')) out += '/';
    out += '.';
  }
  if (!out.endsWith('/') && original.endsWith('/')) out += '/';
  return out;
}

async function openRoot(root: ContainerRoot): Promise<{ r: ScopedRoot; close(): Promise<void> }> {
  if (root instanceof ScopedRoot) return { r: root, close: async () => undefined };
  const r = typeof root === 'string' ? await ScopedRoot.open(root) : await ScopedRoot.open(root.path, root.mounts ?? []);
  return { r, close: () => r.close() };
}

function mapError(err: unknown, path: string, opts: CpOptions): Error {
  if (err instanceof BerthError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT') return notFound(`Could not find the file ${path} in container ${opts.container ?? ''}`.trimEnd());
  return systemError(err instanceof Error ? err.message : String(err), err);
}

async function statResolved(r: ScopedRoot, res: Resolved, path: string): Promise<PathStat> {
  const st = res.stat!;
  let linkTarget = '';
  if (st.isSymbolicLink()) {
    // dockerd: symlink.FollowSymlinkInScope(path, "/") — the absolute path it leads to.
    try {
      const t = await r.resolve(path, { followFinal: true });
      linkTarget = t.path;
      await t.release();
    } catch {
      // Something on the way is missing: FollowSymlinkInScope then joins the rest lexically.
      const target = await readlink(fdPath(res.dir.fh, res.name)).catch(() => '');
      linkTarget = posix.normalize('/' + (target.startsWith('/') ? target : posix.join(res.dir.path, target)));
    }
  }
  return { name: goBase(path), size: st.size, mode: goFileMode(st), mtime: rfc3339Nano(st.mtime), linkTarget };
}

/** HEAD /containers/{id}/archive: lstat of `path` inside the root. */
export async function statPath(root: ContainerRoot, path: string, opts: CpOptions = {}): Promise<PathStat> {
  const { r, close } = await openRoot(root);
  try {
    const res = await r.resolve(path);
    try {
      if (!res.stat) throw Object.assign(new Error('no such file or directory'), { code: 'ENOENT' });
      return await statResolved(r, res, path);
    } finally {
      await res.release();
    }
  } catch (err) {
    throw mapError(err, path, opts);
  } finally {
    await close();
  }
}

/**
 * GET /containers/{id}/archive: a tar of `path` and its stat. A directory is archived under its
 * base name (`/etc` and `/etc/` give `etc/…`, `/etc/.` gives `./…`), anything else as one entry
 * named after it. With followLink a final symlink is followed and its target archived under the
 * link's name (what the CLI does for `cp -L`).
 */
export async function archivePath(
  root: ContainerRoot,
  path: string,
  opts: CpOptions & { followLink?: boolean } = {},
): Promise<{ stat: PathStat; stream: Readable; closed: Promise<void> }> {
  const { r, close } = await openRoot(root);
  let res: Resolved | undefined;
  try {
    const absPath = preserveTrailingDotOrSeparator(posix.join('/', path), path);
    res = await r.resolve(absPath);
    if (!res.stat) throw Object.assign(new Error('no such file or directory'), { code: 'ENOENT' });
    const stat = await statResolved(r, res, absPath);
    if (opts.followLink && res.stat.isSymbolicLink()) {
      await res.release();
      res = await r.resolve(absPath, { followFinal: true });
      if (!res.stat) throw Object.assign(new Error('no such file or directory'), { code: 'ENOENT' });
    }
    const rebase = goBase(absPath);
    const nameFor = (rel: string): string => {
      if (!res!.stat!.isDirectory()) return rebase;
      // go-archive walks "." and renames it (and the "./" of every entry) to the base name.
      const replacement = rebase === '/' ? '' : rebase;
      if (rel === '') return replacement === '' ? '/' : replacement;
      return `${replacement}/${rel}`;
    };
    const tarStream = packScoped(r, { dir: res.dir, name: res.name, stat: res.stat }, nameFor, { idMap: opts.idMap });
    const out = new PassThrough();
    const held = res;
    let finished = false;
    let closedResolve!: () => void;
    // Resolves once every handle into the root is closed (the caller may then unmount it).
    const closed = new Promise<void>((resolve) => (closedResolve = resolve));
    const finish = async (): Promise<void> => {
      if (finished) return;
      finished = true;
      try {
        await held.release();
        await close();
      } finally {
        closedResolve();
      }
    };
    tarStream.on('error', (e) => out.destroy(e));
    out.on('close', () => {
      tarStream.destroy();
      void finish();
    });
    tarStream.on('end', () => void finish());
    tarStream.pipe(out);
    return { stat, stream: out, closed };
  } catch (err) {
    await res?.release();
    await close();
    throw mapError(err, path, opts);
  }
}

/** Where writes to `absPath` are refused: dockerd's checkWritablePath. */
export interface WritableCheck {
  readonlyRootfs?: boolean;
  /** The container's mount points (MountPoint-shaped). */
  mountPoints?: { Destination: string; RW: boolean }[];
}

function checkWritable(absPath: string, w: WritableCheck): void {
  let best: { Destination: string; RW: boolean } | undefined;
  for (const m of w.mountPoints ?? []) {
    const d = posix.normalize(m.Destination);
    if (absPath === d || absPath.startsWith(d === '/' ? '/' : d + '/')) {
      if (!best || d.length > best.Destination.length) best = { Destination: d, RW: m.RW };
    }
  }
  if (best) {
    if (!best.RW) throw invalidParameter('mounted volume is marked read-only');
    return;
  }
  if (w.readonlyRootfs) throw invalidParameter('container rootfs is marked read-only');
}

/**
 * The owner dockerd gives copied files with copyUIDGID (`docker cp -a`): the container's
 * configured user (and group) looked up in its own /etc/passwd and /etc/group; undefined when
 * Config.User is empty (the archive's ids are kept).
 */
export async function copyOwner(root: ContainerRoot, user: string): Promise<{ uid: number; gid: number } | undefined> {
  if (!user) return undefined;
  const { r, close } = await openRoot(root);
  try {
    const u = await resolveUser(user, [], (p) => readFileInRoot(r, p));
    return { uid: u.uid, gid: u.gid };
  } catch (err) {
    if (err instanceof BerthError) throw invalidParameter(err.message);
    throw err;
  } finally {
    await close();
  }
}

export interface ExtractToDirOptions extends CpOptions, WritableCheck {
  /** dockerd's noOverwriteDirNonDir query parameter. */
  noOverwriteDirNonDir?: boolean;
  /** `docker cp -a`: own everything by the container's Config.User (see copyOwner). */
  copyUIDGID?: boolean;
  /** The container's Config.User, for copyUIDGID. */
  user?: string;
  /** Test hook, see scopedtar's ExtractOptions. */
  beforeEntry?: ExtractOptions['beforeEntry'];
}

/**
 * PUT /containers/{id}/archive: extracts `content` (a tar, possibly compressed) into the
 * directory `path` (symlinks in it followed inside the root). The archive's uid/gid are kept,
 * as dockerd does, unless copyUIDGID asks for the container user's.
 */
export async function extractToDir(root: ContainerRoot, path: string, content: Readable, opts: ExtractToDirOptions = {}): Promise<void> {
  const { r, close } = await openRoot(root);
  try {
    const res = await r.resolve(posix.join('/', path), { followFinal: true });
    let dest: string;
    try {
      if (!res.stat) throw Object.assign(new Error('no such file or directory'), { code: 'ENOENT' });
      if (!res.stat.isDirectory()) throw invalidParameter('extraction point is not a directory');
      dest = res.path;
    } finally {
      await res.release();
    }
    checkWritable(dest, opts);
    const chown = opts.copyUIDGID && opts.user ? await copyOwner(r, opts.user) : undefined;
    await extractScoped(r, dest, content, {
      noOverwriteDirNonDir: opts.noOverwriteDirNonDir,
      chown,
      idMap: opts.idMap,
      beforeEntry: opts.beforeEntry,
    });
  } catch (err) {
    content.resume();
    throw mapError(err, path, opts);
  } finally {
    await close();
  }
}
