// Issue 13 §1: the managed containerd, or a single shim, killed while containers run. berthd
// notices, brings containerd back, and reports each container's true state; restart policies
// apply to containers whose shim died.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useDaemon, alive } from './harness.js';
import { importBusybox } from './fixtures.js';
import { removeAll, runDetached, waitFor, within } from './helpers.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

async function parentPid(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function containerdPid(): Promise<number> {
  return Number((await readFile(join(env.daemon.execRoot, 'containerd', 'containerd.pid'), 'utf8')).trim());
}

test('containerd killed while containers run: it comes back, running ones stay running, exits are recorded', async () => {
  const c = env.client;
  const runner = await runDetached(c, {}, 'survivor');
  const dier = await runDetached(c, { Cmd: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 42'] }, 'dier-ctd');
  const runnerPid = (await c.containerInspect(runner)).State.Pid;
  const dierPid = (await c.containerInspect(dier)).State.Pid;

  const old = await containerdPid();
  process.kill(old, 'SIGKILL');
  await writeFile(`/proc/${dierPid}/root/tmp/go`, '');
  await waitFor('a new containerd', async () => {
    const now = await containerdPid().catch(() => 0);
    return now !== old && now > 0 && alive(now);
  }, 30_000);

  const d = await waitFor('the dier to be seen exited', async () => {
    const x = await c.containerInspect(dier);
    return x.State.Running ? undefined : x;
  }, 30_000);
  assert.equal(d.State.Status, 'exited');
  assert.equal(d.State.ExitCode, 42);

  const r = await c.containerInspect(runner);
  assert.equal(r.State.Running, true);
  assert.equal(r.State.Pid, runnerPid);
  assert.ok(alive(runnerPid));
  // containerd knows it again: exec and stop work.
  const ex = await c.execCreate(runner, { Cmd: ['echo', 'after-containerd'], AttachStdout: true });
  const h = await c.execStartAttached(ex.Id);
  assert.equal((await within(10_000, h.collect())).stdout.toString(), 'after-containerd\n');
  await c.containerStop(runner, { t: 1 });
  assert.equal((await c.containerInspect(runner)).State.Status, 'exited');
  await removeAll(c, [runner, dier]);
});

test('a shim killed: its container is reported exited, and a restart policy brings it back', async () => {
  const c = env.client;
  const plain = await runDetached(c, {}, 'shim-plain');
  const always = await runDetached(c, { HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }, 'shim-always');
  const plainPid = (await c.containerInspect(plain)).State.Pid;
  const alwaysPid = (await c.containerInspect(always)).State.Pid;

  process.kill(await parentPid(plainPid), 'SIGKILL');
  process.kill(await parentPid(alwaysPid), 'SIGKILL');

  const p = await waitFor('the plain container to be seen exited', async () => {
    const x = await c.containerInspect(plain);
    return x.State.Running ? undefined : x;
  }, 30_000);
  assert.equal(p.State.Status, 'exited');
  await waitFor('its process gone', () => !alive(plainPid), 10_000);

  const a = await waitFor('the always container restarted', async () => {
    const x = await c.containerInspect(always);
    return x.State.Running && x.State.Pid !== alwaysPid && x.RestartCount >= 1 ? x : undefined;
  }, 30_000);
  assert.ok(alive(a.State.Pid));
  await removeAll(c, [plain, always]);
  assert.deepEqual(await c.containerList({ all: true }), []);
});
