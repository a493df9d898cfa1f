import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, readFile, readdir, lstat, writeFile, stat, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import * as tar from 'tar-stream';
import { applyLayer } from './apply.js';
import { packDirectory } from './pack.js';
import { getXattrs } from './xattr.js';
import { IdentityMapping } from '../pkg/idmap.js';

type Ent = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo'; linkname?: string; body?: string; mode?: number; uid?: number; gid?: number };

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

/** A raw ustar header with a base-256 size field (for absurd sizes). */
function hugeHeader(name: string, size: bigint): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'utf8');
  b.write('0000644\0', 100);
  b.write('0000000\0', 108);
  b.write('0000000\0', 116);
  b[124] = 0x80;
  let s = size;
  for (let i = 135; i > 124; i--) {
    b[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  b.write('00000000000\0', 136);
  b.write('        ', 148);
  b.write('0', 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return Buffer.concat([b, Buffer.alloc(4096)]);
}

let base: string;
let outside: string;
let passwdHash: string;
let passwdLinks: number;

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const st = await lstat(join(d, n));
      out.push(`${rel}${n}:${st.mode}:${st.size}`);
      if (st.isDirectory()) await walk(join(d, n), `${rel}${n}/`);
    }
  };
  await walk(dir, '');
  return out;
}

let outsideBefore: string[];
let counter = 0;

async function target(): Promise<string> {
  const t = join(base, `target${counter++}`);
  await mkdir(t);
  return t;
}

async function assertOutsideUntouched(): Promise<void> {
  assert.deepEqual(await snapshot(outside), outsideBefore, 'outside dir changed');
  assert.equal(await readFile(join(outside, 'sentinel'), 'utf8'), 'keep');
  const names = (await readdir(base)).filter((n) => !n.startsWith('target'));
  assert.deepEqual(names.sort(), ['outside']);
  assert.equal(createHash('sha256').update(await readFile('/etc/passwd')).digest('hex'), passwdHash);
  assert.equal((await stat('/etc/passwd')).nlink, passwdLinks);
}

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'berth-archive-'));
  outside = join(base, 'outside');
  await mkdir(outside);
  await writeFile(join(outside, 'sentinel'), 'keep');
  outsideBefore = await snapshot(outside);
  passwdHash = createHash('sha256').update(await readFile('/etc/passwd')).digest('hex');
  passwdLinks = (await stat('/etc/passwd')).nlink;
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function applyBuf(buf: Buffer, dest: string, opts = {}): ReturnType<typeof applyLayer> {
  return applyLayer(Readable.from([buf]), dest, opts);
}

