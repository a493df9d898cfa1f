// berthd dying under load: live restore after SIGKILL (running containers kept, exits that
// happened meanwhile recorded with their real status), a crash in the middle of creates
// leaving nothing half-made, one inside a start leaving no task behind, and berthd on an
// already running containerd (--containerd).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, useDaemon, type Daemon, alive } from './harness.js';
import { importBusybox } from './fixtures.js';
import { ContainerdClient } from '../src/libcontainerd/client.js';
import { rejectsApi, removeAll, runDetached, runToExit, waitFor, waitRegistered, within } from './helpers.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

test('SIGKILLed berthd restores running containers and records exits that happened while it was down', async () => {
  const c = env.client;
  const ticker = await runDetached(c, { Cmd: ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.1; done'] }, 'ticker');
  // Exits once /tmp/go appears in its root, which the test creates while berthd is down. (Its
  // output comes first: what a container writes while berthd is down and then exits is not
  // drained from its FIFO on restore today.)
  const dier = await runDetached(c, { Cmd: ['sh', '-c', 'echo bye; while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 42'] }, 'dier');
  const tickerPid = (await c.containerInspect(ticker)).State.Pid;
  const dierPid = (await c.containerInspect(dier)).State.Pid;
  await waitFor('ticks', async () => (await c.containerLogs(ticker)).stdout.toString().includes('tick-2'));
  await waitFor('the dier output', async () => (await c.containerLogs(dier)).stdout.toString() === 'bye\n');

  await env.daemon.stop({ kill: true });
  await writeFile(`/proc/${dierPid}/root/tmp/go`, '');
  await waitFor('the dier to exit while berthd is down', () => !alive(dierPid));
  await env.daemon.restart();

  const client = env.daemon.client;
  const t = await client.containerInspect(ticker);
  assert.equal(t.State.Running, true, 'the ticker survived the crash');
  assert.equal(t.State.Status, 'running');
  assert.equal(t.State.Pid, tickerPid);
  assert.ok(alive(tickerPid));

  const d = await waitFor('the dier to be seen exited', async () => {
    const x = await client.containerInspect(dier);
    return x.State.Running ? undefined : x;
  });
  assert.equal(d.State.Status, 'exited');
  assert.equal(d.State.ExitCode, 42, 'the real exit status');
  assert.notEqual(d.State.FinishedAt, '0001-01-01T00:00:00Z');
  assert.equal((await client.containerLogs(dier)).stdout.toString(), 'bye\n');

  // The ticker's output keeps reaching the log after the restore.
  const n1 = (await client.containerLogs(ticker)).stdout.toString().split('\n').length;
  await waitFor('more ticks after the restore', async () => (await client.containerLogs(ticker)).stdout.toString().split('\n').length > n1 + 3, 5000);
  // No tick was lost or doubled across the crash.
  const ticks = (await client.containerLogs(ticker)).stdout.toString().trimEnd().split('\n');
  ticks.forEach((l, i) => assert.equal(l, `tick-${i}`));

  // Its life cycle still works: wait, stop, exit code; and exec into it.
  const ex = await client.execCreate(ticker, { Cmd: ['echo', 'exec-after-restore'], AttachStdout: true });
  const h = await client.execStartAttached(ex.Id);
  assert.equal((await within(5000, h.collect())).stdout.toString(), 'exec-after-restore\n');
  const waited = client.containerWait(ticker, 'not-running');
  await client.containerStop(ticker, { t: 1 });
  assert.equal((await within(10_000, waited)).StatusCode, 137);
  await waitFor('the ticker process gone', () => !alive(tickerPid), 5000);

  // Names survived too.
  assert.equal((await client.containerInspect('ticker')).Id, ticker);
  await client.containerRemove(ticker);
  await client.containerRemove(dier);
});

test('a container stopped (exited) before a graceful restart stays exited; created ones stay created', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'exit 7'] });
  const { Id: created } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], Labels: { keep: 'me' } }, { name: 'just-created' });
  await env.daemon.restart();
  const client = env.daemon.client;
  const x = await client.containerInspect(r.id);
  assert.equal(x.State.Status, 'exited');
  assert.equal(x.State.ExitCode, 7);
  const y = await client.containerInspect('just-created');
  assert.equal(y.Id, created);
  assert.equal(y.State.Status, 'created');
  assert.deepEqual(y.Config.Labels, { keep: 'me' });
  // It still runs.
  const { exited } = await waitRegistered(client, created);
  await client.containerStart(created);
  assert.equal((await within(10_000, exited)).StatusCode, 0);
  await removeAll(client, [r.id, created]);
});

