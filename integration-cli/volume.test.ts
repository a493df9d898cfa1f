// Volumes, bind mounts and tmpfs with the real CLI: `docker volume` create/ls/inspect/rm/prune,
// named volumes surviving containers and a berthd restart, anonymous volumes (-v /path and the
// image's VOLUMEs, copied up from the image) removed by `rm -v` and `--rm`, --volumes-from,
// -v and --mount binds, --tmpfs and --mount type=tmpfs, --read-only, Mounts in inspect and ps.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar, importBusybox } from '../integration/fixtures.js';
import { msAfter, msBefore, subscribeEvents } from '../integration/helpers.js';
import { dockerFails, dockerOk, dockerOut, inspectField, show } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

let host = '';
before(async () => {
  host = await mkdtemp(join(tmpdir(), 'berth-vol-'));
});
after(async () => {
  if (host) await rm(host, { recursive: true, force: true });
});

interface InspectMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

async function mountsOf(name: string): Promise<InspectMount[]> {
  return JSON.parse(await inspectField(ctx.daemon, name, '{{json .Mounts}}')) as InspectMount[];
}

async function volumeNames(filters: string[] = []): Promise<string[]> {
  const out = await dockerOut(ctx.daemon, ['volume', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])]);
  return out === '' ? [] : out.split('\n').sort();
}

test('docker volume create, ls with filters, inspect, rm', async () => {
  const d = ctx.daemon;
  assert.equal(await dockerOut(d, ['volume', 'create', '--label', 'team=a', '--label', 'tier', 'vol-a']), 'vol-a');
  assert.equal(await dockerOut(d, ['volume', 'create', '--label', 'team=b', 'vol-b']), 'vol-b');
  // Creating an existing volume again returns it.
  assert.equal(await dockerOut(d, ['volume', 'create', 'vol-b']), 'vol-b');

  assert.deepEqual(await volumeNames(), ['vol-a', 'vol-b']);
  assert.deepEqual(await volumeNames(['label=team=a']), ['vol-a']);
  assert.deepEqual(await volumeNames(['label=team']), ['vol-a', 'vol-b']);
  assert.deepEqual(await volumeNames(['label=tier']), ['vol-a']);
  assert.deepEqual(await volumeNames(['name=b$']), ['vol-b']);
  assert.deepEqual(await volumeNames(['driver=local', 'dangling=true']), ['vol-a', 'vol-b']);
  await dockerFails(d, ['volume', 'ls', '--filter', 'color=red'], 1, 'invalid filter');

  const [v] = JSON.parse(await dockerOut(d, ['volume', 'inspect', 'vol-a'])) as Record<string, unknown>[];
  assert.equal(v!.Name, 'vol-a');
  assert.equal(v!.Driver, 'local');
  assert.equal(v!.Scope, 'local');
  assert.deepEqual(v!.Labels, { team: 'a', tier: '' });
  assert.equal(v!.Mountpoint, join(d.dataRoot, 'volumes', 'vol-a', '_data'));
  assert.match(String(v!.CreatedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  assert.ok((await stat(String(v!.Mountpoint))).isDirectory());
  assert.equal(await dockerOut(d, ['volume', 'inspect', '-f', '{{.Labels.team}}', 'vol-b']), 'b');

  assert.equal(await dockerOut(d, ['volume', 'rm', 'vol-a', 'vol-b']), 'vol-a\nvol-b');
  assert.deepEqual(await volumeNames(), []);
  await dockerFails(d, ['volume', 'rm', 'vol-a'], 1, 'Error response from daemon: get vol-a: no such volume');
  await dockerFails(d, ['volume', 'inspect', 'vol-a'], 1, 'no such volume');
  await dockerFails(d, ['volume', 'create', 'a'], 1, 'volume name is too short, names should be at least two alphanumeric characters');
  await dockerFails(d, ['volume', 'create', 'bad/name'], 1, 'includes invalid characters for a local volume name');
  await dockerFails(d, ['volume', 'create', '-d', 'nosuchdriver', 'x1'], 1, 'plugin "nosuchdriver" not found');
});

test('a named volume keeps its data across containers and a berthd restart', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['run', '--rm', '-v', 'keep:/data', 'busybox', 'sh', '-c', 'echo persisted > /data/f; mkdir /data/dir']);
  assert.equal(await dockerOut(d, ['run', '--rm', '-v', 'keep:/data', 'busybox', 'cat', '/data/f']), 'persisted');
  // --rm kept the named volume.
  assert.deepEqual(await volumeNames(['name=keep']), ['keep']);
  // A stopped container still references it.
  await dockerOk(d, ['create', '--name', 'holder', '-v', 'keep:/data', 'busybox', 'true']);
  const holder = await inspectField(d, 'holder', '{{.Id}}');

  await d.restart();

  assert.equal(await dockerOut(d, ['run', '--rm', '-v', 'keep:/data', 'busybox', 'cat', '/data/f']), 'persisted');
  // The reference was restored: the volume is in use and not dangling.
  await dockerFails(d, ['volume', 'rm', 'keep'], 1, `Error response from daemon: remove keep: volume is in use - [${holder}]`);
  assert.deepEqual(await volumeNames(['dangling=true']), []);
  const [m] = await mountsOf('holder');
  assert.deepEqual(m, {
    Type: 'volume', Name: 'keep', Source: join(d.dataRoot, 'volumes', 'keep', '_data'), Destination: '/data',
    Driver: 'local', Mode: 'z', RW: true, Propagation: '',
  });
  assert.equal(await dockerOut(d, ['ps', '-a', '--filter', 'volume=keep', '--format', '{{.Names}}']), 'holder');
  assert.equal(await dockerOut(d, ['ps', '-a', '--filter', 'volume=/data', '--format', '{{.Names}}']), 'holder');
  assert.equal(await dockerOut(d, ['ps', '-a', '--filter', 'volume=other', '--format', '{{.Names}}']), '');
  assert.equal(await dockerOut(d, ['ps', '-a', '--filter', 'name=holder', '--format', '{{.Mounts}}']), 'keep');

  // rm -v never removes a named volume.
  await dockerOk(d, ['rm', '-v', 'holder']);
  assert.deepEqual(await volumeNames(['dangling=true']), ['keep']);
  assert.equal(await dockerOut(d, ['volume', 'rm', 'keep']), 'keep');
});

