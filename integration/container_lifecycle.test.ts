// Container lifecycle: start/stop/kill/restart, wait conditions, rename, remove, list with
// its filters, top, changes, prune.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, rejectsApi, removeAll, runDetached, runToExit, subscribeEvents, waitFor, waitRegistered, within } from './helpers.js';

const env = useDaemon({
  setup: async (d) => {
    await importBusybox(d);
    await importBusybox(d, 'other:v1', { changes: ['CMD ["sh"]', 'LABEL from=other'] });
  },
});

/** A shell loop that exits 7 on SIGUSR1 and 8 on SIGTERM (a PID 1 has no default handlers). */
const TRAPPER = ['sh', '-c', 'trap "echo got-usr1; exit 7" USR1; trap "echo got-term; exit 8" TERM; echo ready; while true; do sleep 0.05; done'];

async function waitReady(id: string): Promise<void> {
  await waitFor('the container to be ready', async () => (await env.client.containerLogs(id)).stdout.toString().includes('ready'), 10_000);
}

test('start: 204, then 304 when already started; state follows', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] });
  try {
    const first = await raw(env.daemon.socket, 'POST', `/v1.47/containers/${Id}/start`);
    assert.equal(first.status, 204);
    const second = await raw(env.daemon.socket, 'POST', `/v1.47/containers/${Id}/start`);
    assert.equal(second.status, 304);
    assert.equal(second.body.length, 0);
    const c = await env.client.containerInspect(Id);
    assert.equal(c.State.Status, 'running');
    assert.equal(c.State.Running, true);
    assert.ok(c.State.Pid > 0);
    // The Pid is a real host process running sleep.
    const { readFile } = await import('node:fs/promises');
    const cmdline = (await readFile(`/proc/${c.State.Pid}/cmdline`)).toString().split('\0');
    assert.deepEqual(cmdline.slice(0, 2), ['sleep', '300']);
    // Stopping a stopped container is 304 as well.
    await env.client.containerStop(Id, { t: 0 });
    const again = await raw(env.daemon.socket, 'POST', `/v1.47/containers/${Id}/stop`);
    assert.equal(again.status, 304);
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('stop with signal: the handler runs and its exit code is kept', async () => {
  const id = await runDetached(env.client, { Cmd: TRAPPER });
  try {
    await waitReady(id);
    // A timeout far beyond the bound: only the signal can stop it in time.
    await within(60_000, env.client.containerStop(id, { signal: 'SIGUSR1', t: 600 }), 'stop by the signal, not by the timeout');
    const c = await env.client.containerInspect(id);
    assert.equal(c.State.Running, false);
    assert.equal(c.State.ExitCode, 7);
    assert.match((await env.client.containerLogs(id)).stdout.toString(), /got-usr1/);
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
});

test('stop sends SIGTERM by default, and StopSignal from the config', async () => {
  const a = await runDetached(env.client, { Cmd: TRAPPER });
  const b = await runDetached(env.client, { Cmd: TRAPPER, StopSignal: 'SIGUSR1' });
  try {
    await waitReady(a);
    await waitReady(b);
    await env.client.containerStop(a);
    await env.client.containerStop(b);
    assert.equal((await env.client.containerInspect(a)).State.ExitCode, 8);
    assert.equal((await env.client.containerInspect(b)).State.ExitCode, 7);
  } finally {
    await removeAll(env.client, [a, b]);
  }
});

test('stop with t kills after the timeout when the signal is ignored', async () => {
  // PID 1 without a handler ignores SIGTERM. Its own stop timeout is far beyond the bounds
  // below, so they hold only if the daemon uses the `t` it is given.
  const id = await runDetached(env.client, { Cmd: ['sleep', '300'], StopTimeout: 600 });
  const feed = await subscribeEvents(env.client, { container: [id], event: ['kill'] });
  try {
    await within(60_000, env.client.containerStop(id, { t: 1 }), 'stop -t 1');
    const c = await env.client.containerInspect(id);
    assert.equal(c.State.Running, false);
    assert.equal(c.State.ExitCode, 137);
    assert.equal(c.State.Status, 'exited');
    // SIGKILL came a whole timeout after SIGTERM, by the daemon's own clock.
    const term = await feed.next('kill 15', (e) => e.Actor.Attributes['signal'] === '15');
    const kill = await feed.next('kill 9', (e) => e.Actor.Attributes['signal'] === '9');
    const gapMs = (kill.timeNano - term.timeNano) / 1e6;
    assert.ok(gapMs >= 900, `SIGKILL ${gapMs} ms after SIGTERM`);

    // t=0 kills at once.
    await env.client.containerStart(id);
    await within(60_000, env.client.containerStop(id, { t: 0 }), 'stop -t 0');
    assert.equal((await env.client.containerInspect(id)).State.ExitCode, 137);
  } finally {
    feed.close();
    await env.client.containerRemove(id, { force: true });
  }
});

test('kill: SIGKILL by default; another signal leaves it running unless handled', async () => {
  const id = await runDetached(env.client, { Cmd: TRAPPER });
  // Handles USR2 only: the answer to a USR2 sent after a HUP shows the HUP has been dealt with.
  const plain = await runDetached(env.client, { Cmd: ['sh', '-c', 'trap "echo got-usr2" USR2; echo ready; while true; do sleep 0.05; done'] });
  try {
    await waitReady(id);
    await waitReady(plain);
    await env.client.containerKill(plain, 'SIGHUP');
    await env.client.containerKill(plain, 'SIGUSR2');
    await waitFor('the USR2 answer', async () => (await env.client.containerLogs(plain)).stdout.toString().includes('got-usr2'));
    assert.equal((await env.client.containerInspect(plain)).State.Running, true, 'PID 1 ignores unhandled signals');

    await env.client.containerKill(id, 'USR1');
    await waitFor('exit', async () => !(await env.client.containerInspect(id)).State.Running);
    assert.equal((await env.client.containerInspect(id)).State.ExitCode, 7);

    await env.client.containerKill(plain);
    // dockerd's Kill waits (up to 10 s) for the exit before answering.
    const runningRightAfter = (await env.client.containerInspect(plain)).State.Running;
    await waitFor('exit', async () => !(await env.client.containerInspect(plain)).State.Running);
    assert.equal((await env.client.containerInspect(plain)).State.ExitCode, 137);
    // Numeric signal.
    await env.client.containerStart(plain);
    await env.client.containerKill(plain, '9');
    await waitFor('exit', async () => !(await env.client.containerInspect(plain)).State.Running);
    assert.equal(runningRightAfter, false, 'kill without a signal waits for the exit');
  } finally {
    await removeAll(env.client, [id, plain]);
  }
});

test('restart gives a new process and keeps RestartCount at 0', async () => {
  const id = await runDetached(env.client);
  try {
    const c1 = await env.client.containerInspect(id);
    await env.client.containerRestart(id, { t: 0 });
    const c2 = await env.client.containerInspect(id);
    assert.equal(c2.State.Running, true);
    assert.notEqual(c2.State.Pid, c1.State.Pid);
    assert.ok(c2.State.StartedAt > c1.State.StartedAt);
    assert.equal(c2.RestartCount, 0);
    // Restarting a stopped container starts it.
    await env.client.containerStop(id, { t: 0 });
    await env.client.containerRestart(id);
    assert.equal((await env.client.containerInspect(id)).State.Running, true);
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
});

test('wait not-running returns at once for a created container, and on exit for a running one', async () => {
  // Exits 5 once it reads a line, so the wait below is in place while it runs.
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sh', '-c', 'read -r _; exit 5'], OpenStdin: true, AttachStdin: true });
  try {
    // A created container never exits by itself: these can only answer at once.
    assert.equal((await within(20_000, env.client.containerWait(Id, 'not-running'))).StatusCode, 0);
    assert.equal((await within(20_000, env.client.containerWait(Id))).StatusCode, 0, 'not-running is the default');
    const input = await env.client.containerAttach(Id, { stdin: true });
    await env.client.containerStart(Id);
    const { exited } = await waitRegistered(env.client, Id, 'not-running');
    input.conn.write('\n');
    // 5, not the 0 of a running container: the answer came with the exit.
    assert.equal((await within(10_000, exited)).StatusCode, 5);
    input.conn.destroy();
    // Once exited, it answers at once with the last exit code.
    assert.equal((await within(20_000, env.client.containerWait(Id))).StatusCode, 5);
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('wait not-running returns at the first exit even when a restart policy brings the container back', async () => {
  // Exits 7 once it reads a line; every restart after that exits 8 at once.
  const { Id } = await env.client.containerCreate({
    Image: 'busybox',
    Cmd: ['sh', '-c', '[ -e /ran ] && exit 8; touch /ran; read -r _; exit 7'],
    OpenStdin: true,
    AttachStdin: true,
    HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } },
  });
  try {
    const input = await env.client.containerAttach(Id, { stdin: true });
    await env.client.containerStart(Id);
    const { exited } = await waitRegistered(env.client, Id, 'not-running');
    input.conn.write('\n');
    assert.equal((await within(10_000, exited)).StatusCode, 7, 'the answer comes with the first exit');
    input.conn.destroy();
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('wait next-exit registered before start returns the exit code', async () => {
  // Exits 9 the first time, 10 after that: each answer says which exit it came from.
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sh', '-c', '[ -e /ran ] && exit 10; touch /ran; exit 9'] });
  try {
    const { exited } = await waitRegistered(env.client, Id);
    await env.client.containerStart(Id);
    assert.equal((await within(10_000, exited)).StatusCode, 9);
    // next-exit on an exited container waits for the next run.
    const next = await waitRegistered(env.client, Id);
    await env.client.containerStart(Id);
    assert.equal((await within(10_000, next.exited)).StatusCode, 10, 'next-exit does not return for the previous exit');
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('wait removed returns when the container is removed', async () => {
  // Stopped (137) the first time; exits 4 by itself the second: the answer tells which it saw.
  const id = await runDetached(env.client, { Cmd: ['sh', '-c', '[ -e /ran ] && exit 4; touch /ran; exec sleep 300'] });
  const removed = await waitRegistered(env.client, id, 'removed');
  await env.client.containerStop(id, { t: 0 });
  const second = await waitRegistered(env.client, id);
  await env.client.containerStart(id);
  assert.equal((await within(10_000, second.exited)).StatusCode, 4);
  await env.client.containerRemove(id);
  assert.equal((await within(10_000, removed.exited)).StatusCode, 4, 'stopping is not removing');
});

test('wait answers {"StatusCode": n}, with Error only when there is one (omitempty)', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'exit 6'] });
  try {
    const res = await raw(env.daemon.socket, 'POST', `/v1.47/containers/${r.id}/wait`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(res.json, { StatusCode: 6 });
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('wait on the API before 1.30 has no Error field', async () => {
  const r = await runToExit(env.client, { Cmd: ['true'] });
  try {
    const res = await raw(env.daemon.socket, 'POST', `/v1.29/containers/${r.id}/wait`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { StatusCode: 0 });
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('rename', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'before-rename' });
  try {
    await env.client.containerRename('before-rename', 'after-rename');
    assert.equal((await env.client.containerInspect(Id)).Name, '/after-rename');
    await rejectsApi(env.client.containerInspect('before-rename'), 404);
    assert.equal((await env.client.containerInspect('after-rename')).Id, Id);
    // The old name is free again.
    const other = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'before-rename' });
    await env.client.containerRemove(other.Id);
    await rejectsApi(env.client.containerRename(Id, 'after-rename'), 400, 'Renaming a container with the same name as its current name');
    // A running container can be renamed.
    await env.client.containerStart(Id);
    await env.client.containerRename(Id, 'renamed-again');
    assert.equal((await env.client.containerInspect(Id)).Name, '/renamed-again');
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('remove with force kills a running container; removal frees its directories', async () => {
  const id = await runDetached(env.client);
  const pid = (await env.client.containerInspect(id)).State.Pid;
  await env.client.containerRemove(id, { force: true });
  await rejectsApi(env.client.containerInspect(id), 404);
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor('the process to be gone', () => !alive(), 5000);
  const { stat } = await import('node:fs/promises');
  await assert.rejects(stat(`${env.daemon.dataRoot}/containers/${id}`), { code: 'ENOENT' });
  // Removing again is 404.
  await rejectsApi(env.client.containerRemove(id), 404, `No such container: ${id}`);
});

test('list: all, limit, size and every filter', async () => {
  const ids: string[] = [];
  try {
    const mk = async (name: string, body: Record<string, unknown>, run: 'no' | 'exit' | 'running') => {
      const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], ...body }, { name });
      ids.push(Id);
      if (run === 'exit') {
        const { exited } = await waitRegistered(env.client, Id);
        await env.client.containerStart(Id);
        await within(10_000, exited);
      } else if (run === 'running') await env.client.containerStart(Id);
      // before/since compare creation times in milliseconds: let the clock pass this one's (and
      // the 2 ms the daemon's clock may lag) so the next container is created in a later one.
      const created = Date.parse((await env.client.containerInspect(Id)).Created);
      await waitFor('the clock to pass the creation time', () => Date.now() > created + 2, 1000, 1);
      return Id;
    };
    const created = await mk('l-created', { Labels: { tier: 'a', color: 'red' } }, 'no');
    const exited0 = await mk('l-exit0', { Labels: { tier: 'a' } }, 'exit');
    const exited3 = await mk('l-exit3', { Cmd: ['sh', '-c', 'exit 3'], Labels: { tier: 'b' } }, 'exit');
    const running = await mk('l-running', { Cmd: ['sleep', '300'], Labels: { tier: 'b', color: 'blue' } }, 'running');
    const otherImg = await mk('l-other', { Image: 'other:v1', Cmd: ['sleep', '300'] }, 'running');

    const names = (list: { Names: string[] }[]) => list.map((c) => c.Names[0]).sort();

    // Without all: running ones only; newest first.
    const runningList = await env.client.containerList();
    assert.deepEqual(
      runningList.map((c) => c.Id),
      [otherImg, running],
    );
    const all = await env.client.containerList({ all: true });
    assert.deepEqual(
      all.map((c) => c.Id),
      [otherImg, running, exited3, exited0, created],
    );

    // Summary shape.
    const s = all.find((c) => c.Id === running)!;
    for (const k of ['Id', 'Names', 'Image', 'ImageID', 'Command', 'Created', 'Ports', 'Labels', 'State', 'Status', 'HostConfig', 'NetworkSettings', 'Mounts']) {
      assert.ok(k in s, `summary has ${k}`);
    }
    assert.deepEqual(s.Names, ['/l-running']);
    assert.equal(s.Image, 'busybox');
    assert.match(s.ImageID, /^sha256:/);
    assert.equal(s.Command, 'sleep 300');
    assert.equal(s.State, 'running');
    assert.match(s.Status, /^Up /);
    assert.equal(typeof s.Created, 'number');
    assert.deepEqual(s.Labels, { tier: 'b', color: 'blue' });
    const e3 = all.find((c) => c.Id === exited3)!;
    assert.equal(e3.State, 'exited');
    assert.match(e3.Status, /^Exited \(3\) .* ago$/);
    assert.equal(all.find((c) => c.Id === created)!.Status, 'Created');
    assert.ok(!('SizeRw' in s));

    // limit implies all.
    assert.deepEqual(
      (await env.client.containerList({ limit: 2 })).map((c) => c.Id),
      [otherImg, running],
    );
    assert.deepEqual(
      (await env.client.containerList({ all: true, limit: 3 })).map((c) => c.Id),
      [otherImg, running, exited3],
    );

    const sized = await env.client.containerList({ all: true, size: true, limit: 1 });
    assert.equal(typeof sized[0]?.['SizeRw'], 'number');
    assert.equal(typeof sized[0]?.['SizeRootFs'], 'number');

    const f = (filters: Record<string, string[]>) => env.client.containerList({ all: true, filters }).then(names);
    assert.deepEqual(await f({ id: [exited0.slice(0, 10)] }), ['/l-exit0']);
    assert.deepEqual(await f({ id: [exited0] }), ['/l-exit0']);
    assert.deepEqual(await f({ name: ['l-exit'] }), ['/l-exit0', '/l-exit3']);
    assert.deepEqual(await f({ name: ['l-running'] }), ['/l-running']);
    assert.deepEqual(await f({ label: ['tier=a'] }), ['/l-created', '/l-exit0']);
    assert.deepEqual(await f({ label: ['color'] }), ['/l-created', '/l-running']);
    assert.deepEqual(await f({ label: ['tier=b', 'color'] }), ['/l-running'], 'label filters are ANDed');
    assert.deepEqual(await f({ status: ['created'] }), ['/l-created']);
    assert.deepEqual(await f({ status: ['exited'] }), ['/l-exit0', '/l-exit3']);
    assert.deepEqual(await f({ status: ['running', 'created'] }), ['/l-created', '/l-other', '/l-running']);
    assert.deepEqual(await f({ exited: ['3'] }), ['/l-exit3']);
    assert.deepEqual(await f({ exited: ['0'] }), ['/l-exit0']);
    assert.deepEqual(await f({ ancestor: ['other:v1'] }), ['/l-other']);
    assert.deepEqual(await f({ ancestor: ['busybox'] }), ['/l-created', '/l-exit0', '/l-exit3', '/l-running']);
    const img = await env.client.imageInspect('other:v1');
    assert.deepEqual(await f({ ancestor: [img.Id] }), ['/l-other']);
    assert.deepEqual(await f({ before: ['l-exit3'] }), ['/l-created', '/l-exit0']);
    assert.deepEqual(await f({ since: ['l-exit3'] }), ['/l-other', '/l-running']);
    assert.deepEqual(await f({ since: ['l-exit0'], before: ['l-running'] }), ['/l-exit3']);
    // Status filters without all still see stopped containers.
    assert.deepEqual(names(await env.client.containerList({ filters: { status: ['exited'] } })), ['/l-exit0', '/l-exit3']);

    // dockerd 27: "invalid filter 'status=sleepy'"; 28 appends the valid states.
    await rejectsApi(env.client.containerList({ filters: { status: ['sleepy'] } }), 400, /^invalid filter 'status=sleepy'/);
    await rejectsApi(env.client.containerList({ filters: { exited: ['x'] } }), 400);
    await rejectsApi(env.client.containerList({ all: true, filters: { before: ['nosuch'] } }), 404, 'No such container: nosuch');
  } finally {
    await removeAll(env.client, ids);
  }
});

test('top lists the container processes, with ps_args', async () => {
  // The trailing `true` keeps sh from exec-ing the last command.
  const id = await runDetached(env.client, { Cmd: ['sh', '-c', 'sleep 300 & sleep 301; true'] });
  try {
    await waitFor('both sleeps', async () => (await env.client.containerTop(id)).Processes.length >= 3);
    const top = await env.client.containerTop(id);
    assert.deepEqual(top.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    const cmds = top.Processes.map((p) => p[p.length - 1]);
    assert.ok(cmds.includes('sleep 300'), cmds.join('|'));
    assert.ok(cmds.some((c) => c.startsWith('sh -c')), cmds.join('|'));
    assert.ok(cmds.includes('sleep 301'), cmds.join('|'));
    assert.equal(top.Processes.length, 3, 'only the container processes');
    const pid = (await env.client.containerInspect(id)).State.Pid;
    assert.ok(top.Processes.some((p) => p[1] === String(pid)));

    const custom = await env.client.containerTop(id, '-o pid,comm');
    assert.deepEqual(custom.Titles, ['PID', 'COMMAND']);
    assert.deepEqual(custom.Processes.map((p) => p[1]).sort(), ['sh', 'sleep', 'sleep']);

    await env.client.containerStop(id, { t: 0 });
    await rejectsApi(env.client.containerTop(id), 409, `container ${id} is not running`);
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
});

test('changes lists added, modified and deleted paths', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'mkdir /tmp/newdir && echo x > /tmp/newdir/f && rm /etc/group && echo y >> /etc/passwd'] });
  try {
    assert.equal(r.exitCode, 0, r.stderr.toString());
    const changes = (await env.client.containerChanges(r.id)) ?? [];
    const byPath = Object.fromEntries(changes.map((c) => [c.Path, c.Kind]));
    assert.equal(byPath['/tmp/newdir'], 1);
    assert.equal(byPath['/tmp/newdir/f'], 1);
    assert.equal(byPath['/etc/group'], 2);
    assert.equal(byPath['/etc/passwd'], 0);
    assert.equal(byPath['/etc'], 0);
    assert.equal(byPath['/tmp'], 0);
    // A fresh container has none: null, as dockerd encodes an empty list.
    const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
    const res = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${Id}/changes`);
    assert.equal(res.status, 200);
    assert.equal(res.text.trim(), 'null');
    await env.client.containerRemove(Id);
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('prune removes stopped containers only, honouring label filters', async () => {
  const ids: string[] = [];
  try {
    const keep = (await runToExit(env.client, { Cmd: ['true'], Labels: { prune: 'no' } })).id;
    const goA = (await runToExit(env.client, { Cmd: ['true'], Labels: { prune: 'yes' } })).id;
    const { Id: goB } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], Labels: { prune: 'yes' } });
    const running = await runDetached(env.client, { Labels: { prune: 'yes' } });
    ids.push(keep, goA, goB, running);

    const res = await env.client.containersPrune({ label: ['prune=yes'] });
    assert.deepEqual([...(res.ContainersDeleted ?? [])].sort(), [goA, goB].sort());
    assert.equal(typeof res.SpaceReclaimed, 'number');
    const left = (await env.client.containerList({ all: true })).map((c) => c.Id);
    assert.ok(left.includes(keep));
    assert.ok(left.includes(running), 'running containers are never pruned');
    assert.ok(!left.includes(goA) && !left.includes(goB));

    // label! excludes.
    const other = (await runToExit(env.client, { Cmd: ['true'] })).id;
    ids.push(other);
    const res2 = await env.client.containersPrune({ 'label!': ['prune=no'] });
    assert.deepEqual(res2.ContainersDeleted, [other]);
    const res3 = await env.client.containersPrune({ label: ['prune=nothing'] });
    assert.ok(res3.ContainersDeleted === null || res3.ContainersDeleted?.length === 0);
    assert.equal(res3.SpaceReclaimed, 0);
    // dockerd accepts only label, label! and until.
    await rejectsApi(env.client.containersPrune({ nosuch: ['x'] }), 400, "invalid filter 'nosuch'");
  } finally {
    await removeAll(env.client, ids);
  }
});
