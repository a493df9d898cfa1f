// Applies a layer tar stream (plain or compressed) into a directory, converting AUFS-style
// whiteouts in the tar (`.wh.name`, `.wh..wh..opq`) into overlayfs ones (0/0 char device,
// trusted.overlay.opaque=y). Everything happens relative to the target root: each parent path
// is resolved component by component with lstat, symlinks are followed chroot-style (an
// absolute target or `..` never leaves the root), the final component is never followed, and
// entries that name a path, link or symlink target outside the root are refused.

import { createHash } from 'node:crypto';
import { mustRun } from '../pkg/command.js';
import { lstat, mkdir, readdir, readlink, rm, symlink, link, lchown, chmod, lutimes, open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidParameter, errnoCode, BerthError } from '../pkg/errors.js';
import { decompressStream } from './compression.js';
import { setXattrs, type XattrSet } from './xattr.js';
import { TarReader, type TarEntry, type TarHeader } from './tarreader.js';
import { TarSplitWriter } from './tarsplit.js';
import type { IdentityMapping } from '../pkg/idmap.js';

export const WHITEOUT_PREFIX = '.wh.';
export const WHITEOUT_META_PREFIX = '.wh..wh.';
export const WHITEOUT_OPAQUE_DIR = '.wh..wh..opq';
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface ApplyOptions {
  /** Refuse archives with more entries than this (default 5,000,000). */
  maxEntries?: number;
  /** Refuse any single entry larger than this many bytes (default 1 TiB). */
  maxEntrySize?: number;
  /** Refuse archives whose regular-file bytes total more than this (default: unlimited). */
  maxTotalSize?: number;
  /** Skip lchown (rootless); default false. */
  noLchown?: boolean;
  /** Record the tar stream's structure here (gzip'd tar-split) so it can be rebuilt exactly. */
  tarSplitPath?: string;
  /** --userns-remap: the archive's IDs are container IDs, stored as these host IDs. */
  idMap?: IdentityMapping;
}

export interface ApplyResult {
  /** sha256 of the uncompressed tar stream, "sha256:…". */
  diffID: string;
  /** Bytes of regular-file content applied (what dockerd records as the layer size). */
  size: number;
  /** Uncompressed tar stream length. */
  tarSize: number;
  entries: number;
}

const MAX_SYMLINK_FOLLOWS = 255;

function refuse(msg: string): BerthError {
  return invalidParameter(msg);
}

/**
 * Cleans a tar entry name into path components relative to the root: leading `/` stripped,
 * `.` and `a/..` folded; anything that climbs above the root is refused. [] is the root.
 */
export function cleanEntryPath(name: string, what = 'path'): string[] {
  if (name.includes('\0')) throw refuse(`invalid ${what} ${JSON.stringify(name)}: contains NUL`);
  const n = posix.normalize('/' + name);
  // posix.normalize('/' + x) can never climb above '/', so detect escapes on the raw form.
  const raw = posix.normalize(name.replace(/^\/+/, '') || '.');
  if (raw === '..' || raw.startsWith('../')) {
    throw refuse(`invalid ${what} ${JSON.stringify(name)}: outside of the root`);
  }
  return n.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Resolves `parts` (a directory path relative to root) to a real directory inside root,
 * following symlinks chroot-style. Creates missing components (mode 0755) when `create`.
 */
export async function resolveInRoot(
  root: string,
  parts: string[],
  create: boolean,
  onCreate?: (dir: string) => Promise<void>,
): Promise<string> {
  const stack: string[] = [];
  const queue = parts.slice();
  let follows = 0;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    const p = posix.join(root, ...stack, c);
    let st;
    try {
      st = await lstat(p);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && create) {
        await mkdir(p, 0o755);
        await onCreate?.(p);
        stack.push(c);
        continue;
      }
      throw err;
    }
    if (st.isSymbolicLink()) {
      if (++follows > MAX_SYMLINK_FOLLOWS) throw refuse(`too many levels of symbolic links resolving ${parts.join('/')}`);
      const target = await readlink(p);
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...target.split('/'));
      continue;
    }
    if (!st.isDirectory()) {
      const e = new Error(`not a directory: ${posix.join('/', ...stack, c)}`) as Error & { code: string };
      e.code = 'ENOTDIR';
      throw e;
    }
    stack.push(c);
  }
  return posix.join(root, ...stack);
}