test('anonymous volumes: -v /path, removed by rm -v and --rm, kept by plain rm, pruned', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['run', '--name', 'anon', '-v', '/data', 'busybox', 'sh', '-c', 'echo x > /data/f']);
  const [m] = await mountsOf('anon');
  assert.equal(m!.Type, 'volume');
  assert.match(m!.Name!, /^[0-9a-f]{64}$/);
  assert.equal(m!.Destination, '/data');
  assert.equal(m!.Mode, '');
  assert.equal(m!.RW, true);
  assert.equal(await dockerOut(d, ['volume', 'inspect', '-f', '{{json .Labels}}', m!.Name!]), '{"com.docker.volume.anonymous":""}');
  assert.equal(await readFile(join(m!.Source, 'f'), 'utf8'), 'x\n');
  await dockerOk(d, ['rm', '-v', 'anon']);
  assert.deepEqual(await volumeNames(), []);

  // --rm removes the anonymous volume too, not the named one.
  await dockerOk(d, ['run', '--rm', '-v', '/anon', '-v', 'named-rm:/named', 'busybox', 'true']);
  assert.deepEqual(await volumeNames(), ['named-rm']);

  // Plain rm keeps it; prune removes unused anonymous volumes only (-a: named ones too).
  await dockerOk(d, ['run', '--name', 'anon2', '-v', '/data', 'busybox', 'true']);
  const [m2] = await mountsOf('anon2');
  await dockerOk(d, ['rm', 'anon2']);
  assert.deepEqual(await volumeNames(), [m2!.Name!, 'named-rm'].sort());
  const pruned = await dockerOut(d, ['volume', 'prune', '-f']);
  assert.match(pruned, new RegExp(`^Deleted Volumes:\\n${m2!.Name}\\n\\nTotal reclaimed space: 0B$`));
  assert.deepEqual(await volumeNames(), ['named-rm']);
  await dockerOk(d, ['volume', 'create', '--label', 'keep=1', 'labelled']);
  await dockerOut(d, ['volume', 'prune', '-af', '--filter', 'label!=keep']);
  assert.deepEqual(await volumeNames(), ['labelled']);
  await dockerOk(d, ['volume', 'rm', 'labelled']);
});

