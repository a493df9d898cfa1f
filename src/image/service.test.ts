import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, copyFile, symlink, readFile, writeFile, unlink, readdir, access, lstat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ImageService } from './service.js';
import { LayerStore } from '../layer/store.js';

let work: string;
let root: string;
let rootfsTar: string;
let svc: ImageService;
const mounted: string[] = [];
const events: [string, string, Record<string, string>][] = [];
const logger = pino({ level: 'silent' });

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-image-'));
  root = join(work, 'root');
  const rootfs = join(work, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await mkdir(join(rootfs, 'etc'), { recursive: true });
  await copyFile('/usr/bin/busybox', join(rootfs, 'bin/busybox'));
  const applets = execFileSync('/usr/bin/busybox', ['--list']).toString().trim().split('\n');
  for (const a of applets) if (a && a !== 'busybox') await symlink('busybox', join(rootfs, 'bin', a)).catch(() => undefined);
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\n');
  await symlink('/etc/passwd', join(rootfs, 'etc/passwd-link'));
  rootfsTar = join(work, 'rootfs.tar');
  execFileSync('tar', ['-C', rootfs, '-cf', rootfsTar, '.']);
  svc = await ImageService.open({ root, logger, onEvent: (a, id, attrs) => events.push([a, id, attrs]) });
});

after(async () => {
  for (const m of mounted.reverse()) spawnSync('umount', [m]);
  await rm(work, { recursive: true, force: true });
});

const none = (): undefined => undefined;

test('import, inspect, list, tag, resolve, remove', async () => {
  const id = await svc.importImage(createReadStream(rootfsTar), { repo: 'busybox', changes: ['CMD ["sh"]', 'ENV A=b'] });
  assert.match(id, /^sha256:[a-f0-9]{64}$/);
  assert.deepEqual(events.map((e) => e[0]), ['tag', 'import']);
  assert.equal(events[1]![2].name, id);
  // on-disk layout
  const h = id.slice(7);
  const content = await readFile(join(root, 'image/overlay2/imagedb/content/sha256', h));
  const cfg = JSON.parse(content.toString());
  assert.equal(cfg.comment, 'Imported from -');
  assert.equal(cfg.history[0].comment, 'Imported from -');
  assert.equal(cfg.os, 'linux');
  assert.deepEqual(cfg.config.Cmd, ['sh']);
  const repos = JSON.parse(await readFile(join(root, 'image/overlay2/repositories.json'), 'utf8'));
  assert.deepEqual(repos, { Repositories: { busybox: { 'busybox:latest': id } } });
  const diffID = cfg.rootfs.diff_ids[0];
  const sha = execFileSync('sha256sum', [rootfsTar]).toString().split(' ')[0];
  assert.equal(diffID, `sha256:${sha}`);
  const layerDir = join(root, 'image/overlay2/layerdb/sha256', diffID.slice(7));
  const cacheID = (await readFile(join(layerDir, 'cache-id'), 'utf8')).trim();
  await access(join(root, 'overlay2', cacheID, 'diff/bin/busybox'));
  const link = (await readFile(join(root, 'overlay2', cacheID, 'link'), 'utf8')).trim();
  assert.equal(link.length, 26);
  assert.ok((await lstat(join(root, 'overlay2/l', link))).isSymbolicLink());

  const ins = await svc.inspect('busybox');
  assert.equal(ins.Id, id);
  assert.deepEqual(ins.RepoTags, ['busybox:latest']);
  assert.deepEqual(ins.RepoDigests, []);
  assert.equal(ins.Comment, 'Imported from -');
  assert.deepEqual(ins.Config, { Env: ['A=b'], Cmd: ['sh'] });
  assert.deepEqual(ins.RootFS, { Type: 'layers', Layers: [diffID] });
  assert.equal(ins.GraphDriver.Name, 'overlay2');
  assert.equal(ins.GraphDriver.Data?.UpperDir, join(root, 'overlay2', cacheID, 'diff'));
  assert.ok(ins.Size > 1_000_000);
  assert.notEqual(ins.Metadata.LastTagTime, '0001-01-01T00:00:00Z');

  // resolve by name, tag, full id, short id, digest-form id
  for (const r of ['busybox', 'busybox:latest', 'docker.io/library/busybox:latest', id, h, h.slice(0, 12), `sha256:${h.slice(0, 10)}`]) {
    assert.equal((await svc.resolve(r)).id, id, r);
  }
  await assert.rejects(svc.resolve('nope'), { message: 'No such image: nope:latest' });
  await assert.rejects(svc.resolve('Nope'), { message: 'invalid reference format: repository name (library/Nope) must be lowercase' });

  await svc.tag('busybox', 'example.com/bb', 'v1');
  await svc.tag(h.slice(0, 12), 'bb:two');
  let list = await svc.list({});
  assert.equal(list.length, 1);
  assert.deepEqual(list[0]!.RepoTags, ['bb:two', 'busybox:latest', 'example.com/bb:v1']);
  assert.equal(list[0]!.SharedSize, -1);
  assert.equal(list[0]!.Containers, -1);
  list = await svc.list({ filters: new Map([['reference', ['bb']]]) });
  assert.deepEqual(list[0]!.RepoTags, ['bb:two']);
  assert.equal((await svc.list({ filters: new Map([['dangling', ['true']]]) })).length, 0);
  await assert.rejects(svc.list({ filters: new Map([['bogus', ['x']]]) }), { message: "invalid filter 'bogus'" });

  // delete by ID with several repositories: conflict
  await assert.rejects(svc.remove(h.slice(0, 12), { force: false, noprune: false }, none), {
    message: `conflict: unable to delete ${h.slice(0, 12)} (must be forced) - image is referenced in multiple repositories`,
  });
  // untag while other tags remain
  assert.deepEqual(await svc.remove('bb:two', { force: false, noprune: false }, none), [{ Untagged: 'bb:two' }]);
  // a container using it
  const used = (): { id: string; running: boolean } => ({ id: 'c'.repeat(64), running: true });
  await svc.remove('example.com/bb:v1', { force: false, noprune: false }, used);
  await assert.rejects(svc.remove('busybox', { force: false, noprune: false }, used), {
    message: `conflict: unable to remove repository reference "busybox" (must force) - container cccccccccccc is using its referenced image ${h.slice(0, 12)}`,
  });
  await assert.rejects(svc.remove(id, { force: true, noprune: false }, used), {
    message: `conflict: unable to delete ${h.slice(0, 12)} (cannot be forced) - image is being used by running container cccccccccccc`,
  });
  const recs = await svc.remove('busybox', { force: false, noprune: false }, none);
  assert.deepEqual(recs, [{ Untagged: 'busybox:latest' }, { Deleted: id }, { Deleted: diffID }]);
  assert.equal(svc.imageCount(), 0);
  await assert.rejects(access(layerDir));
  await assert.rejects(access(join(root, 'overlay2', cacheID)));
  assert.deepEqual(events.slice(-2).map((e) => e[0]), ['untag', 'delete']);
});

