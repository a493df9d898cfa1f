// Round trip with a real dockerd (Debian's docker.io, 20.10: the legacy docker-archive format):
// docker save from dockerd → docker load into berthd, and back, keep image IDs. Skipped when
// /usr/sbin/dockerd is not installed. dockerd runs on its own directories and socket, and is
// stopped and removed (with everything it mounted) even when a test fails.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { haveDockerd, startDockerd, type Dockerd } from '../integration/dockerd.js';
import { dockerOk, dockerOut, show } from './helpers.js';

const env = useDaemon();
let dockerd: Dockerd | undefined;

async function dkOut(args: string[]): Promise<string> {
  const r = await dockerd!.docker(args);
  assert.equal(r.code, 0, show(args, r));
  return r.stdout.trim();
}

before(async () => {
  if (haveDockerd) dockerd = await startDockerd('berth-dockerd');
});

after(() => dockerd?.stop());

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
