import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile, chmod, link, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { archivePath, extractToDir, statPath, goFileMode, GO_MODE, isGoDir, preserveTrailingDotOrSeparator, copyOwner } from './archive.js';
import { isKind } from '../pkg/errors.js';
import { IdentityMapping } from '../pkg/idmap.js';

type Ent = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo';
  linkname?: string;
  body?: string;
  mode?: number;
  uid?: number;
  gid?: number;
};

async function makeTar(entries: Ent[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const h = {
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        ...(e.linkname ? { linkname: e.linkname } : {}),
      };
      if (type === 'file') pack.entry({ ...h, size: Buffer.byteLength(e.body ?? '') }, Buffer.from(e.body ?? ''), (err) => (err ? reject(err) : resolve()));
      else pack.entry(h, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

interface Got {
  name: string;
  type: string;
  body?: string;
  linkname?: string;
  mode: number;
  uid: number;
  gid: number;
}

async function readTar(stream: Readable): Promise<Got[]> {
  const ex = tar.extract();
  const out: Got[] = [];
  const feeding = (async () => {
    for await (const c of stream) ex.write(c as Buffer);
    (ex as unknown as { end(): void }).end();
  })();
  for await (const e of ex) {
    const chunks: Buffer[] = [];
    for await (const c of e) chunks.push(Buffer.from(c as Uint8Array));
    const h = e.header;
    out.push({
      name: h.name,
      type: h.type ?? 'file',
      mode: h.mode ?? 0,
      uid: h.uid ?? 0,
      gid: h.gid ?? 0,
      ...(h.type === 'file' ? { body: Buffer.concat(chunks).toString() } : {}),
      ...(h.linkname ? { linkname: h.linkname } : {}),
    });
  }
  await feeding;
  return out;
}

let tmp: string;
let root: string;
let outside: string;
let outsideSnapshot: string;

/** Everything under `dir`: names, types, sizes, modes, owners, link targets and contents. */
async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n);
      const st = await lstat(p);
      let extra = '';
      if (st.isSymbolicLink()) extra = await readlink(p);
      else if (st.isFile()) extra = await readFile(p, 'utf8');
      lines.push(`${rel}/${n} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${extra}`);
      if (st.isDirectory()) await walk(p, `${rel}/${n}`);
    }
  };
  await walk(dir, '');
  return lines.join('\n');
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-cp-'));
  root = join(tmp, 'root');
  outside = join(tmp, 'outside');
  await mkdir(join(outside, 'etc'), { recursive: true });
  await writeFile(join(outside, 'secret'), 'host secret');
  await writeFile(join(outside, 'etc', 'passwd'), 'host passwd');

  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n');
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:1001:\nwheel:x:10:\n');
  await mkdir(join(root, 'data', 'sub'), { recursive: true });
  await writeFile(join(root, 'data', 'a.txt'), 'alpha');
  await chown(join(root, 'data', 'a.txt'), 1234, 5678);
  await chmod(join(root, 'data', 'a.txt'), 0o4755);
  await writeFile(join(root, 'data', 'sub', 'b.txt'), 'beta');
  await link(join(root, 'data', 'a.txt'), join(root, 'data', 'hard.txt'));
  await symlink('sub/b.txt', join(root, 'data', 'rel-link'));
  // Hostile links: every one of them must stay inside the root.
  await symlink('/', join(root, 'to-root'));
  await symlink('/etc', join(root, 'to-etc'));
  await symlink('../../outside', join(root, 'climb'));
  await symlink(outside, join(root, 'abs-outside'));
  await symlink('/../../../..' + outside, join(root, 'abs-climb'));
  await symlink('loop2', join(root, 'loop1'));
  await symlink('loop1', join(root, 'loop2'));
  await mkdir(join(root, 'target'));
  outsideSnapshot = await snapshot(outside);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const assertOutsideUntouched = async (): Promise<void> => {
  assert.equal(await snapshot(outside), outsideSnapshot, 'the host directory next to the root changed');
};

test('goFileMode gives Go os.FileMode bits', () => {
  assert.equal(goFileMode({ mode: 0o040755 }), 2147484141);
  assert.equal(goFileMode({ mode: 0o100644 }), 0o644);
  assert.equal(goFileMode({ mode: 0o120777 }), GO_MODE.symlink + 0o777);
  assert.equal(goFileMode({ mode: 0o020666 }), GO_MODE.device + GO_MODE.charDevice + 0o666);
  assert.equal(goFileMode({ mode: 0o104755 }), GO_MODE.setuid + 0o755);
  assert.equal(goFileMode({ mode: 0o041777 }), GO_MODE.dir + GO_MODE.sticky + 0o777);
  assert.ok(isGoDir(2147484141));
  assert.ok(!isGoDir(0o644));
});