test('RW layer: overlay mount, changes, readContainerFile, sizes', async () => {
  const id = await svc.importImage(createReadStream(rootfsTar), { repo: 'bb:rw' });
  const cid = 'f'.repeat(64);
  await svc.createRWLayer(cid, id);
  const mounts = await svc.rootfsMounts(cid);
  assert.equal(mounts.length, 1);
  const m = mounts[0]!;
  assert.equal(m.type, 'overlay');
  const lower = m.options.find((o) => o.startsWith('lowerdir='))!;
  assert.match(lower, /\/overlay2\/l\/[A-Z0-9]{26}$/);
  assert.ok(m.options.some((o) => o.startsWith('upperdir=')));
  assert.ok(m.options.some((o) => o.startsWith('workdir=')));
  const gd = await svc.graphDriver(cid);
  assert.equal(gd.Name, 'overlay2');
  assert.ok(gd.Data.LowerDir?.endsWith('/diff'));

  assert.equal((await svc.readContainerFile(cid, '/etc/passwd'))?.toString().split('\n')[0], 'root:x:0:0:root:/root:/bin/sh');
  assert.ok((await svc.readContainerFile(cid, '/etc/passwd-link'))?.toString().startsWith('root:'));
  assert.equal(await svc.readContainerFile(cid, '/etc/shadow'), undefined);

  const target = join(work, 'merged');
  await mkdir(target);
  execFileSync('mount', ['-t', m.type, m.source, '-o', m.options.join(','), target]);
  mounted.push(target);
  await writeFile(join(target, 'etc/passwd'), 'root:x:0:0:changed:/root:/bin/sh\n');
  await writeFile(join(target, 'newfile'), 'hello');
  await unlink(join(target, 'bin/vi'));
  await mkdir(join(target, 'tmp/a/b'), { recursive: true });
  await rm(join(target, 'etc'), { recursive: true });
  await mkdir(join(target, 'etc'));
  await writeFile(join(target, 'etc/group'), 'g\n');
  assert.equal((await readdir(join(target, 'etc'))).join(','), 'group');
  execFileSync('umount', [target]);
  mounted.pop();

  const changes = await svc.changes(cid);
  const byPath = new Map(changes.map((c) => [c.Path, c.Kind]));
  assert.equal(byPath.get('/newfile'), 1);
  assert.equal(byPath.get('/bin/vi'), 2);
  assert.equal(byPath.get('/bin'), 0);
  assert.equal(byPath.get('/tmp'), 1);
  assert.equal(byPath.get('/tmp/a/b'), 1);
  assert.equal(byPath.get('/etc'), 0); // opaque: recreated
  assert.equal(byPath.get('/etc/group'), 1);
  assert.deepEqual(changes.map((c) => c.Path), [...changes.map((c) => c.Path)].sort());
  // the container now sees the opaque /etc
  assert.equal(await svc.readContainerFile(cid, '/etc/passwd'), undefined);
  assert.equal((await svc.readContainerFile(cid, '/etc/group'))?.toString(), 'g\n');
  assert.equal(await svc.readContainerFile(cid, '/bin/vi'), undefined);

  const size = await svc.containerSize(cid);
  assert.ok(size.SizeRw >= 7);
  assert.ok(size.SizeRootFs > size.SizeRw + 1_000_000);

  // image in use by the RW layer keeps its layer after the image goes
  await svc.remove(id, { force: true, noprune: false }, () => undefined);
  await access(lower.slice('lowerdir='.length));
  await svc.removeRWLayer(cid);
  await assert.rejects(access(lower.slice('lowerdir='.length)));
  assert.deepEqual(await readdir(join(root, 'image/overlay2/layerdb/mounts')), []);
});

