import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKind } from '../pkg/errors.js';
import { VolumeService } from './service.js';
import {
  copyUp,
  inspectMounts,
  mergeSpecMounts,
  mergeTmpfsOptions,
  populateVolumes,
  releaseMounts,
  removeMountPoints,
  restoreMountPoints,
  rootfsPropagation,
  specMounts,
} from './mounts.js';
import { convertTmpfsOptions, parseBind, parseMounts, parseVolumesFrom, validMountMode, validateMountSpec } from './mountparse.js';
import type { MountSpec } from '../api/types/mount.js';
import type { MountPoint } from './types.js';

let tmp: string;
let vols: VolumeService;
let existing: string;
const events: string[] = [];

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'berth-mounts-'));
  existing = join(tmp, 'exists');
  await mkdir(existing);
  vols = await VolumeService.open({ root: join(tmp, 'volumes'), onEvent: (a, n) => events.push(`${a} ${n}`) });
});

after(async () => {
  if (!tmp) return;
  // Unmount whatever a failed test left mounted under the temp dir, deepest first.
  const { readFile: rf } = await import('node:fs/promises');
  const { spawnSync } = await import('node:child_process');
  const points = (await rf('/proc/self/mountinfo', 'utf8')).split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(tmp + '/'));
  for (const p of points.sort((a, b) => b.length - a.length)) spawnSync('umount', [p]);
  await rm(tmp, { recursive: true, force: true });
});

test('mode grammar', () => {
  for (const ok of ['', 'ro', 'rw', 'z', 'Z', 'ro,z', 'rw,Z,nocopy', 'rshared', 'ro,rslave', 'cached', 'ro-non-recursive', 'rro']) {
    assert.ok(validMountMode(ok), ok);
  }
  for (const bad of ['ro,rw', 'z,Z', 'shared,slave', 'nocopy,nocopy', 'bogus', 'ro,']) assert.ok(!validMountMode(bad), bad);
});