test('preserveTrailingDotOrSeparator', () => {
  assert.equal(preserveTrailingDotOrSeparator('/etc', '/etc/'), '/etc/');
  assert.equal(preserveTrailingDotOrSeparator('/etc', '/etc/.'), '/etc/.');
  assert.equal(preserveTrailingDotOrSeparator('/etc', 'etc'), '/etc');
  assert.equal(preserveTrailingDotOrSeparator('/', '/'), '/');
});

test('statPath: files, directories and symlinks resolved in the root', async () => {
  const f = await statPath(root, '/data/a.txt');
  assert.equal(f.name, 'a.txt');
  assert.equal(f.size, 5);
  assert.equal(f.mode, GO_MODE.setuid + 0o755);
  assert.equal(f.linkTarget, '');
  assert.match(f.mtime, /^\d{4}-\d\d-\d\dT/);

  const d = await statPath(root, '/data/');
  assert.equal(d.name, 'data');
  assert.ok(isGoDir(d.mode));

  const l = await statPath(root, '/to-etc');
  assert.equal(l.mode, GO_MODE.symlink + 0o777);
  assert.equal(l.linkTarget, '/etc', 'absolute targets resolve inside the root');
  const c = await statPath(root, '/climb');
  assert.equal(c.linkTarget, '/outside', '`..` stops at the root');
  const a = await statPath(root, '/abs-outside');
  assert.equal(a.linkTarget, outside, 'a host path is read as a container path');

  // Through a symlink to "/", the container's files are reached, never the host's.
  const p = await statPath(root, '/to-root/etc/passwd');
  assert.equal(p.size, (await stat(join(root, 'etc', 'passwd'))).size);
  const viaClimb = await statPath(root, '/climb/../etc/passwd').catch((e: unknown) => e);
  assert.ok(isKind(viaClimb, 'not-found') || (viaClimb as { size: number }).size > 0);
  await assert.rejects(statPath(root, '/abs-outside/secret', { container: 'c1' }), (e: unknown) => {
    assert.ok(isKind(e, 'not-found'));
    assert.equal((e as Error).message, `Could not find the file /abs-outside/secret in container c1`);
    return true;
  });
  await assert.rejects(statPath(root, '/abs-climb/secret'), (e: unknown) => isKind(e, 'not-found'));
  await assert.rejects(statPath(root, '/loop1/x'), /too many levels of symbolic links/);
  await assertOutsideUntouched();
});

test('archivePath: dockerd naming for dirs, trailing / and /., files and symlinks', async () => {
  const dir = await readTar((await archivePath(root, '/data')).stream);
  assert.deepEqual(dir.map((e) => e.name), [
    'data/',
    'data/a.txt',
    'data/hard.txt',
    'data/rel-link',
    'data/sub/',
    'data/sub/b.txt',
  ]);
  const a = dir.find((e) => e.name === 'data/a.txt')!;
  assert.equal(a.body, 'alpha');
  assert.equal(a.mode, 0o4755);
  assert.equal(a.uid, 1234);
  assert.equal(a.gid, 5678);
  assert.equal(dir.find((e) => e.name === 'data/hard.txt')!.type, 'link');
  assert.equal(dir.find((e) => e.name === 'data/hard.txt')!.linkname, 'data/a.txt');
  assert.equal(dir.find((e) => e.name === 'data/rel-link')!.linkname, 'sub/b.txt');

  const slash = await readTar((await archivePath(root, '/data/')).stream);
  assert.equal(slash[0]!.name, 'data/');
  const dot = await readTar((await archivePath(root, '/data/.')).stream);
  assert.deepEqual(dot.slice(0, 2).map((e) => e.name), ['./', './a.txt']);

  const file = await readTar((await archivePath(root, 'data/sub/b.txt')).stream);
  assert.deepEqual(file.map((e) => [e.name, e.body]), [['b.txt', 'beta']]);

  const link1 = await archivePath(root, '/to-etc');
  assert.equal(link1.stat.linkTarget, '/etc');
  const linkEntries = await readTar(link1.stream);
  assert.deepEqual(linkEntries.map((e) => [e.name, e.type, e.linkname]), [['to-etc', 'symlink', '/etc']]);

  // A trailing slash follows the link — to the container's /etc.
  const followed = await readTar((await archivePath(root, '/to-etc/')).stream);
  assert.deepEqual(followed.map((e) => e.name), ['to-etc/', 'to-etc/group', 'to-etc/passwd']);
  assert.ok(followed.every((e) => e.body === undefined || !e.body.includes('host')));

  // followLink (cp -L) archives the target under the link's name.
  const l = await readTar((await archivePath(root, '/data/rel-link', { followLink: true })).stream);
  assert.deepEqual(l.map((e) => [e.name, e.body]), [['rel-link', 'beta']]);

  // A link to "/" or out of the root shows the container's root, never the host's.
  const viaRoot = await readTar((await archivePath(root, '/to-root/etc/')).stream);
  assert.ok(viaRoot.some((e) => e.name === 'etc/passwd' && e.body!.startsWith('root:x:0:0')));
  const esc = await readTar((await archivePath(root, '/abs-outside/', { followLink: true }).catch(() => ({ stream: Readable.from([]) }))).stream).catch(() => []);
  assert.ok(esc.every((e) => !e.body?.includes('host secret')));
  await assert.rejects(archivePath(root, '/climb/secret'), (e: unknown) => isKind(e, 'not-found'));
  await assertOutsideUntouched();
});

