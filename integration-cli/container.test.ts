// The container lifecycle with the real CLI: logs, exec, stop, kill, wait, rm, rename, inspect,
// top, restart, start -a, prune, diff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { subscribeEvents } from '../integration/helpers.js';
import { dockerBackground, dockerFails, dockerOk, dockerOut, inspectField, show, waitLogs, waitUntil, within } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

// A shell that prints its lines as it gets signals, and exits with a code of its own on TERM.
const TRAPPER = 'trap "echo got-term; exit 7" TERM; trap "echo got-hup" HUP; trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done';

test('logs: --tail, -t, --since, stdout/stderr apart', async () => {
  await dockerOk(ctx.daemon, ['run', '--name', 'lg', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; done; sleep 0.2; echo err1 >&2']);
  const all = await dockerOk(ctx.daemon, ['logs', 'lg']);
  assert.equal(all.stdout, 'line1\nline2\nline3\nline4\nline5\n');
  assert.equal(all.stderr, 'err1\n');
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--tail', '2', 'lg'])).stdout, 'line5\n');
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--tail', '3', 'lg'])).stdout, 'line4\nline5\n');
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--tail', '0', 'lg'])).stdout, '');
  const stamped = (await dockerOk(ctx.daemon, ['logs', '-t', '--tail', '2', 'lg'])).stdout.trim().split('\n');
  assert.equal(stamped.length, 1);
  assert.match(stamped[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line5$/);
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--since', '1h', 'lg'])).stdout, 'line1\nline2\nline3\nline4\nline5\n');
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--since', '2099-01-01T00:00:00Z', 'lg'])).stdout, '');
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--until', '2000-01-01T00:00:00Z', 'lg'])).stdout, '');
  // Since the first line's own timestamp: inclusive.
  const first = (await dockerOut(ctx.daemon, ['logs', '-t', 'lg'])).split('\n')[0]!.split(' ')[0]!;
  assert.equal((await dockerOk(ctx.daemon, ['logs', '--since', first, 'lg'])).stdout, 'line1\nline2\nline3\nline4\nline5\n');
  await dockerFails(ctx.daemon, ['logs', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerOk(ctx.daemon, ['rm', 'lg']);
});

test('logs -f follows and ends when the container stops', async () => {
  // It waits for a file that the test creates once `logs -f` is following.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'fl', 'busybox', 'sh', '-c', 'echo first; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo second; echo third']);
  const f = dockerBackground(ctx.daemon, ['logs', '-f', 'fl']);
  try {
    await within('first line', (async () => { while (!f.stdout().includes('first\n')) await new Promise((r) => setTimeout(r, 50)); })(), 10_000);
    await dockerOk(ctx.daemon, ['exec', 'fl', 'touch', '/tmp/go']);
    assert.equal(await within('logs -f to end with the container', f.exited, 15_000), 0);
    assert.equal(f.stdout(), 'first\nsecond\nthird\n');
  } finally {
    f.kill();
  }
  // Following a stopped container prints everything and returns.
  assert.equal((await dockerOk(ctx.daemon, ['logs', '-f', 'fl'], { timeoutMs: 10_000 })).stdout, 'first\nsecond\nthird\n');
  await dockerOk(ctx.daemon, ['rm', 'fl']);
});

test('exec: exit code, -e, -u, -w, stdin, errors', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'ex', '-e', 'FROMRUN=1', '-w', '/home', 'busybox', 'sleep', '300']);
  await dockerFails(ctx.daemon, ['exec', 'ex', 'sh', '-c', 'exit 5'], 5);
  assert.equal(await dockerOut(ctx.daemon, ['exec', 'ex', 'sh', '-c', 'echo $FROMRUN $(pwd)']), '1 /home');
  assert.equal(await dockerOut(ctx.daemon, ['exec', '-e', 'A=1', '-e', 'FROMRUN=2', '-w', '/tmp', 'ex', 'sh', '-c', 'echo $A $FROMRUN $(pwd)']), '1 2 /tmp');
  assert.equal(await dockerOut(ctx.daemon, ['exec', '-u', 'user', 'ex', 'id']), 'uid=1000(user) gid=1000(user) groups=1000(user)');
  assert.equal(await dockerOut(ctx.daemon, ['exec', '-u', '1000:1000', 'ex', 'id', '-u']), '1000');
  const r = await dockerOk(ctx.daemon, ['exec', 'ex', 'sh', '-c', 'echo out; echo err >&2']);
  assert.equal(r.stdout, 'out\n');
  assert.equal(r.stderr, 'err\n');
  assert.equal((await dockerOk(ctx.daemon, ['exec', '-i', 'ex', 'cat'], { input: 'piped\n' })).stdout, 'piped\n');
  assert.equal((await dockerOk(ctx.daemon, ['exec', '-i', 'ex', 'wc', '-l'], { input: 'a\nb\nc\n' })).stdout.trim(), '3');
  // A missing command: 127 (dockerd 25+ translates 'not found' as for run) and runc's message in the stream.
  const miss = await dockerFails(ctx.daemon, ['exec', 'ex', 'nosuchcmd'], 127);
  assert.equal(
    miss.stdout,
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown\r\n',
    show(['exec', 'ex', 'nosuchcmd'], miss),
  );
  await dockerFails(ctx.daemon, ['exec', '-d', 'ex', 'nosuchcmd'], 1, 'Error response from daemon: OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH: unknown');
  // exec -d returns at once; the process runs.
  await dockerOk(ctx.daemon, ['exec', '-d', 'ex', 'sh', '-c', 'sleep 0.2; touch /tmp/detached']);
  await dockerOk(ctx.daemon, ['exec', 'ex', 'sh', '-c', 'for i in $(seq 50); do [ -e /tmp/detached ] && exit 0; sleep 0.1; done; exit 1']);
  await dockerFails(ctx.daemon, ['exec', 'nosuch', 'true'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerOk(ctx.daemon, ['stop', '-t', '0', 'ex']);
  const id = await inspectField(ctx.daemon, 'ex', '{{.Id}}');
  await dockerFails(ctx.daemon, ['exec', 'ex', 'true'], 1, `Error response from daemon: container ${id} is not running`);
  await dockerOk(ctx.daemon, ['rm', 'ex']);
});

test('stop: TERM and a trapping shell, -t, --stop-signal, already stopped', async () => {
  // Stop timeouts far beyond the CLI's 60 s limit: a stop that waited for one would fail.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'st', '--stop-timeout', '600', 'busybox', 'sh', '-c', TRAPPER]);
  await waitLogs(ctx.daemon, 'st', 'ready');
  assert.equal(await dockerOut(ctx.daemon, ['stop', 'st']), 'st', 'the trapping shell exits on TERM, no timeout');
  assert.equal(await inspectField(ctx.daemon, 'st', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 7');
  assert.match(await dockerOut(ctx.daemon, ['logs', 'st']), /got-term$/);
  // Stopping a stopped container is fine.
  assert.equal(await dockerOut(ctx.daemon, ['stop', 'st']), 'st');
  await dockerOk(ctx.daemon, ['rm', 'st']);

  // A process that ignores TERM is killed after -t seconds.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'st2', '--stop-timeout', '600', 'busybox', 'sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.1; done']);
  await waitLogs(ctx.daemon, 'st2', 'ready');
  const kills = await subscribeEvents(ctx.client, { container: ['st2'], event: ['kill'] });
  try {
    await dockerOk(ctx.daemon, ['stop', '-t', '1', 'st2']);
    assert.equal(await inspectField(ctx.daemon, 'st2', '{{.State.ExitCode}}'), '137');
    // KILL came a whole -t after TERM, by the daemon's own clock.
    const term = await kills.next('kill 15', (e) => e.Actor.Attributes['signal'] === '15');
    const kill = await kills.next('kill 9', (e) => e.Actor.Attributes['signal'] === '9');
    const gapMs = (kill.timeNano - term.timeNano) / 1e6;
    assert.ok(gapMs >= 900, `stop -t 1: KILL ${gapMs} ms after TERM`);
  } finally {
    kills.close();
  }
  await dockerOk(ctx.daemon, ['rm', 'st2']);

  // --stop-signal is used by docker stop.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'st3', '--stop-signal', 'USR1', 'busybox', 'sh', '-c', 'trap "echo got-usr1; exit 5" USR1; echo ready; while :; do sleep 0.1; done']);
  assert.equal(await inspectField(ctx.daemon, 'st3', '{{.Config.StopSignal}}'), 'USR1');
  await waitLogs(ctx.daemon, 'st3', 'ready');
  await dockerOk(ctx.daemon, ['stop', 'st3']);
  assert.equal(await dockerOut(ctx.daemon, ['wait', 'st3']), '5');
  assert.equal(await dockerOut(ctx.daemon, ['logs', 'st3']), 'ready\ngot-usr1');
  // docker stop -s overrides it.
  await dockerOk(ctx.daemon, ['start', 'st3']);
  await dockerOk(ctx.daemon, ['stop', '-s', 'KILL', 'st3']);
  assert.equal(await inspectField(ctx.daemon, 'st3', '{{.State.ExitCode}}'), '137');
  await dockerOk(ctx.daemon, ['rm', 'st3']);
  await dockerFails(ctx.daemon, ['stop', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
});

test('kill: default KILL, -s by name and number, not running', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'kl', 'busybox', 'sh', '-c', TRAPPER]);
  await waitLogs(ctx.daemon, 'kl', 'ready');
  assert.equal(await dockerOut(ctx.daemon, ['kill', '-s', 'HUP', 'kl']), 'kl');
  await waitLogs(ctx.daemon, 'kl', 'got-hup');
  await dockerOk(ctx.daemon, ['kill', '-s', 'SIGUSR1', 'kl']);
  await waitLogs(ctx.daemon, 'kl', 'got-usr1');
  await dockerOk(ctx.daemon, ['kill', '-s', '1', 'kl']);
  await waitLogs(ctx.daemon, 'kl', /got-hup\n(.*\n)*got-hup/);
  await dockerFails(ctx.daemon, ['kill', '-s', 'NOPE', 'kl'], 1, 'Error response from daemon: cannot kill container: kl: Invalid signal: NOPE');
  assert.equal(await inspectField(ctx.daemon, 'kl', '{{.State.Status}}'), 'running');
  await dockerOk(ctx.daemon, ['kill', '-s', '15', 'kl']);
  assert.equal(await dockerOut(ctx.daemon, ['wait', 'kl']), '7');
  await dockerOk(ctx.daemon, ['start', 'kl']);
  // The default SIGKILL returns once the container is gone.
  await dockerOk(ctx.daemon, ['kill', 'kl']);
  assert.equal(await inspectField(ctx.daemon, 'kl', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
  assert.equal(await dockerOut(ctx.daemon, ['wait', 'kl']), '137');
  const id = await inspectField(ctx.daemon, 'kl', '{{.Id}}');
  await dockerFails(ctx.daemon, ['kill', 'kl'], 1, `Error response from daemon: cannot kill container: kl: container ${id} is not running`);
  await dockerFails(ctx.daemon, ['kill', 'nosuch'], 1, 'Error response from daemon: cannot kill container: nosuch: No such container: nosuch');
  await dockerOk(ctx.daemon, ['rm', 'kl']);
});

test('wait: blocks until exit, prints the code; several containers', async () => {
  // w1 exits 3 only once the test creates /tmp/go in it: a wait that answered early could not print 3.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'w1', 'busybox', 'sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 3']);
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'w2', 'busybox', 'sh', '-c', 'exit 4']);
  const waiter = dockerBackground(ctx.daemon, ['wait', 'w1', 'w2']);
  await dockerOk(ctx.daemon, ['exec', '-d', 'w1', 'touch', '/tmp/go']);
  assert.equal(await within('wait w1 w2', waiter.exited, 30_000), 0, waiter.stderr());
  assert.equal(waiter.stdout(), '3\n4\n');
  // An exited container: at once.
  assert.equal(await dockerOut(ctx.daemon, ['wait', 'w2']), '4');
  const r = await dockerFails(ctx.daemon, ['wait', 'w1', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
  assert.equal(r.stdout, '3\n');
  await dockerOk(ctx.daemon, ['rm', 'w1', 'w2']);
});

test('rm: running needs -f; -f kills; several at once; missing', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'rm1', 'busybox', 'sleep', '300']);
  await dockerFails(
    ctx.daemon,
    ['rm', 'rm1'],
    1,
    'Error response from daemon: cannot remove container "/rm1": container is running: stop the container before removing or force remove',
  );
  assert.equal(await inspectField(ctx.daemon, 'rm1', '{{.State.Status}}'), 'running');
  assert.equal(await dockerOut(ctx.daemon, ['rm', '-f', 'rm1']), 'rm1');
  await dockerFails(ctx.daemon, ['inspect', 'rm1'], 1, 'Error: No such object: rm1');
  await dockerOk(ctx.daemon, ['create', '--name', 'rm2', 'busybox']);
  await dockerOk(ctx.daemon, ['create', '--name', 'rm3', 'busybox']);
  const r = await dockerFails(ctx.daemon, ['rm', 'rm2', 'nosuch', 'rm3'], 1, 'Error response from daemon: No such container: nosuch');
  assert.equal(r.stdout, 'rm2\nrm3\n');
  // rm -f of something missing is not an error.
  await dockerOk(ctx.daemon, ['rm', '-f', 'nosuch']);
});

test('rename: new name, conflicts, missing, events', async () => {
  const id = await dockerOut(ctx.daemon, ['create', '--name', 'rn1', 'busybox']);
  await dockerOk(ctx.daemon, ['create', '--name', 'rn2', 'busybox']);
  await dockerOk(ctx.daemon, ['rename', 'rn1', 'rn3']);
  assert.equal(await inspectField(ctx.daemon, 'rn3', '{{.Name}} {{.Id}}'), `/rn3 ${id}`);
  await dockerFails(ctx.daemon, ['inspect', 'rn1'], 1, 'Error: No such object: rn1');
  const r = await dockerFails(ctx.daemon, ['rename', 'rn3', 'rn2'], 1);
  assert.match(r.stderr, /^Error response from daemon: Error when allocating new name: Conflict\. The container name "\/rn2" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\.\nError: failed to rename container named rn3\n$/);
  await dockerFails(ctx.daemon, ['rename', 'rn3', 'rn3'], 1, 'Error response from daemon: Renaming a container with the same name as its current name');
  await dockerFails(ctx.daemon, ['rename', 'nosuch', 'x'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerFails(ctx.daemon, ['rename', 'rn3', 'bad/name'], 1, 'Invalid container name (bad/name)');
  // The old name is free again.
  await dockerOk(ctx.daemon, ['create', '--name', 'rn1', 'busybox']);
  await dockerOk(ctx.daemon, ['rm', 'rn1', 'rn2', 'rn3']);
});

test('inspect: fields and -f templates', async () => {
  await dockerFails(ctx.daemon, ['run', '--name', 'in', '-e', 'X=1', '-l', 'k=v', '--restart', 'no', 'busybox', 'sh', '-c', 'exit 6'], 6);
  const [info] = JSON.parse(await dockerOut(ctx.daemon, ['inspect', 'in'])) as Record<string, any>[];
  assert.equal(info!.Name, '/in');
  assert.match(info!.Id, /^[0-9a-f]{64}$/);
  assert.equal(info!.State.Status, 'exited');
  assert.equal(info!.State.ExitCode, 6);
  assert.equal(info!.State.Running, false);
  assert.deepEqual(info!.Config.Cmd, ['sh', '-c', 'exit 6']);
  assert.equal(info!.Config.Image, 'busybox');
  assert.ok(info!.Config.Env.includes('X=1'));
  assert.deepEqual(info!.Config.Labels, { k: 'v' });
  assert.equal(info!.Path, 'sh');
  assert.deepEqual(info!.Args, ['-c', 'exit 6']);
  assert.match(info!.Image, /^sha256:[0-9a-f]{64}$/);
  assert.equal(info!.Driver, 'overlay2');
  assert.equal(info!.GraphDriver.Name, 'overlay2');
  assert.match(info!.GraphDriver.Data.MergedDir, /\/merged$/);
  assert.equal(info!.HostConfig.NetworkMode, 'bridge');
  assert.deepEqual(info!.HostConfig.RestartPolicy, { Name: 'no', MaximumRetryCount: 0 });
  assert.equal(info!.HostConfig.LogConfig.Type, 'json-file');
  assert.ok((await stat(info!.LogPath)).isFile(), 'LogPath exists');
  assert.ok(info!.LogPath.startsWith(ctx.daemon.dataRoot));
  for (const p of ['HostnamePath', 'HostsPath', 'ResolvConfPath']) assert.ok((await stat(info![p])).isFile(), p);

  assert.equal(await inspectField(ctx.daemon, 'in', '{{.State.Status}} {{.State.ExitCode}} {{json .Config.Cmd}}'), 'exited 6 ["sh","-c","exit 6"]');
  assert.equal(await inspectField(ctx.daemon, 'in', '{{.GraphDriver.Name}} {{.HostConfig.Privileged}} {{.HostConfig.AutoRemove}}'), 'overlay2 false false');
  assert.equal(await inspectField(ctx.daemon, 'in', '{{index .Config.Labels "k"}} {{len .Config.Env}}'), `v ${info!.Config.Env.length}`);
  assert.match(await inspectField(ctx.daemon, 'in', '{{.State.FinishedAt}}'), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  // Type selection and several objects.
  assert.equal(await dockerOut(ctx.daemon, ['inspect', '--type', 'container', '-f', '{{.Name}}', 'in', 'in']), '/in\n/in');
  await dockerFails(ctx.daemon, ['inspect', '--type', 'container', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerFails(ctx.daemon, ['container', 'inspect', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerFails(ctx.daemon, ['inspect', 'nosuch'], 1, 'Error: No such object: nosuch');
  // --size.
  assert.match(await dockerOut(ctx.daemon, ['inspect', '-s', '-f', '{{.SizeRw}} {{.SizeRootFs}}', 'in']), /^\d+ \d+$/);
  await dockerOk(ctx.daemon, ['rm', 'in']);
});

test('top: the container\'s processes, ps options, not running', async () => {
  // The trailing `:` keeps sh from exec'ing the last command.
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'tp', 'busybox', 'sh', '-c', 'sleep 301 & sleep 302; :']);
  await waitUntil('both sleeps', async () => (await dockerOut(ctx.daemon, ['top', 'tp'])).includes('sleep 302'));
  const out = (await dockerOut(ctx.daemon, ['top', 'tp'])).split('\n');
  assert.match(out[0]!, /^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$/);
  const cmds = out.slice(1).map((l) => l.split(/\s+/).slice(7).join(' ')).sort();
  assert.deepEqual(cmds, ['sh -c sleep 301 & sleep 302; :', 'sleep 301', 'sleep 302']);
  const pids = (await dockerOut(ctx.daemon, ['top', 'tp', '-o', 'pid,comm'])).split('\n');
  assert.match(pids[0]!, /^PID\s+COMMAND$/);
  assert.equal(pids.length, 4);
  const id = await inspectField(ctx.daemon, 'tp', '{{.Id}}');
  await dockerOk(ctx.daemon, ['kill', 'tp']);
  await dockerFails(ctx.daemon, ['top', 'tp'], 1, `Error response from daemon: container ${id} is not running`);
  await dockerOk(ctx.daemon, ['rm', 'tp']);
});

test('restart and start -a', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'rs', 'busybox', 'sh', '-c', 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done']);
  await waitLogs(ctx.daemon, 'rs', 'started');
  const before = await inspectField(ctx.daemon, 'rs', '{{.State.StartedAt}} {{.State.Pid}}');
  assert.equal(await dockerOut(ctx.daemon, ['restart', '-t', '2', 'rs']), 'rs');
  assert.equal(await inspectField(ctx.daemon, 'rs', '{{.State.Status}} {{.RestartCount}}'), 'running 0');
  assert.notEqual(await inspectField(ctx.daemon, 'rs', '{{.State.StartedAt}} {{.State.Pid}}'), before);
  await waitLogs(ctx.daemon, 'rs', /started\nstarted/);
  await dockerOk(ctx.daemon, ['rm', '-f', 'rs']);
  // Restarting a stopped container starts it.
  await dockerOk(ctx.daemon, ['create', '--name', 'rs2', 'busybox', 'sleep', '300']);
  await dockerOk(ctx.daemon, ['restart', 'rs2']);
  assert.equal(await inspectField(ctx.daemon, 'rs2', '{{.State.Status}}'), 'running');
  await dockerOk(ctx.daemon, ['rm', '-f', 'rs2']);

  // start -a: attached output and the exit code; again on a second start.
  await dockerOk(ctx.daemon, ['create', '--name', 'sa', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  for (let i = 0; i < 2; i++) {
    const r = await dockerFails(ctx.daemon, ['start', '-a', 'sa'], 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
  }
  assert.equal((await dockerOk(ctx.daemon, ['logs', 'sa'])).stdout, 'out\nout\n');
  // start -ai with stdin.
  await dockerOk(ctx.daemon, ['create', '-i', '--name', 'sai', 'busybox', 'sh', '-c', 'read x; echo got-$x']);
  assert.equal((await dockerOk(ctx.daemon, ['start', '-ai', 'sai'], { input: 'abc\n' })).stdout, 'got-abc\n');
  // Plain start prints the name; starting a running container is fine.
  await dockerOk(ctx.daemon, ['create', '--name', 'sp', 'busybox', 'sleep', '300']);
  assert.equal(await dockerOut(ctx.daemon, ['start', 'sp']), 'sp');
  assert.equal(await dockerOut(ctx.daemon, ['start', 'sp']), 'sp');
  await dockerFails(ctx.daemon, ['start', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerOk(ctx.daemon, ['rm', '-f', 'sa', 'sai', 'sp']);
});

test('container prune -f removes stopped containers only', async () => {
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'keep', 'busybox', 'sleep', '300']);
  const a = await dockerOut(ctx.daemon, ['create', '--name', 'pr1', 'busybox']);
  await dockerOk(ctx.daemon, ['run', '--name', 'pr2', 'busybox', 'true']);
  const b = await inspectField(ctx.daemon, 'pr2', '{{.Id}}');
  const out = await dockerOut(ctx.daemon, ['container', 'prune', '-f']);
  const lines = out.split('\n');
  assert.equal(lines[0], 'Deleted Containers:');
  assert.deepEqual(lines.slice(1, 3).sort(), [a, b].sort());
  assert.match(out, /\n\nTotal reclaimed space: \d+(\.\d+)?[kMG]?B$/);
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-a', '--format', '{{.Names}}']), 'keep');
  // Nothing left to prune.
  assert.equal(await dockerOut(ctx.daemon, ['container', 'prune', '-f']), 'Total reclaimed space: 0B');
  // Label filters.
  await dockerOk(ctx.daemon, ['create', '--name', 'lab1', '-l', 'prune=yes', 'busybox']);
  await dockerOk(ctx.daemon, ['create', '--name', 'lab2', 'busybox']);
  await dockerOk(ctx.daemon, ['container', 'prune', '-f', '--filter', 'label=prune=yes']);
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-a', '--format', '{{.Names}}']), 'lab2\nkeep');
  await dockerOk(ctx.daemon, ['rm', '-f', 'keep', 'lab2']);
});

test('diff: added, changed and deleted paths', async () => {
  await dockerOk(ctx.daemon, ['run', '--name', 'df', 'busybox', 'sh', '-c', 'mkdir -p /tmp/d && echo x > /tmp/d/f && rm /etc/group && echo y >> /etc/passwd']);
  const out = (await dockerOut(ctx.daemon, ['diff', 'df'])).split('\n');
  assert.deepEqual(out.sort(), ['A /tmp/d', 'A /tmp/d/f', 'C /etc', 'C /etc/passwd', 'C /tmp', 'D /etc/group'].sort());
  // No changes: no output.
  await dockerOk(ctx.daemon, ['create', '--name', 'df2', 'busybox']);
  assert.equal(await dockerOut(ctx.daemon, ['diff', 'df2']), '');
  await dockerFails(ctx.daemon, ['diff', 'nosuch'], 1, 'Error response from daemon: No such container: nosuch');
  await dockerOk(ctx.daemon, ['rm', 'df', 'df2']);
});
