// Image store through the real docker CLI: import, tag, rmi edge cases, images filters,
// history, prune, system df.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut, waitUntil } from './helpers.js';

const env = useDaemon();

async function importAs(name: string, changes: string[] = ['CMD ["sh"]']): Promise<string> {
  const tarPath = await busyboxRootfsTar();
  const args = ['import'];
  for (const c of changes) args.push('-c', c);
  args.push(tarPath, name);
  return dockerOut(env.daemon, args);
}

test('import, tag, and rmi: untag versus delete, conflicts, dockerd messages', async () => {
  const d = env.daemon;
  const id = await importAs('busybox:latest');
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  await dockerOk(d, ['tag', 'busybox', 'other:1']);
  // Two tags: removing one only untags.
  assert.equal(await dockerOut(d, ['rmi', 'other:1']), 'Untagged: other:1');
  assert.equal(await dockerOut(d, ['images', '-q', '--no-trunc', 'busybox']), id);

  // By ID while tagged in several repositories: must force.
  await dockerOk(d, ['tag', 'busybox', 'other:2']);
  await dockerFails(d, ['rmi', id.slice(7, 19)], 1, `unable to delete ${id.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`);

  // Used by a stopped container.
  await dockerOk(d, ['create', '--name', 'user1', 'busybox', 'true']);
  await dockerOk(d, ['rmi', 'other:2']);
  const cid = (await dockerOut(d, ['inspect', '-f', '{{.Id}}', 'user1'])).slice(0, 12);
  await dockerFails(d, ['rmi', 'busybox'], 1, `conflict: unable to remove repository reference "busybox" (must force) - container ${cid} is using its referenced image ${id.slice(7, 19)}`);
  // Forcing deletes it all the same: a stopped container is only a soft conflict.
  const forced = await dockerOut(d, ['rmi', '-f', 'busybox']);
  assert.equal(forced, `Untagged: busybox:latest\nDeleted: ${id}`);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Image}}', 'user1']), id);
  await dockerOk(d, ['rm', 'user1']);
  // By ID, with one tag: untagged, deleted, and its layer with it.
  const id2 = await importAs('busybox:latest');
  const del = await dockerOut(d, ['rmi', id2.slice(7)]);
  assert.match(del, new RegExp(`^Untagged: busybox:latest\nDeleted: ${id2}\nDeleted: sha256:[0-9a-f]{64}$`));
  await dockerFails(d, ['rmi', 'nosuch:tag'], 1, 'No such image: nosuch:tag');
});

