// docker save / docker load through the real CLI: byte-exact layers, the OCI + docker-archive
// layout, round trips into a fresh daemon, hostile and broken archives, concurrent loads.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { startDaemon, useDaemon, type Daemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut } from './helpers.js';

const env = useDaemon();
let fresh: Daemon | undefined;
after(async () => {
  await fresh?.cleanup();
});

type Ent = { name: string; type?: 'file' | 'directory' | 'symlink'; body?: Buffer | string; linkname?: string };

async function makeTar(entries: Ent[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    const type = e.type ?? 'file';
    if (type === 'file') pack.entry({ name: e.name, mode: 0o644 }, Buffer.from(e.body ?? ''));
    else pack.entry({ name: e.name, type, mode: 0o755, linkname: e.linkname });
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const c of Readable.from(pack as AsyncIterable<Buffer>)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function untar(buf: Buffer): Promise<Map<string, Buffer>> {
  const ex = tar.extract();
  const out = new Map<string, Buffer>();
  const done = (async () => {
    for await (const e of ex) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      out.set(e.header.name, Buffer.concat(parts));
    }
  })();
  ex.end(buf);
  await done;
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function layerCount(d: Daemon): Promise<number> {
  return (await readdir(join(d.dataRoot, 'image', 'overlay2', 'layerdb', 'sha256'))).length;
}
async function driverDirs(d: Daemon): Promise<number> {
  return (await readdir(join(d.dataRoot, 'overlay2'))).filter((n) => n !== 'l').length;
}

let archive = '';
let ids: { base: string; child: string } = { base: '', child: '' };

test('save writes the OCI layout and manifest.json with byte-exact layers', async () => {
  const d = env.daemon;
  const tarPath = await busyboxRootfsTar();
  ids.base = await dockerOut(d, ['import', '-c', 'CMD ["sh"]', tarPath, 'busybox:latest']);
  await dockerOk(d, ['run', '--name', 'mk', 'busybox', 'sh', '-c', 'mkdir -p /data && echo payload > /data/p && rm /bin/vi']);
  ids.child = await dockerOut(d, ['commit', '-c', 'ENV A=b', 'mk', 'child:1']);
  await dockerOk(d, ['rm', 'mk']);
  archive = join(d.dir, 'both.tar');
  await dockerOk(d, ['save', '-o', archive, 'busybox', 'child:1']);
  const files = await untar(await readFile(archive));
  assert.equal(files.get('oci-layout')!.toString(), '{"imageLayoutVersion": "1.0.0"}');
  for (const [name, body] of files) {
    if (name.startsWith('blobs/sha256/') && !name.endsWith('/')) assert.equal(sha(body), name.slice(13), `blob ${name} is named by its digest`);
  }
  const manifest = JSON.parse(files.get('manifest.json')!.toString()) as { Config: string; RepoTags: string[]; Layers: string[]; Parent?: string }[];
  const byTag = new Map(manifest.map((m) => [m.RepoTags[0], m]));
  assert.equal(byTag.get('busybox:latest')!.Config, `blobs/sha256/${ids.base.slice(7)}`);
  const childInspect = JSON.parse(await dockerOut(d, ['inspect', 'child:1'])) as { RootFS: { Layers: string[] } }[];
  assert.deepEqual(byTag.get('child:1')!.Layers, childInspect[0]!.RootFS.Layers.map((l) => `blobs/sha256/${l.slice(7)}`));
  assert.equal(byTag.get('child:1')!.Parent, ids.base);
  // The base layer is the imported tarball itself, byte for byte.
  const original = await readFile(tarPath);
  assert.ok(files.get(byTag.get('busybox:latest')!.Layers[0]!)!.equals(original));
  const index = JSON.parse(files.get('index.json')!.toString()) as { manifests: { annotations: Record<string, string> }[] };
  assert.deepEqual(
    index.manifests.map((m) => m.annotations['io.containerd.image.name']).sort(),
    ['docker.io/library/busybox:latest', 'docker.io/library/child:1'],
  );
  assert.deepEqual(JSON.parse(files.get('repositories')!.toString()).busybox, { latest: byTag.get('busybox:latest')!.Layers[0]!.slice(13) });
});

test('load into a fresh daemon gives the same image IDs, and containers run', async () => {
  fresh = await startDaemon();
  const out = await dockerOut(fresh, ['load', '-i', archive]);
  assert.deepEqual(out.split('\n').sort(), ['Loaded image: busybox:latest', 'Loaded image: child:1']);
  assert.equal(await dockerOut(fresh, ['inspect', '-f', '{{.Id}}', 'busybox']), ids.base);
  assert.equal(await dockerOut(fresh, ['inspect', '-f', '{{.Id}} {{.Parent}}', 'child:1']), `${ids.child} ${ids.base}`);
  assert.equal(await dockerOut(fresh, ['run', '--rm', 'child:1', 'sh', '-c', 'cat /data/p; echo $A; test -e /bin/vi || echo novi']), 'payload\nb\nnovi');
  // Saving again from the fresh daemon reproduces the same archive content.
  const again = join(fresh.dir, 'again.tar');
  await dockerOk(fresh, ['save', '-o', again, 'busybox', 'child:1']);
  const a = await untar(await readFile(archive));
  const b = await untar(await readFile(again));
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) assert.ok(v.equals(b.get(k)!), `${k} differs`);
});

test('load: untagged images, gzip archives, the older docker-archive layout, renamed tags', async () => {
  const d = fresh!;
  await dockerOk(d, ['rmi', 'child:1']);
  const idOnly = join(d.dir, 'idonly.tar');
  await dockerOk(env.daemon, ['save', '-o', idOnly, ids.child]);
  assert.equal(await dockerOut(d, ['load', '-i', idOnly]), `Loaded image ID: ${ids.child}`);
  // Legacy layout: <id>.json config and <dir>/layer.tar, gzip'd layer, whole archive gzip'd.
  const layer = await readFile(await busyboxRootfsTar());
  const diffID = `sha256:${sha(layer)}`;
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [diffID] }, history: [{ created_by: 'legacy' }] }));
  const cfgID = sha(config);
  const legacy = await makeTar([
    { name: `${cfgID}.json`, body: config },
    { name: 'abc/', type: 'directory' },
    { name: 'abc/layer.tar', body: gzipSync(layer) },
    { name: 'manifest.json', body: JSON.stringify([{ Config: `${cfgID}.json`, RepoTags: ['legacy:1'], Layers: ['abc/layer.tar'] }]) },
  ]);
  const lp = join(d.dir, 'legacy.tar.gz');
  await writeFile(lp, gzipSync(legacy));
  assert.equal(await dockerOut(d, ['load', '-i', lp]), 'Loaded image: legacy:1');
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', 'legacy:1']), `sha256:${cfgID}`);
  // Loading a tag held by another image moves it, with dockerd's message.
  await dockerOk(d, ['tag', 'busybox', 'legacy:1']);
  const moved = await dockerOut(d, ['load', '-i', lp]);
  assert.equal(moved, `The image legacy:1 already exists, renaming the old one with ID ${ids.base} to empty string\nLoaded image: legacy:1`);
});

