// Images: import with changes and a message, list, inspect (content-addressed ID, layers,
// tags), tag, remove (untag vs delete, conflicts with containers).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useDaemon } from './harness.js';
import { busyboxRootfsTar, importBusybox } from './fixtures.js';
import { raw, rejectsApi, removeAll, runDetached, runToExit } from './helpers.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

test('import with changes and a message; inspect shows them', async () => {
  const before = Date.now();
  const msgs = await env.client.imageImport(createReadStream(await busyboxRootfsTar()), {
    repo: 'imported',
    tag: 'v1',
    message: 'hello import',
    changes: [
      'CMD ["echo", "from", "cmd"]',
      'ENV A=1 B="two words"',
      'WORKDIR /srv',
      'LABEL maintainer=me "with space"="yes"',
      'EXPOSE 8080 53/udp',
      'USER 1000',
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'STOPSIGNAL SIGUSR1',
    ],
  });
  const id = msgs[msgs.length - 1]!.status!.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);

  const img = await env.client.imageInspect('imported:v1');
  assert.equal(img.Id, id);
  assert.deepEqual(img.RepoTags, ['imported:v1']);
  assert.deepEqual(img.RepoDigests, []);
  assert.equal(img.Os, 'linux');
  assert.ok(['amd64', 'arm64'].includes(img.Architecture));
  assert.equal(img['Comment'], 'hello import');
  assert.ok(img.Created && Math.abs(Date.parse(img.Created) - before) < 60_000);
  const cfg = img.Config;
  assert.ok(cfg);
  assert.deepEqual(cfg.Cmd, ['echo', 'from', 'cmd']);
  assert.deepEqual(cfg.Entrypoint, ['/bin/sh', '-c']);
  assert.deepEqual(cfg.Env, ['A=1', 'B=two words']);
  assert.equal(cfg.WorkingDir, '/srv');
  assert.deepEqual(cfg.Labels, { maintainer: 'me', 'with space': 'yes' });
  assert.deepEqual(cfg.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  assert.equal(cfg.User, '1000');
  assert.equal(cfg.StopSignal, 'SIGUSR1');

  // RootFS: one layer whose diffID is the digest of the tarball as sent.
  assert.equal(img.RootFS.Type, 'layers');
  assert.deepEqual(img.RootFS.Layers, [await sha256File(await busyboxRootfsTar())]);
  assert.ok(img.Size > 100_000);
  const gd = img['GraphDriver'] as { Name: string };
  assert.equal(gd.Name, 'overlay2');

  // The ID is the digest of the image config as stored.
  const stored = await readFile(join(env.daemon.dataRoot, 'image', 'overlay2', 'imagedb', 'content', 'sha256', id.slice(7)));
  assert.equal(`sha256:${createHash('sha256').update(stored).digest('hex')}`, id);
  const parsed = JSON.parse(stored.toString()) as { comment?: string; history?: { comment?: string }[]; rootfs: { diff_ids: string[] } };
  assert.equal(parsed.comment, 'hello import');
  assert.equal(parsed.history?.[0]?.comment, 'hello import');
  assert.deepEqual(parsed.rootfs.diff_ids, img.RootFS.Layers);

  // Inspect by ID, by short ID and by the ID without its algorithm.
  assert.equal((await env.client.imageInspect(id)).Id, id);
  assert.equal((await env.client.imageInspect(id.slice(7, 19))).Id, id);
  assert.equal((await env.client.imageInspect(id.slice(7))).Id, id);

  // The changes are in effect in a container.
  const r = await runToExit(env.client, { Image: 'imported:v1', Cmd: ['echo "$A|$B|$(pwd)|$(id -u)"'] });
  assert.equal(r.stdout.toString(), '1|two words|/srv|1000\n');
  await env.client.containerRemove(r.id);
  await env.client.imageRemove('imported:v1');
});

test('import without a message is commented "Imported from -"; an invalid change is 400', async () => {
  const a = await importBusybox(env.daemon, 'same:a', { changes: ['CMD ["sh"]'] });
  const img = await env.client.imageInspect('same:a');
  assert.equal(img['Comment'], 'Imported from -');
  // Import an invalid change: 400.
  await rejectsApi(
    env.client.imageImport(createReadStream(await busyboxRootfsTar()), { repo: 'bad', changes: ['FROB x'] }),
    400,
    /FROB/i,
  );
  await env.client.imageRemove(a);
});