test('berthd killed in the middle of creates leaves no half-made containers', async (t) => {
  let client = env.daemon.client;
  const before = new Set((await client.containerList({ all: true })).map((c) => c.Id));
  const names = Array.from({ length: 24 }, (_, i) => `mid-${i}`);
  const creates = names.map((name) =>
    client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] }, { name }).then(
      (r) => r.Id,
      () => undefined,
    ),
  );
  // Kill as soon as the first create is answered: the others are somewhere in the middle.
  await within(20_000, Promise.any(creates.map((p) => p.then((id) => id ?? Promise.reject(new Error('failed'))))), 'a first create');
  await env.daemon.restart({ kill: true });
  const answered = (await Promise.all(creates)).filter((x): x is string => x !== undefined);
  client = env.daemon.client;

  const list = (await client.containerList({ all: true })).filter((c) => !before.has(c.Id));
  t.diagnostic(`${answered.length} creates answered, ${list.length} containers listed after the crash`);
  // Every create that answered is there (its answer came after the commit point).
  const listed = new Set(list.map((c) => c.Id));
  for (const id of answered) assert.ok(listed.has(id), `created ${id} was answered, so it must exist`);
  // Everything listed is whole: inspects, starts, and is removable.
  for (const s of list) {
    const c = await client.containerInspect(s.Id);
    assert.equal(c.State.Status, 'created');
    assert.ok(names.includes(c.Name.slice(1)), c.Name);
  }
  if (list[0]) {
    await client.containerStart(list[0].Id);
    assert.equal((await client.containerInspect(list[0].Id)).State.Running, true);
  }
  // On disk: exactly the listed containers.
  const dirs = new Set(await readdir(join(env.daemon.dataRoot, 'containers')));
  for (const id of before) dirs.delete(id);
  assert.deepEqual([...dirs].sort(), [...listed].sort(), 'no leftover container directories');

  await removeAll(client, listed);
  assert.deepEqual((await client.containerList({ all: true })).filter((c) => !before.has(c.Id)), []);
  // Every name is free again, including those of creates that never finished.
  for (const name of names) {
    const r = await client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name });
    await client.containerRemove(r.Id);
  }
});

test('berthd killed inside a start, after the task started but before recording it: the task is discarded', async () => {
  let client = env.daemon.client;
  const id = (await client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] }, { name: 'half-started' })).Id;
  // The record as a start finds it; putting it back while berthd is down makes the disk say what
  // it said when a SIGKILL lands between containerd's task start and start's own save.
  const recordPath = join(env.daemon.dataRoot, 'containers', id, 'config.v2.json');
  const unstarted = await readFile(recordPath);
  await client.containerStart(id);
  const pid = (await client.containerInspect(id)).State.Pid;

  await env.daemon.stop({ kill: true });
  await writeFile(recordPath, unstarted);
  await env.daemon.restart();
  client = env.daemon.client;

  // Restore reconciles in the background under the container's lock: inspect waits for it.
  const c = await client.containerInspect(id);
  assert.equal(c.State.Status, 'created', 'nobody was told it started');
  assert.equal(alive(pid), false, 'its process was killed');
  const ctd = await ContainerdClient.connect(join(env.daemon.execRoot, 'containerd', 'containerd.sock'), 'berth');
  try {
    assert.equal(await ctd.getTask(id), undefined, 'no task left in containerd');
  } finally {
    ctd.close();
  }
  // It is whole: it starts again, and goes.
  await client.containerStart(id);
  assert.equal((await client.containerInspect(id)).State.Running, true);
  await removeAll(client, [id]);
});

test('berthd with --containerd uses an existing containerd and leaves it running', async () => {
  // The harness daemon's own containerd is the existing one: a second berthd on its own
  // directories connects to it. (Both use the "berth" namespace, so the harness daemon must
  // not be restarted while the second one has containers.)
  const sock = join(env.daemon.execRoot, 'containerd', 'containerd.sock');
  let second: Daemon | undefined;
  try {
    second = await startDaemon({ args: ['--containerd', sock] });
    await importBusybox(second);
    const v = await second.client.version();
    const first = await env.client.version();
    const comp = (x: typeof v) => (x['Components'] as { Name: string; Version: string }[]).find((c) => c.Name === 'containerd')?.Version;
    assert.equal(comp(v), comp(first));

    const r = await runToExit(second.client, { Cmd: ['sh', '-c', 'echo on-shared-containerd; exit 5'] });
    assert.equal(r.exitCode, 5);
    assert.equal(r.stdout.toString(), 'on-shared-containerd\n');
    await second.client.containerRemove(r.id);
    const running = await runDetached(second.client);
    assert.equal((await second.client.containerInspect(running)).State.Running, true);
    // The first daemon does not list the second's containers.
    assert.ok(!(await env.client.containerList({ all: true })).some((c) => c.Id === running));
    await second.client.containerRemove(running, { force: true });
    await rejectsApi(second.client.containerInspect(running), 404);

    await second.stop();
    // containerd is not the second berthd's to stop.
    assert.equal((await env.client.ping()).body, 'OK');
    const again = await runToExit(env.client, { Cmd: ['echo', 'still-fine'] });
    assert.equal(again.stdout.toString(), 'still-fine\n');
    await env.client.containerRemove(again.id);
  } finally {
    await second?.cleanup();
  }
});