test('archivePath of "/" names entries from the root', async () => {
  const all = await readTar((await archivePath(join(root, 'data'), '/')).stream);
  assert.equal(all[0]!.name, '/');
  assert.ok(all.some((e) => e.name === '/sub/b.txt'));
});

test('extractToDir: round trip of files, dirs, modes, ownership, symlinks, hard links', async () => {
  const src = await archivePath(root, '/data');
  await mkdir(join(root, 'copy'));
  await extractToDir(root, '/copy', src.stream);
  const a = await lstat(join(root, 'copy', 'data', 'a.txt'));
  assert.equal(a.mode & 0o7777, 0o4755);
  assert.equal(a.uid, 1234);
  assert.equal(a.gid, 5678);
  assert.equal(await readFile(join(root, 'copy', 'data', 'sub', 'b.txt'), 'utf8'), 'beta');
  assert.equal(await readlink(join(root, 'copy', 'data', 'rel-link')), 'sub/b.txt');
  const h = await lstat(join(root, 'copy', 'data', 'hard.txt'));
  assert.equal(h.ino, a.ino, 'hard link kept');
  const origDir = await stat(join(root, 'data', 'sub'));
  const copyDir = await stat(join(root, 'copy', 'data', 'sub'));
  assert.equal(Math.floor(copyDir.mtimeMs / 1000), Math.floor(origDir.mtimeMs / 1000), 'directory mtime kept');
});

test('extractToDir: compressed archives, implied parents, copyUIDGID and noOverwriteDirNonDir', async () => {
  const body = gzipSync(await makeTar([
    { name: 'deep/er/file.txt', body: 'x', uid: 42, gid: 43 },
    { name: 'plain', body: 'p', uid: 7, gid: 8 },
  ]));
  await extractToDir(root, '/target', Readable.from([body]));
  const f = await lstat(join(root, 'target', 'deep', 'er', 'file.txt'));
  assert.equal(f.uid, 42, 'the archive owner is kept by default (as dockerd)');
  const implied = await lstat(join(root, 'target', 'deep'));
  assert.equal(implied.uid, 0);
  assert.equal(implied.mode & 0o777, 0o755);

  assert.deepEqual(await copyOwner(root, 'app'), { uid: 1000, gid: 1001 });
  assert.deepEqual(await copyOwner(root, 'app:wheel'), { uid: 1000, gid: 10 });
  assert.equal(await copyOwner(root, ''), undefined);
  await extractToDir(root, '/target', Readable.from([await makeTar([{ name: 'owned', body: 'o', uid: 9, gid: 9 }])]), { copyUIDGID: true, user: 'app' });
  const o = await lstat(join(root, 'target', 'owned'));
  assert.deepEqual([o.uid, o.gid], [1000, 1001]);

  await mkdir(join(root, 'target', 'isdir'));
  await assert.rejects(
    extractToDir(root, '/target', Readable.from([await makeTar([{ name: 'isdir', body: 'f' }])]), { noOverwriteDirNonDir: true }),
    /cannot overwrite directory "isdir" with non-directory/,
  );
  await assert.rejects(
    extractToDir(root, '/target', Readable.from([await makeTar([{ name: 'plain', type: 'directory' }])]), { noOverwriteDirNonDir: true }),
    /cannot overwrite non-directory "plain" with directory/,
  );
  // Without the flag a directory is replaced by a file, as dockerd allows by default.
  await writeFile(join(root, 'target', 'isdir', 'inner'), 'i');
  await extractToDir(root, '/target', Readable.from([await makeTar([{ name: 'isdir', body: 'now a file' }])]));
  assert.equal(await readFile(join(root, 'target', 'isdir'), 'utf8'), 'now a file');

  await assert.rejects(extractToDir(root, '/data/a.txt', Readable.from([await makeTar([])])), /extraction point is not a directory/);
  await assert.rejects(extractToDir(root, '/nope', Readable.from([await makeTar([])]), { container: 'c' }), /Could not find the file \/nope in container c/);
  await assert.rejects(
    extractToDir(root, '/target', Readable.from([await makeTar([])]), { readonlyRootfs: true }),
    /container rootfs is marked read-only/,
  );
  await assert.rejects(
    extractToDir(root, '/target', Readable.from([await makeTar([])]), { mountPoints: [{ Destination: '/target', RW: false }] }),
    /mounted volume is marked read-only/,
  );
  await extractToDir(root, '/target', Readable.from([await makeTar([])]), { readonlyRootfs: true, mountPoints: [{ Destination: '/target', RW: true }] });
});

