// Extended attributes, read and written in-process. Node has no xattr syscalls; @napi-rs/xattr
// binds them (lgetxattr/lsetxattr: a symlink's own attributes, never its target's). Spawning
// getfattr cost milliseconds per directory on the union's lookups (a container's /etc/passwd).

import { getAttribute, setAttribute } from '@napi-rs/xattr';

export interface XattrSet {
  path: string;
  name: string;
  value: Buffer;
}

/** Sets xattrs (never following symlinks); the first failure is thrown. */
export async function setXattrs(items: XattrSet[]): Promise<void> {
  for (const it of items) await setAttribute(it.path, it.name, it.value);
}

/** Reads one xattr from many paths; undefined where absent or unreadable. */
export async function getXattrs(paths: string[], name: string): Promise<(Buffer | undefined)[]> {
  return Promise.all(paths.map((p) => getAttribute(p, name).then((v) => v ?? undefined, () => undefined)));
}
