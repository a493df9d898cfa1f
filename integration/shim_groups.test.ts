// Shared shims (issue 12): with --shim-group-size N, up to N containers share one
// containerd-shim-runc-v2. Each container still lives and dies on its own; a shim's death takes
// its whole group down, and berthd reports every one of them and applies restart policies; the
// shim goes once its last container does; groups survive a berthd crash.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useDaemon, alive } from './harness.js';
import { importBusybox } from './fixtures.js';
import { removeAll, runDetached, waitFor, within } from './helpers.js';

const GROUP = 3;
const env = useDaemon({ config: { 'shim-group-size': GROUP }, setup: (d) => importBusybox(d).then(() => undefined) });

async function parentPid(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** The shim serving a running container: the parent of its init process. */
async function shimOf(id: string): Promise<number> {
  const pid = (await env.client.containerInspect(id)).State.Pid;
  assert.ok(pid > 0, `${id} runs`);
  return parentPid(pid);
}

/** Our containerd's shims, by pid, with the container id each was started for (`-id`). */
async function shims(): Promise<Map<number, string>> {
  const address = join(env.daemon.execRoot, 'containerd');
  const out = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = (await readFile(`/proc/${name}/cmdline`).catch(() => Buffer.alloc(0))).toString().split('\0');
    if (!argv[0]?.endsWith('containerd-shim-runc-v2')) continue;
    const addr = argv[argv.indexOf('-address') + 1] ?? '';
    if (!addr.startsWith(address)) continue;
    out.set(Number(name), argv[argv.indexOf('-id') + 1] ?? '');
  }
  return out;
}

/** A container that exits with `code` once /tmp/go exists inside it. */
const exitOnGo = (code: number) => ({ Cmd: ['sh', '-c', `while [ ! -e /tmp/go ]; do sleep 0.05; done; exit ${code}`] });

/** Every test starts from no container and no shim, whatever an earlier one left. */
async function fresh(): Promise<void> {
  await removeAll(env.client, (await env.client.containerList({ all: true })).map((x) => x.Id));
  await waitFor('no shim left', async () => (await shims()).size === 0, 15_000);
}

async function exec(id: string, cmd: string[]): Promise<string> {
  const ex = await env.client.execCreate(id, { Cmd: cmd, AttachStdout: true });
  return (await within(15_000, (await env.client.execStartAttached(ex.Id)).collect())).stdout.toString();
}

async function exitedWith(id: string): Promise<number> {
  const x = await waitFor(`${id.slice(0, 12)} to be seen exited`, async () => {
    const i = await env.client.containerInspect(id);
    return i.State.Running ? undefined : i;
  }, 30_000);
  assert.equal(x.State.Status, 'exited');
  return x.State.ExitCode;
}

test('containers share a shim up to the group size; each one lives, pauses, execs, exits and goes on its own', async () => {
  await fresh();
  const c = env.client;
  const a = await runDetached(c, {}, 'g-a');
  const b = await runDetached(c, {}, 'g-b');
  const x = await runDetached(c, exitOnGo(3), 'g-x');
  const d = await runDetached(c, {}, 'g-d');
  const shim = await shimOf(a);
  assert.equal(await shimOf(b), shim);
  assert.equal(await shimOf(x), shim);
  assert.notEqual(await shimOf(d), shim, 'the fourth container opens another group');
  const found = await shims();
  assert.equal(found.get(shim), a, 'the shim was started for the first container of its group');
  assert.equal(found.size, 2);
  const aPid = (await c.containerInspect(a)).State.Pid;

  // Pause one: the others of its shim still run and exec.
  await c.call('POST', `/containers/${a}/pause`);
  assert.equal((await c.containerInspect(a)).State.Status, 'paused');
  assert.equal(await exec(b, ['echo', 'b-while-a-paused']), 'b-while-a-paused\n');
  await c.call('POST', `/containers/${a}/unpause`);
  assert.equal(await exec(a, ['echo', 'a-again']), 'a-again\n');

  // One exits by itself: its own exit code, the others untouched.
  await writeFile(`/proc/${(await c.containerInspect(x)).State.Pid}/root/tmp/go`, '');
  assert.equal(await exitedWith(x), 3);
  // One is stopped (sleep ignores SIGTERM: killed after the timeout).
  await c.containerStop(b, { t: 1 });
  assert.equal(await exitedWith(b), 137);
  const ai = await c.containerInspect(a);
  assert.equal(ai.State.Running, true);
  assert.equal(ai.State.Pid, aPid);
  assert.equal(await shimOf(a), shim);
  await c.containerRemove(x);
  assert.ok(alive(shim), 'the shim serves a still');

  // A stopped member starts again: into a group with room (here a's, 1 of 3).
  await c.containerStart(b);
  assert.equal(await shimOf(b), shim);

  // The container the shim was started for (in whose bundle it runs) goes; the shim serves on.
  await c.containerRemove(a, { force: true });
  assert.ok(alive(shim));
  assert.equal(await exec(b, ['echo', 'b-after-a']), 'b-after-a\n');
  const e = await runDetached(c, {}, 'g-e');
  assert.equal(await shimOf(e), shim);
  assert.equal(await exec(e, ['echo', 'e']), 'e\n');

  // The last task of a group gone: its shim is gone, none is left behind.
  await c.containerRemove(b, { force: true });
  await c.containerRemove(e, { force: true });
  await waitFor('the shared shim to exit', () => !alive(shim), 15_000);
  await c.containerRemove(d, { force: true });
  await waitFor('no shim left', async () => (await shims()).size === 0, 15_000);
});