test('--userns-remap: archives carry container IDs, the disk host IDs (implied parents and cp -a too)', async () => {
  const idMap = new IdentityMapping([{ containerID: 0, hostID: 100000, size: 65536 }], [{ containerID: 0, hostID: 200000, size: 65536 }]);
  // Owned by the host's root, outside the ranges: the container sees the overflow ID.
  await mkdir(join(root, 'remapped'));
  await extractToDir(root, '/remapped', Readable.from([await makeTar([{ name: 'in/file', body: 'x', uid: 42, gid: 43 }])]), { idMap });
  const f = await lstat(join(root, 'remapped', 'in', 'file'));
  assert.deepEqual([f.uid, f.gid], [100042, 200043]);
  const implied = await lstat(join(root, 'remapped', 'in'));
  assert.deepEqual([implied.uid, implied.gid], [100000, 200000]);
  await extractToDir(root, '/remapped', Readable.from([await makeTar([{ name: 'owned', body: 'o' }])]), { idMap, copyUIDGID: true, user: 'app' });
  const o = await lstat(join(root, 'remapped', 'owned'));
  assert.deepEqual([o.uid, o.gid], [101000, 201001]);
  await assert.rejects(
    extractToDir(root, '/remapped', Readable.from([await makeTar([{ name: 'far', body: 'x', uid: 70000 }])]), { idMap }),
    /Container ID 70000 cannot be mapped to a host ID/,
  );
  const out = await readTar((await archivePath(root, '/remapped', { idMap })).stream);
  assert.deepEqual(out.map((e) => [e.name, e.uid, e.gid]), [
    ['remapped/', 65534, 65534],
    ['remapped/in/', 0, 0],
    ['remapped/in/file', 42, 43],
    ['remapped/owned', 1000, 1001],
  ]);
});

test('extractToDir: hostile archives and hostile destinations stay inside the root', async () => {
  await assert.rejects(extractToDir(root, '/target', Readable.from([await makeTar([{ name: '../escape', body: 'x' }])])), /outside of the root/);
  await assert.rejects(extractToDir(root, '/target', Readable.from([await makeTar([{ name: 'a/../../escape', body: 'x' }])])), /outside of the root/);
  await assert.rejects(
    extractToDir(root, '/target', Readable.from([await makeTar([{ name: 'hl', type: 'link', linkname: '../../outside/secret' }])])),
    /outside of the root/,
  );
  // Absolute entry names are relative to the destination.
  await extractToDir(root, '/target', Readable.from([await makeTar([{ name: '/abs/name.txt', body: 'abs' }])]));
  assert.equal(await readFile(join(root, 'target', 'abs', 'name.txt'), 'utf8'), 'abs');

  // A symlink in the archive, then a file through it: written inside the root's /etc.
  await extractToDir(root, '/target', Readable.from([await makeTar([
    { name: 'sneaky', type: 'symlink', linkname: outside },
    { name: 'sneaky/secret', body: 'overwritten?' },
    { name: 'up', type: 'symlink', linkname: '../../../../../../' },
    { name: 'up/etc/passwd2', body: 'p2' },
  ])]));
  assert.equal(await readFile(join(root, outside, 'secret'), 'utf8'), 'overwritten?', 'written at the container path');
  assert.equal(await readFile(join(root, 'etc', 'passwd2'), 'utf8'), 'p2');

  // Destinations through links to "/", "/etc", out of the root, or to a host path.
  await extractToDir(root, '/to-root/', Readable.from([await makeTar([{ name: 'at-root', body: 'r' }])]));
  assert.equal(await readFile(join(root, 'at-root'), 'utf8'), 'r');
  await extractToDir(root, '/to-etc', Readable.from([await makeTar([{ name: 'in-etc', body: 'e' }])]));
  assert.equal(await readFile(join(root, 'etc', 'in-etc'), 'utf8'), 'e');
  await mkdir(join(root, 'outside'), { recursive: true });
  await extractToDir(root, '/climb', Readable.from([await makeTar([{ name: 'secret', body: 'not the host' }])]));
  assert.equal(await readFile(join(root, 'outside', 'secret'), 'utf8'), 'not the host');
  await extractToDir(root, '/abs-outside', Readable.from([await makeTar([{ name: 'secret', body: 'still not the host' }])]));
  assert.equal(await readFile(join(root, outside, 'secret'), 'utf8'), 'still not the host');
  await assertOutsideUntouched();
});

