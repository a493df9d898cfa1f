// Tar streams in and out of a ScopedRoot (see pkg/scopedfs.ts): the producer walks with pinned
// directory handles and never follows a symlink; the extractor resolves every entry's parent
// afresh, chroot-style, creates entries with calls that never follow a final symlink
// (O_CREAT|O_EXCL|O_NOFOLLOW, mkdir, symlink, link, mknod) and sets metadata through handles
// it opened itself. Entry names are cleaned with apply.ts's cleanEntryPath, which refuses
// names that climb out of the destination. Used by `docker cp` (daemon/archive.ts) and by the
// copy-up of image content into new volumes (volume/mounts.ts).

import { constants as C, type Stats } from 'node:fs';
import { chmod, lchown, link, lutimes, mkdir, open, readdir, readlink, symlink, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { cleanEntryPath, runMknod, type TarHeader } from './apply.js';
import { decompressStream } from './compression.js';
import { setXattrs } from './xattr.js';
import { errnoCode, invalidParameter } from '../pkg/errors.js';
import { fdPath, O_PATH, type DirNode, type ScopedRoot } from '../pkg/scopedfs.js';
import { writeTarEntry } from './pack.js';
import type { IdentityMapping } from '../pkg/idmap.js';

// ───────────────────────────── producing ─────────────────────────────

export interface PackSource {
  /** The resolved source (its final component not followed unless the caller asked). */
  dir: DirNode;
  name: string;
  stat: Stats;
}

/**
 * A tar of `src`: a directory gives `nameFor('')` (with a trailing slash) and then its content as
 * `nameFor('a/b')`; anything else gives one entry named `nameFor('')`.
 */
export function packScoped(
  root: ScopedRoot,
  src: PackSource,
  nameFor: (rel: string) => string,
  opts: { idMap?: IdentityMapping } = {},
): Readable {
  const pack = tar.pack();
  const seen = new Map<string, string>();

  type H = Partial<tar.Header> & { name: string };
  // An empty regular file goes out without its (empty) body stream.
  const put = (header: H, body?: Readable, size = 0): Promise<void> =>
    writeTarEntry(pack, header, header.type === 'file' && size === 0 ? undefined : body);

  // --userns-remap: files carry host IDs, the tar the container's.
  const ids = (st: Stats): { uid: number; gid: number } =>
    opts.idMap ? opts.idMap.toContainer(st.uid, st.gid) : { uid: st.uid, gid: st.gid };
  const base = (st: Stats, name: string): H => ({
    name,
    ...ids(st),
    mode: st.mode & 0o7777,
    mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
  });

  const emit = async (dir: DirNode, n: string, st: Stats, name: string): Promise<void> => {
    if (st.isDirectory()) {
      await put({ ...base(st, name.endsWith('/') ? name : name + '/'), type: 'directory' });
      let child: DirNode;
      try {
        child = await root.openChildDir(dir, n);
      } catch (err) {
        if (['ENOTDIR', 'ELOOP', 'ENOENT'].includes(errnoCode(err) ?? '')) return; // changed under us
        throw err;
      }
      try {
        await walk(child, name.endsWith('/') ? name.slice(0, -1) : name);
      } finally {
        await child.fh.close();
      }
    } else if (st.isSymbolicLink()) {
      let target: string;
      try {
        target = await readlink(fdPath(dir.fh, n));
      } catch {
        return;
      }
      await put({ ...base(st, name), type: 'symlink', linkname: target });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? seen.get(key) : undefined;
      if (first !== undefined) {
        await put({ ...base(st, name), type: 'link', linkname: first });
        return;
      }
      let fh: FileHandle;
      try {
        fh = await root.openChildForRead(dir, n);
      } catch {
        return; // vanished or swapped for a symlink: leave it out, as a walk racing a delete does
      }
      try {
        const fst = await fh.stat();
        if (!fst.isFile()) return;
        if (st.nlink > 1) seen.set(key, name);
        await put({ ...base(fst, name), type: 'file', size: fst.size }, exactly(fh, fst.size), fst.size);
      } finally {
        await fh.close().catch(() => undefined);
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      await put({
        ...base(st, name),
        type: st.isCharacterDevice() ? 'character-device' : 'block-device',
        devmajor: Number((BigInt(st.rdev) >> 8n) & 0xfffn),
        devminor: Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n)),
      });
    } else if (st.isFIFO()) {
      await put({ ...base(st, name), type: 'fifo' });
    }
    // sockets are left out, as Go's archive/tar refuses them
  };

  const walk = async (dir: DirNode, prefix: string): Promise<void> => {
    const names = new Set(await readdir(fdPath(dir.fh)));
    for (const m of root.mountsIn(dir.path)) names.add(m);
    for (const n of [...names].sort()) {
      const st = await root.lstatChild(dir, n);
      if (!st) continue;
      await emit(dir, n, st, `${prefix}/${n}`);
    }
  };

  const run = async (): Promise<void> => {
    if (src.stat.isDirectory()) {
      const top = nameFor('');
      await put({ ...base(src.stat, top.endsWith('/') ? top : top + '/'), type: 'directory' });
      const d = src.name === '' ? { ...src.dir, owned: false } : await root.openChildDir(src.dir, src.name);
      try {
        const names = new Set(await readdir(fdPath(d.fh)));
        for (const m of root.mountsIn(d.path)) names.add(m);
        for (const n of [...names].sort()) {
          const st = await root.lstatChild(d, n);
          if (st) await emit(d, n, st, nameFor(n));
        }
      } finally {
        if (d.owned) await d.fh.close();
      }
    } else {
      await emit(src.dir, src.name, src.stat, nameFor(''));
    }
    pack.finalize();
  };
  run().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/** Exactly `size` bytes of the open file: a file that shrank meanwhile is padded with zeros. */
function exactly(fh: FileHandle, size: number): Readable {
  let pos = 0;
  return new Readable({
    highWaterMark: 256 * 1024,
    read() {
      const want = Math.min(256 * 1024, size - pos);
      if (want <= 0) {
        this.push(null);
        return;
      }
      const buf = Buffer.alloc(want);
      fh.read(buf, 0, want, pos).then(
        ({ bytesRead }) => {
          // EOF early: the zero-filled rest of the buffer stands in for the missing bytes.
          pos += bytesRead === 0 ? want : bytesRead;
          this.push(bytesRead === 0 ? buf : buf.subarray(0, bytesRead));
        },
        (err: Error) => this.destroy(err),
      );
    },
  });
}

// ───────────────────────────── extracting ─────────────────────────────

export interface ExtractOptions {
  /** Refuse to replace a directory with a non-directory or the reverse (dockerd's NoOverwriteDirNonDir). */
  noOverwriteDirNonDir?: boolean;
  /** Own every entry by this uid/gid instead of the archive's. */
  chown?: { uid: number; gid: number };
  /** Owner of directories created implicitly for entries whose parents are missing (default 0:0). */
  impliedOwner?: { uid: number; gid: number };
  /** --userns-remap: the archive's IDs (or `chown`) are container IDs, stored as these host IDs. */
  idMap?: IdentityMapping;
  /** Apply the metadata of the archive's "." entry to the destination directory itself. */
  applyRootMetadata?: boolean;
  /** Refuse archives with more entries than this (default 10,000,000). */
  maxEntries?: number;
  /** Test hook: runs before each entry is applied. */
  beforeEntry?: (name: string) => Promise<void> | void;
}

function timesOf(hdr: TarHeader): { atime: number; mtime: number } {
  const pax = hdr.pax;
  const mtime = pax?.mtime !== undefined ? Number(pax.mtime) : hdr.mtime ? hdr.mtime.getTime() / 1000 : 0;
  const atime = pax?.atime !== undefined ? Number(pax.atime) : mtime;
  return { atime: Number.isFinite(atime) ? atime : 0, mtime: Number.isFinite(mtime) ? mtime : 0 };
}


/** chmod on the inode `name` names in `dir`, refusing if it is (or became) a symlink. */
async function chmodNoFollow(dir: DirNode, name: string, mode: number): Promise<void> {
  const fh = await open(fdPath(dir.fh, name), O_PATH | C.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (st.isSymbolicLink()) return;
    await chmod(fdPath(fh), mode);
  } finally {
    await fh.close();
  }
}

/**
 * Extracts a tar stream (plain or compressed) into the directory `destPath` inside `root`
 * (resolved again here; it must be a directory).
 */
export async function extractScoped(root: ScopedRoot, destPath: string, src: Readable, opts: ExtractOptions = {}): Promise<void> {
  const maxEntries = opts.maxEntries ?? 10_000_000;
  const implied = { mode: 0o755, ...(opts.impliedOwner ?? opts.idMap?.rootPair() ?? { uid: 0, gid: 0 }) };
  const { stream } = await decompressStream(src);
  const extract = tar.extract();
  const feeding = pipeline(stream, extract as unknown as Writable);
  feeding.catch(() => undefined);
  const dirs: { path: string; atime: number; mtime: number }[] = [];
  const xattrErrors: unknown[] = [];
  let entries = 0;
  try {
    for await (const entry of extract) {
      const hdr = entry.header as unknown as TarHeader;
      try {
        if (++entries > maxEntries) throw invalidParameter(`archive has too many entries (more than ${maxEntries})`);
        const type = hdr.type ?? 'file';
        if (type === 'pax-global-header') continue;
        await opts.beforeEntry?.(hdr.name);
        await applyEntry(root, destPath, hdr, entry as unknown as AsyncIterable<Uint8Array>, opts, implied, dirs, xattrErrors);
      } finally {
        entry.resume();
      }
    }
    await feeding;
  } catch (err) {
    stream.destroy();
    (extract as unknown as Writable).destroy();
    await feeding.catch(() => undefined);
    throw err;
  }
  // Directory times last: creating their content moved them.
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i]!;
    const res = await root.resolve(d.path).catch(() => undefined);
    if (!res) continue;
    try {
      if (!res.stat?.isDirectory()) continue;
      const node = await root.openResolvedDir(res);
      try {
        await node.fh.utimes(d.atime, d.mtime);
      } finally {
        await node.fh.close();
      }
    } finally {
      await res.release();
    }
  }
}