test("an image's VOLUME is an anonymous volume filled from the image", async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['import', '--change', 'VOLUME /home', '--change', 'VOLUME /data', '--change', 'CMD ["sh"]', await busyboxRootfsTar(), 'bbvol:latest']);
  await dockerOk(d, ['create', '--name', 'imgvol', 'bbvol', 'true']);
  const mounts = await mountsOf('imgvol');
  assert.deepEqual(mounts.map((m) => `${m.Type} ${m.Destination} ${m.RW}`), ['volume /data true', 'volume /home true']);
  const home = mounts.find((m) => m.Destination === '/home')!;
  // Copied up from the image: content, owners and modes.
  assert.deepEqual(await readdir(home.Source), ['user']);
  assert.equal((await stat(home.Source)).mode & 0o7777, 0o755);
  const user = await stat(join(home.Source, 'user'));
  assert.deepEqual([user.uid, user.gid, user.mode & 0o7777], [1000, 1000, 0o755]);
  // A second container with --volumes-from sees the same volume, not a new copy.
  await writeFile(join(home.Source, 'added'), 'shared\n');
  assert.equal(await dockerOut(d, ['run', '--rm', '--volumes-from', 'imgvol', 'busybox', 'cat', '/home/added']), 'shared');
  // -v over an image VOLUME replaces it; nocopy leaves the new volume empty.
  await dockerOk(d, ['run', '--rm', '-v', 'nocopy-vol:/home:nocopy', 'bbvol', 'true']);
  assert.deepEqual(await readdir(join(d.dataRoot, 'volumes', 'nocopy-vol', '_data')), []);
  await dockerOk(d, ['run', '--rm', '-v', 'copy-vol:/home', 'bbvol', 'true']);
  assert.deepEqual(await readdir(join(d.dataRoot, 'volumes', 'copy-vol', '_data')), ['user']);
  // A volume that has content is not filled again.
  await dockerOk(d, ['run', '--rm', '-v', 'copy-vol:/usr', 'bbvol', 'true']);
  assert.deepEqual(await readdir(join(d.dataRoot, 'volumes', 'copy-vol', '_data')), ['user']);
  await dockerOk(d, ['rm', '-v', 'imgvol']);
  await dockerOk(d, ['volume', 'rm', 'nocopy-vol', 'copy-vol']);
  assert.deepEqual(await volumeNames(), []);
  await dockerOk(d, ['rmi', 'bbvol']);
});

test('--volumes-from, read-write and :ro', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['create', '--name', 'vsrc', '-v', 'vf-shared:/shared', '-v', '/anon', 'busybox', 'true']);
  await dockerOk(d, ['run', '--rm', '--volumes-from', 'vsrc', 'busybox', 'sh', '-c', 'echo rw > /shared/f; echo a > /anon/f']);
  assert.equal(await dockerOut(d, ['run', '--rm', '--volumes-from', 'vsrc:ro', 'busybox', 'cat', '/shared/f', '/anon/f']), 'rw\na');
  const r = await dockerFails(d, ['run', '--rm', '--volumes-from', 'vsrc:ro', 'busybox', 'touch', '/shared/g'], 1);
  assert.match(r.stderr, /Read-only file system/, show(['run'], r));
  await dockerOk(d, ['create', '--name', 'vdst', '--volumes-from', 'vsrc:ro', 'busybox', 'true']);
  assert.deepEqual((await mountsOf('vdst')).map((m) => `${m.Destination} ${m.RW} ${m.Mode}`), ['/anon false ', '/shared false z']);
  await dockerFails(d, ['run', '--rm', '--volumes-from', 'nosuch', 'busybox', 'true'], 125, 'No such container: nosuch');
  // The source's anonymous volume is still used by vdst: rm -v vsrc keeps it; the last rm -v removes it (as dockerd).
  const anon = (await mountsOf('vsrc')).find((m) => m.Destination === '/anon')!.Name!;
  await dockerOk(d, ['rm', '-v', 'vsrc']);
  assert.deepEqual(await volumeNames(), [anon, 'vf-shared'].sort());
  await dockerOk(d, ['rm', '-v', 'vdst']);
  assert.deepEqual(await volumeNames(), ['vf-shared']);
  await dockerOk(d, ['volume', 'rm', 'vf-shared']);
});