/**
 * Removes whatever is at `p` (never following a symlink), unless it is a dir and keepDir.
 * Returns what it found: nothing, a directory it kept, or something it removed.
 */
async function clearPath(p: string, keepDir: boolean, beforeRemove?: () => Promise<void>): Promise<'none' | 'dir' | 'removed'> {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return 'none';
    throw err;
  }
  if (keepDir && st.isDirectory()) return 'dir';
  await beforeRemove?.();
  await rm(p, { recursive: true, force: true });
  return 'removed';
}

/** Node has no mknod(2): devices and FIFOs are made by the mknod tool. */
export async function runMknod(path: string, kind: 'c' | 'b' | 'p', mode: number, major = 0, minor = 0): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), path, kind];
  if (kind !== 'p') args.push(String(major), String(minor));
  await mustRun('mknod', args);
}

/** Creates an overlayfs whiteout (0/0 character device). */
export async function makeWhiteout(path: string, uid: number, gid: number, noLchown = false): Promise<void> {
  await runMknod(path, 'c', 0o000, 0, 0);
  if (!noLchown) await lchown(path, uid, gid);
}

export type { TarHeader } from './tarreader.js';

function timesOf(hdr: TarHeader): { atime: number; mtime: number } {
  const pax = hdr.pax;
  const mtime = pax?.mtime !== undefined ? Number(pax.mtime) : hdr.mtime ? hdr.mtime.getTime() / 1000 : 0;
  const atime = pax?.atime !== undefined ? Number(pax.atime) : mtime;
  return { atime: Number.isFinite(atime) ? atime : 0, mtime: Number.isFinite(mtime) ? mtime : 0 };
}

/** Applies a layer tarball from `src` into the directory `dest` (which must exist). */
export async function applyLayer(src: Readable, dest: string, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const maxEntries = opts.maxEntries ?? 5_000_000;
  const maxEntrySize = opts.maxEntrySize ?? 2 ** 40;
  const maxTotal = opts.maxTotalSize ?? Number.MAX_SAFE_INTEGER;
  const root = posix.resolve(dest);
  const st = await lstat(root);
  if (!st.isDirectory()) throw invalidParameter(`${dest} is not a directory`);

  const { stream } = await decompressStream(src);
  const hash = createHash('sha256');
  const split = opts.tarSplitPath ? new TarSplitWriter(opts.tarSplitPath) : undefined;
  const reader = new TarReader(stream as AsyncIterable<Buffer>, { sink: split, onChunk: (b) => hash.update(b) });

  const dirs: { path: string; atime: number; mtime: number }[] = [];
  const xattrs: XattrSet[] = [];
  let entries = 0;
  let size = 0;
  const state: ApplyState = {
    root,
    dirCache: new Map(),
    plainDirs: new Set((st.mode & 0o2000) === 0 ? [root] : []),
    freshDirs: new Set((await readdir(root)).length === 0 ? [root] : []),
    created: new Set(),
    umask: currentUmask(),
    isRoot: typeof process.geteuid === 'function' && process.geteuid() === 0 && process.getegid!() === 0,
    pending: new PendingOps(CONCURRENT_OPS),
    impliedOwner: opts.idMap && !opts.noLchown ? opts.idMap.rootPair() : undefined,
  };
  state.dirCache.set('', root);

  try {
    for (let entry = await reader.next(); entry; entry = await reader.next()) {
      const hdr = entry.header;
      if (++entries > maxEntries) throw refuse(`archive has too many entries (more than ${maxEntries})`);
      const hsize = hdr.size ?? 0;
      if (!(hsize >= 0) || hsize > maxEntrySize) throw refuse(`archive entry ${JSON.stringify(hdr.name)} is too large (${hsize} bytes)`);
      await applyEntry(state, hdr, entry, opts, dirs, xattrs, (n) => {
        size += n;
        if (size > maxTotal) throw refuse(`archive content exceeds ${maxTotal} bytes`);
      });
    }
    await state.pending.drain();
    await split?.close();
  } catch (err) {
    split?.abort();
    stream.destroy();
    await state.pending.settle();
    throw err;
  }
  const tarSize = reader.bytesRead;

  await setXattrs(xattrs);
  // Directory times last: creating their content would have moved them.
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i]!;
    await lutimes(d.path, d.atime, d.mtime);
  }
  return { diffID: `sha256:${hash.digest('hex')}`, size, tarSize, entries };
}