test('list shows the images with dockerd fields; filters', async () => {
  await env.client.imageTag('busybox', 'listed', 'one');
  await env.client.imageTag('busybox', 'listed', 'two');
  try {
    const list = await env.client.imageList();
    const bb = await env.client.imageInspect('busybox');
    const entry = list.find((i) => i.Id === bb.Id);
    assert.ok(entry, 'busybox listed');
    for (const k of ['Id', 'ParentId', 'RepoTags', 'RepoDigests', 'Created', 'Size', 'SharedSize', 'Labels', 'Containers']) {
      assert.ok(k in entry, `summary has ${k}`);
    }
    assert.deepEqual([...(entry.RepoTags ?? [])].sort(), ['busybox:latest', 'listed:one', 'listed:two']);
    assert.equal(entry.ParentId, '');
    assert.equal(typeof entry.Created, 'number');
    assert.equal(entry.Size, bb.Size);
    assert.ok(!('VirtualSize' in entry), 'VirtualSize left the API in 1.44');
    const old = await raw(env.daemon.socket, 'GET', '/v1.43/images/json');
    assert.equal((old.json as { VirtualSize?: number }[])[0]?.VirtualSize, bb.Size);

    const byRef = await env.client.imageList({ filters: { reference: ['listed'] } });
    assert.deepEqual(
      byRef.map((i) => i.Id),
      [bb.Id],
    );
    const none = await env.client.imageList({ filters: { reference: ['nosuch*'] } });
    assert.deepEqual(none, []);
    await rejectsApi(env.client.imageList({ filters: { nosuch: ['x'] } }), 400, "invalid filter 'nosuch'");
  } finally {
    await env.client.imageRemove('listed:one');
    await env.client.imageRemove('listed:two');
  }
});

test('inspect of a committed image carries Container and ContainerConfig for API versions before 1.45', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'echo made > /made'], Labels: { from: 'commit' } });
  const commit = await raw(env.daemon.socket, 'POST', `/v1.47/commit?container=${r.id}&repo=committed&tag=v1`, { body: '{}' });
  assert.equal(commit.status, 201, commit.text);
  const id = (commit.json as { Id: string }).Id;
  try {
    type Inspect = { Container?: string; ContainerConfig?: { Cmd: string[]; Labels: Record<string, string>; Image: string }; DockerVersion: string };
    const old = (await raw(env.daemon.socket, 'GET', `/v1.44/images/${id}/json`)).json as Inspect;
    assert.equal(old.Container, r.id);
    assert.deepEqual(old.ContainerConfig?.Cmd, ['sh', '-c', 'echo made > /made']);
    assert.deepEqual(old.ContainerConfig?.Labels, { from: 'commit' });
    // In Go's struct order: after Created, before DockerVersion.
    const keys = Object.keys(old);
    assert.ok(keys.indexOf('ContainerConfig') === keys.indexOf('DockerVersion') - 1, keys.join(','));
    // An imported image has no container: only the zero config.
    const imported = (await raw(env.daemon.socket, 'GET', '/v1.44/images/busybox/json')).json as Inspect;
    assert.equal(imported.Container, undefined);
    assert.equal(imported.ContainerConfig?.Image, '');
    const current = (await raw(env.daemon.socket, 'GET', `/v1.45/images/${id}/json`)).json as Inspect;
    assert.ok(!('Container' in current) && !('ContainerConfig' in current));
  } finally {
    await env.client.imageRemove(id, { force: true });
    await env.client.containerRemove(r.id);
  }
});

test('tag: 201, normalised names, errors', async () => {
  const res = await raw(env.daemon.socket, 'POST', '/v1.47/images/busybox/tag?repo=tagged&tag=t1');
  assert.equal(res.status, 201);
  await env.client.imageTag('busybox:latest', 'docker.io/library/tagged', 't2');
  await env.client.imageTag('busybox', 'localhost:5000/ns/tagged');
  const img = await env.client.imageInspect('tagged:t1');
  assert.deepEqual([...img.RepoTags].sort(), ['busybox:latest', 'localhost:5000/ns/tagged:latest', 'tagged:t1', 'tagged:t2']);
  await rejectsApi(env.client.imageTag('nosuch', 'x', 'y'), 404, 'No such image: nosuch:latest');
  await rejectsApi(env.client.imageTag('busybox', 'UPPER', 'x'), 400);
  await rejectsApi(env.client.imageTag('busybox', 'ok', 'bad tag'), 400);
  for (const t of ['tagged:t1', 'tagged:t2', 'localhost:5000/ns/tagged:latest']) {
    assert.deepEqual(await env.client.imageRemove(t), [{ Untagged: t }]);
  }
});