test('a group\'s shim killed: every container of the group is reported exited (137), a restart policy brings one back', async () => {
  await fresh();
  const c = env.client;
  const p1 = await runDetached(c, {}, 'k-p1');
  const p2 = await runDetached(c, {}, 'k-p2');
  const always = await runDetached(c, { HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }, 'k-always');
  const pids = await Promise.all([p1, p2, always].map(async (id) => (await c.containerInspect(id)).State.Pid));
  // Found as an operator would: by the -id it was started with.
  const shim = [...(await shims())].find(([, id]) => id === p1)?.[0];
  assert.ok(shim, 'a shim started for the first container');
  for (const id of [p1, p2, always]) assert.equal(await shimOf(id), shim);

  process.kill(shim, 'SIGKILL');

  assert.equal(await exitedWith(p1), 137);
  assert.equal(await exitedWith(p2), 137);
  await waitFor('the group\'s processes gone', () => pids.slice(0, 2).every((p) => !alive(p)), 15_000);
  const back = await waitFor('the always container restarted', async () => {
    const x = await c.containerInspect(always);
    // Restarting counts as Running (with no pid) until the new task has started.
    return x.State.Running && !x.State.Restarting && x.State.Pid > 0 && x.State.Pid !== pids[2] && x.RestartCount >= 1 ? x : undefined;
  }, 30_000);
  assert.ok(alive(back.State.Pid));
  const newShim = await shimOf(always);
  assert.notEqual(newShim, shim, 'it runs in a new shim');
  assert.equal(await exec(always, ['echo', 'back']), 'back\n');
  for (const id of [p1, p2]) {
    const i = await c.containerInspect(id);
    assert.equal(i.State.Running, false);
    assert.equal(i.RestartCount, 0);
  }

  await removeAll(c, [p1, p2, always]);
  await waitFor('no shim left', async () => (await shims()).size === 0, 15_000);
});

test('berthd SIGKILLed and restarted: grouped containers keep running and attached, new ones join the live group', async () => {
  await fresh();
  const c0 = env.client;
  const talker = await runDetached(c0, { Cmd: ['sh', '-c', 'while :; do if [ -e /tmp/say ]; then echo said; rm /tmp/say; fi; sleep 0.05; done'] }, 'r-talker');
  const quiet = await runDetached(c0, {}, 'r-quiet');
  const shim = await shimOf(talker);
  assert.equal(await shimOf(quiet), shim);
  const pid = (await c0.containerInspect(talker)).State.Pid;

  await env.daemon.restart({ kill: true });
  const c = env.daemon.client;
  const t = await c.containerInspect(talker);
  assert.equal(t.State.Running, true);
  assert.equal(t.State.Pid, pid);
  assert.ok(alive(shim));
  // Still attached: its output reaches the log after the restart.
  await writeFile(`/proc/${pid}/root/tmp/say`, '');
  await waitFor('output after the restart', async () => (await c.containerLogs(talker)).stdout.toString().includes('said\n'), 15_000);
  assert.equal(await exec(quiet, ['echo', 'still']), 'still\n');

  // The group is read back from containerd: a third container fills it, a fourth opens another.
  const third = await runDetached(c, {}, 'r-third');
  assert.equal(await shimOf(third), shim);
  const fourth = await runDetached(c, {}, 'r-fourth');
  assert.notEqual(await shimOf(fourth), shim);

  await c.containerStop(talker, { t: 1 });
  assert.equal(await exitedWith(talker), 137);
  assert.ok(alive(shim));
  await removeAll(c, [talker, quiet, third, fourth]);
  await waitFor('no shim left', async () => (await shims()).size === 0, 15_000);
});

test('privileged, --runtime runc, stats and an OOM kill inside a shared shim', async () => {
  await fresh();
  const c = env.client;
  const priv = await runDetached(c, { HostConfig: { Privileged: true } }, 'p-priv');
  const rt = await runDetached(c, { HostConfig: { Runtime: 'runc' } }, 'p-runtime');
  const shim = await shimOf(priv);
  assert.equal(await shimOf(rt), shim);
  // Privileged sees the host's devices.
  assert.match(await exec(priv, ['ls', '/dev']), /\bloop|\btty0\b|\bnull\b/);

  // Stats come from the container's own cgroup, not the shim's.
  const stats = await c.json<{ memory_stats: { usage?: number }; pids_stats: { current?: number } }>('GET', `/containers/${rt}/stats`, { query: { stream: 'false' } });
  assert.ok((stats.memory_stats.usage ?? 0) > 0, JSON.stringify(stats.memory_stats));
  assert.equal(stats.pids_stats.current, 1);

  // An OOM kill in the group is that container's alone.
  const hog = await runDetached(c, {
    Cmd: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; x=aaaaaaaa; while true; do x=$x$x; done'],
    HostConfig: { Memory: 16 * 1024 * 1024, MemorySwap: 16 * 1024 * 1024 },
  }, 'p-hog');
  assert.equal(await shimOf(hog), shim);
  await writeFile(`/proc/${(await c.containerInspect(hog)).State.Pid}/root/tmp/go`, '');
  assert.equal(await exitedWith(hog), 137);
  assert.equal((await c.containerInspect(hog)).State.OOMKilled, true);
  for (const id of [priv, rt]) assert.equal((await c.containerInspect(id)).State.Running, true);
  assert.ok(alive(shim));

  await removeAll(c, [priv, rt, hog]);
  await waitFor('no shim left', async () => (await shims()).size === 0, 15_000);
});
