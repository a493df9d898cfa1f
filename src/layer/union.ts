// Read-side helpers over an overlay stack of directories (upper first, then lowers nearest
// first): union lookup honouring whiteouts and opaque dirs, and the A/C/D change list of an
// upper dir against its lowers.

import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { posix } from 'node:path';
import { errnoCode } from '../pkg/errors.js';
import { getXattrs } from '../archive/xattr.js';
import { OVERLAY_OPAQUE_XATTR } from '../archive/apply.js';

const MAX_FOLLOWS = 40;

async function tryLstat(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (err) {
    const c = errnoCode(err);
    if (c === 'ENOENT' || c === 'ENOTDIR') return undefined;
    throw err;
  }
}

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

async function isOpaque(dir: string): Promise<boolean> {
  const [v] = await getXattrs([dir], OVERLAY_OPAQUE_XATTR);
  return v?.toString() === 'y';
}

/**
 * Finds `path` as the merged view of `layers` would show it, resolving symlinks (including
 * in the final component) chroot-style. Returns the host path of the entry, or undefined.
 */
export async function unionResolve(layers: string[], path: string): Promise<{ hostPath: string; stat: Stats } | undefined> {
  let queue = path.split('/').filter((c) => c !== '' && c !== '.');
  let stack: string[] = [];
  let follows = 0;
  // `visible`: indexes of layers whose copy of the current directory takes part in the merge
  let visible = layers.map((_, i) => i);
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '..') {
      stack.pop();
      // recompute visibility from the root
      const rest = [...stack, ...queue];
      stack = [];
      visible = layers.map((_, i) => i);
      queue = rest;
      continue;
    }
    const rel = [...stack, c].join('/');
    let found: { i: number; st: Stats } | undefined;
    for (const i of visible) {
      const st = await tryLstat(posix.join(layers[i]!, rel));
      if (st) {
        found = { i, st };
        break;
      }
    }
    if (!found || isWhiteout(found.st)) return undefined;
    const { i, st } = found;
    if (st.isSymbolicLink()) {
      if (++follows > MAX_FOLLOWS) return undefined;
      const target = await readlink(posix.join(layers[i]!, rel));
      const rest = queue;
      if (target.startsWith('/')) stack = [];
      queue = [...stack, ...target.split('/').filter((x) => x !== '' && x !== '.'), ...rest];
      stack = [];
      visible = layers.map((_, k) => k);
      continue;
    }
    if (queue.length === 0) return { hostPath: posix.join(layers[i]!, rel), stat: st };
    if (!st.isDirectory()) return undefined;
    // merge: this layer's dir and lower ones, down to an opaque dir or a non-directory
    const next: number[] = [];
    for (const k of visible) {
      if (k < i) continue;
      const ks = k === i ? st : await tryLstat(posix.join(layers[k]!, rel));
      if (!ks) continue;
      if (!ks.isDirectory()) break;
      next.push(k);
      if (visible.indexOf(k) < visible.length - 1 && (await isOpaque(posix.join(layers[k]!, rel)))) break;
    }
    visible = next;
    stack.push(c);
  }
  return undefined;
}

/** Reads a regular file through the union; undefined when absent or not a regular file. */
export async function unionReadFile(layers: string[], path: string): Promise<Buffer | undefined> {
  const r = await unionResolve(layers, path);
  if (!r || !r.stat.isFile()) return undefined;
  return readFile(r.hostPath);
}

export interface Change {
  Path: string;
  /** 0 modified, 1 added, 2 deleted */
  Kind: 0 | 1 | 2;
}

async function collectDirs(root: string, rel: string, out: string[]): Promise<void> {
  for (const n of await readdir(posix.join(root, rel))) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await lstat(posix.join(root, r));
    if (st.isDirectory()) {
      out.push(r);
      await collectDirs(root, r, out);
    }
  }
}

/** Changes of an overlay upper dir against its lower dirs, sorted by path (as dockerd's). */
export async function overlayChanges(upper: string, lowers: string[]): Promise<Change[]> {
  const dirs: string[] = [];
  await collectDirs(upper, '', dirs);
  const opaqueVals = await getXattrs(dirs.map((d) => posix.join(upper, d)), OVERLAY_OPAQUE_XATTR);
  const opaque = new Set(dirs.filter((_, i) => opaqueVals[i]?.toString() === 'y'));

  const changes: Change[] = [];
  const changedDirs = new Set<string>();

  const inLowers = async (rel: string): Promise<Stats | undefined> => {
    for (const l of lowers) {
      const st = await tryLstat(posix.join(l, rel));
      if (st) return st;
    }
    return undefined;
  };

  const walk = async (rel: string, underOpaque: boolean): Promise<void> => {
    const names = (await readdir(posix.join(upper, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const path = '/' + r;
      const st = await lstat(posix.join(upper, r));
      let kind: 0 | 1 | 2 | undefined;
      if (isWhiteout(st)) {
        kind = 2;
      } else {
        const lst = underOpaque ? undefined : await inLowers(r);
        if (!lst) kind = 1;
        else if (st.isDirectory() && lst.isDirectory() && !opaque.has(r)) {
          const same = st.mode === lst.mode && st.size === lst.size && Math.floor(st.mtimeMs) === Math.floor(lst.mtimeMs);
          kind = same ? undefined : 0;
        } else kind = 0;
      }
      if (kind !== undefined) {
        if (st.isDirectory()) changedDirs.add(path);
        if (kind === 1 || kind === 2) {
          const parent = '/' + rel;
          if (rel !== '' && !changedDirs.has(parent)) {
            changes.push({ Path: parent, Kind: 0 });
            changedDirs.add(parent);
          }
        }
        changes.push({ Path: path, Kind: kind });
      }
      if (st.isDirectory()) await walk(r, underOpaque || opaque.has(r) || kind === 1);
    }
  };
  await walk('', false);
  changes.sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
  return changes;
}

/** Disk usage of a directory tree: st_size of every non-directory, hard links counted once. */
export async function directorySize(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const n of names) {
      const p = posix.join(dir, n);
      const st = await tryLstat(p);
      if (!st) continue;
      if (st.isDirectory()) {
        await walk(p);
        continue;
      }
      if (st.nlink > 1) {
        const k = `${st.dev}:${st.ino}`;
        if (seen.has(k)) continue;
        seen.add(k);
      }
      total += st.size;
    }
  };
  await walk(root);
  return total;
}