test('hostile archives are refused and write nothing outside', async () => {
  const d = env.daemon;
  const before = { layers: await layerCount(d), dirs: await driverDirs(d) };
  const tag = randomBytes(6).toString('hex');
  const outside = [`/tmp/berth-escape-${tag}`, `/tmp/berth-abs-${tag}`, join(d.dataRoot, 'image', 'overlay2', `escape-${tag}`), `/tmp/berth-link-${tag}/x`];
  const cases: { what: string; tar: Buffer; err: RegExp }[] = [
    { what: 'dot-dot', tar: await makeTar([{ name: `../../../../../../../../tmp/berth-escape-${tag}`, body: 'x' }]), err: /outside of the root/ },
    { what: 'dot-dot near', tar: await makeTar([{ name: `../../escape-${tag}`, body: 'x' }]), err: /outside of the root/ },
    { what: 'absolute', tar: await makeTar([{ name: `/tmp/berth-abs-${tag}`, body: 'x' }]), err: /absolute path/ },
    {
      what: 'symlink escape',
      tar: await makeTar([
        { name: 'l', type: 'symlink', linkname: `/tmp/berth-link-${tag}` },
        { name: 'l/x', body: 'x' },
      ]),
      err: /points outside the archive/,
    },
    {
      what: 'relative symlink escape',
      tar: await makeTar([
        { name: 'l', type: 'symlink', linkname: '../../../../../../../tmp' },
        { name: `l/berth-escape-${tag}`, body: 'x' },
      ]),
      err: /points outside the archive/,
    },
    {
      what: 'manifest pointing outside',
      tar: await makeTar([{ name: 'manifest.json', body: JSON.stringify([{ Config: '../../../../../../etc/passwd', RepoTags: [], Layers: [] }]) }]),
      err: /outside of the root/,
    },
    {
      what: 'layer escaping its root',
      tar: await (async () => {
        const evil = await makeTar([{ name: `../../../../../../../tmp/berth-escape-${tag}`, body: 'x' }]);
        const cfg = Buffer.from(JSON.stringify({ os: 'linux', rootfs: { type: 'layers', diff_ids: [`sha256:${sha(evil)}`] } }));
        return makeTar([
          { name: 'c.json', body: cfg },
          { name: 'l.tar', body: evil },
          { name: 'manifest.json', body: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:1'], Layers: ['l.tar'] }]) },
        ]);
      })(),
      err: /outside of the root/,
    },
  ];
  for (const c of cases) {
    const p = join(d.dir, `hostile-${c.what.replace(/ /g, '-')}.tar`);
    await writeFile(p, c.tar);
    await dockerFails(d, ['load', '-i', p], 1, c.err);
  }
  for (const o of outside) await assert.rejects(stat(o), `${o} must not exist`);
  assert.deepEqual({ layers: await layerCount(d), dirs: await driverDirs(d) }, before);
  assert.deepEqual(await readdir(join(d.dataRoot, 'image', 'overlay2', 'tmp')), []);
  await dockerFails(d, ['inspect', 'evil:1'], 1);
});

test('a broken stream leaves no half layer; concurrent loads store shared layers once', async () => {
  const d = fresh!;
  await dockerOk(d, ['rmi', '-f', 'busybox', 'legacy:1', ids.child]);
  for (const img of (await dockerOut(d, ['images', '-aq'])).split('\n').filter(Boolean)) await dockerOk(d, ['rmi', '-f', img]);
  assert.equal(await layerCount(d), 0);
  const full = await readFile(archive);
  const cut = join(d.dir, 'cut.tar');
  // Cut inside the big base layer blob.
  await writeFile(cut, full.subarray(0, Math.floor(full.length * 0.6)));
  await dockerFails(d, ['load', '-i', cut], 1);
  assert.equal(await layerCount(d), 0);
  assert.equal(await driverDirs(d), 0);
  assert.deepEqual(await readdir(join(d.dataRoot, 'image', 'overlay2', 'tmp')), []);

  const loads = await Promise.all([1, 2, 3].map(() => d.docker(['load', '-i', archive])));
  for (const r of loads) assert.equal(r.code, 0, r.stderr);
  assert.equal(await layerCount(d), 2);
  assert.equal(await driverDirs(d), 2);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', 'child:1']), ids.child);
});