test('-v forms (HostConfig.Binds)', async () => {
  const cases: [string, Partial<MountPoint>][] = [
    ['/host:/ctr', { Type: 'bind', Source: '/host', Destination: '/ctr', RW: true, Relabel: '', Propagation: 'rprivate' }],
    ['/host/:/ctr/', { Type: 'bind', Source: '/host', Destination: '/ctr' }],
    ['/host:/ctr:ro', { Type: 'bind', RW: false, Relabel: 'ro' }],
    ['/host:/ctr:rw,z', { RW: true, Relabel: 'rw,z' }],
    ['/host:/ctr:ro,rshared', { RW: false, Propagation: 'rshared' }],
    ['/host:/ctr:rslave', { Propagation: 'rslave' }],
    ['name:/data', { Type: 'volume', Name: 'name', Destination: '/data', CopyData: true }],
    ['name:/data:nocopy', { Type: 'volume', CopyData: false }],
    ['name:/data:ro', { Type: 'volume', RW: false }],
    ['/anon', { Type: 'volume', Name: '', Destination: '/anon' }],
  ];
  for (const [raw, want] of cases) {
    const mp = await parseBind(raw);
    for (const [k, v] of Object.entries(want)) assert.deepEqual(mp[k as keyof MountPoint], v, `${raw}: ${k}`);
  }
  const errors: [string, string][] = [
    ['', `invalid volume specification: ''`],
    [':/x', `invalid volume specification: ':/x'`],
    ['/x:rw', `invalid volume specification: '/x:rw'`],
    ['/a:/b:c:d', `invalid volume specification: '/a:/b:c:d'`],
    ['/a:/b:bogus', 'invalid mode: bogus'],
    ['/a:/b:ro,rw', 'invalid mode: ro,rw'],
    ['/a:/', `invalid volume specification: '/a:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`],
    ['/a:rel', `invalid volume specification: '/a:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    ['vol:rel', `invalid volume specification: 'vol:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`],
  ];
  for (const [raw, msg] of errors) {
    await assert.rejects(parseBind(raw), (e: unknown) => {
      assert.ok(isKind(e, 'invalid-parameter'), raw);
      assert.equal((e as Error).message, msg);
      return true;
    });
  }
  // -v does not require the bind source to exist (it is created at start).
  assert.equal((await parseBind('/does/not/exist:/x')).SkipMountpointCreation, undefined);
});

test('--mount validation (HostConfig.Mounts)', async () => {
  const bad: [MountSpec, string][] = [
    [{ Type: 'bind', Source: '/nope/missing', Target: '/x' }, 'invalid mount config for type "bind": bind source path does not exist: /nope/missing'],
    [{ Type: 'bind', Target: '/x' }, 'invalid mount config for type "bind": field Source must not be empty'],
    [{ Type: 'bind', Source: 'rel', Target: '/x' }, `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`],
    [{ Type: 'bind', Source: existing, Target: '/x', BindOptions: { Propagation: 'weird' } }, 'invalid mount config for type "bind": invalid propagation mode: weird'],
    [{ Type: 'volume', Target: '' }, 'invalid mount config for type "volume": field Target must not be empty'],
    [{ Type: 'volume', Target: '/' }, `invalid mount config for type "volume": invalid specification: destination can't be '/'`],
    [{ Type: 'volume', Target: '/x', BindOptions: {} }, 'invalid mount config for type "volume": field BindOptions must not be specified'],
    [{ Type: 'volume', Target: '/x', VolumeOptions: { Subpath: 'a' } }, 'invalid mount config for type "volume": must not set Subpath when using anonymous volumes'],
    [{ Type: 'volume', Source: 'v', Target: '/x', VolumeOptions: { Subpath: '../a' } }, 'invalid mount config for type "volume": subpath must be a relative path within the volume'],
    [{ Type: 'tmpfs', Source: 'x', Target: '/x' }, 'invalid mount config for type "tmpfs": field Source must not be specified'],
    [{ Type: 'tmpfs', Target: '/x', TmpfsOptions: { Options: [['nosuid']] } }, 'invalid mount config for type "tmpfs": invalid option: nosuid'],
    [{ Type: 'bogus', Target: '/x' }, 'invalid mount config for type "bogus": mount type unknown'],
  ];
  for (const [spec, msg] of bad) {
    await assert.rejects(validateMountSpec(spec), (e: unknown) => {
      assert.ok(isKind(e, 'invalid-parameter'));
      assert.equal((e as Error).message, msg);
      return true;
    });
  }
  await validateMountSpec({ Type: 'bind', Source: '/nope/missing', Target: '/x', BindOptions: { CreateMountpoint: true } });
});

test('tmpfs options', () => {
  assert.equal(convertTmpfsOptions({ SizeBytes: 64 * 2 ** 20, Mode: 0o1777 }, true), 'ro,mode=1777,size=64m');
  assert.equal(convertTmpfsOptions({ SizeBytes: 3000, Options: [['exec']] }, false), 'size=3000,exec');
  assert.equal(convertTmpfsOptions({ SizeBytes: 2 ** 30 }, false), 'size=1g');
  assert.deepEqual(mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', 'exec', 'size=1m', 'size=2m']), ['nosuid', 'nodev', 'rprivate', 'exec', 'size=2m']);
  assert.throws(() => mergeTmpfsOptions(['foo=bar']), /invalid tmpfs option "foo"/);
});

test('--volumes-from modes', () => {
  assert.deepEqual(parseVolumesFrom('c1'), { id: 'c1', mode: 'rw' });
  assert.deepEqual(parseVolumesFrom('c1:ro'), { id: 'c1', mode: 'ro' });
  assert.throws(() => parseVolumesFrom(''), /volumes-from specification cannot be an empty string/);
  assert.throws(() => parseVolumesFrom('c1:rshared'), /invalid mode: rshared/);
  assert.throws(() => parseVolumesFrom('c1:nocopy'), /invalid mode: nocopy/);
  assert.throws(() => parseVolumesFrom('c1:bogus'), /invalid mode: bogus/);
});

test('parseMounts: binds, --mount, tmpfs, anonymous volumes, volumes-from, duplicates', async () => {
  const dataRoot = join(tmp, 'dataroot');
  await mkdir(join(dataRoot, 'inside'), { recursive: true });
  const points = await parseMounts(
    { Volumes: { '/anon': {}, '/covered': {}, '/tmp/t': {} } },
    {
      Binds: [`${existing}:/covered:ro`, 'named:/named', `${dataRoot}/inside:/dr`],
      Mounts: [
        { Type: 'volume', Source: 'mvol', Target: '/mvol', VolumeOptions: { Labels: { l: '1' }, NoCopy: true } },
        { Type: 'tmpfs', Target: '/scratch', TmpfsOptions: { SizeBytes: 2 ** 20 } },
        { Type: 'bind', Source: existing, Target: '/mbind', ReadOnly: true },
      ],
      Tmpfs: { '/tmp/t': 'size=1m' },
    },
    { containerId: 'c1', volumes: vols, volumesFrom: () => [], dataRoot, readOnlyNonRecursive: true },
  );
  const by = Object.fromEntries(points.map((p) => [p.Destination, p]));
  assert.deepEqual(Object.keys(by).sort(), ['/anon', '/covered', '/dr', '/mbind', '/mvol', '/named', '/scratch']);
  assert.equal(by['/covered']!.Type, 'bind');
  assert.equal(by['/covered']!.Spec.BindOptions?.ReadOnlyNonRecursive, true);
  assert.equal(by['/dr']!.Propagation, 'rslave', 'binds from the data root are rslave');
  assert.equal(by['/named']!.Relabel, 'z');
  assert.equal(by['/named']!.Source, vols.path('named'));
  assert.deepEqual((await vols.inspect('mvol')).Labels, { l: '1' });
  assert.equal(by['/mvol']!.CopyData, false);
  assert.equal(by['/mbind']!.SkipMountpointCreation, true);
  assert.match(by['/anon']!.Name, /^[0-9a-f]{64}$/);
  assert.deepEqual(vols.references(by['/anon']!.Name), ['c1']);
  assert.deepEqual(vols.references('named'), ['c1']);

  assert.deepEqual(inspectMounts([by['/named']!, by['/covered']!, by['/scratch']!]), [
    { Type: 'volume', Name: 'named', Source: vols.path('named'), Destination: '/named', Driver: 'local', Mode: 'z', RW: true, Propagation: '' },
    { Type: 'bind', Source: existing, Destination: '/covered', Mode: 'ro', RW: false, Propagation: 'rprivate' },
    { Type: 'tmpfs', Source: '', Destination: '/scratch', Mode: '', RW: true, Propagation: '' },
  ]);

  // --volumes-from: copies, :ro makes them read-only, references taken.
  const c2 = await parseMounts({}, { VolumesFrom: ['c1:ro'] }, { containerId: 'c2', volumes: vols, volumesFrom: () => points });
  assert.ok(c2.every((p) => !p.RW));
  assert.deepEqual(vols.references('named').sort(), ['c1', 'c2']);
  await assert.rejects(
    parseMounts({}, { VolumesFrom: ['ghost'] }, { containerId: 'c3', volumes: vols, volumesFrom: () => { throw new Error('No such container: ghost'); } }),
    (e: unknown) => isKind(e, 'invalid-parameter') && (e as Error).message === 'No such container: ghost',
  );

  // Duplicates.
  await assert.rejects(
    parseMounts({}, { Binds: [`${existing}:/d`, 'v2:/d'] }, { containerId: 'c4', volumes: vols, volumesFrom: () => [] }),
    /^BerthError: Duplicate mount point: \/d$|Duplicate mount point: \/d/,
  );
  await assert.rejects(
    parseMounts({}, { Binds: [`${existing}:/t`], Tmpfs: { '/t': '' } }, { containerId: 'c4', volumes: vols, volumesFrom: () => [] }),
    /Duplicate mount point: \/t/,
  );
  await assert.rejects(
    parseMounts({}, { Binds: [`${existing}:/d`], Mounts: [{ Type: 'volume', Target: '/d/' }] }, { containerId: 'c4', volumes: vols, volumesFrom: () => [] }),
    /Duplicate mount point: \/d\//,
  );
  // A failure releases what was taken and removes the anonymous volumes made on the way.
  const before = (await vols.list()).Volumes.length;
  await assert.rejects(
    parseMounts(
      { Volumes: { '/a1': {} } },
      { Binds: ['keepme:/k', '/x:/y:bogus'] },
      { containerId: 'c5', volumes: vols, volumesFrom: () => [] },
    ),
    /invalid mode: bogus/,
  );
  assert.deepEqual(vols.references('keepme'), []);
  assert.equal((await vols.list()).Volumes.length, before + 1, 'only the named volume remains');
  await assert.rejects(
    parseMounts({}, { Tmpfs: { relative: '' } }, { containerId: 'c6', volumes: vols, volumesFrom: () => [] }),
    /invalid mount path: 'relative' mount path must be absolute/,
  );
  await assert.rejects(
    parseMounts({}, { Binds: [`${dataRoot}:/x:rprivate`] }, { containerId: 'c6', volumes: vols, volumesFrom: () => [] , dataRoot }),
    /must use either propagation mode "rslave" or "rshared" when mount source is within the daemon root/,
  );

  // rm -v: references dropped, anonymous volumes removed, named ones kept.
  await removeMountPoints(c2, vols, 'c2', true);
  await removeMountPoints(points, vols, 'c1', true);
  assert.ok(!vols.has(by['/anon']!.Name));
  assert.ok(vols.has('named'));
  restoreMountPoints(points, vols, 'c1', false);
  assert.deepEqual(vols.references('named'), ['c1']);
  await removeMountPoints(points, vols, 'c1', false);
});

test('anonymous volume over an existing file in the image is refused', async () => {
  const rootfs = join(tmp, 'rootfs-file');
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await writeFile(join(rootfs, 'etc', 'conf'), 'x');
  await assert.rejects(
    parseMounts({ Volumes: { '/etc/conf': {} } }, {}, { containerId: 'c7', volumes: vols, volumesFrom: () => [], rootfs }),
    /cannot mount volume over existing file, file exists/,
  );
});

test('copy-up fills a new volume from the image, chroot-style, only when empty', async () => {
  const rootfs = join(tmp, 'rootfs');
  await mkdir(join(rootfs, 'var', 'lib', 'app', 'sub'), { recursive: true });
  await writeFile(join(rootfs, 'var', 'lib', 'app', 'conf'), 'image content');
  await chown(join(rootfs, 'var', 'lib', 'app'), 999, 998);
  await chmod(join(rootfs, 'var', 'lib', 'app'), 0o750);
  await symlink('/etc/passwd', join(rootfs, 'var', 'lib', 'app', 'abs-link'));
  await symlink('/var/lib', join(rootfs, 'vl')); // the VOLUME path goes through a symlink
  await writeFile(join(tmp, 'host-only'), 'host');
  await symlink(tmp, join(rootfs, 'hostlink')); // must be read as <rootfs><tmp>, which does not exist

  const v = await vols.create({ Name: 'cu' });
  assert.equal(await copyUp(rootfs, '/vl/app', v.Mountpoint), true);
  assert.equal(await readFile(join(v.Mountpoint, 'conf'), 'utf8'), 'image content');
  assert.equal(await readlink(join(v.Mountpoint, 'abs-link')), '/etc/passwd');
  assert.ok((await lstat(join(v.Mountpoint, 'sub'))).isDirectory());
  const st = await stat(v.Mountpoint);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [999, 998, 0o750], 'the volume root takes the image directory metadata');
  await writeFile(join(rootfs, 'var', 'lib', 'app', 'later'), 'later');
  assert.equal(await copyUp(rootfs, '/var/lib/app', v.Mountpoint), false, 'non-empty volumes are left alone');
  const e = await vols.create({ Name: 'cu2' });
  assert.equal(await copyUp(rootfs, '/hostlink', e.Mountpoint), false);
  assert.equal(await copyUp(rootfs, '/missing', e.Mountpoint), false);
  assert.equal(await copyUp(rootfs, '/var/lib/app/conf', e.Mountpoint), false, 'files are not copied');

  const points = await parseMounts({ Volumes: { '/var/lib/app': {} } }, { Binds: ['nc:/var/lib:nocopy'] }, { containerId: 'c8', volumes: vols, volumesFrom: () => [] });
  await populateVolumes(points, rootfs, vols);
  const anon = points.find((p) => p.Destination === '/var/lib/app')!;
  assert.equal(await readFile(join(anon.Source, 'later'), 'utf8'), 'later');
  assert.deepEqual(await (await import('node:fs/promises')).readdir(vols.path('nc')), [], 'nocopy');
  await removeMountPoints(points, vols, 'c8', true);
});

test('specMounts: options, tmpfs merge, volume mounting and events, propagation', async () => {
  const tv = await vols.create({ Name: 'spec-tmpfs', DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
  const missing = join(tmp, 'made', 'by', 'start');
  const points = await parseMounts(
    {},
    {
      Binds: [`${existing}:/ro:ro`, `${missing}:/made`, 'spec-tmpfs:/t', `${existing}:/shared:rshared`],
      Mounts: [
        { Type: 'tmpfs', Target: '/scratch', ReadOnly: true, TmpfsOptions: { SizeBytes: 2 ** 20, Mode: 0o700 } },
        { Type: 'bind', Source: existing, Target: '/a/b/nonrec', BindOptions: { NonRecursive: true } },
      ],
      Tmpfs: { '/run': 'exec,size=5m' },
    },
    { containerId: 'c9', volumes: vols, volumesFrom: () => [] },
  );
  const mounts = await specMounts(points, vols, { containerId: 'c9', tmpfs: { '/run': 'exec,size=5m' } });
  const by = Object.fromEntries(mounts.map((m) => [m.destination, m]));
  assert.deepEqual(by['/ro'], { destination: '/ro', source: existing, type: 'bind', options: ['rbind', 'rro', 'rprivate'] });
  assert.deepEqual(by['/made']!.options, ['rbind', 'rprivate']);
  assert.ok((await stat(missing)).isDirectory(), '-v creates a missing source');
  assert.deepEqual(by['/t'], { destination: '/t', source: tv.Mountpoint, type: 'bind', options: ['rbind'] });
  assert.equal((await (await import('./local.js')).isMounted(tv.Mountpoint)), true);
  assert.deepEqual(by['/scratch'], { destination: '/scratch', source: 'tmpfs', type: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'ro', 'mode=700', 'size=1m'] });
  assert.deepEqual(by['/run']!.options, ['nosuid', 'nodev', 'rprivate', 'exec', 'size=5m']);
  assert.deepEqual(by['/a/b/nonrec']!.options, ['bind', 'rprivate']);
  assert.equal(mounts.at(-1)!.destination, '/a/b/nonrec', 'parents first');
  assert.equal(rootfsPropagation(points), 'shared');
  assert.ok(events.includes('mount spec-tmpfs'));
  const noRro = await specMounts(points.filter((p) => p.Destination === '/ro'), vols, { containerId: 'c9', recursiveReadOnly: false });
  assert.deepEqual(noRro[0]!.options, ['rbind', 'ro', 'rprivate']);

  await releaseMounts(points, vols, 'c9');
  assert.equal((await (await import('./local.js')).isMounted(tv.Mountpoint)), false);
  assert.ok(events.includes('unmount spec-tmpfs'));

  assert.deepEqual(
    mergeSpecMounts(
      [{ destination: '/etc/hosts', source: '/d/hosts', type: 'bind', options: ['rbind'] }, { destination: '/etc/hostname', source: '/d/hn', type: 'bind', options: [] }],
      [{ destination: '/etc/hosts', source: '/mine', type: 'bind', options: ['rbind'] }],
    ).map((m) => m.source),
    ['/d/hn', '/mine'],
  );
  await removeMountPoints(points, vols, 'c9', false);
  await vols.remove('spec-tmpfs');
});
