// Unit tests of the harness's own pieces (no berthd needed): the fixture tarball, the
// process and mount cleanup helpers.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { busyboxApplets, busyboxRootfsTar, splitRepoTag } from './fixtures.js';
import { killProcessesMentioning, mountsUnder, unmountUnder } from './harness.js';
import { waitFor } from './helpers.js';

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
    // The parent never ends by itself (not even when its child is killed first), so only
    // SIGKILL can end it.
    const tree = spawn('sh', ['-c', `sleep 300 & while :; do sleep 1; done; : ${root}/x`], { stdio: 'ignore' });
    const bystander = spawn('sh', ['-c', `sleep 300; : ${root}extra`], { stdio: 'ignore' });
    // Both shells have started their sleep: the trees are complete.
    const child = await waitFor('the child of the tree', () => childOf(tree.pid!, 'sleep 300'));
    await waitFor('the child of the bystander', () => childOf(bystander.pid!, 'sleep 300'));
    await killProcessesMentioning([root]);
    await new Promise((r) => (tree.exitCode !== null || tree.signalCode !== null ? r(null) : tree.once('exit', r)));
    assert.equal(tree.signalCode, 'SIGKILL');
    await waitFor('the child to be gone', async () => (await cmdline(child)) !== 'sleep 300');
    // killProcessesMentioning waits for what it killed, so a killed bystander would be reaped by now.
    assert.deepEqual([bystander.exitCode, bystander.signalCode], [null, null], 'a path merely prefixed by the root is not ours');
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

const cmdline = async (pid: number): Promise<string> => (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();

/** The PID of a child of `ppid` running `cmd`, if there is one. */
async function childOf(ppid: number, cmd: string): Promise<number | undefined> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Fields resume after the command name's closing parenthesis: state, then ppid.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid && (await cmdline(Number(name))) === cmd) return Number(name);
  }
  return undefined;
}