test('a volume in use cannot be removed', async () => {
  const d = ctx.daemon;
  const id = await dockerOut(d, ['run', '-d', '--name', 'user', '-v', 'busy:/data', 'busybox', 'sleep', '300']);
  await dockerFails(d, ['volume', 'rm', 'busy'], 1, `Error response from daemon: remove busy: volume is in use - [${id}]`);
  await dockerFails(d, ['volume', 'rm', '-f', 'busy'], 1, 'volume is in use');
  // Not pruned either.
  await dockerOut(d, ['volume', 'prune', '-af']);
  assert.deepEqual(await volumeNames(), ['busy']);
  await dockerOk(d, ['rm', '-f', 'user']);
  assert.equal(await dockerOut(d, ['volume', 'rm', 'busy']), 'busy');
});

test('bind mounts: -v host:ctr[:ro] and --mount type=bind', async () => {
  const d = ctx.daemon;
  const src = join(host, 'bind-src');
  await mkdir(src);
  await writeFile(join(src, 'hello'), 'from host\n');
  assert.equal(await dockerOut(d, ['run', '--rm', '-v', `${src}:/c:ro`, 'busybox', 'cat', '/c/hello']), 'from host');
  await dockerFails(d, ['run', '--rm', '-v', `${src}:/c:ro`, 'busybox', 'touch', '/c/x'], 1, /Read-only file system/);
  await dockerOk(d, ['run', '--rm', '-v', `${src}:/c`, 'busybox', 'sh', '-c', 'echo from container > /c/back']);
  assert.equal(await readFile(join(src, 'back'), 'utf8'), 'from container\n');
  await dockerOk(d, ['run', '--rm', '--mount', `type=bind,source=${src},target=/m`, 'busybox', 'sh', '-c', 'echo m > /m/mounted']);
  assert.equal(await readFile(join(src, 'mounted'), 'utf8'), 'm\n');
  await dockerFails(d, ['run', '--rm', '--mount', `type=bind,src=${src},dst=/m,readonly`, 'busybox', 'touch', '/m/y'], 1, /Read-only file system/);

  await dockerOk(d, ['create', '--name', 'binder', '-v', `${src}:/c:ro`, '--mount', `type=bind,source=${src},target=/m`, 'busybox', 'true']);
  assert.deepEqual(await mountsOf('binder'), [
    { Type: 'bind', Source: src, Destination: '/c', Mode: 'ro', RW: false, Propagation: 'rprivate' },
    { Type: 'bind', Source: src, Destination: '/m', Mode: '', RW: true, Propagation: 'rprivate' },
  ]);
  await dockerOk(d, ['rm', 'binder']);

  // A single file.
  assert.equal(await dockerOut(d, ['run', '--rm', '-v', `${join(src, 'hello')}:/etc/motd:ro`, 'busybox', 'cat', '/etc/motd']), 'from host');

  // --mount refuses a missing source with dockerd's message; -v creates it.
  const missing = join(host, 'missing', 'dir');
  await dockerFails(d, ['run', '--rm', '--mount', `type=bind,source=${missing},target=/m`, 'busybox', 'true'], 125,
    `docker: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${missing}`);
  await dockerOk(d, ['run', '--rm', '-v', `${missing}:/m`, 'busybox', 'touch', '/m/made']);
  assert.ok((await stat(join(missing, 'made'))).isFile());
  await dockerFails(d, ['run', '--rm', '-v', `${src}:/`, 'busybox', 'true'], 125, 'invalid');
  await dockerFails(d, ['run', '--rm', '-v', `${src}:/a`, '-v', `${src}:/a:ro`, 'busybox', 'true'], 125, 'Duplicate mount point: /a');
});

