// Unit tests of the harness's own pieces (no berthd needed): the fixture tarball, the
// process and mount cleanup helpers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import tar from 'tar-stream';
import { busyboxApplets, busyboxRootfsTar, splitRepoTag } from './fixtures.js';
import { killProcessesMentioning, mountsUnder, unmountUnder } from './harness.js';

test('busybox rootfs tarball has the expected layout', async () => {
  const path = await busyboxRootfsTar();
  assert.equal(await busyboxRootfsTar(), path, 'cached');
  const entries = new Map<string, tar.Header>();
  const files = new Map<string, string>();
  const ex = tar.extract();
  const done = (async () => {
    for await (const e of ex) {
      entries.set(e.header.name, e.header);
      const chunks: Buffer[] = [];
      for await (const c of e) chunks.push(c as Buffer);
      if (e.header.name.startsWith('etc/')) files.set(e.header.name, Buffer.concat(chunks).toString());
    }
  })();
  createReadStream(path).pipe(ex);
  await done;

  const bb = entries.get('bin/busybox')!;
  assert.equal(bb.type, 'file');
  assert.equal(bb.mode! & 0o777, 0o755);
  assert.ok(bb.size! > 100_000);
  const applets = await busyboxApplets();
  assert.ok(applets.includes('sh') && applets.includes('ls'));
  for (const a of applets) {
    const h = entries.get(`bin/${a}`);
    assert.equal(h?.type, 'symlink', a);
    assert.equal(h?.linkname, 'busybox');
  }
  assert.equal(entries.get('tmp/')!.mode! & 0o7777, 0o1777);
  assert.equal(entries.get('home/user/')!.uid, 1000);
  for (const d of ['dev/', 'proc/', 'sys/', 'root/', 'etc/']) assert.equal(entries.get(d)?.type, 'directory', d);
  assert.match(files.get('etc/passwd')!, /^user:x:1000:1000:/m);
  assert.match(files.get('etc/passwd')!, /^nobody:x:65534:65534:/m);
  assert.match(files.get('etc/group')!, /^user:x:1000:/m);
});

test('splitRepoTag', () => {
  assert.deepEqual(splitRepoTag('busybox:latest'), { repo: 'busybox', tag: 'latest' });
  assert.deepEqual(splitRepoTag('localhost:5000/a/b'), { repo: 'localhost:5000/a/b', tag: 'latest' });
  assert.deepEqual(splitRepoTag('localhost:5000/a:v1'), { repo: 'localhost:5000/a', tag: 'v1' });
});

test('killProcessesMentioning kills the process tree naming a root, and nothing else', async () => {
  const root = await mkdtemp('/tmp/bt-');
  try {
    // A parent naming the root with a child that does not (like a shim and its container).
    const tree = spawn('sh', ['-c', `sleep 300 & wait; : ${root}/x`], { stdio: 'ignore' });
    const bystander = spawn('sh', ['-c', `sleep 300; : ${root}extra`], { stdio: 'ignore' });
    await delay(100);
    await killProcessesMentioning([root]);
    await new Promise((r) => (tree.exitCode !== null || tree.signalCode !== null ? r(null) : tree.once('exit', r)));
    assert.equal(tree.signalCode, 'SIGKILL');
    assert.equal(bystander.exitCode, null, 'a path merely prefixed by the root is not ours');
    bystander.kill('SIGKILL');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('unmountUnder unmounts nested mounts deepest first', async (t) => {
  const root = await mkdtemp('/tmp/bt-');
  try {
    await mkdir(join(root, 'a'));
    const mount = (target: string): Promise<number | null> =>
      new Promise((r) => spawn('mount', ['-t', 'tmpfs', 'tmpfs', target], { stdio: 'ignore' }).on('close', r).on('error', () => r(1)));
    if ((await mount(join(root, 'a'))) !== 0) return t.skip('cannot mount tmpfs here');
    await mkdir(join(root, 'a', 'b c'));
    await mount(join(root, 'a', 'b c'));
    assert.deepEqual(await mountsUnder([root]), [join(root, 'a', 'b c'), join(root, 'a')]);
    await unmountUnder([root]);
    assert.deepEqual(await mountsUnder([root]), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
