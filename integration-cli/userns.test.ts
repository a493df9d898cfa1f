// berthd --userns-remap with the real CLI, against a user of the test's own with ranges of its
// own in /etc/subuid and /etc/subgid (integration/remapuser.ts): root in a container is the
// range's first ID on the host, images and volumes are stored shifted into the range, docker cp,
// export and commit show the container's IDs, --userns=host opts out, dockerd's refusals, and
// the state kept in <data-root>/<uid>.<gid>.

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chown, lstat, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DOCKER_BIN, startDaemon, type Daemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { addRemapUser, REMAP_USER, type RemapUser } from '../integration/remapuser.js';
import { dockerFails, dockerOk, dockerOut, inspectField } from './helpers.js';

let user: RemapUser | undefined;
let daemon: Daemon | undefined;
let failed = false;
let host = '';

before(async () => {
  host = await mkdtemp(join(tmpdir(), 'berth-userns-'));
  user = await addRemapUser();
  daemon = await startDaemon({ args: ['--userns-remap', REMAP_USER], searchableDir: true });
  await importBusybox(daemon);
});
afterEach((t) => {
  if ((t as { passed?: boolean }).passed === false) failed = true;
});
after(async () => {
  if (daemon) {
    if (failed) console.error(`--- ${daemon.logFile} ---\n${(await daemon.logs()).split('\n').slice(-200).join('\n')}`);
    await daemon.cleanup();
  }
  await user?.remove();
  if (host) await rm(host, { recursive: true, force: true });
});

const d = (): Daemon => daemon!;
const u = (): RemapUser => user!;

/** The Uid/Gid lines of /proc/<pid>/status: real, effective, saved, fs. */
async function hostIds(pid: string): Promise<{ uid: number; gid: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)![1]);
  return { uid: field('Uid'), gid: field('Gid') };
}

