// Interactive use through a real pseudo-terminal: `docker run -it`, `docker exec -it`, `docker
// attach`, and detaching with ctrl-p ctrl-q.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerOk, dockerOut, dockerPty, inspectField, showPty, waitStatus } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

// busybox sh's prompt as root and as another user (ash follows it with a cursor position query).
const PROMPT = '[#$] ';

test('run -it: an interactive shell on a terminal, exit code from `exit`', async () => {
  const args = ['run', '-it', '--name', 'itsh', 'busybox', 'sh'];
  const r = await dockerPty(ctx.daemon, args, [
    { expect: PROMPT },
    { send: 'echo $((6*7))\r' },
    { expect: '\r\n42\r\n' },
    { send: 'tty; echo "$TERM"; stty size\r' },
    { expect: '/dev/pts/0\r\nxterm\r\n24 80\r\n' },
    { send: 'exit 4\r' },
  ]);
  assert.equal(r.error, null, showPty(args, r));
  assert.equal(r.code, 4, showPty(args, r));
  assert.equal(await inspectField(ctx.daemon, 'itsh', '{{.State.Status}} {{.State.ExitCode}} {{.Config.Tty}} {{.Config.OpenStdin}}'), 'exited 4 true true');
  // With a TTY the log has the terminal's output (\r\n line ends).
  const logs = (await dockerOk(ctx.daemon, ['logs', 'itsh'])).stdout;
  assert.match(logs, /\r\n42\r\n/);
  await dockerOk(ctx.daemon, ['rm', 'itsh']);
});

test('run -it --rm: ctrl-c reaches the process, not the CLI', async () => {
  const args = ['run', '-it', '--rm', 'busybox', 'sh', '-c', 'trap "echo caught; exit 9" INT; echo ready; while :; do sleep 0.1; done'];
  const r = await dockerPty(ctx.daemon, args, [{ expect: 'ready' }, { send: '\x03' }, { expect: 'caught' }]);
  assert.equal(r.error, null, showPty(args, r));
  assert.equal(r.code, 9, showPty(args, r));
});

test('exec -it: a shell in a running container', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'execme', 'busybox', 'sleep', '300']);
  const args = ['exec', '-it', '-u', 'user', '-w', '/tmp', 'execme', 'sh'];
  const r = await dockerPty(ctx.daemon, args, [
    { expect: PROMPT },
    { send: 'echo $((6*7)) $(id -u) $(pwd) $(tty)\r' },
    { expect: '\r\n42 1000 /tmp /dev/pts/\\d+\r\n' },
    { send: 'exit 5\r' },
  ]);
  assert.equal(r.error, null, showPty(args, r));
  assert.equal(r.code, 5, showPty(args, r));
  // The container is untouched.
  assert.equal(await inspectField(ctx.daemon, 'execme', '{{.State.Status}}'), 'running');
  await dockerOk(ctx.daemon, ['rm', '-f', 'execme']);
});

test('ctrl-p ctrl-q detaches from run -it; the container keeps running; attach again', async () => {
  const args = ['run', '-it', '--name', 'detachme', 'busybox', 'sh'];
  const r = await dockerPty(ctx.daemon, args, [
    { expect: PROMPT },
    { send: 'echo before-detach\r' },
    { expect: '\r\nbefore-detach\r\n' },
    { send: '\x10\x11' },
  ]);
  assert.equal(r.error, null, showPty(args, r));
  // docker run exits 0 on detach, silently (as with dockerd).
  assert.equal(r.code, 0, showPty(args, r));
  assert.doesNotMatch(r.transcript, /read escape sequence/);
  assert.equal(await inspectField(ctx.daemon, 'detachme', '{{.State.Status}}'), 'running');
  assert.match(await dockerOut(ctx.daemon, ['ps', '--filter', 'name=detachme', '--format', '{{.Status}}']), /^Up /);

  // Attach to it again and end it from the terminal.
  const attach = ['attach', 'detachme'];
  const r2 = await dockerPty(ctx.daemon, attach, [
    { send: 'echo again-$((1+1))\r' },
    { expect: 'again-2' },
    { send: 'exit 3\r' },
  ]);
  assert.equal(r2.error, null, showPty(attach, r2));
  assert.equal(r2.code, 3, showPty(attach, r2));
  await waitStatus(ctx.daemon, 'detachme', 'exited');
  assert.equal(await inspectField(ctx.daemon, 'detachme', '{{.State.ExitCode}}'), '3');
  await dockerOk(ctx.daemon, ['rm', 'detachme']);
});

test('--detach-keys: a custom sequence detaches from exec -it', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'dk', 'busybox', 'sleep', '300']);
  const args = ['exec', '-it', '--detach-keys', 'ctrl-x', 'dk', 'sh'];
  const r = await dockerPty(ctx.daemon, args, [{ expect: PROMPT }, { send: 'echo in-exec\r' }, { expect: '\r\nin-exec\r\n' }, { send: '\x18' }]);
  assert.equal(r.error, null, showPty(args, r));
  // docker exec reports the detach and exits 1 (as with dockerd).
  assert.equal(r.code, 1, showPty(args, r));
  assert.match(r.transcript, /read escape sequence\r\n$/);
  assert.equal(await inspectField(ctx.daemon, 'dk', '{{.State.Status}}'), 'running');
  await dockerOk(ctx.daemon, ['rm', '-f', 'dk']);
});
