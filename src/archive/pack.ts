// Produces a tar stream of a directory (export, commit, push). With `overlayWhiteouts`, the
// directory is an overlayfs upper dir: 0/0 character devices become `.wh.<name>` entries and
// opaque directories (trusted.overlay.opaque=y) get a `.wh..wh..opq` entry, as in image layers.

import { lstat, readdir, readlink } from 'node:fs/promises';
import { createReadStream, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { getXattrs } from './xattr.js';
import { OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE_DIR, WHITEOUT_PREFIX } from './apply.js';
import type { IdentityMapping } from '../pkg/idmap.js';

export interface PackOptions {
  /** Convert overlayfs whiteouts/opaque dirs into AUFS-style tar whiteouts. */
  overlayWhiteouts?: boolean;
  /** Paths (relative, no leading slash) to leave out, with everything under them. */
  exclude?: string[];
  /** --userns-remap: the files carry host IDs; the tar gets the container's. */
  idMap?: IdentityMapping;
}

function isWhiteoutDev(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function collectDirs(root: string, rel: string, out: string[]): Promise<void> {
  const names = await readdir(posix.join(root, rel));
  for (const n of names) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await lstat(posix.join(root, r));
    if (st.isDirectory()) {
      out.push(r);
      await collectDirs(root, r, out);
    }
  }
}

export type EntryHeader = Partial<tar.Header> & { name: string };

/**
 * Adds one entry to a tar-stream pack, streaming `body` into it with backpressure (tar-stream's
 * streamx sinks are piped by hand: node:stream's pipeline does not know them). A regular file
 * without a body is written empty.
 */
export function writeTarEntry(pack: tar.Pack, header: EntryHeader, body?: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (!body) {
      const t = header.type ?? 'file';
      if (t === 'file' || t === 'contiguous-file') pack.entry(header, Buffer.alloc(0), done);
      else pack.entry(header, done);
      return;
    }
    const sink = pack.entry(header, done);
    body.on('error', (e) => {
      sink.destroy(e);
      reject(e);
    });
    body.on('data', (chunk: Buffer) => {
      if (!sink.write(chunk)) {
        body.pause();
        sink.once('drain', () => body.resume());
      }
    });
    body.on('end', () => (sink as unknown as { end(): void }).end());
  });
}

/** A tar stream of `dir`'s content (entries relative, directories with a trailing slash). */
export function packDirectory(dir: string, opts: PackOptions = {}): Readable {
  const pack = tar.pack();
  const root = posix.resolve(dir);
  const exclude = new Set((opts.exclude ?? []).map((e) => e.replace(/^\/+|\/+$/g, '')));

  const writeEntry = (header: EntryHeader, body?: Readable): Promise<void> => writeTarEntry(pack, header, body);

  const run = async (): Promise<void> => {
    const opaque = new Set<string>();
    if (opts.overlayWhiteouts) {
      const dirs: string[] = [];
      await collectDirs(root, '', dirs);
      const vals = await getXattrs(dirs.map((d) => posix.join(root, d)), OVERLAY_OPAQUE_XATTR);
      dirs.forEach((d, i) => {
        if (vals[i]?.toString() === 'y') opaque.add(d);
      });
    }
    const inodes = new Map<string, string>();

    const walk = async (rel: string): Promise<void> => {
      const names = (await readdir(posix.join(root, rel))).sort();
      for (const n of names) {
        const r = rel ? `${rel}/${n}` : n;
        if (exclude.has(r)) continue;
        const p = posix.join(root, r);
        const st = await lstat(p);
        const { uid, gid } = opts.idMap ? opts.idMap.toContainer(st.uid, st.gid) : st;
        const base = {
          uid,
          gid,
          mode: st.mode & 0o7777,
          mtime: st.mtime,
        };
        if (opts.overlayWhiteouts && isWhiteoutDev(st)) {
          const wh = rel ? `${rel}/${WHITEOUT_PREFIX}${n}` : `${WHITEOUT_PREFIX}${n}`;
          await writeEntry({ name: wh, type: 'file', size: 0, mode: 0o600, uid: 0, gid: 0, mtime: st.mtime });
          continue;
        }
        if (st.isDirectory()) {
          await writeEntry({ ...base, name: `${r}/`, type: 'directory' });
          if (opaque.has(r)) {
            await writeEntry({ name: `${r}/${WHITEOUT_OPAQUE_DIR}`, type: 'file', size: 0, mode: 0o600, uid: 0, gid: 0, mtime: st.mtime });
          }
          await walk(r);
        } else if (st.isSymbolicLink()) {
          await writeEntry({ ...base, name: r, type: 'symlink', linkname: await readlink(p) });
        } else if (st.isFile()) {
          const key = `${st.dev}:${st.ino}`;
          const first = st.nlink > 1 ? inodes.get(key) : undefined;
          if (first !== undefined) {
            await writeEntry({ ...base, name: r, type: 'link', linkname: first });
          } else {
            if (st.nlink > 1) inodes.set(key, r);
            await writeEntry({ ...base, name: r, type: 'file', size: st.size }, st.size > 0 ? createReadStream(p) : undefined);
          }
        } else if (st.isCharacterDevice() || st.isBlockDevice()) {
          await writeEntry({
            ...base,
            name: r,
            type: st.isCharacterDevice() ? 'character-device' : 'block-device',
            devmajor: Math.floor(st.rdev / 256) & 0xfff,
            devminor: (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00),
          });
        } else if (st.isFIFO()) {
          await writeEntry({ ...base, name: r, type: 'fifo' });
        }
        // sockets are skipped, as tar does
      }
    };
    await walk('');
    pack.finalize();
  };
  run().catch((err: Error) => pack.destroy(err));
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}