async function applyEntry(
  root: ScopedRoot,
  destPath: string,
  hdr: TarHeader,
  body: AsyncIterable<Uint8Array>,
  opts: ExtractOptions,
  implied: { mode: number; uid: number; gid: number },
  dirs: { path: string; atime: number; mtime: number }[],
  xattrErrors: unknown[],
): Promise<void> {
  const parts = cleanEntryPath(hdr.name);
  const type = hdr.type ?? 'file';
  const mode = (hdr.mode ?? 0o644) & 0o7777;
  const asked = opts.chown ?? { uid: hdr.uid ?? 0, gid: hdr.gid ?? 0 };
  const owner = opts.idMap ? opts.idMap.toHost(asked.uid, asked.gid) : asked;
  const { atime, mtime } = timesOf(hdr);

  if (parts.length === 0) {
    // "." names the destination itself: only copy-up takes its metadata.
    if (opts.applyRootMetadata && type === 'directory') {
      const res = await root.resolve(destPath + '/.');
      try {
        const node = await root.openResolvedDir(res);
        try {
          await node.fh.chown(owner.uid, owner.gid);
          await node.fh.chmod(mode);
        } finally {
          await node.fh.close();
        }
      } finally {
        await res.release();
      }
      dirs.push({ path: destPath, atime, mtime });
    }
    return;
  }

  const rel = parts.join('/');
  const base = parts[parts.length - 1]!;
  const parentPath = posix.join(destPath, ...parts.slice(0, -1));
  const res = await root.resolve(parentPath + '/.', { createParents: implied });
  try {
    const dir = res.dir;
    const existing = await root.lstatChild(dir, base);
    if (existing) {
      if (opts.noOverwriteDirNonDir && existing.isDirectory() && type !== 'directory') {
        throw invalidParameter(`cannot overwrite directory "${rel}" with non-directory "${destPath}"`);
      }
      if (opts.noOverwriteDirNonDir && !existing.isDirectory() && type === 'directory') {
        throw invalidParameter(`cannot overwrite non-directory "${rel}" with directory "${destPath}"`);
      }
      if (!(existing.isDirectory() && type === 'directory')) await root.removeAll(dir, base);
    }
    const at = fdPath(dir.fh, base);

    switch (type) {
      case 'directory': {
        if (!existing?.isDirectory()) await mkdir(at, mode & 0o777);
        const node = await root.openChildDir(dir, base);
        try {
          await node.fh.chown(owner.uid, owner.gid);
          await node.fh.chmod(mode);
        } finally {
          await node.fh.close();
        }
        dirs.push({ path: res.path === '/' ? `/${base}` : `${res.path}/${base}`, atime, mtime });
        break;
      }
      case 'file':
      case 'contiguous-file': {
        const fh = await open(at, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          let written = 0;
          for await (const chunk of body) {
            let off = 0;
            while (off < chunk.length) {
              const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
              off += bytesWritten;
            }
            written += chunk.length;
          }
          if (written !== (hdr.size ?? 0)) throw invalidParameter(`short read for ${JSON.stringify(hdr.name)}`);
          await fh.chown(owner.uid, owner.gid);
          await fh.chmod(mode); // after chown, which clears set-id bits
          await fh.utimes(atime, mtime);
        } finally {
          await fh.close();
        }
        break;
      }
      case 'symlink': {
        const target = hdr.linkname ?? '';
        if (target.includes('\0')) throw invalidParameter(`invalid symlink target for ${JSON.stringify(hdr.name)}`);
        // Any target is allowed: it is only ever followed chroot-style inside the root.
        await symlink(target, at);
        await lchown(at, owner.uid, owner.gid);
        await lutimes(at, atime, mtime);
        break;
      }
      case 'link': {
        const tparts = cleanEntryPath(hdr.linkname ?? '', 'hardlink target');
        if (tparts.length === 0) throw invalidParameter(`invalid hardlink ${JSON.stringify(hdr.name)} -> ${JSON.stringify(hdr.linkname)}`);
        const t = await root.resolve(posix.join(destPath, ...tparts));
        try {
          if (!t.stat || t.stat.isDirectory() || t.mountPoint || t.name === '') {
            throw invalidParameter(`invalid hardlink ${JSON.stringify(hdr.name)} -> ${JSON.stringify(hdr.linkname)}`);
          }
          await link(fdPath(t.dir.fh, t.name), at);
        } finally {
          await t.release();
        }
        return; // shares the target's inode and metadata
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const kind = type === 'fifo' ? 'p' : type === 'character-device' ? 'c' : 'b';
        await runMknod(at, kind, mode & 0o777, hdr.devmajor ?? 0, hdr.devminor ?? 0);
        await lchown(at, owner.uid, owner.gid);
        await chmodNoFollow(dir, base, mode);
        await lutimes(at, atime, mtime);
        break;
      }
      default:
        throw invalidParameter(`unhandled tar header type ${String(type)} for ${JSON.stringify(hdr.name)}`);
    }

    const xattrs = Object.entries(hdr.pax ?? {})
      .filter(([k, v]) => k.startsWith('SCHILY.xattr.') && v !== undefined)
      .map(([k, v]) => ({ path: at, name: k.slice('SCHILY.xattr.'.length), value: Buffer.from(v!, 'binary') }));
    if (xattrs.length > 0) {
      // Best effort, as dockerd (EPERM/ENOTSUP are ignored there too).
      await setXattrs(xattrs).catch((err: unknown) => xattrErrors.push(err));
    }
  } finally {
    await res.release();
  }
}
