// `docker cp` with the real CLI: both ways for running and stopped containers, into volumes and
// binds, -a, -L, tar on stdin/stdout, the trailing `/` and `/.` rules, and the escapes that
// must never reach the host (symlinks to / and /etc in the container, `..` and absolute names
// in a tar piped to `docker cp -`).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut, show } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

let host = '';
const sentinel = `berth-cp-sentinel-${process.pid}-${Date.now()}`;
const hostSentinels = ['/etc', '/'].map((dir) => join(dir, sentinel));

before(async () => {
  host = await mkdtemp(join(tmpdir(), 'berth-cp-'));
});
after(async () => {
  if (host) await rm(host, { recursive: true, force: true });
  for (const p of hostSentinels) await rm(p, { force: true, recursive: true });
  for (const p of ['/etc', '/']) await rm(join(p, `${sentinel}-abs`), { force: true }).catch(() => undefined);
});

const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

async function assertHostUntouched(): Promise<void> {
  for (const p of [...hostSentinels, `/etc/${sentinel}-abs`, `/${sentinel}-abs`]) {
    assert.equal(await exists(p), false, `docker cp wrote to the host: ${p}`);
  }
}

/** Lists a tar's entry names. */
function tarNames(buf: Buffer): string[] {
  const r = spawnSync('tar', ['-t'], { input: buf });
  assert.equal(r.status, 0, String(r.stderr));
  return String(r.stdout).split('\n').filter(Boolean);
}

async function makeTar(entries: { name: string; content?: string; type?: 'file' | 'directory' | 'symlink'; linkname?: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: e.type === 'directory' ? 0o755 : 0o644 }, e.content ?? '');
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

test('docker cp both ways with a running container', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['run', '-d', '--name', 'live', '-v', 'live-vol:/vol', '--tmpfs', '/scratch', 'busybox', 'sleep', '300']);
  const src = join(host, 'in.txt');
  await writeFile(src, 'into the container\n');
  await dockerOk(d, ['cp', src, 'live:/tmp/']);
  await dockerOk(d, ['cp', src, 'live:/vol/renamed.txt']);
  await dockerOk(d, ['cp', src, 'live:/scratch/']);
  assert.equal(await dockerOut(d, ['exec', 'live', 'cat', '/tmp/in.txt', '/vol/renamed.txt', '/scratch/in.txt']),
    'into the container\ninto the container\ninto the container');
  // Into the volume: visible to other containers.
  assert.equal(await dockerOut(d, ['run', '--rm', '-v', 'live-vol:/v', 'busybox', 'cat', '/v/renamed.txt']), 'into the container');

  await dockerOk(d, ['exec', 'live', 'sh', '-c', 'mkdir -p /tmp/out/sub && echo a > /tmp/out/a && echo b > /tmp/out/sub/b']);
  const dst = join(host, 'live-out');
  await dockerOk(d, ['cp', 'live:/tmp/out', dst]);
  assert.equal(await readFile(join(dst, 'a'), 'utf8'), 'a\n');
  assert.equal(await readFile(join(dst, 'sub', 'b'), 'utf8'), 'b\n');
  // The container's /etc/hosts is the daemon's bind mount.
  await dockerOk(d, ['cp', 'live:/etc/hostname', join(host, 'live-hostname')]);
  assert.equal((await readFile(join(host, 'live-hostname'), 'utf8')).trim(), (await dockerOut(d, ['inspect', '-f', '{{.Config.Hostname}}', 'live'])));

  await dockerFails(d, ['cp', 'live:/nonexistent', host], 1, 'Error response from daemon: Could not find the file /nonexistent in container live');
  await dockerFails(d, ['cp', 'nosuch:/etc/passwd', host], 1, 'No such container: nosuch');
  await dockerOk(d, ['rm', '-f', 'live']);
  await dockerOk(d, ['volume', 'rm', 'live-vol']);
});

