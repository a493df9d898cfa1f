// Path resolution inside a directory "as a chroot would": every symlink, `..` and absolute link
// target is interpreted relative to the root, and nothing is ever reached through a path string
// that a concurrent writer could swap. Node has no openat(), so each directory on the way is held
// open and its children are named through `/proc/<pid>/fd/<fd>/<name>`: the kernel resolves the
// magic link to the pinned directory, and only `<name>` is looked up — with lstat, O_NOFOLLOW or
// calls that never follow a final symlink. A symlink swapped in mid-walk is therefore either seen
// (and followed chroot-style) or makes the O_NOFOLLOW open fail; it is never followed to the host.
//
// Optionally a table of mounts (destination inside the root → host source) is overlaid, so a
// stopped container's rootfs can be browsed with its volumes and bind mounts in place, the way
// dockerd mounts them in a private namespace for `docker cp`.

import { open, lstat, readlink, mkdir, rmdir, unlink, readdir, stat, type FileHandle } from 'node:fs/promises';
import { constants as C, type Stats } from 'node:fs';
import { posix } from 'node:path';
import { errnoCode } from './errors.js';

/** Linux's O_PATH (x86-64 and arm64): a handle that names an inode without opening it. */
export const O_PATH = 0o10000000;
/** Linux's own limit on symlinks followed during one lookup. */
export const MAX_SYMLINKS = 40;
const MAX_RETRIES = 16;

/** The path through which the kernel names `name` inside the directory open as `fh`. */
export function fdPath(fh: FileHandle, name = ''): string {
  return name ? `/proc/${process.pid}/fd/${fh.fd}/${name}` : `/proc/${process.pid}/fd/${fh.fd}`;
}