/** What one layer application knows about the directory it fills (nothing else writes there). */
interface ApplyState {
  root: string;
  /** Parent components (joined with '/') → the real directory they resolved to. */
  dirCache: Map<string, string>;
  /** Real directories known to lack S_ISGID: what is created in them is owned by us, group 0. */
  plainDirs: Set<string>;
  /** Directories this application made (empty when made): a name not in `created` is absent there. */
  freshDirs: Set<string>;
  /** Every path this application created. */
  created: Set<string>;
  umask: number;
  /** Running as uid 0 / gid 0: what we create is 0:0 unless its directory is set-group-ID. */
  isRoot: boolean;
  pending: PendingOps;
  /** Owner of the parent directories the archive does not list (the remapped root; 0:0 otherwise). */
  impliedOwner?: { uid: number; gid: number };
}

/**
 * Small regular files and symlinks are created off the main sequence, a bounded number at a time,
 * so the file system works on several while the next entries are read. Each one touches only its
 * own new path; anything that could depend on a pending path (the same path again, a hard link, a
 * removal, resolving an unknown directory, mknod) waits for them first.
 */
class PendingOps {
  private readonly inflight = new Map<string, Promise<void>>();
  private failed: { err: unknown } | undefined;

  constructor(private readonly limit: number) {}

  has(path: string): boolean {
    return this.inflight.has(path);
  }

  private check(): void {
    if (this.failed) throw this.failed.err;
  }

  async add(path: string, task: () => Promise<void>): Promise<void> {
    this.check();
    while (this.inflight.size >= this.limit) await Promise.race(this.inflight.values());
    this.check();
    const p = task()
      .catch((err: unknown) => {
        this.failed ??= { err };
      })
      .finally(() => this.inflight.delete(path));
    this.inflight.set(path, p);
  }

  /** Waits for every pending operation; throws the first failure. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight.values());
    this.check();
  }

  /** Waits for every pending operation, ignoring failures (the apply is failing anyway). */
  async settle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all(this.inflight.values());
  }
}

/** In-flight creations at a time, and the largest file created that way (its bytes are held). */
const CONCURRENT_OPS = 16;
const CONCURRENT_MAX_SIZE = 1 << 20;

function currentUmask(): number {
  try {
    // process.umask() without an argument reads it (a documentation-only deprecation).
    return process.umask();
  } catch {
    return 0o777; // unknown (a worker thread): never skip a chmod
  }
}

/** resolveInRoot with a cache of the directories this layer already resolved or created. */
async function resolveDir(state: ApplyState, parts: string[]): Promise<string> {
  const key = parts.join('/');
  const hit = state.dirCache.get(key);
  if (hit !== undefined) return hit;
  // A pending symlink could be one of the components.
  await state.pending.drain();
  const owner = state.impliedOwner;
  const dir = await resolveInRoot(state.root, parts, true, owner && ((p) => lchown(p, owner.uid, owner.gid)));
  state.dirCache.set(key, dir);
  // Directories it made lie along the resolved path (what follows a made one is made too).
  for (let d = dir; d.length > state.root.length && d.startsWith(state.root + '/'); d = posix.dirname(d)) state.created.add(d);
  return dir;
}

/** Something is about to be removed from the layer: directories resolved before may go. */
async function beforeRemove(state: ApplyState): Promise<void> {
  await state.pending.drain();
  state.dirCache.clear();
  state.plainDirs.clear();
  state.freshDirs.clear();
}

/** clearPath, skipping the lstat where this application knows nothing is there. */
async function clearEntryPath(state: ApplyState, parentDir: string, path: string, keepDir: boolean): Promise<'none' | 'dir' | 'removed'> {
  if (state.pending.has(path)) await state.pending.drain();
  if (state.freshDirs.has(parentDir) && !state.created.has(path)) return 'none';
  return clearPath(path, keepDir, () => beforeRemove(state));
}