test('extractToDir: a directory swapped for a symlink mid-copy is never written through', async () => {
  await mkdir(join(root, 'race', 'dir'), { recursive: true });
  const entries: Ent[] = [];
  for (let i = 0; i < 20; i++) entries.push({ name: `dir/f${i}`, body: `n${i}` });
  let swapped = false;
  await extractToDir(root, '/race', Readable.from([await makeTar(entries)]), {
    beforeEntry: async (name) => {
      if (name === 'dir/f10' && !swapped) {
        swapped = true;
        await rename(join(root, 'race', 'dir'), join(root, 'race', 'dir.moved'));
        await symlink(outside, join(root, 'race', 'dir')); // points at the host's directory
      }
    },
  });
  assert.ok(swapped);
  assert.equal(await readFile(join(root, 'race', 'dir.moved', 'f9'), 'utf8'), 'n9');
  // Later entries followed the new link chroot-style: into <root><outside>, not <outside>.
  assert.equal(await readFile(join(root, outside, 'f10'), 'utf8'), 'n10');
  await assertOutsideUntouched();

  // The same swap while archiving: the walk holds directory handles, nothing outside is read.
  await mkdir(join(root, 'race2', 'dir'), { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(join(root, 'race2', 'dir', `g${i}`), `m${i}`);
  const out = await archivePath(root, '/race2');
  await rename(join(root, 'race2', 'dir'), join(root, 'race2', 'dir.moved'));
  await symlink(outside, join(root, 'race2', 'dir'));
  const got = await readTar(out.stream);
  assert.ok(got.every((e) => !e.body?.includes('host')), JSON.stringify(got));
});

test('overlaid mounts: volumes and binds of a stopped container, a bind target that is a symlink', async () => {
  const vol = join(tmp, 'vol');
  await mkdir(join(vol, 'inner'), { recursive: true });
  await writeFile(join(vol, 'inner', 'v.txt'), 'volume data');
  await symlink('/', join(vol, 'esc')); // a link to "/" inside the volume
  const hostFile = join(tmp, 'hostfile');
  await writeFile(hostFile, 'bound file');
  await symlink('/data', join(root, 'linkdest')); // the mount destination is a symlink in the image
  const spec = {
    path: root,
    mounts: [
      { destination: '/mnt/vol', source: vol },
      { destination: '/linkdest', source: vol },
      { destination: '/etc/bound', source: hostFile },
    ],
  };
  const s = await statPath(spec, '/mnt/vol/inner/v.txt');
  assert.equal(s.size, 'volume data'.length);
  const listing = await readTar((await archivePath(spec, '/mnt')).stream);
  assert.ok(listing.some((e) => e.name === 'mnt/vol/inner/v.txt' && e.body === 'volume data'));
  const etc = await readTar((await archivePath(spec, '/etc')).stream);
  assert.ok(etc.some((e) => e.name === 'etc/bound' && e.body === 'bound file'));
  // The symlinked destination resolves first: /linkdest → /data gets the mount.
  const viaLink = await statPath(spec, '/data/inner/v.txt');
  assert.equal(viaLink.size, 'volume data'.length);

  await extractToDir(spec, '/mnt/vol/inner', Readable.from([await makeTar([{ name: 'new.txt', body: 'n' }])]));
  assert.equal(await readFile(join(vol, 'inner', 'new.txt'), 'utf8'), 'n');
  // "/" seen from inside the volume is the container's root.
  await extractToDir(spec, '/mnt/vol/esc/', Readable.from([await makeTar([{ name: 'from-vol', body: 'f' }])]));
  assert.equal(await readFile(join(root, 'from-vol'), 'utf8'), 'f');
  await assert.rejects(
    extractToDir(spec, '/etc', Readable.from([await makeTar([{ name: 'bound', body: 'replace' }])])),
    /busy/,
  );
  assert.equal(await readFile(hostFile, 'utf8'), 'bound file');
  await assertOutsideUntouched();
});
