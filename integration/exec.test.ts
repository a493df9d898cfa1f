// Exec: create, start attached (stdin, TTY) and detached, inspect, errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, rejectsApi, runDetached, waitFor, within } from './helpers.js';
import { ApiError, MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM } from '../src/client/client.js';

let cid = '';
const env = useDaemon({
  setup: async (d) => {
    await importBusybox(d);
    cid = await runDetached(d.client, { Cmd: ['sleep', '300'], Env: ['FROM_CONTAINER=yes'] }, 'exec-target');
  },
});

test('exec create and inspect before start', async () => {
  const { Id } = await env.client.execCreate(cid, { Cmd: ['echo', 'hi', 'there'], AttachStdout: true, AttachStderr: true });
  assert.match(Id, /^[0-9a-f]{64}$/);
  const e = await env.client.execInspect(Id);
  for (const k of ['ID', 'Running', 'ExitCode', 'ProcessConfig', 'OpenStdin', 'OpenStderr', 'OpenStdout', 'CanRemove', 'ContainerID', 'DetachKeys', 'Pid']) {
    assert.ok(k in e, `exec inspect has ${k}`);
  }
  assert.equal(e.ID, Id);
  assert.equal(e.Running, false);
  assert.equal(e.ExitCode, null);
  assert.equal(e.Pid, 0);
  assert.equal(e.ContainerID, cid);
  assert.equal(e.OpenStdin, false);
  assert.equal(e.OpenStdout, true);
  assert.equal(e.OpenStderr, true);
  assert.equal(e.ProcessConfig.entrypoint, 'echo');
  assert.deepEqual(e.ProcessConfig.arguments, ['hi', 'there']);
  assert.equal(e.ProcessConfig.tty, false);
  assert.equal(e.ProcessConfig.privileged, false);
  const c = await env.client.containerInspect(cid);
  assert.ok((c['ExecIDs'] as string[] | null)?.includes(Id), 'the container lists the exec');
});

test('exec start attached: framed stdout and stderr, exit code in inspect', async () => {
  const { Id } = await env.client.execCreate(cid, {
    Cmd: ['sh', '-c', 'echo "out $FROM_CONTAINER $EXTRA"; echo err >&2; pwd; id -u; exit 3'],
    AttachStdout: true,
    AttachStderr: true,
    Env: ['EXTRA=added'],
    WorkingDir: '/tmp',
    User: '1000',
  });
  const h = await env.client.execStartAttached(Id);
  assert.equal(h.headers['content-type'], MEDIA_MULTIPLEXED_STREAM);
  const out = await within(10_000, h.collect(), 'exec output');
  assert.equal(out.stdout.toString(), 'out yes added\n/tmp\n1000\n');
  assert.equal(out.stderr.toString(), 'err\n');
  const e = await waitFor('exec exit', async () => {
    const x = await env.client.execInspect(Id);
    return x.Running ? undefined : x;
  });
  assert.equal(e.ExitCode, 3);
  assert.ok(e.Pid > 0, 'Pid kept after the exit');
  assert.equal(e.ProcessConfig.user, '1000');
});