test('--tmpfs and --mount type=tmpfs', async () => {
  const d = ctx.daemon;
  const out = await dockerOut(d, ['run', '--rm', '--tmpfs', '/t:size=1m', '--mount', 'type=tmpfs,destination=/t2,tmpfs-size=2m,tmpfs-mode=1770',
    'busybox', 'sh', '-c', 'grep " /t" /proc/mounts; stat -c %a /t2; echo x > /t/f && cat /t/f']);
  const lines = out.split('\n');
  assert.match(lines[0]!, /^tmpfs \/t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k /);
  assert.match(lines[1]!, /^tmpfs \/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k,mode=1770 /);
  assert.equal(lines[2], '1770');
  assert.equal(lines[3], 'x');
  await dockerOk(d, ['create', '--name', 'tmpfser', '--mount', 'type=tmpfs,destination=/t2', 'busybox', 'true']);
  assert.deepEqual(await mountsOf('tmpfser'), [{ Type: 'tmpfs', Source: '', Destination: '/t2', Mode: '', RW: true, Propagation: '' }]);
  await dockerOk(d, ['rm', 'tmpfser']);
});

test('--read-only leaves volumes, binds and tmpfs writable', async () => {
  const d = ctx.daemon;
  const src = join(host, 'ro-bind');
  await mkdir(src);
  await dockerOk(d, ['run', '--rm', '--read-only', '-v', 'ro-vol:/data', '-v', `${src}:/b`, '--tmpfs', '/scratch', 'busybox', 'sh', '-c',
    'echo v > /data/f && echo b > /b/f && echo t > /scratch/f']);
  assert.equal(await readFile(join(src, 'f'), 'utf8'), 'b\n');
  await dockerFails(d, ['run', '--rm', '--read-only', '-v', 'ro-vol:/data', 'busybox', 'touch', '/root/x'], 1, /Read-only file system/);
  assert.equal(await dockerOut(d, ['run', '--rm', '-v', 'ro-vol:/data:ro', 'busybox', 'cat', '/data/f']), 'v');
  await dockerOk(d, ['volume', 'rm', 'ro-vol']);
});

test('volume events, and volumes in docker system df', async () => {
  const d = ctx.daemon;
  const feed = await subscribeEvents(ctx.client, { type: ['volume'] });
  await dockerOk(d, ['run', '--rm', '-v', 'ev-vol:/data', 'busybox', 'sh', '-c', 'head -c 4096 /dev/zero > /data/f']);
  const df = JSON.parse(await dockerOut(d, ['system', 'df', '-v', '--format', '{{json .Volumes}}'])) as { Name: string; Size: string; Links: number | string }[];
  const dfv = df.find((v) => v.Name === 'ev-vol');
  assert.ok(dfv, JSON.stringify(df));
  assert.equal(dfv.Size, '4.096kB');
  await dockerOk(d, ['volume', 'rm', 'ev-vol']);
  // The window from the daemon's own timestamps: the first volume event to the destroy.
  const destroy = await feed.next('the destroy', (e) => e.Action === 'destroy' && e.Actor.ID === 'ev-vol');
  feed.close();
  const secs = (t: Date): string => (t.getTime() / 1000).toFixed(3);
  const since = secs(msBefore(feed.events[0]!));
  const until = secs(msAfter(destroy));
  const ev = await dockerOut(d, ['events', '--since', since, '--until', until, '--filter', 'type=volume', '--format', '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.container}}']);
  const mine = ev.split('\n').filter((l) => l.includes(' ev-vol'));
  assert.deepEqual(mine.map((l) => l.split(' ').slice(0, 2).join(' ')), ['create ev-vol', 'mount ev-vol', 'unmount ev-vol', 'destroy ev-vol']);
  assert.match(mine[1]!, /^mount ev-vol [0-9a-f]{64}$/);
});