test('docker cp both ways with a stopped container, its volumes and binds', async () => {
  const d = ctx.daemon;
  const bind = join(host, 'stopped-bind');
  await mkdir(bind);
  await dockerOk(d, ['create', '--name', 'stopped', '-v', 'st-vol:/vol', '-v', `${bind}:/bind`, '-v', 'st-ro:/ro:ro', 'busybox', 'sh', '-c',
    'cat /tmp/f /vol/f /bind/f']);
  const f = join(host, 'f');
  await writeFile(f, 'stopped copy\n');
  for (const dir of ['/tmp/', '/vol/', '/bind/']) await dockerOk(d, ['cp', f, `stopped:${dir}`]);
  assert.equal(await readFile(join(bind, 'f'), 'utf8'), 'stopped copy\n');
  assert.equal(await readFile(join(d.dataRoot, 'volumes', 'st-vol', '_data', 'f'), 'utf8'), 'stopped copy\n');
  // A read-only volume refuses writes with dockerd's message.
  await dockerFails(d, ['cp', f, 'stopped:/ro/'], 1, 'Error response from daemon: mounted volume is marked read-only');
  assert.equal(await dockerOut(d, ['start', '-a', 'stopped']), 'stopped copy\nstopped copy\nstopped copy');

  // Out of a stopped container: its rootfs, a volume, the network files.
  await dockerOk(d, ['cp', 'stopped:/vol/f', join(host, 'from-vol')]);
  assert.equal(await readFile(join(host, 'from-vol'), 'utf8'), 'stopped copy\n');
  await dockerOk(d, ['cp', 'stopped:/etc/passwd', join(host, 'passwd')]);
  assert.match(await readFile(join(host, 'passwd'), 'utf8'), /^root:x:0:0:/);
  await dockerOk(d, ['cp', 'stopped:/etc/hosts', join(host, 'hosts')]);
  assert.match(await readFile(join(host, 'hosts'), 'utf8'), /localhost/);
  await dockerOk(d, ['rm', '-v', 'stopped']);
  await dockerOk(d, ['volume', 'rm', 'st-vol', 'st-ro']);

  // --read-only: only its volumes take files.
  await dockerOk(d, ['create', '--name', 'rofs', '--read-only', '-v', 'rofs-vol:/data', 'busybox', 'true']);
  await dockerFails(d, ['cp', f, 'rofs:/tmp/'], 1, 'Error response from daemon: container rootfs is marked read-only');
  await dockerOk(d, ['cp', f, 'rofs:/data/']);
  await dockerOk(d, ['rm', 'rofs']);
  await dockerOk(d, ['volume', 'rm', 'rofs-vol']);
});

test('docker cp -a takes the container user; without it the archive owner stays', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['create', '--name', 'owner', '--user', 'user', 'busybox', 'sh', '-c', 'stat -c "%n %u:%g" /tmp/plain /tmp/archived']);
  const f = join(host, 'owned');
  await writeFile(f, 'x');
  await chown(f, 1234, 4321);
  await dockerOk(d, ['cp', f, 'owner:/tmp/plain']);
  await dockerOk(d, ['cp', '-a', f, 'owner:/tmp/archived']);
  assert.equal(await dockerOut(d, ['start', '-a', 'owner']), '/tmp/plain 1234:4321\n/tmp/archived 1000:1000');
  await dockerOk(d, ['rm', 'owner']);
});

test('docker cp -L follows symlinks, without it copies them', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['run', '--name', 'links', 'busybox', 'sh', '-c', 'echo target > /tmp/target; ln -s /tmp/target /tmp/link']);
  await dockerOk(d, ['cp', 'links:/tmp/link', join(host, 'link-as-link')]);
  assert.equal(await readlink(join(host, 'link-as-link')), '/tmp/target');
  await dockerOk(d, ['cp', '-L', 'links:/tmp/link', join(host, 'link-followed')]);
  assert.equal(await readFile(join(host, 'link-followed'), 'utf8'), 'target\n');

  const hostTarget = join(host, 'host-target');
  await writeFile(hostTarget, 'host side\n');
  await symlink(hostTarget, join(host, 'host-link'));
  await dockerOk(d, ['cp', join(host, 'host-link'), 'links:/tmp/copied-link']);
  await dockerOk(d, ['cp', '-L', join(host, 'host-link'), 'links:/tmp/copied-file']);
  await dockerOk(d, ['cp', 'links:/tmp/', join(host, 'links-tmp')]);
  assert.equal(await readlink(join(host, 'links-tmp', 'copied-link')), hostTarget);
  assert.equal(await readFile(join(host, 'links-tmp', 'copied-file'), 'utf8'), 'host side\n');
  await dockerOk(d, ['rm', 'links']);
});