test('concurrent register of the same layer stores it once; restart sweeps debris', async () => {
  const layers = svc.layers;
  const before = (await readdir(join(root, 'overlay2'))).length;
  const [a, b, c] = await Promise.all([
    layers.register(createReadStream(rootfsTar)),
    layers.register(createReadStream(rootfsTar)),
    layers.register(createReadStream(rootfsTar)),
  ]);
  assert.equal(a.chainID, b.chainID);
  assert.equal(b.chainID, c.chainID);
  assert.equal([a, b, c].filter((x) => !x.existing).length, 1);
  assert.equal(layers.refCount(a.chainID), 3);
  assert.equal((await readdir(join(root, 'overlay2'))).length, before + 1);
  assert.deepEqual(await layers.release(a.chainID), []);
  assert.deepEqual(await layers.release(a.chainID), []);
  // debris: a half-made layer dir and a temp write-set
  await mkdir(join(root, 'overlay2', 'deadbeef', 'diff'), { recursive: true });
  await mkdir(join(root, 'image/overlay2/layerdb/tmp/write-set-x'), { recursive: true });
  const again = await LayerStore.open({ root, logger });
  await assert.rejects(access(join(root, 'overlay2', 'deadbeef')));
  await assert.rejects(access(join(root, 'image/overlay2/layerdb/tmp/write-set-x')));
  assert.ok(again.get(a.chainID));
  assert.equal(again.refCount(a.chainID), 0);
  await layers.release(a.chainID);
  await assert.rejects(access(join(root, 'overlay2', a.cacheID)));
});

test('two-layer stack: child layer lower chain and whiteouts', async () => {
  const layers = svc.layers;
  const base = await layers.register(createReadStream(rootfsTar));
  const tar2 = join(work, 'l2.tar');
  const d = join(work, 'l2');
  await mkdir(join(d, 'bin'), { recursive: true });
  await writeFile(join(d, 'bin/.wh.vi'), '');
  await writeFile(join(d, 'added'), 'x');
  execFileSync('tar', ['-C', d, '-cf', tar2, '.']);
  const top = await layers.register(createReadStream(tar2), base.chainID);
  assert.equal(top.parent, base.chainID);
  assert.deepEqual(layers.diffIDs(top.chainID), [base.diffID, top.diffID]);
  await layers.createRWLayer('two', top.chainID);
  const [m] = await layers.rwMounts('two');
  const lower = m!.options.find((o) => o.startsWith('lowerdir='))!.slice(9).split(':');
  assert.equal(lower.length, 2);
  assert.equal(await layers.readFile('two', '/bin/vi'), undefined);
  assert.equal((await layers.readFile('two', '/added'))?.toString(), 'x');
  const merged = await layers.mountRW('two');
  mounted.push(merged);
  await assert.rejects(access(join(merged, 'bin/vi')));
  await access(join(merged, 'bin/sh'));
  await layers.unmountRW('two');
  mounted.pop();
  await layers.removeRWLayer('two');
  assert.deepEqual(await layers.release(base.chainID), []); // the child still holds it
  const removed = await layers.release(top.chainID);
  assert.deepEqual(removed.map((r) => r.chainID), [top.chainID, base.chainID]);
  assert.deepEqual(await readdir(join(root, 'image/overlay2/layerdb/sha256')), []);
  assert.deepEqual(await readdir(join(root, 'overlay2/l')), []);
});