test('images filters: dangling, reference, before, since, label, and --digests', async () => {
  const d = env.daemon;
  // The list is ordered by creation time in whole seconds (the API's Created): let the clock
  // reach the second after each image's (plus the 2 ms the daemon's clock may lag) before the
  // next import.
  const pastCreation = async (id: string): Promise<void> => {
    const created = Date.parse(await dockerOut(d, ['inspect', '-f', '{{.Created}}', id]));
    const nextSecond = (Math.floor(created / 1000) + 1) * 1000;
    await waitUntil('the clock to reach the next second', async () => Date.now() > nextSecond + 2, 5000, 5);
  };
  const a = await importAs('fa:1', ['LABEL tier=one']);
  await pastCreation(a);
  const b = await importAs('fb:1', ['LABEL tier=two']);
  await pastCreation(b);
  const c = await importAs('fc:1');
  const q = async (...args: string[]): Promise<string[]> =>
    (await dockerOut(d, ['images', '-q', '--no-trunc', ...args])).split('\n').filter(Boolean);
  assert.deepEqual(await q('--filter', 'reference=fb'), [b]);
  assert.deepEqual(await q('--filter', 'reference=f?:*'), [c, b, a]);
  assert.deepEqual(await q('--filter', 'label=tier=one'), [a]);
  assert.deepEqual(await q('--filter', 'label=tier', '--filter', 'reference=f*'), [b, a]);
  assert.deepEqual(await q('--filter', 'before=fc:1', '--filter', 'reference=f*'), [b, a]);
  assert.deepEqual(await q('--filter', 'since=fa:1', '--filter', 'reference=f*'), [c, b]);
  // Retagging fc onto another image leaves the old one dangling.
  await dockerOk(d, ['tag', 'fa:1', 'fc:1']);
  assert.deepEqual(await q('--filter', 'dangling=true'), [c]);
  const table = await dockerOut(d, ['images', '--digests', '--filter', 'dangling=true']);
  assert.match(table.split('\n')[0]!, /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(table.split('\n')[1]!, /^<none>\s+<none>\s+<none>\s+[0-9a-f]{12}/);
  await dockerFails(d, ['images', '--filter', 'bogus=1'], 1, "invalid filter 'bogus'");
  // prune removes only the dangling one by default
  const out = await dockerOut(d, ['image', 'prune', '-f']);
  // Its layer is shared with the others: nothing reclaimed.
  assert.equal(out, `Deleted Images:\ndeleted: ${c}\n\nTotal reclaimed space: 0B`);
  assert.deepEqual(await q('--filter', 'dangling=true'), []);
  // label filters on prune -a
  assert.match(await dockerOut(d, ['image', 'prune', '-a', '-f', '--filter', 'label=tier=two']), /untagged: fb:1/);
  assert.deepEqual(await q('--filter', 'reference=fb'), []);
  assert.equal(await dockerOut(d, ['image', 'prune', '-f']), 'Total reclaimed space: 0B');
  // prune -a spares images that containers use
  await dockerOk(d, ['create', '--name', 'keeper', 'fa:1', 'true']);
  await dockerOk(d, ['image', 'prune', '-a', '-f']);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', a]), a);
  await dockerOk(d, ['rm', 'keeper']);
  await dockerOk(d, ['rmi', a]);
});

test('history shows layers, <missing> for unknown parents, tags, comments', async () => {
  const d = env.daemon;
  const base = await importAs('hbase:1');
  await dockerOk(d, ['run', '--name', 'h1', 'hbase:1', 'sh', '-c', 'echo abc > /f']);
  const child = await dockerOut(d, ['commit', '-m', 'first', 'h1', 'hchild:1']);
  const lines = (await dockerOut(d, ['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}|{{.Comment}}', 'hchild:1'])).split('\n');
  assert.deepEqual(lines, [`${child}|sh -c echo abc > /f|4B|first`, `${base}||1.98MB|Imported from -`]);
  const hist = await env.client.json<{ Id: string; Tags: string[] | null }[]>('GET', '/images/hchild:1/history');
  assert.deepEqual(hist[0]!.Tags, ['hchild:1']);
  assert.deepEqual(hist[1]!.Tags, ['hbase:1']);
  await dockerOk(d, ['rm', 'h1']);
  // A parent with a child is only untagged; deleting the child then prunes it.
  assert.equal(await dockerOut(d, ['rmi', 'hbase:1']), 'Untagged: hbase:1');
  const archive = `${d.dir}/hchild.tar`;
  await dockerOk(d, ['save', '-o', archive, 'hchild:1']);
  const del = await dockerOut(d, ['rmi', 'hchild:1']);
  assert.match(del, new RegExp(`Deleted: ${base}`));
  await dockerFails(d, ['history', 'hchild:1'], 1, 'No such image: hchild:1');
  // Loaded without its parent, the older entries show <missing>.
  assert.equal(await dockerOut(d, ['load', '-i', archive]), 'Loaded image: hchild:1');
  const again = (await dockerOut(d, ['history', '--format', '{{.ID}} {{.Comment}}', 'hchild:1'])).split('\n');
  assert.deepEqual(again, [`${child.slice(7, 19)} first`, '<missing> Imported from -']);
  await dockerOk(d, ['rmi', 'hchild:1']);
});

test('system df lists images, containers, empty volumes and build cache', async () => {
  const d = env.daemon;
  await importAs('dfimg:1');
  await dockerOk(d, ['create', '--name', 'dfc', 'dfimg:1', 'true']);
  const out = await dockerOut(d, ['system', 'df']);
  assert.match(out, /^Images\s+1\s+1\s+1\.982MB\s+0B \(0%\)$/m);
  assert.match(out, /^Containers\s+1\s+0\s+0B\s+0B$/m);
  assert.match(out, /^Local Volumes\s+0\s+0\s+0B\s+0B$/m);
  const v = await dockerOut(d, ['system', 'df', '-v']);
  assert.match(v, /dfimg\s+1\s+[0-9a-f]{12}\s+.*\s+1\.98MB\s+0B\s+1\.982MB\s+1/);
  const raw = await env.client.json<Record<string, unknown>>('GET', '/system/df');
  assert.deepEqual(raw.Volumes, []);
  assert.deepEqual(raw.BuildCache, []);
  assert.equal(typeof raw.LayersSize, 'number');
  await dockerOk(d, ['rm', 'dfc']);
  await dockerOk(d, ['rmi', 'dfimg:1']);
});
