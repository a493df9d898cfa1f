// docker commit, export and diff through the real CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar-stream';
import { useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { msAfter, subscribeEvents } from '../integration/helpers.js';
import { dockerFails, dockerOk, dockerOut, waitUntil } from './helpers.js';

const env = useDaemon();

async function names(file: string): Promise<Map<string, { type: string; body: string }>> {
  const ex = tar.extract();
  const out = new Map<string, { type: string; body: string }>();
  const done = (async () => {
    for await (const e of ex) {
      const parts: Buffer[] = [];
      for await (const c of e) parts.push(c as Buffer);
      out.set(e.header.name.replace(/\/$/, ''), { type: e.header.type ?? 'file', body: Buffer.concat(parts).toString() });
    }
  })();
  ex.end(await readFile(file));
  await done;
  return out;
}

test('commit: new layer, parent, config changes, author, comment, history, event', async () => {
  const d = env.daemon;
  const base = await dockerOut(d, ['import', '-c', 'CMD ["sh"]', '-c', 'ENV KEEP=1', await busyboxRootfsTar(), 'busybox:latest']);
  await dockerOk(d, ['run', '--name', 'c1', 'busybox', 'sh', '-c', 'echo hi > /hello && rm /bin/vi']);
  assert.deepEqual((await dockerOut(d, ['diff', 'c1'])).split('\n'), ['C /bin', 'D /bin/vi', 'A /hello']);
  const commits = await subscribeEvents(env.client, { event: ['commit'] });
  const id = await dockerOut(d, ['commit', '-a', 'Ann <a@b>', '-m', 'two files', '-c', 'ENV FOO=bar', '-c', 'CMD ["cat","/hello"]', '-c', 'LABEL x=y', 'c1', 'committed:v1']);
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  const [img] = JSON.parse(await dockerOut(d, ['inspect', 'committed:v1'])) as Record<string, any>[];
  assert.equal(img!.Parent, base);
  assert.equal(img!.Author, 'Ann <a@b>');
  assert.deepEqual(img!.Config.Cmd, ['cat', '/hello']);
  assert.deepEqual(img!.Config.Env, ['KEEP=1', 'FOO=bar']);
  assert.deepEqual(img!.Config.Labels, { x: 'y' });
  assert.equal(img!.RootFS.Layers.length, 2);
  assert.equal(await dockerOut(d, ['run', '--rm', 'committed:v1']), 'hi');
  const hist = (await dockerOut(d, ['history', '--format', '{{.CreatedBy}}|{{.Comment}}|{{.Size}}', 'committed:v1'])).split('\n');
  assert.equal(hist[0], 'sh -c echo hi > /hello && rm /bin/vi|two files|3B');
  // Replayed up to the commit event's own time.
  const commit = await commits.next('the commit event', () => true);
  commits.close();
  const until = (msAfter(commit).getTime() / 1000).toFixed(3);
  const ev = await dockerOut(d, ['events', '--since', '0', '--until', until, '--filter', 'event=commit', '--format', '{{.Actor.Attributes.imageRef}}']);
  assert.match(ev, /committed:v1/);

  // Unchanged container: an empty layer, recorded as such in history.
  await dockerOk(d, ['create', '--name', 'c2', 'busybox', 'true']);
  const same = await dockerOut(d, ['commit', 'c2']);
  const [s] = JSON.parse(await dockerOut(d, ['inspect', same])) as Record<string, any>[];
  assert.equal(s!.RootFS.Layers.length, 1);
  assert.equal(await dockerOut(d, ['history', '-q', same]).then((o) => o.split('\n').length), 2);
  await dockerFails(d, ['commit', 'nosuch'], 1, 'No such container: nosuch');
  await dockerFails(d, ['commit', 'c2', 'UPPER:x'], 1, 'must be lowercase');
  await dockerOk(d, ['rm', 'c1', 'c2']);
});

test('commit of a running container pauses it and leaves it running', async () => {
  const d = env.daemon;
  await dockerOk(d, ['run', '-d', '--name', 'live', 'busybox', 'sh', '-c', 'echo up > /state; sleep 300']);
  await waitUntil('file written', async () => (await d.docker(['diff', 'live'])).stdout.includes('/state'));
  const id = await dockerOut(d, ['commit', 'live', 'live:snap']);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.State.Status}}', 'live']), 'running');
  assert.equal(await dockerOut(d, ['run', '--rm', id, 'cat', '/state']), 'up');
  // export of the running container reads its live rootfs
  const file = join(d.dir, 'live.tar');
  await dockerOk(d, ['export', '-o', file, 'live']);
  const files = await names(file);
  assert.equal(files.get('state')?.body, 'up\n');
  await dockerOk(d, ['rm', '-f', 'live']);
});

test('export of a stopped container is its merged filesystem', async () => {
  const d = env.daemon;
  await dockerOk(d, ['run', '--name', 'ex', 'busybox', 'sh', '-c', 'mkdir /new && echo v > /new/f && rm /bin/vi']);
  const file = join(d.dir, 'ex.tar');
  await dockerOk(d, ['export', '-o', file, 'ex']);
  const files = await names(file);
  assert.equal(files.get('new/f')?.body, 'v\n');
  assert.equal(files.get('bin/busybox')?.type, 'file');
  assert.equal(files.get('bin/sh')?.type, 'symlink');
  assert.equal(files.has('bin/vi'), false);
  assert.equal([...files.keys()].some((n) => n.includes('.wh.')), false);
  // nothing stays mounted afterwards
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  assert.equal(mounts.includes(d.dataRoot), false);
  // the export imports back as an image
  const id = await dockerOut(d, ['import', file, 'reimported:1']);
  assert.equal(await dockerOut(d, ['run', '--rm', id, 'cat', '/new/f']), 'v');
  await dockerOk(d, ['rm', 'ex']);
  await dockerFails(d, ['export', 'nosuch'], 1, 'No such container: nosuch');
});
