// Test fixtures: a minimal busybox root filesystem built from the host's static busybox,
// so integration tests need no registry.

import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Client } from '../src/client/client.js';

export const BUSYBOX_BIN = '/usr/bin/busybox';
export const FIXTURES_DIR = '/tmp/berth-fixtures';

// Fixed so that the tarball (and the image ID imported from it) is reproducible.
const MTIME = new Date('2024-01-01T00:00:00Z');

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
  'user:x:1000:1000:user:/home/user:/bin/sh',
  '',
].join('\n');

const GROUP = ['root:x:0:', 'daemon:x:1:', 'nogroup:x:65534:', 'user:x:1000:', ''].join('\n');

async function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${Buffer.concat(err)}`)),
    );
  });
}

/** The applets the host's busybox provides (`busybox --list`), without busybox itself. */
export async function busyboxApplets(): Promise<string[]> {
  const out = await run(BUSYBOX_BIN, ['--list']);
  return out
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'busybox' && !s.includes('/'))
    .sort();
}

/** Writes the rootfs tarball to `dest`. */
export async function writeBusyboxRootfsTar(dest: string): Promise<void> {
  const applets = await busyboxApplets();
  const bin = await stat(BUSYBOX_BIN);
  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(dest));

  const dir = (name: string, mode = 0o755, uid = 0): void => {
    pack.entry({ name, type: 'directory', mode, uid, gid: uid, mtime: MTIME });
  };
  const file = (name: string, content: string, mode = 0o644): void => {
    pack.entry({ name, mode, uid: 0, gid: 0, mtime: MTIME }, content);
  };

  dir('bin/');
  dir('dev/');
  dir('etc/');
  dir('home/');
  dir('home/user/', 0o755, 1000);
  dir('proc/');
  dir('root/', 0o700);
  dir('sys/');
  dir('tmp/', 0o1777);
  dir('usr/');
  dir('usr/sbin/');
  dir('var/');
  file('etc/passwd', PASSWD);
  file('etc/group', GROUP);
  await new Promise<void>((resolve, reject) => {
    const entry = pack.entry({ name: 'bin/busybox', mode: 0o755, size: bin.size, uid: 0, gid: 0, mtime: MTIME }, (err) =>
      err ? reject(err) : resolve(),
    );
    pipeline(createReadStream(BUSYBOX_BIN), entry).catch(reject);
  });
  for (const a of applets) {
    pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777, uid: 0, gid: 0, mtime: MTIME });
  }
  pack.finalize();
  await out;
}

let cached: Promise<string> | undefined;

/**
 * Path of the busybox rootfs tarball, built once and cached under /tmp/berth-fixtures
 * (keyed by the busybox binary, so a changed busybox rebuilds it). Safe with parallel test
 * processes: each builds to a private name and renames into place.
 */
export function busyboxRootfsTar(): Promise<string> {
  cached ??= (async () => {
    const st = await stat(BUSYBOX_BIN);
    await mkdir(FIXTURES_DIR, { recursive: true });
    const path = join(FIXTURES_DIR, `busybox-rootfs-${st.size}-${Math.floor(st.mtimeMs)}.tar`);
    if (await stat(path).then(() => true, () => false)) return path;
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeBusyboxRootfsTar(tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return path;
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/** Splits `name[:tag]` (a registry port is not a tag). */
export function splitRepoTag(name: string): { repo: string; tag: string } {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

/**
 * Imports the busybox rootfs as an image through the API
 * (POST /images/create?fromSrc=-&repo=…&tag=…), with `CMD ["sh"]` like the real busybox
 * image unless other `changes` are given. Resolves with the image ID the daemon reports.
 */
export async function importBusybox(
  daemon: { client: Client },
  name = 'busybox:latest',
  opts: { changes?: string[] } = {},
): Promise<string> {
  const { repo, tag } = splitRepoTag(name);
  const path = await busyboxRootfsTar();
  const msgs = await daemon.client.imageImport(createReadStream(path), {
    repo,
    tag,
    changes: opts.changes ?? ['CMD ["sh"]'],
  });
  const status = [...msgs].reverse().find((m) => m.status)?.status ?? '';
  return status.trim();
}
