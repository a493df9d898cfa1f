// Round trip with a real dockerd (Debian's docker.io, 20.10: the legacy docker-archive format):
// docker save from dockerd → docker load into berthd, and back, keep image IDs. Skipped when
// /usr/sbin/dockerd is not installed. dockerd runs on its own directories and socket, and is
// stopped and removed (with everything it mounted) even when a test fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DOCKER_BIN, killProcessesMentioning, unmountUnder, useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { dockerOk, dockerOut, show } from './helpers.js';

const DOCKERD = '/usr/sbin/dockerd';
const haveDockerd = await access(DOCKERD).then(() => true, () => false);
const env = useDaemon();

let dir = '';
let execRoot = '';
let child: ChildProcess | undefined;

function dk(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(DOCKER_BIN, args, {
      env: { ...process.env, DOCKER_HOST: `unix://${dir}/docker.sock`, DOCKER_CONFIG: join(dir, 'cfg') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

async function dkOut(args: string[]): Promise<string> {
  const r = await dk(args);
  assert.equal(r.code, 0, show(args, r));
  return r.stdout.trim();
}

before(async () => {
  if (!haveDockerd) return;
  dir = await mkdtemp('/tmp/berth-dockerd-');
  execRoot = await mkdtemp('/tmp/dkx-');
  await mkdir(join(dir, 'cfg'));
  await writeFile(join(dir, 'daemon.json'), '{}');
  const log = await open(join(dir, 'dockerd.log'), 'a');
  child = spawn(
    DOCKERD,
    [
      '--data-root', join(dir, 'data'),
      '--exec-root', execRoot,
      '-H', `unix://${dir}/docker.sock`,
      '--pidfile', join(dir, 'docker.pid'),
      '--config-file', join(dir, 'daemon.json'),
      '--bridge=none', '--iptables=false', '--ip6tables=false',
    ],
    { stdio: ['ignore', log.fd, log.fd] },
  );
  await log.close();
  const deadline = Date.now() + 40_000;
  for (;;) {
    if ((await dk(['version', '--format', '{{.Server.Version}}'])).code === 0) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dockerd did not start:\n${await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '')}`);
    await delay(200);
  }
});

after(async () => {
  if (!dir) return;
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    const exited = new Promise((r) => child!.once('exit', r));
    if ((await Promise.race([exited.then(() => true), delay(15_000).then(() => false)])) === false) child.kill('SIGKILL');
  }
  await killProcessesMentioning([dir, execRoot]).catch(() => undefined);
  await unmountUnder([dir, execRoot]).catch(() => undefined);
  for (const d of [dir, execRoot]) await rm(d, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
});

test('dockerd → berthd and berthd → dockerd keep image IDs and layers', { skip: !haveDockerd && 'dockerd is not installed' }, async () => {
  const b = env.daemon;
  const tarPath = await busyboxRootfsTar();
  // The same tarball imported on both sides: the same layer.
  const dkID = await dkOut(['import', '-c', 'CMD ["sh"]', tarPath, 'fromdockerd:1']);
  const bID = await dockerOut(b, ['import', '-c', 'CMD ["sh"]', tarPath, 'fromberth:1']);
  const dkLayers = await dkOut(['inspect', '-f', '{{json .RootFS.Layers}}', dkID]);
  assert.equal(await dockerOut(b, ['inspect', '-f', '{{json .RootFS.Layers}}', bID]), dkLayers);

  // A dockerd commit on top, saved by dockerd in its (legacy) format, loaded into berthd.
  await dkOut(['run', '--name', 'dc', 'fromdockerd:1', 'sh', '-c', 'echo from-dockerd > /marker']);
  const dkChild = await dkOut(['commit', 'dc', 'dkchild:1']);
  const dkArchive = join(b.dir, 'dockerd.tar');
  await dkOut(['save', '-o', dkArchive, 'fromdockerd:1', 'dkchild:1']);
  const loaded = (await dockerOut(b, ['load', '-i', dkArchive])).split('\n').sort();
  assert.deepEqual(loaded, ['Loaded image: dkchild:1', 'Loaded image: fromdockerd:1']);
  assert.equal(await dockerOut(b, ['inspect', '-f', '{{.Id}}', 'dkchild:1']), dkChild);
  assert.equal(await dockerOut(b, ['inspect', '-f', '{{.Id}}', 'fromdockerd:1']), dkID);
  assert.equal(await dockerOut(b, ['run', '--rm', 'dkchild:1', 'cat', '/marker']), 'from-dockerd');

  // A berthd commit, saved by berthd (OCI layout + manifest.json), loaded into dockerd 20.10.
  await dockerOk(b, ['run', '--name', 'bc', 'fromberth:1', 'sh', '-c', 'echo from-berth > /marker && rm /bin/vi']);
  const bChild = await dockerOut(b, ['commit', 'bc', 'bchild:1']);
  const bArchive = join(b.dir, 'berth.tar');
  await dockerOk(b, ['save', '-o', bArchive, 'fromberth:1', 'bchild:1']);
  const back = (await dkOut(['load', '-i', bArchive])).split('\n').sort();
  assert.deepEqual(back, ['Loaded image: bchild:1', 'Loaded image: fromberth:1']);
  assert.equal(await dkOut(['inspect', '-f', '{{.Id}}', 'bchild:1']), bChild);
  assert.equal(await dkOut(['inspect', '-f', '{{.Id}}', 'fromberth:1']), bID);
  assert.equal(await dkOut(['run', '--rm', 'bchild:1', 'sh', '-c', 'cat /marker; test -e /bin/vi || echo novi']), 'from-berth\nnovi');

  // And the image dockerd got from berthd comes back to berthd byte-identical.
  const again = join(b.dir, 'again.tar');
  await dkOut(['save', '-o', again, 'bchild:1']);
  await dockerOk(b, ['rmi', 'bchild:1']);
  await dockerOk(b, ['rm', 'bc']);
  assert.equal(await dockerOut(b, ['load', '-i', again]), 'Loaded image: bchild:1');
  assert.equal(await dockerOut(b, ['inspect', '-f', '{{.Id}}', 'bchild:1']), bChild);
  await dkOut(['rm', 'dc']);
});