/** name → uid/gid of the entries of a plain tar (pax headers skipped). */
function tarOwners(tar: Buffer): Map<string, { uid: number; gid: number }> {
  const out = new Map<string, { uid: number; gid: number }>();
  const str = (b: Buffer): string => b.toString('latin1').replace(/\0.*$/s, '');
  const num = (b: Buffer): number => parseInt(str(b).trim() || '0', 8);
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0) || str(h.subarray(257, 262)) !== 'ustar') break;
    const size = num(h.subarray(124, 136));
    const type = String.fromCharCode(h[156]!);
    if (type !== 'x' && type !== 'g') {
      const prefix = str(h.subarray(345, 500));
      const name = (prefix ? `${prefix}/` : '') + str(h.subarray(0, 100));
      out.set(name, { uid: num(h.subarray(108, 116)), gid: num(h.subarray(116, 124)) });
    }
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The CLI's stdout as bytes (a tar), asserting success. */
function dockerBytes(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(DOCKER_BIN, args, { env: d().dockerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`docker ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

test('docker info lists name=userns; the state lives in <data-root>/<uid>.<gid>, shifted', async () => {
  const opts = JSON.parse(await dockerOut(d(), ['info', '--format', '{{json .SecurityOptions}}'])) as string[];
  assert.ok(opts.includes('name=userns'), opts.join(' '));
  assert.deepEqual(await readdir(d().dataRoot), [`${u().uid}.${u().gid}`]);
  const sub = await stat(join(d().dataRoot, `${u().uid}.${u().gid}`));
  assert.equal(sub.mode & 0o777, 0o710);
  assert.equal(sub.gid, u().gid);
  assert.equal((await stat(d().dataRoot)).mode & 0o777, 0o711);
  // The imported image's files are stored with the range's IDs.
  const overlay = join(d().dataRoot, `${u().uid}.${u().gid}`, 'overlay2');
  const layers = (await readdir(overlay)).filter((n) => n !== 'l');
  const owners = await Promise.all(layers.map((l) => lstat(join(overlay, l, 'diff', 'bin', 'busybox')).catch(() => undefined)));
  const busybox = owners.find((s) => s !== undefined);
  assert.ok(busybox, 'no layer holds bin/busybox');
  assert.deepEqual({ uid: busybox.uid, gid: busybox.gid }, { uid: u().uid, gid: u().gid });
});

test("a container's root is root inside and the range's first ID outside; the image's files are root's inside", async () => {
  await dockerOk(d(), ['run', '-d', '--name', 'sleeper', 'busybox', 'sleep', '1000']);
  assert.equal(await dockerOut(d(), ['exec', 'sleeper', 'id', '-u']), '0');
  assert.equal(await dockerOut(d(), ['exec', 'sleeper', 'stat', '-c', '%u:%g', '/bin/busybox', '/etc/hosts']), '0:0\n0:0');
  assert.deepEqual(await hostIds(await inspectField(d(), 'sleeper', '{{.State.Pid}}')), { uid: u().uid, gid: u().gid });
  const map = (await dockerOut(d(), ['exec', 'sleeper', 'cat', '/proc/self/uid_map'])).split(/\s+/);
  assert.deepEqual(map, ['0', String(u().uid), '65536']);
  // The stdio pipes belong to the container's root: it may reopen them.
  assert.equal(await dockerOut(d(), ['run', '--rm', 'busybox', 'sh', '-c', 'echo reopened > /dev/stdout']), 'reopened');
  await dockerOk(d(), ['rm', '-f', 'sleeper']);
});

test("a file made in a named volume, or copied up from the image, is the remapped root's on the host", async () => {
  await dockerOk(d(), ['volume', 'create', 'remapvol']);
  await dockerOk(d(), ['run', '--rm', '-v', 'remapvol:/data', 'busybox', 'sh', '-c', 'echo x > /data/f && touch /data/g && chown 7:8 /data/g']);
  const mountpoint = await dockerOut(d(), ['volume', 'inspect', '-f', '{{.Mountpoint}}', 'remapvol']);
  const dataDir = await stat(mountpoint);
  assert.deepEqual({ uid: dataDir.uid, gid: dataDir.gid }, { uid: u().uid, gid: u().gid });
  const f = await stat(join(mountpoint, 'f'));
  assert.deepEqual({ uid: f.uid, gid: f.gid }, { uid: u().uid, gid: u().gid });
  const g = await stat(join(mountpoint, 'g'));
  assert.deepEqual({ uid: g.uid, gid: g.gid }, { uid: u().uid + 7, gid: u().gid + 8 });
  await dockerOk(d(), ['volume', 'rm', 'remapvol']);
  // An image's VOLUME is filled from the image: root's inside, the remapped root's outside.
  await importBusybox(d(), 'remapvolimg:latest', { changes: ['CMD ["sh"]', 'VOLUME /etc'] });
  await dockerOk(d(), ['run', '--name', 'copyup', 'remapvolimg', 'sh', '-c', 'stat -c %u:%g /etc/passwd | grep -x 0:0 && touch /etc/new']);
  const copied = await inspectField(d(), 'copyup', '{{range .Mounts}}{{.Source}}{{end}}');
  for (const p of [copied, join(copied, 'passwd'), join(copied, 'new')]) {
    const st = await stat(p);
    assert.deepEqual({ uid: st.uid, gid: st.gid }, { uid: u().uid, gid: u().gid }, p);
  }
  await dockerOk(d(), ['rm', '-v', 'copyup']);
});

test('docker cp shows the container IDs both ways, for running and stopped containers', async () => {
  await dockerOk(d(), ['run', '-d', '--name', 'cpbox', 'busybox', 'sleep', '1000']);
  await dockerOk(d(), ['exec', 'cpbox', 'sh', '-c', 'echo x > /made && chown 1000:1001 /made']);
  for (const state of ['running', 'stopped']) {
    const owners = tarOwners(await dockerBytes(['cp', 'cpbox:/made', '-']));
    assert.deepEqual(owners.get('made'), { uid: 1000, gid: 1001 }, state);
    const etc = tarOwners(await dockerBytes(['cp', 'cpbox:/etc/passwd', '-']));
    assert.deepEqual(etc.get('passwd'), { uid: 0, gid: 0 }, state);
    if (state === 'running') await dockerOk(d(), ['stop', '-t', '0', 'cpbox']);
  }
  // In: the archive's IDs are the container's; on the host they are shifted into the range.
  const src = join(host, 'in.txt');
  await writeFile(src, 'in\n');
  await chown(src, 1234, 1235);
  await dockerOk(d(), ['start', 'cpbox']);
  await dockerOk(d(), ['cp', src, 'cpbox:/in.txt']);
  assert.equal(await dockerOut(d(), ['exec', 'cpbox', 'stat', '-c', '%u:%g', '/in.txt']), '1234:1235');
  const pid = await inspectField(d(), 'cpbox', '{{.State.Pid}}');
  const onHost = await stat(`/proc/${pid}/root/in.txt`);
  assert.deepEqual({ uid: onHost.uid, gid: onHost.gid }, { uid: u().uid + 1234, gid: u().gid + 1235 });
  await dockerOk(d(), ['rm', '-f', 'cpbox']);
});

test('commit round trip and export carry the container IDs', async () => {
  await dockerOk(d(), ['run', '--name', 'tocommit', 'busybox', 'sh', '-c', 'echo c > /committed && chown 5:6 /committed']);
  const changes = await dockerOut(d(), ['diff', 'tocommit']);
  assert.match(changes, /^A \/committed$/m);
  const exported = tarOwners(await dockerBytes(['export', 'tocommit']));
  assert.deepEqual(exported.get('committed'), { uid: 5, gid: 6 });
  assert.deepEqual(exported.get('bin/busybox'), { uid: 0, gid: 0 });
  await dockerOk(d(), ['commit', 'tocommit', 'remapped:committed']);
  assert.equal(await dockerOut(d(), ['run', '--rm', 'remapped:committed', 'stat', '-c', '%u:%g', '/committed', '/bin/busybox']), '5:6\n0:0');
  // The saved layer is what a non-remapped engine would load: container IDs.
  const saved = await dockerBytes(['save', 'remapped:committed']);
  const layerTars = [...tarOwners(saved).keys()].filter((n) => n.startsWith('blobs/sha256/'));
  let found = false;
  for (const name of layerTars) {
    const blob = extractFromTar(saved, name);
    const owners = tarOwners(blob);
    if (owners.has('committed')) {
      assert.deepEqual(owners.get('committed'), { uid: 5, gid: 6 });
      found = true;
    }
  }
  assert.ok(found, 'no saved layer holds /committed');
  await dockerOk(d(), ['rm', 'tocommit']);
  await dockerOk(d(), ['rmi', 'remapped:committed']);
});

/** The bytes of one entry of a tar. */
function extractFromTar(tar: Buffer, want: string): Buffer {
  const str = (b: Buffer): string => b.toString('latin1').replace(/\0.*$/s, '');
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(str(h.subarray(124, 136)).trim() || '0', 8);
    if (str(h.subarray(0, 100)) === want) return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${want} not in the archive`);
}

test('--userns=host opts out: real root, full mapping; privileged, host network and host PID need it', async () => {
  assert.equal((await dockerOut(d(), ['run', '--rm', '--userns=host', 'busybox', 'cat', '/proc/self/uid_map'])).split(/\s+/).join(' '), '0 0 4294967295');
  await dockerOk(d(), ['run', '-d', '--name', 'hostns', '--userns=host', 'busybox', 'sleep', '1000']);
  assert.deepEqual(await hostIds(await inspectField(d(), 'hostns', '{{.State.Pid}}')), { uid: 0, gid: 0 });
  await dockerOk(d(), ['rm', '-f', 'hostns']);
  await dockerFails(d(), ['run', '--rm', '--privileged', 'busybox', 'true'], 125,
    'privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  await dockerFails(d(), ['run', '--rm', '--network=host', 'busybox', 'true'], 125, "cannot share the host's network namespace when user namespaces are enabled");
  await dockerFails(d(), ['create', '--pid=host', 'busybox', 'true'], 1, 'cannot share the host PID namespace when user namespaces are enabled');
  assert.equal(await dockerOut(d(), ['run', '--rm', '--userns=host', '--privileged', '--network=host', 'busybox', 'id', '-u']), '0');
});