test('exec start attached with stdin', async () => {
  const { Id } = await env.client.execCreate(cid, {
    Cmd: ['sh', '-c', 'while read l; do echo "got:$l"; done; echo eof'],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  assert.equal((await env.client.execInspect(Id)).OpenStdin, true);
  const h = await env.client.execStartAttached(Id);
  const output = h.collect();
  h.conn.write('a\nb\n');
  h.closeWrite();
  const out = await within(10_000, output, 'exec output');
  assert.equal(out.stdout.toString(), 'got:a\ngot:b\neof\n');
  const done = await waitFor('exit', async () => {
    const x = await env.client.execInspect(Id);
    return x.ExitCode !== null ? x : undefined;
  });
  assert.equal(done.ExitCode, 0);
});

test('exec with a TTY is a raw stream on a terminal', async () => {
  const { Id } = await env.client.execCreate(cid, {
    Cmd: ['sh', '-c', 'tty; echo to-stderr >&2; stty size'],
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    ConsoleSize: [30, 100],
  });
  const h = await env.client.execStartAttached(Id, { tty: true, consoleSize: [30, 100] });
  assert.equal(h.headers['content-type'], MEDIA_RAW_STREAM);
  const out = await within(10_000, h.collect(), 'exec output');
  assert.match(out.stdout.toString(), /^\/dev\/pts\/\d+\r\nto-stderr\r\n30 100\r\n$/);
  assert.equal((await env.client.execInspect(Id)).ProcessConfig.tty, true);
});

test("the start request's Tty frames the stream: an exec created with a TTY and started without one is multiplexed", async () => {
  const { Id } = await env.client.execCreate(cid, { Cmd: ['sh', '-c', 'tty >/dev/null && echo on-a-tty'], AttachStdout: true, Tty: true });
  const res = await raw(env.daemon.socket, 'POST', `/v1.47/exec/${Id}/start`, { body: JSON.stringify({ Detach: false, Tty: false }) });
  assert.equal(res.headers['content-type'], MEDIA_MULTIPLEXED_STREAM);
  // One stdout frame: the header, then what the process wrote on its terminal.
  const payload = res.body.subarray(8);
  assert.deepEqual([...res.body.subarray(0, 4)], [1, 0, 0, 0]);
  assert.equal(res.body.readUInt32BE(4), payload.length);
  assert.equal(payload.toString(), 'on-a-tty\r\n');
  assert.equal((await env.client.execInspect(Id)).ProcessConfig.tty, true);
});

test('exec start detached runs in the background; Running and Pid while it runs', async () => {
  // Runs until the test creates /tmp/detached-go, so the checks below see it running.
  const { Id } = await env.client.execCreate(cid, { Cmd: ['sh', '-c', 'while [ ! -e /tmp/detached-go ]; do sleep 0.01; done; exit 4'] });
  const res = await raw(env.daemon.socket, 'POST', `/v1.47/exec/${Id}/start`, { body: JSON.stringify({ Detach: true, Tty: false }) });
  assert.equal(res.status, 200, res.text);
  const running = await env.client.execInspect(Id);
  assert.equal(running.Running, true);
  assert.ok(running.Pid > 0);
  const cmdline = (await readFile(`/proc/${running.Pid}/cmdline`)).toString().split('\0');
  assert.deepEqual(cmdline.slice(0, 2), ['sh', '-c']);
  // It shows in top.
  const top = await env.client.containerTop(cid, '-o pid');
  assert.ok(top.Processes.some((p) => p[0] === String(running.Pid)));
  await env.client.execStart((await env.client.execCreate(cid, { Cmd: ['touch', '/tmp/detached-go'] })).Id);
  const done = await waitFor('exec exit', async () => {
    const x = await env.client.execInspect(Id);
    return x.Running ? undefined : x;
  });
  assert.equal(done.ExitCode, 4);
  // dockerd writes no body for a detached start.
  assert.equal(res.text, '');
});

test('exec start twice is 409', async () => {
  // Runs until the test creates /tmp/twice-go: the second start comes while it runs.
  const { Id } = await env.client.execCreate(cid, { Cmd: ['sh', '-c', 'while [ ! -e /tmp/twice-go ]; do sleep 0.01; done'] });
  await env.client.execStart(Id);
  await rejectsApi(env.client.execStart(Id), 409, `Error: Exec command ${Id} is already running`);
  await env.client.execStart((await env.client.execCreate(cid, { Cmd: ['touch', '/tmp/twice-go'] })).Id);
  await waitFor('exit', async () => (await env.client.execInspect(Id)).ExitCode !== null);
  await rejectsApi(env.client.execStart(Id), 409, `Error: Exec command ${Id} has already run`);
});

test('exec of a missing binary reports the error in the stream, exit code 127', async () => {
  const { Id } = await env.client.execCreate(cid, { Cmd: ['/no/such/thing'], AttachStdout: true, AttachStderr: true });
  const h = await env.client.execStartAttached(Id);
  const out = await within(10_000, h.collect());
  assert.match(out.stdout.toString() + out.stderr.toString(), /no such file or directory/);
  const e = await waitFor('exit code', async () => {
    const x = await env.client.execInspect(Id);
    return x.ExitCode !== null ? x : undefined;
  });
  assert.equal(e.ExitCode, 127);
});

test('exec create errors: stopped container 409, empty Cmd 400, bad detach keys, unknown exec 404', async () => {
  await rejectsApi(env.client.execCreate(cid, { Cmd: [] }), 400, 'No exec command specified');
  await rejectsApi(env.client.execInspect('nosuch'), 404, 'No such exec instance: nosuch');

  const other = await runDetached(env.client);
  const { Id } = await env.client.execCreate(other, { Cmd: ['true'] });
  await env.client.containerStop(other, { t: 0 });
  await rejectsApi(env.client.execCreate(other, { Cmd: ['true'] }), 409, `container ${other} is not running`);
  // dockerd forgets a container's execs when it stops (daemon.Cleanup).
  await rejectsApi(env.client.execStart(Id), 404, `No such exec instance: ${Id}`);
  await env.client.containerRemove(other);

  // dockerd 27 returns this one as an untyped error (500); the message is what matters.
  const keysErr = await env.client.execCreate(cid, { Cmd: ['true'], DetachKeys: 'ctrl-nope' }).then(
    () => assert.fail('bad detach keys accepted'),
    (e: ApiError) => e,
  );
  assert.ok([400, 500].includes(keysErr.status), String(keysErr.status));
  assert.equal(keysErr.message, 'Invalid escape keys (ctrl-nope) provided');
});