function paxXattrs(hdr: TarHeader, path: string, xattrs: XattrSet[]): void {
  if (!hdr.pax) return;
  for (const [k, v] of Object.entries(hdr.pax)) {
    if (k.startsWith('SCHILY.xattr.') && v !== undefined) {
      xattrs.push({ path, name: k.slice('SCHILY.xattr.'.length), value: Buffer.from(v, 'binary') });
    }
  }
}

/** Bytes buffered before a file write: few, large writes rather than one per network chunk. */
const WRITE_BATCH = 1 << 20;

async function writeAll(fh: import('node:fs/promises').FileHandle, chunks: Buffer[], len: number): Promise<void> {
  const b = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, len);
  let off = 0;
  while (off < b.length) off += (await fh.write(b, off, b.length - off)).bytesWritten;
}

async function applyEntry(
  state: ApplyState,
  hdr: TarHeader,
  entry: TarEntry,
  opts: ApplyOptions,
  dirs: { path: string; atime: number; mtime: number }[],
  xattrs: XattrSet[],
  addSize: (n: number) => void,
): Promise<void> {
  const parts = cleanEntryPath(hdr.name);
  const type = hdr.type ?? 'file';
  const { uid, gid } = opts.idMap ? opts.idMap.toHost(hdr.uid ?? 0, hdr.gid ?? 0) : { uid: hdr.uid ?? 0, gid: hdr.gid ?? 0 };
  const mode = (hdr.mode ?? 0o644) & 0o7777;
  const { atime, mtime } = timesOf(hdr);
  const root = state.root;

  if (parts.length === 0) {
    // The root itself ("./"): only a directory may describe it.
    if (type !== 'directory') throw refuse(`invalid entry ${JSON.stringify(hdr.name)}: the root must be a directory`);
    await state.pending.drain();
    if (!opts.noLchown) await lchown(root, uid, gid);
    await chmod(root, mode);
    if (mode & 0o2000) state.plainDirs.delete(root);
    else state.plainDirs.add(root);
    dirs.push({ path: root, atime, mtime });
    return;
  }

  const base = parts[parts.length - 1]!;
  const parentParts = parts.slice(0, -1);

  // Whiteouts.
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const parentDir = await resolveDir(state, parentParts);
    if (base === WHITEOUT_OPAQUE_DIR) {
      xattrs.push({ path: parentDir, name: OVERLAY_OPAQUE_XATTR, value: Buffer.from('y') });
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // AUFS metadata (.wh..wh.plnk etc.)
    const original = base.slice(WHITEOUT_PREFIX.length);
    if (original === '' || original === '.' || original === '..') throw refuse(`invalid whiteout ${JSON.stringify(hdr.name)}`);
    const p = posix.join(parentDir, original);
    await clearEntryPath(state, parentDir, p, false);
    await makeWhiteout(p, uid, gid, opts.noLchown);
    state.created.add(p);
    return;
  }

  const parentDir = await resolveDir(state, parentParts);
  const path = posix.join(parentDir, base);
  if (type === 'link') await state.pending.drain(); // its target may be pending
  const exists = (await clearEntryPath(state, parentDir, path, type === 'directory')) === 'dir';
  // A new node in a directory without S_ISGID, made by root, is already owned 0:0, and open/mkdir
  // gave it exactly `mode` when no bit of it is special or masked: then chown/chmod change nothing.
  const plainParent = state.plainDirs.has(parentDir);
  const ownedRight = !exists && state.isRoot && uid === 0 && gid === 0 && plainParent;
  const modeRight = !exists && (mode & 0o7000) === 0 && (mode & state.umask) === 0 && (type !== 'directory' || plainParent);

  state.created.add(path);
  const chown = !opts.noLchown && !ownedRight;

  switch (type) {
    case 'directory':
      if (!exists) {
        await mkdir(path, mode);
        state.freshDirs.add(path);
      }
      state.dirCache.set(parts.join('/'), path);
      dirs.push({ path, atime, mtime });
      break;
    case 'file':
    case 'contiguous-file': {
      entry.claim(posix.relative(root, path));
      const size = hdr.size ?? 0;
      if (size <= CONCURRENT_MAX_SIZE) {
        const chunks: Buffer[] = [];
        let got = 0;
        for await (const chunk of entry) {
          chunks.push(chunk);
          got += chunk.length;
        }
        if (got !== size) throw refuse(`short read for ${JSON.stringify(hdr.name)}`);
        addSize(got);
        const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, got);
        const setMode = !modeRight;
        paxXattrs(hdr, path, xattrs);
        await state.pending.add(path, async () => {
          const fh = await open(path, 'wx', mode);
          try {
            if (data.length > 0) await writeAll(fh, [data], data.length);
            if (chown) await fh.chown(uid, gid);
            if (setMode) await fh.chmod(mode); // after chown, which clears set-id bits
            await fh.utimes(atime, mtime);
          } finally {
            await fh.close();
          }
        });
        return;
      }
      const fh = await open(path, 'wx', mode);
      let written = 0;
      try {
        let pend: Buffer[] = [];
        let pendLen = 0;
        for await (const chunk of entry) {
          pend.push(chunk);
          pendLen += chunk.length;
          written += chunk.length;
          if (pendLen >= WRITE_BATCH) {
            await writeAll(fh, pend, pendLen);
            pend = [];
            pendLen = 0;
          }
        }
        if (pendLen > 0) await writeAll(fh, pend, pendLen);
      } finally {
        await fh.close();
      }
      if (written !== (hdr.size ?? 0)) throw refuse(`short read for ${JSON.stringify(hdr.name)}`);
      addSize(written);
      break;
    }
    case 'symlink': {
      const target = hdr.linkname ?? '';
      if (target === '') throw refuse(`invalid symlink ${JSON.stringify(hdr.name)} with empty target`);
      if (target.includes('\0')) throw refuse(`invalid symlink target for ${JSON.stringify(hdr.name)}`);
      if (!target.startsWith('/')) {
        const joined = posix.normalize(posix.join(parentParts.join('/') || '.', target));
        if (joined === '..' || joined.startsWith('../')) {
          throw refuse(`invalid symlink ${JSON.stringify(hdr.name)} -> ${JSON.stringify(target)}: outside of the root`);
        }
      }
      paxXattrs(hdr, path, xattrs);
      await state.pending.add(path, async () => {
        await symlink(target, path);
        if (chown) await lchown(path, uid, gid);
        await lutimes(path, atime, mtime);
      });
      return;
    }
    case 'link': {
      const tparts = cleanEntryPath(hdr.linkname ?? '', 'hardlink target');
      if (tparts.length === 0) throw refuse(`invalid hardlink ${JSON.stringify(hdr.name)} -> ${JSON.stringify(hdr.linkname)}`);
      let tdir: string;
      try {
        tdir = await resolveInRoot(root, tparts.slice(0, -1), false);
      } catch {
        throw refuse(`invalid hardlink ${JSON.stringify(hdr.name)} -> ${JSON.stringify(hdr.linkname)}: target not in layer`);
      }
      const tpath = posix.join(tdir, tparts[tparts.length - 1]!);
      let tst;
      try {
        tst = await lstat(tpath);
      } catch {
        throw refuse(`invalid hardlink ${JSON.stringify(hdr.name)} -> ${JSON.stringify(hdr.linkname)}: target not in layer`);
      }
      if (tst.isDirectory()) throw refuse(`invalid hardlink ${JSON.stringify(hdr.name)}: target is a directory`);
      await link(tpath, path);
      return; // shares the target's inode and metadata
    }
    case 'character-device':
      await state.pending.drain();
      await runMknod(path, 'c', mode, hdr.devmajor ?? 0, hdr.devminor ?? 0);
      break;
    case 'block-device':
      await state.pending.drain();
      await runMknod(path, 'b', mode, hdr.devmajor ?? 0, hdr.devminor ?? 0);
      break;
    case 'fifo':
      await state.pending.drain();
      await runMknod(path, 'p', mode);
      break;
    default:
      throw refuse(`unhandled tar header type ${String(type)} for ${JSON.stringify(hdr.name)}`);
  }

  if (chown) await lchown(path, uid, gid);
  const isDevice = type === 'character-device' || type === 'block-device' || type === 'fifo';
  if (isDevice || !modeRight) await chmod(path, mode); // after chown, which clears set-id bits
  if (type === 'directory') {
    if (mode & 0o2000) state.plainDirs.delete(path);
    else state.plainDirs.add(path);
  }
  paxXattrs(hdr, path, xattrs);
  if (type !== 'directory') await lutimes(path, atime, mtime);
}
