// Extended attributes. Node has no xattr syscalls, so this spawns a helper: `setfattr`/`getfattr`
// (Debian package `attr`) when installed, else python3's os.*xattr. Calls are batched so a layer
// costs at most one spawn for all its xattrs.

import { access } from 'node:fs/promises';
import { constants } from 'node:fs';
import { runCommand } from '../pkg/command.js';

export interface XattrSet {
  path: string;
  name: string;
  value: Buffer;
}

let backend: Promise<'attr' | 'python' | 'none'> | undefined;

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    try {
      await access(`${dir}/${cmd}`, constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

function detect(): Promise<'attr' | 'python' | 'none'> {
  backend ??= (async () => {
    if ((await onPath('setfattr')) && (await onPath('getfattr'))) return 'attr';
    if (await onPath('python3')) return 'python';
    return 'none';
  })();
  return backend;
}

async function run(cmd: string, args: string[], input: string): Promise<string> {
  const r = await runCommand(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

// JSON lines in, JSON out; paths are passed hex-encoded so any byte sequence survives.
const PY_SET = `
import sys, json, os
for line in sys.stdin:
    if not line.strip(): continue
    p, n, v = json.loads(line)
    os.setxattr(bytes.fromhex(p), n, bytes.fromhex(v), follow_symlinks=False)
`;
const PY_GET = `
import sys, json, os
res = []
name = sys.argv[1]
for line in sys.stdin:
    if not line.strip(): continue
    p = bytes.fromhex(line.strip())
    try:
        res.append(os.getxattr(p, name, follow_symlinks=False).hex())
    except OSError:
        res.append(None)
print(json.dumps(res))
`;

/** Sets xattrs (never following symlinks). Throws when no backend is available. */
export async function setXattrs(items: XattrSet[]): Promise<void> {
  if (items.length === 0) return;
  const b = await detect();
  if (b === 'attr') {
    // setfattr --restore reads getfattr dump format; values hex-encoded.
    const lines: string[] = [];
    for (const it of items) {
      lines.push(`# file: ${escapeAttrPath(it.path)}`, `${it.name}=0x${it.value.toString('hex')}`, '');
    }
    await run('setfattr', ['-h', '--restore=-'], lines.join('\n') + '\n');
    return;
  }
  if (b === 'python') {
    const input = items
      .map((it) => JSON.stringify([Buffer.from(it.path).toString('hex'), it.name, it.value.toString('hex')]))
      .join('\n');
    await run('python3', ['-c', PY_SET], input + '\n');
    return;
  }
  throw new Error('cannot set extended attributes: install the "attr" package (setfattr) or python3');
}

/** Reads one xattr from many paths; undefined where absent. */
export async function getXattrs(paths: string[], name: string): Promise<(Buffer | undefined)[]> {
  if (paths.length === 0) return [];
  const b = await detect();
  if (b === 'python' || b === 'attr') {
    if (b === 'python') {
      const out = await run('python3', ['-c', PY_GET, name], paths.map((p) => Buffer.from(p).toString('hex')).join('\n') + '\n');
      const arr = JSON.parse(out) as (string | null)[];
      return arr.map((h) => (h === null ? undefined : Buffer.from(h, 'hex')));
    }
    const res: (Buffer | undefined)[] = [];
    for (const p of paths) {
      try {
        const out = await run('getfattr', ['-h', '--absolute-names', '-e', 'hex', '-n', name, '--', p], '');
        const m = /=0x([0-9a-f]*)/.exec(out);
        res.push(m ? Buffer.from(m[1]!, 'hex') : undefined);
      } catch {
        res.push(undefined);
      }
    }
    return res;
  }
  return paths.map(() => undefined);
}

/** getfattr's dump format escapes backslash, newline and other control bytes as octal. */
function escapeAttrPath(p: string): string {
  return p.replace(/[\\\n\r\x00-\x1f]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}
