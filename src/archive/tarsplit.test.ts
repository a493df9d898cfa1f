import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { applyLayer } from './apply.js';
import { rebuildTar, tarSplitSize } from './tarsplit.js';
import { TarReader } from './tarreader.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-tarsplit-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function roundTrip(name: string, tarBytes: Buffer, compressed = false): Promise<void> {
  const root = join(dir, name);
  await mkdir(root);
  const split = join(dir, `${name}.json.gz`);
  const res = await applyLayer(Readable.from([compressed ? gzipSync(tarBytes) : tarBytes]), root, { tarSplitPath: split });
  assert.equal(res.diffID, sha(tarBytes));
  assert.equal(res.tarSize, tarBytes.length);
  assert.equal(await tarSplitSize(split), tarBytes.length);
  const rebuilt = await collect(rebuildTar(split, root, res.diffID));
  assert.equal(rebuilt.length, tarBytes.length);
  assert.ok(rebuilt.equals(tarBytes), 'rebuilt tar differs');
}

test('tar-stream archive with long names, links, whiteouts with content and extra padding', async () => {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  })();
  const add = (h: Partial<tar.Header> & { name: string }, body?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => (body ? pack.entry(h as tar.Header, body, (e) => (e ? reject(e) : resolve())) : pack.entry(h as tar.Header, (e) => (e ? reject(e) : resolve()))));
  await add({ name: 'a/', type: 'directory', mode: 0o755 });
  await add({ name: 'a/file.txt', mode: 0o644, size: 5 }, Buffer.from('hello'));
  await add({ name: 'a/' + 'x'.repeat(150) + '/' + 'y'.repeat(120), mode: 0o600, size: 700 }, Buffer.alloc(700, 7));
  await add({ name: 'a/empty', mode: 0o644, size: 0 }, Buffer.alloc(0));
  await add({ name: 'a/hard', type: 'link', linkname: 'a/file.txt' });
  await add({ name: 'a/sym', type: 'symlink', linkname: 'file.txt' });
  await add({ name: 'a/.wh.gone', mode: 0o644, size: 3 }, Buffer.from('wh!'));
  await add({ name: 'a/ünïcødé', mode: 0o644, size: 4 }, Buffer.from('utf8'));
  pack.finalize();
  await done;
  // Record-size padding after the end blocks, as GNU tar writes.
  const bytes = Buffer.concat([...chunks, Buffer.alloc(4096)]);
  await roundTrip('tarstream', bytes);
});

test('GNU tar and PAX archives from tar(1), gzip-compressed too', async () => {
  const src = join(dir, 'src');
  await mkdir(join(src, 'd', 'e'), { recursive: true });
  await writeFile(join(src, 'd', 'big'), Buffer.alloc(300_000, 'z'));
  await writeFile(join(src, 'd', 'e', 'n' + 'q'.repeat(200)), 'long name');
  await symlink('/etc/' + 'l'.repeat(120), join(src, 'd', 'longlink'));
  for (const fmt of ['gnu', 'posix', 'ustar']) {
    const out = join(dir, `t-${fmt}.tar`);
    const r = spawnSync('tar', [`--format=${fmt}`, '-cf', out, '-C', src, '.'], { encoding: 'utf8' });
    if (fmt === 'ustar' && r.status !== 0) continue; // names too long for ustar
    assert.equal(r.status, 0, r.stderr);
    await roundTrip(`tar-${fmt}`, await readFile(out), fmt === 'posix');
  }
});

test('rebuild notices a changed file', async () => {
  const root = join(dir, 'tamper');
  await mkdir(root);
  const split = join(dir, 'tamper.json.gz');
  const pack = tar.pack();
  pack.entry({ name: 'f', size: 3 }, Buffer.from('abc'));
  pack.finalize();
  const bytes = await collect(Readable.from(pack as AsyncIterable<Buffer>));
  const res = await applyLayer(Readable.from([bytes]), root, { tarSplitPath: split });
  await writeFile(join(root, 'f'), 'abd');
  await assert.rejects(collect(rebuildTar(split, root, res.diffID)), /does not match its digest/);
});

test('reader refuses a corrupt header', async () => {
  const b = Buffer.alloc(1024);
  b.write('name', 0);
  b.write('garbage!', 148);
  const r = new TarReader(Readable.from([b]) as AsyncIterable<Buffer>);
  await assert.rejects(r.next(), /checksum/);
});
