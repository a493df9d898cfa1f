// Attach (hijacked, before start, stdin, detach keys, logs replay) and logs (since, until,
// tail, timestamps, follow, stream selection).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, rejectsApi, runDetached, runToExit, waitFor, within } from './helpers.js';
import { MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM, collectOutput } from '../src/client/client.js';

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
    const waited = env.client.containerWait(Id, 'next-exit');
    await env.client.containerStart(Id);
    h.conn.write('one\ntwo\n');
    await delay(100);
    h.closeWrite();
    const out = await within(10_000, output, 'attach output');
    assert.equal(out.stdout.toString(), 'out:one\nout:two\ndone\n');
    assert.equal(out.stderr.toString(), 'err:one\nerr:two\n');
    assert.equal((await within(10_000, waited)).StatusCode, 0, 'EOF on stdin ended the process');
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
  try {
    const h = await env.client.containerAttach(id, { stdin: true, detachKeys: 'ctrl-x,y', tty: true });
    const output = h.collect();
    h.conn.write('hello\r');
    await delay(100);
    h.conn.write(Buffer.from([0x18, 0x79])); // ctrl-x, y
    const out = await within(5000, output, 'detach');
    assert.match(out.stdout.toString(), /hello/);
    await delay(100);
    assert.equal((await env.client.containerInspect(id)).State.Running, true, 'still running after detach');

    // The default sequence is ctrl-p,ctrl-q.
    const h2 = await env.client.containerAttach(id, { stdin: true, tty: true });
    const out2 = h2.collect();
    h2.conn.write(Buffer.from([0x10, 0x11]));
    await within(5000, out2, 'detach with ctrl-p,ctrl-q');
    assert.equal((await env.client.containerInspect(id)).State.Running, true);

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

test('logs: timestamps, since, until, tail and stream selection', async () => {
  const r = await runToExit(env.client, {
    Cmd: ['sh', '-c', 'echo a; sleep 0.2; echo b; echo eb >&2; sleep 0.2; echo c; sleep 0.2; echo d'],
  });
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
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sh', '-c', 'echo start; sleep 0.7; echo middle >&2; sleep 0.3; echo end'] });
  try {
    await env.client.containerStart(Id);
    const t0 = Date.now();
    const { stream, multiplexed } = await env.client.containerLogsStream(Id, { follow: true });
    assert.equal(multiplexed, true);
    const out = await within(10_000, collectOutput(stream, multiplexed), 'follow to end');
    assert.equal(out.stdout.toString(), 'start\nend\n');
    assert.equal(out.stderr.toString(), 'middle\n');
    assert.ok(Date.now() - t0 >= 500, 'followed the live output');

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
    const { stream, multiplexed } = await env.client.containerLogsStream(id, { follow: true, tail: 1 });
    const collected = collectOutput(stream, multiplexed);
    await delay(300);
    await env.client.containerStop(id, { t: 0 });
    const out = await within(10_000, collected, 'follow end after stop');
    assert.equal(out.stdout.toString(), 'up\n');
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
    for (let i = 0; i < 5; i++) {
      const h = await env.client.containerAttach(r.id, { logs: true, stream: false });
      h.conn.destroy();
      const l = await env.client.containerLogsStream(r.id);
      l.stream.destroy();
    }
    await delay(300);
    assert.equal((await env.client.ping()).body, 'OK', 'berthd is still up');
    assert.equal((await env.client.containerLogs(r.id)).stdout.toString().split('\n').length, 2001);
  } finally {
    await env.client.containerRemove(r.id).catch(() => undefined);
  }
});