test('applies files, dirs, symlinks, hard links, whiteouts; diffID of plain and gzip agree', async () => {
  const buf = await makeTar([
    { name: './', type: 'directory' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/hostname', body: 'box\n' },
    { name: 'etc/hl', type: 'link', linkname: 'etc/hostname' },
    { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
    { name: 'gone/.wh..wh..opq' },
    { name: '.wh.deleted' },
    { name: 'run/fifo', type: 'fifo' },
    { name: 'x', body: 'secret', mode: 0o4755 },
  ]);
  const t1 = await target();
  const r1 = await applyBuf(buf, t1);
  assert.equal(r1.diffID, 'sha256:' + createHash('sha256').update(buf).digest('hex'));
  assert.equal(r1.size, 4 + 6);
  assert.equal(await readFile(join(t1, 'etc/hostname'), 'utf8'), 'box\n');
  assert.equal((await stat(join(t1, 'etc/hl'))).ino, (await stat(join(t1, 'etc/hostname'))).ino);
  assert.equal(await readlink(join(t1, 'bin/sh')), '/bin/busybox');
  const wh = await lstat(join(t1, 'deleted'));
  assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
  assert.ok((await lstat(join(t1, 'run/fifo'))).isFIFO());
  assert.equal((await stat(join(t1, 'x'))).mode & 0o7777, 0o4755);
  const [op] = await getXattrs([join(t1, 'gone')], 'trusted.overlay.opaque');
  assert.equal(op?.toString(), 'y');

  const t2 = await target();
  const r2 = await applyLayer(Readable.from([gzipSync(buf)]), t2);
  assert.equal(r2.diffID, r1.diffID);

  // round trip through packDirectory keeps whiteouts and opaque dirs
  const t3 = await target();
  await applyLayer(packDirectory(t1, { overlayWhiteouts: true }), t3);
  assert.ok((await lstat(join(t3, 'deleted'))).isCharacterDevice());
  const [op3] = await getXattrs([join(t3, 'gone')], 'trusted.overlay.opaque');
  assert.equal(op3?.toString(), 'y');
  assert.equal((await stat(join(t3, 'etc/hl'))).ino, (await stat(join(t3, 'etc/hostname'))).ino);
  await assertOutsideUntouched();
});

const hostile: [string, () => Promise<Buffer>, RegExp | null][] = [
  ['../ entry', () => makeTar([{ name: '../evil', body: 'x' }]), /outside of the root/],
  ['nested ../ escape', () => makeTar([{ name: 'a/../../evil', body: 'x' }]), /outside of the root/],
  ['/../ escape', () => makeTar([{ name: '/../evil', body: 'x' }]), /outside of the root/],
  ['symlink to ../.. then write through it', () => makeTar([{ name: 'up', type: 'symlink', linkname: '../..' }, { name: 'up/evil', body: 'x' }]), /outside of the root/],
  ['hard link to /etc/passwd', () => makeTar([{ name: 'pw', type: 'link', linkname: '/etc/passwd' }]), /invalid hardlink/],
  ['hard link to ../../etc/passwd', () => makeTar([{ name: 'pw', type: 'link', linkname: '../../../../../../etc/passwd' }]), /outside of the root/],
  ['huge header size', async () => hugeHeader('big', 1n << 50n), /too large/],
];

for (const [name, mk, re] of hostile) {
  test(`refuses hostile archive: ${name}`, async () => {
    const t = await target();
    await assert.rejects(applyBuf(await mk(), t), re!);
    await assertOutsideUntouched();
  });
}

test('confines writes through symlinks to / and absolute host paths (chroot-style)', async () => {
  const t = await target();
  await applyBuf(
    await makeTar([
      { name: 'root', type: 'symlink', linkname: '/' },
      { name: 'root/etc/evil', body: 'x' },
      { name: 'abs', type: 'symlink', linkname: outside },
      { name: 'abs/evil', body: 'x' },
      { name: 'abs/.wh.sentinel' },
      { name: 'd/l1', type: 'symlink', linkname: '..' },
      { name: 'chain', type: 'symlink', linkname: 'd/l1/..' },
      { name: 'chain/chained', body: 'x' },
      { name: 'loop', type: 'symlink', linkname: 'loop2' },
      { name: 'loop2', type: 'symlink', linkname: 'loop' },
    ]),
    t,
  );
  assert.equal(await readFile(join(t, 'etc/evil'), 'utf8'), 'x');
  assert.equal(await readFile(join(t, outside, 'evil'), 'utf8'), 'x');
  assert.ok((await lstat(join(t, outside, 'sentinel'))).isCharacterDevice());
  assert.equal(await readFile(join(t, 'chained'), 'utf8'), 'x');
  await assertOutsideUntouched();
  // a symlink loop used as a parent is refused
  const t2 = await target();
  await assert.rejects(
    applyBuf(await makeTar([{ name: 'a', type: 'symlink', linkname: 'b' }, { name: 'b', type: 'symlink', linkname: 'a' }, { name: 'a/x', body: 'x' }]), t2),
    /too many levels/,
  );
  await assertOutsideUntouched();
});

test('replaces an existing symlink instead of writing through it', async () => {
  const t = await target();
  await applyBuf(
    await makeTar([
      { name: 'f', type: 'symlink', linkname: join(outside, 'sentinel') },
      { name: 'f', body: 'mine' },
      { name: 'dl', type: 'symlink', linkname: outside },
      { name: 'dl', type: 'directory' },
      { name: 'dl/new', body: 'x' },
      { name: 'h', type: 'symlink', linkname: '/etc/passwd' },
      { name: 'h2', type: 'link', linkname: 'h' },
      { name: 'h2', body: 'overwritten' },
    ]),
    t,
  );
  assert.equal(await readFile(join(t, 'f'), 'utf8'), 'mine');
  assert.ok((await lstat(join(t, 'dl'))).isDirectory());
  assert.equal(await readFile(join(t, 'h2'), 'utf8'), 'overwritten');
  await assertOutsideUntouched();
});

test('refuses too many entries', async () => {
  const t = await target();
  const entries: Ent[] = [];
  for (let i = 0; i < 20; i++) entries.push({ name: `f${i}`, body: '' });
  await assert.rejects(applyBuf(await makeTar(entries), t, { maxEntries: 10 }), /too many entries/);
  await assertOutsideUntouched();
});

test('refuses truncated archives', async () => {
  const t = await target();
  const buf = await makeTar([{ name: 'big', body: 'y'.repeat(5000) }]);
  await assert.rejects(applyBuf(buf.subarray(0, 2048), t));
  await assertOutsideUntouched();
});

test('entries that depend on ones still being written apply in tar order', async () => {
  const t = await target();
  const many: Ent[] = [];
  for (let i = 0; i < 40; i++) many.push({ name: `d/f${i}`, body: `v${i}` });
  await applyBuf(
    await makeTar([
      { name: 'd', type: 'directory' },
      ...many,
      // the same path again, while the first may still be pending
      { name: 'd/f1', body: 'second' },
      // a hard link to a file just written
      { name: 'd/f2link', type: 'link', linkname: 'd/f2' },
      // a symlink, then a path through it (resolved chroot-style, inside the layer)
      { name: 'lnk', type: 'symlink', linkname: 'd' },
      { name: 'lnk/viasym', body: 'through' },
      // a directory with pending children replaced by a file, then a dir made implicitly
      { name: 'gone', type: 'directory' },
      { name: 'gone/a', body: 'a' },
      { name: 'gone', body: 'now a file' },
      { name: 'impl/sub/x', body: 'x' },
      { name: 'impl/sub', body: 'file over implicit dir' },
      // odd modes: chmod is still applied
      { name: 'd/ro', body: 'ro', mode: 0o400 },
      { name: 'd/sticky', type: 'directory', mode: 0o1777 },
      { name: 'd/sgid', type: 'directory', mode: 0o2775 },
      { name: 'd/sgid/in', body: 'in', mode: 0o4755 },
    ]),
    t,
  );
  for (let i = 0; i < 40; i++) if (i !== 1) assert.equal(await readFile(join(t, 'd', `f${i}`), 'utf8'), `v${i}`);
  assert.equal(await readFile(join(t, 'd/f1'), 'utf8'), 'second');
  assert.equal((await stat(join(t, 'd/f2link'))).ino, (await stat(join(t, 'd/f2'))).ino);
  assert.equal(await readlink(join(t, 'lnk')), 'd');
  assert.equal(await readFile(join(t, 'd/viasym'), 'utf8'), 'through');
  assert.equal(await readFile(join(t, 'gone'), 'utf8'), 'now a file');
  assert.equal(await readFile(join(t, 'impl/sub'), 'utf8'), 'file over implicit dir');
  assert.equal((await lstat(join(t, 'd/ro'))).mode & 0o7777, 0o400);
  assert.equal((await lstat(join(t, 'd/sticky'))).mode & 0o7777, 0o1777);
  assert.equal((await lstat(join(t, 'd/sgid'))).mode & 0o7777, 0o2775);
  assert.equal((await lstat(join(t, 'd/sgid/in'))).mode & 0o7777, 0o4755);
  await assertOutsideUntouched();
});

test('a failing entry after pending writes rejects and leaves nothing running', async () => {
  const t = await target();
  const many: Ent[] = [];
  for (let i = 0; i < 30; i++) many.push({ name: `f${i}`, body: 'x' });
  await assert.rejects(applyBuf(await makeTar([...many, { name: 'bad', type: 'symlink', linkname: '../../escape' }]), t), /outside of the root/);
  await assertOutsideUntouched();
});

test('with an ID mapping: stored shifted into the ranges (implied parents too), packed back, same diffID', async () => {
  const idMap = new IdentityMapping([{ containerID: 0, hostID: 100000, size: 65536 }], [{ containerID: 0, hostID: 200000, size: 65536 }]);
  const buf = await makeTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', body: 'root:x:0:0::/root:/bin/sh\n' },
    { name: 'home/user/file', body: 'mine', uid: 1000, gid: 1001 },
    { name: 'home/user/link', type: 'symlink', linkname: 'file', uid: 1000, gid: 1001 },
    { name: 'etc/.wh.gone', body: '' },
  ]);
  const plain = await applyBuf(buf, await target());
  const dest = await target();
  const r = await applyBuf(buf, dest, { idMap });
  assert.equal(r.diffID, plain.diffID);
  const owner = async (p: string) => {
    const st = await lstat(join(dest, p));
    return `${st.uid}:${st.gid}`;
  };
  assert.equal(await owner('etc'), '100000:200000');
  assert.equal(await owner('etc/passwd'), '100000:200000');
  assert.equal(await owner('etc/gone'), '100000:200000');
  assert.equal(await owner('home'), '100000:200000', 'implied parent');
  assert.equal(await owner('home/user'), '100000:200000', 'implied parent');
  assert.equal(await owner('home/user/file'), '101000:201001');
  assert.equal(await owner('home/user/link'), '101000:201001');

  const packed = new Map<string, string>();
  const ex = tar.extract();
  const reading = (async () => {
    for await (const e of ex) {
      packed.set(e.header.name, `${e.header.uid}:${e.header.gid}`);
      e.resume();
    }
  })();
  packDirectory(dest, { overlayWhiteouts: true, idMap }).pipe(ex);
  await reading;
  assert.equal(packed.get('etc/passwd'), '0:0');
  assert.equal(packed.get('home/user/file'), '1000:1001');
  assert.equal(packed.get('home/user/link'), '1000:1001');
  assert.equal(packed.get('etc/.wh.gone'), '0:0');

  await assert.rejects(applyBuf(await makeTar([{ name: 'far', body: 'x', uid: 70000 }]), await target(), { idMap }), /Container ID 70000 cannot be mapped to a host ID/);
});
