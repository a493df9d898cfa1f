import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind } from '../pkg/errors.js';
import { ANONYMOUS_LABEL, VolumeService, volumeNameError } from './service.js';
import { isMounted, ramInBytes } from './local.js';

let tmp: string;
let root: string;
const events: [string, string, Record<string, string>][] = [];
let svc: VolumeService;
const mountedPaths: string[] = [];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-vol-'));
  root = join(tmp, 'volumes');
  svc = await VolumeService.open({ root, onEvent: (a, n, attrs) => events.push([a, n, attrs]) });
});

after(async () => {
  // Unmount anything a failed test left mounted before removing the tree.
  for (const p of mountedPaths) {
    while (await isMounted(p).catch(() => false)) {
      const { spawnSync } = await import('node:child_process');
      if (spawnSync('umount', [p]).status !== 0) break;
    }
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('names and sizes', () => {
  assert.equal(volumeNameError('ab'), undefined);
  assert.equal(volumeNameError('a'), 'volume name is too short, names should be at least two alphanumeric characters');
  assert.match(volumeNameError('../x')!, /includes invalid characters for a local volume name/);
  assert.match(volumeNameError('a/b')!, /only "\[a-zA-Z0-9\]\[a-zA-Z0-9_.-\]" are allowed/);
  assert.match(volumeNameError('.hidden')!, /invalid characters/);
  assert.equal(ramInBytes('64m'), 64 * 2 ** 20);
  assert.equal(ramInBytes('1.5GiB'), 1.5 * 2 ** 30);
});

test('create, inspect, list, idempotent create, errors', async () => {
  const v = await svc.create({ Name: 'data1', Labels: { app: 'web', tier: 'front' } });
  assert.equal(v.Name, 'data1');
  assert.equal(v.Driver, 'local');
  assert.equal(v.Scope, 'local');
  assert.equal(v.Mountpoint, join(root, 'data1', '_data'));
  assert.deepEqual(v.Options, null);
  assert.equal((await stat(v.Mountpoint)).mode & 0o777, 0o755);
  assert.equal((await stat(join(root, 'data1'))).mode & 0o777, 0o701);
  assert.deepEqual(events.at(-1), ['create', 'data1', { driver: 'local' }]);
  assert.deepEqual(await svc.create({ Name: 'data1' }), v, 'an existing volume is returned as is');
  assert.deepEqual(await svc.inspect('data1'), v);

  await assert.rejects(svc.inspect('nope'), (e: unknown) => isKind(e, 'not-found') && (e as Error).message === 'get nope: no such volume');
  await assert.rejects(svc.create({ Name: 'a' }), /create a: volume name is too short/);
  await assert.rejects(svc.create({ Name: '../../etc' }), (e: unknown) => isKind(e, 'invalid-parameter'));
  await assert.rejects(svc.create({ Name: 'x/y' }), (e: unknown) => isKind(e, 'invalid-parameter'));
  await assert.rejects(svc.create({ Name: 'bad', DriverOpts: { foo: 'bar' } }), /create bad: invalid option: "foo"/);
  await assert.rejects(svc.create({ Name: 'bad', DriverOpts: { type: 'tmpfs' } }), /missing required option: "device"/);
  await assert.rejects(svc.create({ Name: 'bad', DriverOpts: { size: '10m' } }), /quota size requested but no quota support/);
  await assert.rejects(svc.create({ Name: 'bad', Driver: 'nfsplugin' }), (e: unknown) =>
    isKind(e, 'not-found') && /error looking up volume plugin nfsplugin: plugin "nfsplugin" not found/.test((e as Error).message));
  await assert.rejects(svc.create({ Name: 'data1', Driver: 'other' }), (e: unknown) => isKind(e, 'conflict'));

  const anon = await svc.create({});
  assert.match(anon.Name, /^[0-9a-f]{64}$/);
  assert.deepEqual(anon.Labels, { [ANONYMOUS_LABEL]: '' });
  await svc.create({ Name: 'other2', Labels: { app: 'db' } });

  const names = async (f: Record<string, string[]>) => (await svc.list(new Map(Object.entries(f)))).Volumes.map((x) => x.Name);
  assert.deepEqual(await names({}), [anon.Name, 'data1', 'other2'].sort());
  assert.deepEqual(await names({ label: ['app=web'] }), ['data1']);
  assert.deepEqual(await names({ label: ['app'] }), ['data1', 'other2']);
  assert.deepEqual(await names({ name: ['^data'] }), ['data1']);
  assert.deepEqual(await names({ name: ['ta'] }), ['data1'], 'name is a regexp match anywhere');
  assert.deepEqual(await names({ driver: ['local'], label: [ANONYMOUS_LABEL] }), [anon.Name]);
  assert.deepEqual(await names({ driver: ['nfs'] }), []);
  svc.acquire('data1', 'c1');
  assert.deepEqual(await names({ dangling: ['true'] }), [anon.Name, 'other2'].sort());
  assert.deepEqual(await names({ dangling: ['0'] }), ['data1']);
  await assert.rejects(svc.list(new Map([['dangling', ['maybe']]])), /invalid filter 'dangling=\[maybe\]'/);
  await assert.rejects(svc.list(new Map([['bogus', ['1']]])), /invalid filter 'bogus'/);
  assert.equal((await svc.list()).Warnings, null);
});

test('remove: in use, force, missing', async () => {
  await assert.rejects(svc.remove('data1'), (e: unknown) =>
    isKind(e, 'conflict') && (e as Error).message === 'remove data1: volume is in use - [c1]');
  svc.acquire('data1', 'c2');
  await assert.rejects(svc.remove('data1', { force: true }), /volume is in use - \[c1, c2\]/);
  svc.release('data1', 'c1');
  svc.release('data1', 'c2');
  await writeFile(join(svc.path('data1'), 'f'), 'x');
  await svc.remove('data1');
  await assert.rejects(stat(join(root, 'data1')), /ENOENT/);
  assert.deepEqual(events.at(-1), ['destroy', 'data1', { driver: 'local' }]);
  await assert.rejects(svc.remove('data1'), (e: unknown) => isKind(e, 'not-found') && (e as Error).message === 'get data1: no such volume');
  await svc.remove('data1', { force: true });
  assert.throws(() => svc.acquire('data1', 'x'), (e: unknown) => isKind(e, 'not-found'));
});

test('prune: anonymous only by default, all=true, label filters, in-use kept', async () => {
  const keep = await svc.create({ Name: 'named-keep' });
  const a1 = await svc.create({});
  const a2 = await svc.create({ Labels: { x: '1' } });
  const used = await svc.create({});
  await svc.create({ Name: 'opts-vol', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
  svc.acquire(used.Name, 'c9');
  await writeFile(join(a1.Mountpoint, 'payload'), Buffer.alloc(1000));

  await assert.rejects(svc.prune(new Map([['dangling', ['true']]])), /invalid filter 'dangling'/);
  await assert.rejects(svc.prune(new Map([['all', ['maybe']]])), /invalid filter 'all': strconv.ParseBool/);
  await assert.rejects(svc.prune(new Map([['all', ['1', '0']]])), /only one value is expected/);

  const r1 = await svc.prune(new Map([['label!', ['x']]]));
  assert.ok(r1.VolumesDeleted.includes(a1.Name));
  assert.ok(!r1.VolumesDeleted.includes(a2.Name), 'label! excludes');
  assert.ok(!r1.VolumesDeleted.includes(used.Name), 'in use');
  assert.ok(!r1.VolumesDeleted.includes(keep.Name), 'named volumes need all=true');
  assert.ok(r1.SpaceReclaimed >= 1000);
  assert.equal(events.at(-1)![0], 'prune');

  const r2 = await svc.prune(new Map([['all', ['true']]]));
  assert.ok(r2.VolumesDeleted.includes(keep.Name));
  assert.ok(r2.VolumesDeleted.includes(a2.Name));
  assert.ok(!r2.VolumesDeleted.includes('opts-vol'), 'volumes with driver options are never pruned');
  assert.ok(!r2.VolumesDeleted.includes(used.Name));
  svc.release(used.Name, 'c9');
  await svc.remove(used.Name);
  await svc.remove('opts-vol');
});

test('state survives a restart', async () => {
  await svc.create({ Name: 'persist', Labels: { k: 'v' }, DriverOpts: { type: 'none', o: 'bind', device: tmp } });
  const before = await svc.inspect('persist');
  const again = await VolumeService.open({ root });
  assert.deepEqual(await again.inspect('persist'), before);
  assert.deepEqual(JSON.parse(await readFile(join(root, 'persist', 'opts.json'), 'utf8')).MountType, 'none');
  // A directory without metadata but with _data (an older or foreign volume) is still listed.
  await mkdir(join(root, 'legacy', '_data'), { recursive: true });
  await mkdir(join(root, 'not-a-volume'), { recursive: true });
  const third = await VolumeService.open({ root });
  const names = (await third.list()).Volumes.map((v) => v.Name);
  assert.ok(names.includes('legacy'));
  assert.ok(!names.includes('not-a-volume'));
  await third.remove('persist');
});

test('tmpfs and bind volumes are mounted on first use and unmounted after the last', async () => {
  const v = await svc.create({ Name: 'tmpfsvol', DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=1m,mode=0750' } });
  mountedPaths.push(v.Mountpoint);
  assert.equal(await isMounted(v.Mountpoint), false, 'not mounted at create');
  const p1 = await svc.mount('tmpfsvol');
  assert.equal(p1, v.Mountpoint);
  assert.equal(await isMounted(p1), true);
  assert.equal((await stat(p1)).mode & 0o777, 0o750);
  await writeFile(join(p1, 'in-tmpfs'), 'x');
  await svc.mount('tmpfsvol');
  await svc.unmount('tmpfsvol');
  assert.equal(await isMounted(p1), true, 'still used once');
  await assert.rejects(svc.remove('tmpfsvol'), /volume has active mounts/);
  await svc.unmount('tmpfsvol');
  assert.equal(await isMounted(p1), false);
  await assert.rejects(stat(join(p1, 'in-tmpfs')), /ENOENT/, 'tmpfs content gone');

  const src = join(tmp, 'bindsrc');
  await mkdir(src);
  await writeFile(join(src, 'host.txt'), 'via bind');
  const b = await svc.create({ Name: 'bindvol', DriverOpts: { type: 'none', o: 'bind', device: src } });
  mountedPaths.push(b.Mountpoint);
  const p2 = await svc.mount('bindvol');
  assert.equal(await readFile(join(p2, 'host.txt'), 'utf8'), 'via bind');
  // A restarted daemon sees the existing mount; live restore counts it.
  const restarted = await VolumeService.open({ root });
  restarted.liveRestore('bindvol');
  await restarted.unmount('bindvol');
  assert.equal(await isMounted(p2), false);
  await svc.unmount('bindvol').catch(() => undefined);
  await restarted.remove('bindvol');
  await restarted.remove('tmpfsvol');
  assert.equal(await readFile(join(src, 'host.txt'), 'utf8'), 'via bind', 'removing a bind volume keeps the source');
});

test('usage for system df', async () => {
  const v = await svc.create({ Name: 'dfvol' });
  await writeFile(join(v.Mountpoint, 'f'), Buffer.alloc(4096));
  svc.acquire('dfvol', 'c1');
  const u = (await svc.usage()).find((x) => x.Name === 'dfvol')!;
  assert.deepEqual(u.UsageData, { Size: 4096, RefCount: 1 });
  svc.release('dfvol', 'c1');
  await svc.remove('dfvol');
});