export function errnoError(code: string, syscall: string, path: string, text: string): NodeJS.ErrnoException {
  const e = new Error(`${syscall} ${path}: ${text}`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

/** A host directory or file mounted at `destination` inside the root. */
export interface ScopedMount {
  destination: string;
  source: string;
  /** Writes through this mount are refused when true (the caller checks with `mountFor`). */
  readOnly?: boolean;
}

interface MountEntry extends ScopedMount {
  isDir: boolean;
}

/** A directory on the resolution stack. */
export interface DirNode {
  fh: FileHandle;
  /** Its absolute path inside the root. */
  path: string;
  owned: boolean;
}

export interface Resolved {
  /** The directory that holds the final component (open until `release`). */
  dir: DirNode;
  /** The final component; '' when the path names `dir` itself. */
  name: string;
  /** lstat of the final component (of `dir` when name is ''); undefined when it does not exist. */
  stat?: Stats;
  /** The resolved absolute path inside the root. */
  path: string;
  /** Set when the final component is a mounted file (its host source stands in for it). */
  mountPoint?: ScopedMount;
  /** True when the walk followed at least one symlink. */
  viaSymlink: boolean;
  release(): Promise<void>;
}

export interface ResolveOptions {
  /** Follow a symlink in the final component (a trailing `/` or `/.` always does). */
  followFinal?: boolean;
  /** Create missing intermediate directories (never the final component). */
  createParents?: { mode: number; uid: number; gid: number };
}

const depth = (p: string): number => p.split('/').filter(Boolean).length;

export class ScopedRoot {
  private readonly mounts = new Map<string, MountEntry>();

  private constructor(
    readonly rootPath: string,
    readonly root: FileHandle,
  ) {}

  /**
   * Opens `rootPath` (trusted: it may itself be a magic link such as /proc/<pid>/root) and
   * overlays `mounts`, whose destinations are resolved chroot-style, parents first.
   */
  static async open(rootPath: string, mounts: ScopedMount[] = []): Promise<ScopedRoot> {
    const fh = await open(rootPath, C.O_RDONLY | C.O_DIRECTORY);
    const r = new ScopedRoot(rootPath, fh);
    try {
      for (const m of [...mounts].sort((a, b) => depth(a.destination) - depth(b.destination))) {
        const st = await stat(m.source);
        let key = posix.normalize('/' + m.destination);
        try {
          // As dockerd does before mounting: the target is created in the rootfs when missing.
          const res = await r.resolve(m.destination, { followFinal: true, createParents: { mode: 0o755, uid: 0, gid: 0 } });
          try {
            key = res.path;
            if (!res.stat && res.name !== '') {
              if (st.isDirectory()) await mkdir(fdPath(res.dir.fh, res.name), 0o755);
              else await (await open(fdPath(res.dir.fh, res.name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o755)).close();
            }
          } finally {
            await res.release();
          }
        } catch {
          /* a destination that cannot be made keeps its lexical path */
        }
        r.mounts.set(key, { ...m, isDir: st.isDirectory() });
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    return r;
  }

  async close(): Promise<void> {
    await this.root.close().catch(() => undefined);
  }

  /** The overlaid mount whose destination holds `path` (deepest first), if any. */
  mountFor(path: string): ScopedMount | undefined {
    let best: { dest: string; m: MountEntry } | undefined;
    for (const [dest, m] of this.mounts) {
      if (path === dest || path.startsWith(dest === '/' ? '/' : dest + '/')) {
        if (!best || dest.length > best.dest.length) best = { dest, m };
      }
    }
    return best ? { destination: best.dest, source: best.m.source, readOnly: best.m.readOnly } : undefined;
  }

  /** Names of overlaid mounts directly inside the directory at `dirPath`. */
  mountsIn(dirPath: string): string[] {
    const out: string[] = [];
    for (const dest of this.mounts.keys()) {
      if (dest !== '/' && posix.dirname(dest) === dirPath) out.push(posix.basename(dest));
    }
    return out;
  }

  /** lstat of `name` in `dir`, seeing overlaid mounts. */
  async lstatChild(dir: DirNode, name: string): Promise<Stats | undefined> {
    const m = this.mounts.get(posix.join(dir.path, name));
    try {
      return m ? await stat(m.source) : await lstat(fdPath(dir.fh, name));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Opens the directory `name` in `dir` without following a symlink there. */
  async openChildDir(dir: DirNode, name: string): Promise<DirNode> {
    const path = posix.join(dir.path, name);
    const m = this.mounts.get(path);
    if (m) {
      if (!m.isDir) throw errnoError('ENOTDIR', 'open', path, 'not a directory');
      return { fh: await open(m.source, C.O_RDONLY | C.O_DIRECTORY), path, owned: true };
    }
    const fh = await open(fdPath(dir.fh, name), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
    return { fh, path, owned: true };
  }

  /** Resolves `path` inside the root; see ResolveOptions. */
  async resolve(path: string, opts: ResolveOptions = {}): Promise<Resolved> {
    if (path.includes('\0')) throw errnoError('EINVAL', 'lstat', path, 'invalid argument');
    const rootNode: DirNode = { fh: this.root, path: '/', owned: false };
    const stack: DirNode[] = [rootNode];
    const queue = path.split('/').filter((c) => c !== '');
    if (path.endsWith('/') && queue.length > 0) queue.push('.');
    let follows = 0;
    let retries = 0;
    let viaSymlink = false;
    let done = false;
    const release = async (): Promise<void> => {
      if (done) return;
      done = true;
      for (const n of stack) if (n.owned) await n.fh.close().catch(() => undefined);
    };
    const result = (name: string, st: Stats | undefined, mountPoint?: ScopedMount): Resolved => {
      const dir = stack[stack.length - 1]!;
      return { dir, name, stat: st, path: name ? posix.join(dir.path, name) : dir.path, mountPoint, viaSymlink, release };
    };
    try {
      while (queue.length > 0) {
        const c = queue.shift()!;
        const top = stack[stack.length - 1]!;
        if (c === '.') continue;
        if (c === '..') {
          if (stack.length > 1) {
            const n = stack.pop()!;
            if (n.owned) await n.fh.close().catch(() => undefined);
          }
          continue;
        }
        const final = queue.length === 0;
        const childPath = posix.join(top.path, c);
        const m = this.mounts.get(childPath);
        if (m) {
          if (m.isDir) {
            stack.push({ fh: await open(m.source, C.O_RDONLY | C.O_DIRECTORY), path: childPath, owned: true });
            continue;
          }
          if (!final) throw errnoError('ENOTDIR', 'lstat', path, 'not a directory');
          return result(c, await stat(m.source), m);
        }
        let st: Stats | undefined;
        try {
          st = await lstat(fdPath(top.fh, c));
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT') throw err;
        }
        if (!st) {
          if (final) return result(c, undefined);
          if (!opts.createParents) throw errnoError('ENOENT', 'lstat', path, 'no such file or directory');
          try {
            await mkdir(fdPath(top.fh, c), opts.createParents.mode);
            const fh = await open(fdPath(top.fh, c), C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
            await fh.chown(opts.createParents.uid, opts.createParents.gid);
            await fh.chmod(opts.createParents.mode);
            stack.push({ fh, path: childPath, owned: true });
          } catch (err) {
            const code = errnoCode(err);
            if ((code !== 'EEXIST' && code !== 'ENOTDIR' && code !== 'ELOOP') || ++retries > MAX_RETRIES) throw err;
            queue.unshift(c); // raced: look again
          }
          continue;
        }
        if (st.isSymbolicLink()) {
          if (final && !opts.followFinal) return result(c, st);
          if (++follows > MAX_SYMLINKS) throw errnoError('ELOOP', 'lstat', path, 'too many levels of symbolic links');
          viaSymlink = true;
          const target = await readlink(fdPath(top.fh, c));
          if (target.startsWith('/')) {
            while (stack.length > 1) {
              const n = stack.pop()!;
              if (n.owned) await n.fh.close().catch(() => undefined);
            }
          }
          const parts = target.split('/').filter((x) => x !== '');
          if (target.endsWith('/') && parts.length > 0) parts.push('.');
          queue.unshift(...parts);
          continue;
        }
        if (st.isDirectory()) {
          if (final) return result(c, st);
          try {
            stack.push(await this.openChildDir(top, c));
          } catch (err) {
            const code = errnoCode(err);
            if ((code !== 'ENOTDIR' && code !== 'ELOOP' && code !== 'ENOENT') || ++retries > MAX_RETRIES) throw err;
            queue.unshift(c); // swapped between lstat and open: resolve it again
          }
          continue;
        }
        if (final) return result(c, st);
        throw errnoError('ENOTDIR', 'lstat', path, 'not a directory');
      }
      const top = stack[stack.length - 1]!;
      return result('', await top.fh.stat());
    } catch (err) {
      await release();
      throw err;
    }
  }

  /** Opens the directory a resolution names (the resolved dir itself when name is ''). */
  async openResolvedDir(res: Resolved): Promise<DirNode> {
    if (res.name === '') {
      // A second handle, so the caller may close it independently of the resolution.
      const fh = await open(fdPath(res.dir.fh), C.O_RDONLY | C.O_DIRECTORY);
      return { fh, path: res.dir.path, owned: true };
    }
    return this.openChildDir(res.dir, res.name);
  }

  /**
   * Opens the file `name` in `dir` for reading without following a symlink there (an overlaid
   * file mount opens its source). O_NONBLOCK keeps a FIFO swapped in from blocking the open.
   */
  async openChildForRead(dir: DirNode, name: string): Promise<FileHandle> {
    const m = this.mounts.get(posix.join(dir.path, name));
    if (m) return open(m.source, C.O_RDONLY | C.O_NONBLOCK);
    return open(fdPath(dir.fh, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
  }

  /** True when `name` in `dir` is an overlaid mount point. */
  isMountPoint(dir: DirNode, name: string): boolean {
    return this.mounts.has(posix.join(dir.path, name));
  }

  /** Removes `name` in `dir` and everything below it, never following a symlink. */
  async removeAll(dir: DirNode, name: string): Promise<void> {
    if (this.mounts.has(posix.join(dir.path, name))) {
      throw errnoError('EBUSY', 'unlinkat', posix.join(dir.path, name), 'device or resource busy');
    }
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      let st: Stats;
      try {
        st = await lstat(fdPath(dir.fh, name));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        throw err;
      }
      if (!st.isDirectory()) {
        try {
          await unlink(fdPath(dir.fh, name));
          return;
        } catch (err) {
          const code = errnoCode(err);
          if (code === 'ENOENT') return;
          if (code === 'EISDIR' || code === 'EPERM') continue; // became a directory meanwhile
          throw err;
        }
      }
      let child: DirNode;
      try {
        child = await this.openChildDir(dir, name);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENOENT') continue;
        throw err;
      }
      try {
        for (const n of await readdir(fdPath(child.fh))) await this.removeAll(child, n);
      } finally {
        await child.fh.close();
      }
      try {
        await rmdir(fdPath(dir.fh, name));
        return;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT') return;
        if (code === 'ENOTEMPTY' || code === 'ENOTDIR') continue;
        throw err;
      }
    }
    throw errnoError('EAGAIN', 'unlinkat', posix.join(dir.path, name), 'kept changing while being removed');
  }
}

/** Reads a whole regular file inside the root (no symlink in its final component is followed after resolution). */
export async function readFileInRoot(root: ScopedRoot, path: string, maxBytes = 16 * 1024 * 1024): Promise<Buffer | undefined> {
  let res: Resolved;
  try {
    res = await root.resolve(path, { followFinal: true });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    if (!res.stat || !res.stat.isFile()) return undefined;
    const fh = res.mountPoint
      ? await open(res.mountPoint.source, C.O_RDONLY)
      : await open(fdPath(res.dir.fh, res.name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > maxBytes) return undefined;
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  } finally {
    await res.release();
  }
}