test('remove: untag while other tags remain, delete with the last; by ID', async () => {
  const id = await importBusybox(env.daemon, 'rmme:a', { changes: ['CMD ["true"]'] });
  await env.client.imageTag('rmme:a', 'rmme', 'b');
  assert.deepEqual(await env.client.imageRemove('rmme:a'), [{ Untagged: 'rmme:a' }]);
  assert.equal((await env.client.imageInspect(id)).Id, id);
  const res = await env.client.imageRemove('rmme:b');
  assert.deepEqual(res[0], { Untagged: 'rmme:b' });
  assert.ok(res.some((r) => r.Deleted === id), JSON.stringify(res));
  await rejectsApi(env.client.imageInspect(id), 404, `No such image: ${id}`);

  // By ID with a single tag: untagged and deleted.
  const id2 = await importBusybox(env.daemon, 'rmme:c', { changes: ['CMD ["false"]'] });
  const res2 = await env.client.imageRemove(id2);
  assert.deepEqual(res2[0], { Untagged: 'rmme:c' });
  assert.ok(res2.some((r) => r.Deleted === id2));
  // By ID with tags in two repositories: 409 unless forced.
  const id3 = await importBusybox(env.daemon, 'rmme:d', { changes: ['CMD ["echo"]'] });
  await env.client.imageTag(id3, 'rmme-other', 'd');
  await rejectsApi(
    env.client.imageRemove(id3),
    409,
    `conflict: unable to delete ${id3.slice(7, 19)} (must be forced) - image is referenced in multiple repositories`,
  );
  const res3 = await env.client.imageRemove(id3, { force: true });
  assert.deepEqual(
    res3.filter((r) => r.Untagged).map((r) => r.Untagged).sort(),
    ['rmme-other:d', 'rmme:d'],
  );
  assert.ok(res3.some((r) => r.Deleted === id3));
});

test('remove: 409 while a container uses the image', async () => {
  const id = await importBusybox(env.daemon, 'inuse:latest', { changes: ['CMD ["sleep", "300"]'] });
  const ids: string[] = [];
  try {
    const running = await runDetached(env.client, { Image: 'inuse' });
    ids.push(running);
    await rejectsApi(
      env.client.imageRemove('inuse'),
      409,
      `conflict: unable to remove repository reference "inuse" (must force) - container ${running.slice(0, 12)} is using its referenced image ${id.slice(7, 19)}`,
    );
    await rejectsApi(
      env.client.imageRemove(id),
      409,
      `conflict: unable to delete ${id.slice(7, 19)} (cannot be forced) - image is being used by running container ${running.slice(0, 12)}`,
    );
    await rejectsApi(env.client.imageRemove(id, { force: true }), 409, /cannot be forced/);
    await env.client.containerStop(running, { t: 0 });
    await rejectsApi(
      env.client.imageRemove(id),
      409,
      `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by stopped container ${running.slice(0, 12)}`,
    );
    // Containers count in the list.
    const entry = (await env.client.imageList()).find((i) => i.Id === id);
    assert.ok(entry);
    assert.equal(await env.client.imageInspect('inuse').then((i) => i.Id), id);
    // With force, a stopped container is only a soft conflict: the image goes, the container stays.
    assert.deepEqual(await env.client.imageRemove('inuse', { force: true }), [{ Untagged: 'inuse:latest' }, { Deleted: id }]);
    assert.equal((await env.client.containerInspect(running)).Image, id);
    await rejectsApi(env.client.imageInspect(id), 404);
  } finally {
    await removeAll(env.client, ids);
  }
});

test('remove: forcing the tag of an image a running container uses untags it and keeps the image', async () => {
  const id = await importBusybox(env.daemon, 'inuse2:latest', { changes: ['CMD ["sleep", "300"]'] });
  const running = await runDetached(env.client, { Image: 'inuse2' });
  try {
    assert.deepEqual(await env.client.imageRemove('inuse2', { force: true }), [{ Untagged: 'inuse2:latest' }]);
    assert.equal((await env.client.imageInspect(id)).Id, id);
    assert.deepEqual((await env.client.imageInspect(id)).RepoTags, []);
  } finally {
    await removeAll(env.client, [running]);
  }
  const res = await env.client.imageRemove(id);
  assert.deepEqual(res, [{ Deleted: id }]);
});
