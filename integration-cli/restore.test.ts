// berthd restarting under live containers (live restore): after SIGTERM and after SIGKILL a
// running container is still running and usable, and one that exited while berthd was down
// shows its real exit code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { waitRegistered } from '../integration/helpers.js';
import { dockerBackground, dockerOk, dockerOut, inspectField, waitLogs, waitUntil, within } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

// Prints 1, 2, 3… every 100 ms; exits 3 on TERM.
const COUNTER = 'trap "echo bye; exit 3" TERM; i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done';

const lastCount = async (name: string): Promise<number> => {
  const lines = (await dockerOut(ctx.daemon, ['logs', '--tail', '1', name])).split('\n');
  return Number(lines[lines.length - 1]);
};

/** Waits until the counter has moved past `n`. */
const countsPast = (name: string, n: number) => waitUntil(`${name} to count past ${n}`, async () => ((await lastCount(name)) > n ? true : undefined), 10_000, 100);

for (const kill of [false, true]) {
  test(`a running container survives berthd being stopped with ${kill ? 'SIGKILL' : 'SIGTERM'}`, async () => {
    const name = kill ? 'counter-kill' : 'counter-term';
    const id = await dockerOut(ctx.daemon, ['run', '-d', '--name', name, 'busybox', 'sh', '-c', COUNTER]);
    await waitLogs(ctx.daemon, name, /^3$/m);
    const pid = await inspectField(ctx.daemon, name, '{{.State.Pid}}');
    const startedAt = await inspectField(ctx.daemon, name, '{{.State.StartedAt}}');

    await ctx.daemon.restart({ kill });

    assert.equal(await dockerOut(ctx.daemon, ['ps', '--filter', `name=${name}`, '--format', '{{.ID}} {{.State}}']), `${id.slice(0, 12)} running`);
    assert.equal(await inspectField(ctx.daemon, name, '{{.State.Status}} {{.State.Pid}} {{.State.StartedAt}}'), `running ${pid} ${startedAt}`);
    // Output written while berthd was away or after it came back reaches the log.
    const before = await lastCount(name);
    await countsPast(name, before + 3);
    // logs -f continues with new lines, and ends when the container stops.
    const follow = dockerBackground(ctx.daemon, ['logs', '-f', '--tail', '1', name]);
    try {
      const n = await lastCount(name);
      await waitUntil('logs -f to show new lines', async () => follow.stdout().split('\n').some((l) => Number(l) > n + 2), 10_000, 100);
      // exec works in the restored container.
      assert.equal(await dockerOut(ctx.daemon, ['exec', name, 'echo', 'exec-ok']), 'exec-ok');
      // A waiter set up before the stop gets the exit code: next-exit answers only for an exit
      // after it is registered, and it is once its headers are in. The CLI waits too.
      const registered = await waitRegistered(ctx.client, name, 'next-exit');
      const waiter = dockerBackground(ctx.daemon, ['wait', name]);
      assert.equal(await dockerOut(ctx.daemon, ['stop', name]), name);
      assert.equal((await within('the registered wait to return', registered.exited, 10_000)).StatusCode, 3);
      assert.equal(await within('wait to return', waiter.exited, 10_000), 0);
      assert.equal(waiter.stdout().trim(), '3');
      assert.equal(await within('logs -f to end', follow.exited, 10_000), 0);
      assert.match(follow.stdout(), /bye\n$/);
    } finally {
      follow.kill();
    }
    assert.equal(await inspectField(ctx.daemon, name, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 3');
    assert.equal(await dockerOut(ctx.daemon, ['wait', name]), '3');
    await dockerOk(ctx.daemon, ['rm', name]);
  });
}

test('a container that exits while berthd is down shows its real exit code', async () => {
  // Exits once /tmp/go appears in its root, which the test creates while berthd is down.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'exits-meanwhile', 'busybox', 'sh', '-c', 'echo started; while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 42']);
  await waitLogs(ctx.daemon, 'exits-meanwhile', 'started');
  const pid = Number(await inspectField(ctx.daemon, 'exits-meanwhile', '{{.State.Pid}}'));
  await ctx.daemon.stop({ kill: true });
  // Let it finish while nobody watches.
  await writeFile(`/proc/${pid}/root/tmp/go`, '');
  await waitUntil('the container process to exit', async () => !processAlive(pid), 10_000, 100);
  await ctx.daemon.restart();
  assert.equal(await inspectField(ctx.daemon, 'exits-meanwhile', '{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}'), 'exited 42 false');
  assert.equal(await dockerOut(ctx.daemon, ['wait', 'exits-meanwhile']), '42');
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-a', '--filter', 'name=exits-meanwhile', '--filter', 'exited=42', '--format', '{{.Names}}']), 'exits-meanwhile');
  // What it wrote before berthd went away is in the log.
  assert.match(await dockerOut(ctx.daemon, ['logs', 'exits-meanwhile']), /^started/);
  // It can be started again.
  await dockerOk(ctx.daemon, ['start', 'exits-meanwhile']);
  assert.equal(await dockerOut(ctx.daemon, ['wait', 'exits-meanwhile']), '42');
  await dockerOk(ctx.daemon, ['rm', 'exits-meanwhile']);
});

test('stopped and created containers keep their state across a restart', async () => {
  await dockerOk(ctx.daemon, ['create', '--name', 'just-created', 'busybox']);
  await dockerOk(ctx.daemon, ['run', '--name', 'ran', 'busybox', 'sh', '-c', 'echo hi; exit 0']);
  await ctx.daemon.restart();
  assert.equal(await inspectField(ctx.daemon, 'just-created', '{{.State.Status}}'), 'created');
  assert.equal(await inspectField(ctx.daemon, 'ran', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 0');
  assert.equal(await dockerOut(ctx.daemon, ['logs', 'ran']), 'hi');
  assert.equal(await dockerOut(ctx.daemon, ['start', '-a', 'ran']), 'hi');
  await dockerOk(ctx.daemon, ['rm', 'just-created', 'ran']);
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