test('docker cp - streams a tar on stdout and extracts one from stdin', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['create', '--name', 'tarred', 'busybox', 'sh', '-c', 'mkdir -p /opt/stdin; cat /opt/stdin/one /opt/stdin/dir/two 2>/dev/null; true']);
  const all = spawnSync('/usr/local/bin/docker', ['cp', 'tarred:/etc', '-'], { env: d.dockerEnv });
  assert.equal(all.status, 0, String(all.stderr));
  assert.deepEqual(tarNames(all.stdout).sort(), ['etc/', 'etc/group', 'etc/hostname', 'etc/hosts', 'etc/passwd', 'etc/resolv.conf']);
  const one = spawnSync('/usr/local/bin/docker', ['cp', 'tarred:/etc/passwd', '-'], { env: d.dockerEnv });
  assert.deepEqual(tarNames(one.stdout), ['passwd']);
  const dot = spawnSync('/usr/local/bin/docker', ['cp', 'tarred:/etc/.', '-'], { env: d.dockerEnv });
  assert.ok(tarNames(dot.stdout).includes('./passwd'), tarNames(dot.stdout).join(' '));

  const input = await makeTar([
    { name: 'one', content: 'first\n' },
    { name: 'dir/', type: 'directory' },
    { name: 'dir/two', content: 'second\n' },
  ]);
  await dockerFails(d, ['cp', '-', 'tarred:/opt/stdin'], 1, 'destination "tarred:/opt/stdin" must be a directory', { input });
  assert.equal(await dockerOut(d, ['start', '-a', 'tarred']), '');
  await dockerOk(d, ['cp', '-', 'tarred:/opt/stdin'], { input });
  assert.equal(await dockerOut(d, ['start', '-a', 'tarred']), 'first\nsecond');
  await dockerOk(d, ['rm', 'tarred']);
});

test('trailing / and /. rules', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['run', '--name', 'rules', 'busybox', 'sh', '-c', 'mkdir -p /src/sub && echo 1 > /src/one && echo 2 > /src/sub/two']);
  // dir → new path: the path becomes the directory.
  await dockerOk(d, ['cp', 'rules:/src', join(host, 'new-dir')]);
  assert.deepEqual((await readdir(join(host, 'new-dir'))).sort(), ['one', 'sub']);
  // dir → existing dir: copied inside it.
  await mkdir(join(host, 'existing'));
  await dockerOk(d, ['cp', 'rules:/src', join(host, 'existing')]);
  assert.deepEqual(await readdir(join(host, 'existing')), ['src']);
  // dir/. → existing dir: its content copied into it.
  await mkdir(join(host, 'content'));
  await dockerOk(d, ['cp', 'rules:/src/.', join(host, 'content')]);
  assert.deepEqual((await readdir(join(host, 'content'))).sort(), ['one', 'sub']);
  // dir/ → existing dir: like dir.
  await mkdir(join(host, 'slash'));
  await dockerOk(d, ['cp', 'rules:/src/', join(host, 'slash')]);
  assert.deepEqual(await readdir(join(host, 'slash')), ['src']);
  // file → missing directory (trailing /): refused, nothing made.
  const r = await d.docker(['cp', 'rules:/src/one', join(host, 'nodir') + '/']);
  assert.notEqual(r.code, 0, show(['cp'], r));
  assert.equal(await exists(join(host, 'nodir')), false);
  // file into a container directory / to a new name.
  const f = join(host, 'file');
  await writeFile(f, 'f\n');
  await dockerOk(d, ['cp', f, 'rules:/src/sub/']);
  await dockerOk(d, ['cp', f, 'rules:/src/renamed']);
  // host dir/. → container dir: content merged.
  await dockerOk(d, ['cp', join(host, 'content') + '/.', 'rules:/src/sub']);
  await dockerOk(d, ['cp', 'rules:/src', join(host, 'after')]);
  assert.deepEqual((await readdir(join(host, 'after'))).sort(), ['one', 'renamed', 'sub']);
  assert.deepEqual((await readdir(join(host, 'after', 'sub'))).sort(), ['file', 'one', 'sub', 'two']);
  // A directory over a file is refused.
  await dockerFails(d, ['cp', join(host, 'content'), 'rules:/src/one'], 1);
  await dockerOk(d, ['rm', 'rules']);
});

