// Applies a layer tar stream (plain or compressed) into a directory, converting AUFS-style
// whiteouts in the tar (`.wh.name`, `.wh..wh..opq`) into overlayfs ones (0/0 char device,
// trusted.overlay.opaque=y). Everything happens relative to the target root: each parent path
// is resolved component by component with lstat, symlinks are followed chroot-style (an
// absolute target or `..` never leaves the root), the final component is never followed, and
// entries that name a path, link or symlink target outside the root are refused.

import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { lstat, mkdir, readlink, rm, symlink, link, lchown, chmod, lutimes, open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidParameter, errnoCode, BerthError } from '../pkg/errors.js';
import { decompressStream } from './compression.js';
import { setXattrs, type XattrSet } from './xattr.js';
import { TarReader, type TarEntry, type TarHeader } from './tarreader.js';
import { TarSplitWriter } from './tarsplit.js';

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
export async function resolveInRoot(root: string, parts: string[], create: boolean): Promise<string> {
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

/** Removes whatever is at `p` (never following a symlink), unless it is a dir and keepDir. */
async function clearPath(p: string, keepDir: boolean): Promise<boolean> {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  if (keepDir && st.isDirectory()) return true;
  await rm(p, { recursive: true, force: true });
  return false;
}

function runMknod(path: string, kind: 'c' | 'b' | 'p', mode: number, major = 0, minor = 0): Promise<void> {
  const args = ['-m', (mode & 0o7777).toString(8), path, kind];
  if (kind !== 'p') args.push(String(major), String(minor));
  return new Promise((resolve, reject) => {
    const child = spawn('mknod', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const errs: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => errs.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`mknod ${path}: ${Buffer.concat(errs).toString().trim()}`)),
    );
  });
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

  try {
    for (let entry = await reader.next(); entry; entry = await reader.next()) {
      const hdr = entry.header;
      if (++entries > maxEntries) throw refuse(`archive has too many entries (more than ${maxEntries})`);
      const hsize = hdr.size ?? 0;
      if (!(hsize >= 0) || hsize > maxEntrySize) throw refuse(`archive entry ${JSON.stringify(hdr.name)} is too large (${hsize} bytes)`);
      await applyEntry(root, hdr, entry, opts, dirs, xattrs, (n) => {
        size += n;
        if (size > maxTotal) throw refuse(`archive content exceeds ${maxTotal} bytes`);
      });
    }
    await split?.close();
  } catch (err) {
    split?.abort();
    stream.destroy();
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

async function applyEntry(
  root: string,
  hdr: TarHeader,
  entry: TarEntry,
  opts: ApplyOptions,
  dirs: { path: string; atime: number; mtime: number }[],
  xattrs: XattrSet[],
  addSize: (n: number) => void,
): Promise<void> {
  const parts = cleanEntryPath(hdr.name);
  const type = hdr.type ?? 'file';
  const uid = hdr.uid ?? 0;
  const gid = hdr.gid ?? 0;
  const mode = (hdr.mode ?? 0o644) & 0o7777;
  const { atime, mtime } = timesOf(hdr);

  if (parts.length === 0) {
    // The root itself ("./"): only a directory may describe it.
    if (type !== 'directory') throw refuse(`invalid entry ${JSON.stringify(hdr.name)}: the root must be a directory`);
    if (!opts.noLchown) await lchown(root, uid, gid);
    await chmod(root, mode);
    dirs.push({ path: root, atime, mtime });
    return;
  }

  const base = parts[parts.length - 1]!;
  const parentParts = parts.slice(0, -1);

  // Whiteouts.
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const parentDir = await resolveInRoot(root, parentParts, true);
    if (base === WHITEOUT_OPAQUE_DIR) {
      xattrs.push({ path: parentDir, name: OVERLAY_OPAQUE_XATTR, value: Buffer.from('y') });
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // AUFS metadata (.wh..wh.plnk etc.)
    const original = base.slice(WHITEOUT_PREFIX.length);
    if (original === '' || original === '.' || original === '..') throw refuse(`invalid whiteout ${JSON.stringify(hdr.name)}`);
    const p = posix.join(parentDir, original);
    await clearPath(p, false);
    await makeWhiteout(p, uid, gid, opts.noLchown);
    return;
  }

  const parentDir = await resolveInRoot(root, parentParts, true);
  const path = posix.join(parentDir, base);
  const exists = await clearPath(path, type === 'directory');

  switch (type) {
    case 'directory':
      if (!exists) await mkdir(path, mode);
      dirs.push({ path, atime, mtime });
      break;
    case 'file':
    case 'contiguous-file': {
      entry.claim(posix.relative(root, path));
      const fh = await open(path, 'wx', mode);
      let written = 0;
      try {
        for await (const chunk of entry) {
          let off = 0;
          while (off < chunk.length) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
            off += bytesWritten;
          }
          written += chunk.length;
        }
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
      await symlink(target, path);
      break;
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
      await runMknod(path, 'c', mode, hdr.devmajor ?? 0, hdr.devminor ?? 0);
      break;
    case 'block-device':
      await runMknod(path, 'b', mode, hdr.devmajor ?? 0, hdr.devminor ?? 0);
      break;
    case 'fifo':
      await runMknod(path, 'p', mode);
      break;
    default:
      throw refuse(`unhandled tar header type ${String(type)} for ${JSON.stringify(hdr.name)}`);
  }

  if (!opts.noLchown) await lchown(path, uid, gid);
  if (type !== 'symlink') await chmod(path, mode); // after chown, which clears set-id bits
  if (hdr.pax) {
    for (const [k, v] of Object.entries(hdr.pax)) {
      if (k.startsWith('SCHILY.xattr.') && v !== undefined) {
        xattrs.push({ path, name: k.slice('SCHILY.xattr.'.length), value: Buffer.from(v, 'binary') });
      }
    }
  }
  if (type !== 'directory') await lutimes(path, atime, mtime);
}
