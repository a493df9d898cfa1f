// Attach (hijacked, before start, stdin, detach keys, logs replay) and logs (since, until,
// tail, timestamps, follow, stream selection).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readlink } from 'node:fs/promises';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, rejectsApi, runDetached, runToExit, waitFor, waitRegistered, watchOutput, within } from './helpers.js';
import { MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM } from '../src/client/client.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

test('attach before start: stdin is forwarded, output is framed, StdinOnce closes stdin', async () => {
  const { Id } = await env.client.containerCreate({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'while read line; do echo "out:$line"; echo "err:$line" >&2; done; echo done'],
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  try {
    const h = await env.client.containerAttach(Id, { stdin: true, stdout: true, stderr: true });
    assert.equal(h.headers['content-type'], MEDIA_MULTIPLEXED_STREAM);
    assert.equal(h.multiplexed, true);
    const output = h.collect();
    const { exited } = await waitRegistered(env.client, Id);
    await env.client.containerStart(Id);
    h.conn.write('one\ntwo\n');
    // Both lines handled before stdin closes: the log shows the second answer.
    await waitFor('the second line answered', async () => (await env.client.containerLogs(Id)).stdout.toString().includes('out:two\n'));
    h.closeWrite();
    const out = await within(10_000, output, 'attach output');
    assert.equal(out.stdout.toString(), 'out:one\nout:two\ndone\n');
    assert.equal(out.stderr.toString(), 'err:one\nerr:two\n');
    assert.equal((await within(10_000, exited)).StatusCode, 0, 'EOF on stdin ended the process');
    // Everything went to the log too.
    const logs = await env.client.containerLogs(Id);
    assert.equal(logs.stdout.toString(), 'out:one\nout:two\ndone\n');
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('attach with a TTY is a raw stream', async () => {
  const { Id } = await env.client.containerCreate({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'read line; echo "got:$line"'],
    OpenStdin: true,
    StdinOnce: true,
    Tty: true,
  });
  try {
    const h = await env.client.containerAttach(Id, { stdin: true, tty: true });
    assert.equal(h.headers['content-type'], MEDIA_RAW_STREAM);
    assert.equal(h.multiplexed, false);
    const output = h.collect();
    await env.client.containerStart(Id);
    h.conn.write('abc\r');
    const out = await within(10_000, output, 'attach output');
    // The terminal echoes the input, then the answer, with CRLF line ends.
    assert.match(out.stdout.toString(), /got:abc\r\n$/);
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('detachKeys end the attach and leave the container running', async () => {
  const id = await runDetached(env.client, { Cmd: ['cat'], OpenStdin: true, Tty: true });
  /**
   * Attaches, types `word` and waits until cat has answered it (the terminal echoes the input
   * once, cat writes it back once more), then detaches with `keys`: proof that the container
   * and its stdin outlived whatever detach came before.
   */
  const echoThenDetach = async (word: string, keys: Buffer, detachKeys?: string): Promise<string> => {
    const h = await env.client.containerAttach(id, { stdin: true, detachKeys, tty: true });
    const out = watchOutput(h.conn, false);
    h.conn.write(`${word}\r`);
    await out.until(`cat to answer ${word}`, (o) => o.stdout.split(word).length - 1 >= 2);
    h.conn.write(keys);
    await within(5000, out.ended, `detach after ${word}`);
    return out.stdout();
  };
  const ctrlXY = Buffer.from([0x18, 0x79]);
  const ctrlPQ = Buffer.from([0x10, 0x11]);
  try {
    assert.match(await echoThenDetach('hello', ctrlXY, 'ctrl-x,y'), /hello/);
    // The default sequence is ctrl-p,ctrl-q; cat still answering shows the first detach left it running.
    await echoThenDetach('again', ctrlPQ);
    // And once more after the default sequence.
    await echoThenDetach('third', ctrlXY, 'ctrl-x,y');
    assert.equal((await env.client.containerInspect(id)).State.Running, true, 'still running after detach');

    await rejectsApi(env.client.containerAttach(id, { stdin: true, detachKeys: 'ctrl-nope' }), 400, 'Invalid detach keys (ctrl-nope) provided');
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
});

test('start accepts a detachKeys parameter', async () => {
  // docker start -a --detach-keys: the keys go with the attach; here just check start accepts them.
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
  try {
    await env.client.containerStart(Id, { detachKeys: 'ctrl-a' });
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('attach logs=1&stream=0 replays the output and ends', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'echo l1; echo e1 >&2; echo l2'] });
  try {
    const h = await env.client.containerAttach(r.id, { logs: true, stream: false, stdout: true, stderr: true });
    const out = await within(5000, h.collect(), 'attach logs');
    assert.equal(out.stdout.toString(), 'l1\nl2\n');
    assert.equal(out.stderr.toString(), 'e1\n');
    // Only the streams asked for.
    const h2 = await env.client.containerAttach(r.id, { logs: true, stream: false, stdout: false, stderr: true });
    const out2 = await within(5000, h2.collect(), 'attach logs');
    assert.equal(out2.stdout.toString(), '');
    assert.equal(out2.stderr.toString(), 'e1\n');
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('attach logs=1&stream=1 replays, then streams live output', async () => {
  const id = await runDetached(env.client, { Cmd: ['sh', '-c', 'echo first; read x; echo "second:$x"'], OpenStdin: true, StdinOnce: true });
  try {
    await waitFor('first line', async () => (await env.client.containerLogs(id)).stdout.toString() === 'first\n');
    const h = await env.client.containerAttach(id, { logs: true, stream: true, stdin: true });
    const output = h.collect();
    h.conn.write('x\n');
    h.closeWrite();
    const out = await within(10_000, output);
    assert.equal(out.stdout.toString(), 'first\nsecond:x\n');
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
});

/** `2024-01-01T00:00:00.123456789Z` → `1704067200.123456789`, dockerd's since/until syntax. */
function unixNano(ts: string): string {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(ts)!;
  const sec = Date.parse(`${m[1]}Z`) / 1000;
  return `${sec}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/**
 * Runs `sh -c script` to its end, where the script calls `gate` to wait for a line on its stdin;
 * the test sends it once the output shows `after[N]` and the clock has left the millisecond of
 * the last log line (RFC 3339 `since` is read to the millisecond), so lines written on either
 * side of a gate are read and timestamped apart.
 */
async function runGated(script: string, after: string[]): Promise<string> {
  const { Id } = await env.client.containerCreate({
    Image: 'busybox',
    Cmd: ['sh', '-c', `gate() { read -r _; }; ${script}`],
    OpenStdin: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
  });
  const h = await env.client.containerAttach(Id, { stdin: true, stdout: true, stderr: true });
  const out = watchOutput(h.conn, h.multiplexed);
  const { exited } = await waitRegistered(env.client, Id);
  await env.client.containerStart(Id);
  for (const text of after) {
    await out.until(`the output to show ${JSON.stringify(text)}`, (o) => (o.stdout + o.stderr).includes(text));
    const logged = await waitFor('the line in the log', async () => {
      const l = await env.client.containerLogs(Id, { timestamps: true });
      const lines = (l.stdout.toString() + l.stderr.toString()).split('\n');
      return lines.find((x) => x.endsWith(` ${text.trimEnd()}`));
    });
    // The stamp to the millisecond, plus the 2 ms the daemon's clock may lag this one.
    const ms = Date.parse(`${logged.slice(0, 23)}Z`);
    await waitFor('the clock to leave that millisecond', () => Date.now() > ms + 2, 1000, 1);
    h.conn.write('\n');
  }
  assert.equal((await within(20_000, exited, 'gated container')).StatusCode, 0);
  h.conn.destroy();
  return Id;
}

test('logs: timestamps, since, until, tail and stream selection', async () => {
  const r = { id: await runGated('echo a; gate 1; echo b; echo eb >&2; gate 2; echo c; gate 3; echo d', ['a\n', 'eb\n', 'c\n']) };
  try {
    const all = await env.client.containerLogs(r.id);
    assert.equal(all.stdout.toString(), 'a\nb\nc\nd\n');
    assert.equal(all.stderr.toString(), 'eb\n');
    assert.equal((await env.client.containerLogs(r.id, { stderr: false })).stderr.toString(), '');
    assert.equal((await env.client.containerLogs(r.id, { stdout: false })).stdout.toString(), '');

    const ts = await env.client.containerLogs(r.id, { timestamps: true, stderr: false });
    const lines = ts.stdout.toString().trimEnd().split('\n');
    assert.equal(lines.length, 4);
    const stamps = lines.map((l) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.)$/.exec(l);
      assert.ok(m, `timestamped line: ${JSON.stringify(l)}`);
      return m[1]!;
    });
    assert.deepEqual(
      lines.map((l) => l.slice(-1)),
      ['a', 'b', 'c', 'd'],
    );

    // since is inclusive.
    const since = await env.client.containerLogs(r.id, { since: unixNano(stamps[1]!), stderr: false });
    assert.equal(since.stdout.toString(), 'b\nc\nd\n');
    // Whole seconds in the future: nothing.
    const future = await env.client.containerLogs(r.id, { since: String(Math.floor(Date.now() / 1000) + 3600) });
    assert.equal(future.stdout.length + future.stderr.length, 0);
    // RFC 3339 is accepted too.
    const rfc = await env.client.containerLogs(r.id, { since: stamps[3]!, stderr: false });
    assert.equal(rfc.stdout.toString(), 'd\n');

    assert.equal((await env.client.containerLogs(r.id, { tail: 2, stderr: false })).stdout.toString(), 'c\nd\n');
    assert.equal((await env.client.containerLogs(r.id, { tail: 1 })).stdout.toString(), 'd\n');
    assert.equal((await env.client.containerLogs(r.id, { tail: 'all', stderr: false })).stdout.toString(), 'a\nb\nc\nd\n');
    const none = await env.client.containerLogs(r.id, { tail: 0 });
    assert.equal(none.stdout.length + none.stderr.length, 0, 'tail=0 shows nothing');
    assert.equal((await env.client.containerLogs(r.id, { tail: 100, stderr: false })).stdout.toString(), 'a\nb\nc\nd\n');

    // The edge cases below are checked together so one mismatch does not hide the others.
    const problems: string[] = [];
    // dockerd ignores a tail it cannot parse (all lines).
    const badTail = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${r.id}/logs?stdout=1&tail=lots`);
    if (badTail.status !== 200) problems.push(`tail=lots: ${badTail.status} ${badTail.text.trim()} (dockerd: 200, all lines)`);
    // A bad since is an error answer (dockerd: 500 from ParseTimestamps), not a dropped connection.
    const bad = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${r.id}/logs?stdout=1&since=yesterday`).catch((e: Error) => e);
    if (bad instanceof Error) problems.push(`since=yesterday: request failed: ${bad.message} (dockerd: an error status with a message)`);
    else if (bad.status < 400 || typeof (bad.json as { message?: string } | undefined)?.message !== 'string') {
      problems.push(`since=yesterday: ${bad.status} ${bad.text.trim()}`);
    }
    // until is inclusive to the nanosecond (dockerd: entries After(until) end the read).
    const until = await env.client.containerLogs(r.id, { until: unixNano(stamps[2]!), stderr: false });
    if (until.stdout.toString() !== 'a\nb\nc\n') problems.push(`until=<c's timestamp>: ${JSON.stringify(until.stdout.toString())} (dockerd: "a\\nb\\nc\\n")`);
    const both = await env.client.containerLogs(r.id, { since: unixNano(stamps[1]!), until: unixNano(stamps[2]!), stderr: false });
    if (both.stdout.toString() !== 'b\nc\n') problems.push(`since=<b>&until=<c>: ${JSON.stringify(both.stdout.toString())} (dockerd: "b\\nc\\n")`);
    assert.deepEqual(problems, []);
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('logs follow streams live output and ends when the container stops', async () => {
  const { Id } = await env.client.containerCreate({
    Image: 'busybox',
    Cmd: ['sh', '-c', 'echo start; read -r _; echo middle >&2; echo end'],
    OpenStdin: true,
    AttachStdin: true,
  });
  try {
    const input = await env.client.containerAttach(Id, { stdin: true });
    await env.client.containerStart(Id);
    const { stream, multiplexed } = await env.client.containerLogsStream(Id, { follow: true });
    assert.equal(multiplexed, true);
    const out = watchOutput(stream, multiplexed);
    await out.until('the first line', (o) => o.stdout === 'start\n');
    // The rest is written only now, after the follow has delivered the first line.
    input.conn.write('\n');
    await within(10_000, out.ended, 'follow to end');
    input.conn.destroy();
    assert.equal(out.stdout(), 'start\nend\n');
    assert.equal(out.stderr(), 'middle\n');

    // Following a stopped container returns what there is at once.
    const again = await within(3000, env.client.containerLogs(Id, { follow: true }));
    assert.equal(again.stdout.toString(), 'start\nend\n');
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('logs follow of a long-running container ends when it is stopped', async () => {
  const id = await runDetached(env.client, { Cmd: ['sh', '-c', 'echo up; while true; do sleep 0.1; done'] });
  try {
    await waitFor('the first line', async () => (await env.client.containerLogs(id)).stdout.toString() === 'up\n');
    const { stream, multiplexed } = await env.client.containerLogsStream(id, { follow: true, tail: 1 });
    const out = watchOutput(stream, multiplexed);
    // The tail has arrived: the daemon is following now, while the container runs.
    await out.until('the tail', (o) => o.stdout === 'up\n');
    assert.equal((await env.client.containerInspect(id)).State.Running, true);
    await env.client.containerStop(id, { t: 0 });
    await within(10_000, out.ended, 'follow end after stop');
    assert.equal(out.stdout(), 'up\n');
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
});

test('logs of a container with the none driver are refused', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'none', Config: {} } } });
  try {
    // dockerd: errdefs.NotImplemented → 501.
    await rejectsApi(env.client.containerLogs(Id), 501, 'configured logging driver does not support reading');
  } finally {
    await env.client.containerRemove(Id);
  }
});

// Last: when berthd gets this wrong it crashes, and every later test would fail with it.
test('a client hanging up on an attach does not harm the daemon', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done'] });
  try {
    const pid = env.daemon.pid!;
    await env.client.ping();
    const baseline = await socketCount(pid);
    for (let i = 0; i < 5; i++) {
      const h = await env.client.containerAttach(r.id, { logs: true, stream: false });
      h.conn.destroy();
      const l = await env.client.containerLogsStream(r.id);
      l.stream.destroy();
    }
    // berthd has seen every hang-up once it has closed those connections.
    await waitFor('berthd to close the abandoned connections', async () => (await socketCount(pid)) <= baseline);
    assert.equal((await env.client.ping()).body, 'OK', 'berthd is still up');
    assert.equal((await env.client.containerLogs(r.id)).stdout.toString().split('\n').length, 2001);
  } finally {
    await env.client.containerRemove(r.id).catch(() => undefined);
  }
});

/** How many sockets process `pid` holds open. */
async function socketCount(pid: number): Promise<number> {
  let n = 0;
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')).startsWith('socket:')) n++;
  }
  return n;
}