test("docker cp never writes through a container's symlinks to the host", async () => {
  const d = ctx.daemon;
  const f = join(host, sentinel);
  await writeFile(f, 'sentinel\n');
  const setup = 'ln -s / /tmp/root && ln -s /etc /tmp/etc && ln -s ../../../../../etc /tmp/climb';
  // Stopped (the daemon walks the overlay itself) and running (through /proc/<pid>/root).
  await dockerOk(d, ['run', '--name', 'esc-stopped', 'busybox', 'sh', '-c', setup]);
  await dockerOk(d, ['run', '-d', '--name', 'esc-running', 'busybox', 'sh', '-c', `${setup}; sleep 300`]);
  for (const name of ['esc-stopped', 'esc-running']) {
    for (const dst of ['/tmp/etc/', '/tmp/root/etc/', '/tmp/climb/', '/tmp/root/']) {
      await dockerOk(d, ['cp', f, `${name}:${dst}`]);
    }
    await assertHostUntouched();
    const inside = name === 'esc-running'
      ? await dockerOut(d, ['exec', name, 'sh', '-c', `cat /etc/${sentinel} /${sentinel}`])
      : (await dockerOk(d, ['cp', `${name}:/etc/${sentinel}`, '-'])).stdout;
    assert.match(inside, /sentinel/);
    // Reading through them stays inside too: /tmp/etc/passwd is the container's.
    await dockerOk(d, ['cp', `${name}:/tmp/etc/passwd`, join(host, `${name}-passwd`)]);
    assert.ok((await readFile(join(host, `${name}-passwd`), 'utf8')).includes('user:x:1000:1000:user:/home/user:/bin/sh\n'));
    // A tar with `..` climbing out is refused; absolute names land inside the destination.
    const climbing = await makeTar([{ name: `../../../../../../etc/${sentinel}`, content: 'climb\n' }]);
    const rc = await d.docker(['cp', '-', `${name}:/tmp`], { input: climbing });
    assert.notEqual(rc.code, 0, show(['cp', '-'], rc));
    const absolute = await makeTar([{ name: `/etc/${sentinel}-abs`, content: 'abs\n' }, { name: `/${sentinel}-abs`, content: 'abs\n' }]);
    await dockerOk(d, ['cp', '-', `${name}:/tmp`], { input: absolute });
    // A symlink in the tar pointing out, then a file through it.
    const viaLink = await makeTar([
      { name: 'out', type: 'symlink', linkname: '/etc' },
      { name: `out/${sentinel}-abs`, content: 'via link\n' },
    ]);
    await d.docker(['cp', '-', `${name}:/tmp/linkdir-missing`], { input: viaLink });
    await d.docker(['cp', '-', `${name}:/var`], { input: viaLink });
    await assertHostUntouched();
  }
  assert.equal((await dockerOk(d, ['cp', 'esc-stopped:/tmp/etc/' + `${sentinel}-abs`, '-'])).code, 0);
  await dockerOk(d, ['rm', '-f', 'esc-stopped', 'esc-running']);
  await assertHostUntouched();
  assert.ok((await stat('/etc/passwd')).isFile());
});
