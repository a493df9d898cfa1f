// Runtime operations with the real CLI: restart policies (also across a berthd restart with
// live-restore off), health checks, memory limits and OOM, stats, pause/unpause, update, log
// drivers (json-file rotation, none, local) and the events they emit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { msAfter, msBefore, subscribeEvents, type EventFeed } from '../integration/helpers.js';
import type { EventMessage } from '../src/client/client.js';
import { dockerFails, dockerOk, dockerOut, inspectField, show, waitUntil } from './helpers.js';

// live-restore off: SIGTERM to berthd stops the containers, and restart policies bring them back.
const ctx = useDaemon({ config: { 'live-restore': false }, setup: async (d) => void (await importBusybox(d)) });

/** Starts recording `name`'s events (through the API); subscribed when this resolves. */
const record = (name: string): Promise<EventFeed> => subscribeEvents(ctx.client, { container: [name] });

const secs = (d: Date): string => (d.getTime() / 1000).toFixed(3);

/**
 * Waits until the feed has an event `last` matches, then asks `docker events` for `name`'s
 * events between the feed's first event and that one, by the daemon's own timestamps.
 */
async function events(feed: EventFeed, name: string, what: string, last: (e: EventMessage) => boolean): Promise<string[]> {
  const end = await feed.next(what, last);
  feed.close();
  const out = await dockerOut(ctx.daemon, ['events', '--since', secs(msBefore(feed.events[0]!)), '--until', secs(msAfter(end)), '--filter', `container=${name}`, '--format', '{{.Type}} {{.Action}}']);
  return out.split('\n').filter(Boolean);
}

test('on-failure:2 restarts a failing container twice, always until stopped', async () => {
  const d = ctx.daemon;
  const onfail = await record('onfail');
  const always = await record('always');
  await dockerOk(d, ['run', '--network', 'none', '-d', '--name', 'onfail', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3']);
  await dockerOk(d, ['run', '--network', 'none', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 0']);
  // The restart decision is taken before the die event goes out: after the third die the
  // container is exited, not restarting, so no third restart is coming.
  const dies = (f: EventFeed) => f.events.filter((e) => e.Action === 'die');
  const ev = await events(onfail, 'onfail', 'the third die', (e) => dies(onfail).indexOf(e) === 2);
  assert.equal(await inspectField(d, 'onfail', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), '2 exited 3');
  assert.equal(ev.filter((e) => e === 'container start').length, 3, ev.join('\n'));
  assert.equal(ev.filter((e) => e === 'container die').length, 3, ev.join('\n'));

  // always: the count keeps growing, even for exit 0.
  await waitUntil('always to restart 3 times', async () => Number(await inspectField(d, 'always', '{{.RestartCount}}')) >= 3, 15_000);
  await dockerOk(d, ['stop', '-t', '1', 'always']);
  // The stop event comes once the stop is done and any pending restart canceled.
  await always.next('the stop', (e) => e.Action === 'stop');
  always.close();
  const count = await inspectField(d, 'always', '{{.RestartCount}}');
  assert.equal(await inspectField(d, 'always', '{{.State.Status}} {{.State.Restarting}}'), 'exited false');
  assert.equal(await inspectField(d, 'always', '{{.RestartCount}} {{.State.Status}}'), `${count} exited`);
  // A user start resets the count.
  await dockerOk(d, ['start', 'always']);
  await dockerOk(d, ['rm', '-f', 'always', 'onfail']);
});

test('--rm cannot be combined with a restart policy; --memory below 6MB is refused', async () => {
  const d = ctx.daemon;
  const r = await dockerFails(d, ['run', '--network', 'none', '--rm', '--restart', 'always', 'busybox', 'true'], 125);
  assert.match(r.stderr, /--restart and --rm|AutoRemove/, show(['run', '--network', 'none', '--rm', '--restart', 'always'], r));
  // Through the API directly (the CLI checks too): dockerd's message.
  const res = await ctx.client.json('POST', '/containers/create', {
    body: { Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } },
  }).catch((e: unknown) => e as Error);
  assert.match(String((res as { message?: string }).message ?? JSON.stringify(res)), /can't create 'AutoRemove' container with restart policy/);
  await dockerFails(d, ['run', '--network', 'none', '--rm', '--memory', '1k', 'busybox', 'true'], 125, 'Minimum memory limit allowed is 6MB');
});

test('restart policies across a berthd restart (live-restore off)', async () => {
  const d = ctx.daemon;
  for (const [name, policy] of [['pa', 'always'], ['pu', 'unless-stopped'], ['pus', 'unless-stopped'], ['pn', 'no']]) {
    await dockerOk(d, ['run', '--network', 'none', '-d', '--name', name!, '--restart', policy!, '--stop-timeout', '1', 'busybox', 'sleep', '600']);
  }
  await dockerOk(d, ['stop', '-t', '1', 'pus']);
  await d.restart();
  const status = async (n: string) => inspectField(d, n, '{{.State.Status}}');
  // Those its policy brings back may still be starting in the background: inspect waits for them.
  assert.equal(await status('pa'), 'running');
  assert.equal(await status('pu'), 'running');
  assert.equal(await status('pus'), 'exited', 'an unless-stopped container stopped by the user stays stopped');
  assert.equal(await status('pn'), 'exited', 'a container without restart policy was stopped with berthd');
  assert.equal(await inspectField(d, 'pn', '{{.State.ExitCode}}'), '137');
  await dockerOk(d, ['rm', '-f', 'pa', 'pu', 'pus', 'pn']);
});

test('a health check goes healthy, then unhealthy', async () => {
  const d = ctx.daemon;
  const feed = await record('hc');
  await dockerOk(d, ['run', '--network', 'none', '-d', '--name', 'hc', '--health-cmd', 'test -f /tmp/ok', '--health-interval', '200ms',
    '--health-timeout', '2s', '--health-retries', '2', 'busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 600']);
  assert.match(await dockerOut(d, ['ps', '--filter', 'name=hc', '--format', '{{.Status}}']), /^Up .*\((health: starting|healthy)\)$/);
  await waitUntil('healthy', async () => (await inspectField(d, 'hc', '{{.State.Health.Status}}')) === 'healthy', 10_000);
  assert.match(await dockerOut(d, ['ps', '--filter', 'name=hc', '--format', '{{.Status}}']), /^Up .* \(healthy\)$/);
  assert.equal(await dockerOut(d, ['ps', '--filter', 'health=healthy', '--format', '{{.Names}}']), 'hc');
  assert.equal(await dockerOut(d, ['ps', '--filter', 'health=unhealthy', '--format', '{{.Names}}']), '');
  await dockerFails(d, ['ps', '--filter', 'health=bogus'], 1, 'Unrecognised filter value for health: bogus');
  await dockerOk(d, ['exec', 'hc', 'rm', '/tmp/ok']);
  await waitUntil('unhealthy', async () => (await inspectField(d, 'hc', '{{.State.Health.Status}}')) === 'unhealthy', 10_000);
  assert.match(await dockerOut(d, ['ps', '--filter', 'name=hc', '--format', '{{.Status}}']), /\(unhealthy\)$/);
  const log = JSON.parse(await inspectField(d, 'hc', '{{json .State.Health}}')) as { FailingStreak: number; Log: { ExitCode: number }[] };
  assert.ok(log.FailingStreak >= 2 && log.Log.length > 0 && log.Log.length <= 5, JSON.stringify(log));
  const ev = await events(feed, 'hc', 'unhealthy', (e) => e.Action === 'health_status: unhealthy');
  assert.ok(ev.includes('container health_status: healthy'), ev.join('\n'));
  assert.ok(ev.includes('container health_status: unhealthy'), ev.join('\n'));
  await dockerOk(d, ['rm', '-f', 'hc']);
});

test('a memory hog is OOM-killed: OOMKilled true, exit 137', async () => {
  const d = ctx.daemon;
  const feed = await record('oom');
  const r = await d.docker(['run', '--network', 'none', '--name', 'oom', '--memory', '16m', '--memory-swap', '16m', 'busybox', 'sh', '-c', 'x=aaaaaaaa; while true; do x=$x$x; done'], { timeoutMs: 30_000 });
  assert.equal(r.code, 137, show(['run', '--network', 'none', 'oom'], r));
  assert.equal(await inspectField(d, 'oom', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}'), `true 137 ${16 * 1024 * 1024}`);
  const ev = await events(feed, 'oom', 'the die', (e) => e.Action === 'die');
  assert.ok(ev.includes('container oom'), ev.join('\n'));
  await dockerOk(d, ['rm', 'oom']);
});

test('docker stats --no-stream of a busy container; pause and unpause freeze a counter', async () => {
  const d = ctx.daemon;
  await dockerOk(d, ['run', '--network', 'none', '-d', '--name', 'busy', 'busybox', 'sh', '-c', 'while :; do :; done']);
  const line = await dockerOut(d, ['stats', '--no-stream', '--format', '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.PIDs}}', 'busy']);
  const [name, cpu, mem, pids] = line.split('|');
  assert.equal(name, 'busy', line);
  assert.ok(parseFloat(cpu!) > 5, `CPU ${line}`);
  assert.match(mem!, /^[\d.]+(B|KiB|MiB) \/ [\d.]+(MiB|GiB)$/, line);
  assert.equal(pids, '1', line);
  // One-shot through the API has no precpu.
  await dockerOk(d, ['rm', '-f', 'busy']);

  const feed = await record('ctr');
  const counter = ['busybox', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done'];
  await dockerOk(d, ['run', '--network', 'none', '-d', '--name', 'ctr', ...counter]);
  // A second counter that is never paused shows time going by for the containers.
  await dockerOk(d, ['run', '--network', 'none', '-d', '--name', 'ref', ...counter]);
  const last = async (name = 'ctr') => Number((await dockerOut(d, ['logs', '--tail', '1', name])) || 0);
  await waitUntil('counting', async () => (await last()) > 3);
  await dockerOk(d, ['pause', 'ctr']);
  assert.equal(await inspectField(d, 'ctr', '{{.State.Status}} {{.State.Paused}}'), 'paused true');
  assert.match(await dockerOut(d, ['ps', '--filter', 'name=ctr', '--format', '{{.Status}}']), /^Up .* \(Paused\)$/);
  await dockerFails(d, ['pause', 'ctr'], 1, 'is already paused');
  const a = await last();
  const ref = await last('ref');
  await waitUntil('the reference counter to count on', async () => (await last('ref')) > ref + 5);
  assert.equal(await last(), a, 'the counter is frozen while paused');
  await dockerOk(d, ['unpause', 'ctr']);
  await waitUntil('counting again', async () => (await last()) > a + 2);
  assert.equal(await inspectField(d, 'ctr', '{{.State.Status}}'), 'running');
  await dockerFails(d, ['unpause', 'ctr'], 1, 'is not paused');
  const ev = await events(feed, 'ctr', 'the unpause', (e) => e.Action === 'unpause');
  assert.ok(ev.includes('container pause') && ev.includes('container unpause'), ev.join('\n'));
  await dockerOk(d, ['rm', '-f', 'ctr', 'ref']);
});

test('docker update --memory changes a running container\'s limit', async () => {
  const d = ctx.daemon;
  const feed = await record('upd');
  const id = await dockerOut(d, ['run', '--network', 'none', '-d', '--name', 'upd', '--memory', '32m', 'busybox', 'sleep', '600']);
  await dockerOk(d, ['update', '--memory', '64m', '--memory-swap', '128m', '--restart', 'on-failure:3', 'upd']);
  assert.equal(await inspectField(d, 'upd', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'),
    `${64 * 1024 * 1024} ${128 * 1024 * 1024} on-failure:3`);
  const files = [`/sys/fs/cgroup/memory/berth/${id}/memory.limit_in_bytes`, `/sys/fs/cgroup/berth/${id}/memory.max`];
  let limit: string | undefined;
  for (const f of files) limit ??= await readFile(f, 'utf8').then((s) => s.trim(), () => undefined);
  assert.equal(limit, String(64 * 1024 * 1024));
  // dockerd's conflict: a memory limit above the swap limit needs a new swap limit.
  await dockerFails(d, ['update', '--memory', '256m', 'upd'], 1, 'Memory limit should be smaller than already set memoryswap limit');
  const ev = await events(feed, 'upd', 'the update', (e) => e.Action === 'update');
  assert.ok(ev.includes('container update'), ev.join('\n'));
  await dockerOk(d, ['rm', '-f', 'upd']);
});

test('json-file rotation keeps the newest lines in order; none and local drivers', async () => {
  const d = ctx.daemon;
  const n = 4000;
  const args = ['run', '--network', 'none', '--name', 'rot', '--log-opt', 'max-size=10k', '--log-opt', 'max-file=3', 'busybox', 'sh', '-c',
    `i=0; while [ $i -lt ${n} ]; do echo line-$i; i=$((i+1)); done`];
  const r = await dockerOk(d, args, { timeoutMs: 30_000 });
  assert.equal(r.stdout.split('\n').filter(Boolean).length, n, 'the attached client sees everything');
  const logs = (await dockerOut(d, ['logs', 'rot'])).split('\n');
  assert.ok(logs.length < n && logs.length > 200, `retained ${logs.length}`);
  assert.equal(logs.at(-1), `line-${n - 1}`);
  const first = Number(logs[0]!.slice(5));
  logs.forEach((l, i) => assert.equal(l, `line-${first + i}`, 'contiguous and in order'));
  const id = await inspectField(d, 'rot', '{{.Id}}');
  const files = (await readdir(join(d.dataRoot, 'containers', id))).filter((f) => f.includes('-json.log')).sort();
  assert.deepEqual(files, [`${id}-json.log`, `${id}-json.log.1`, `${id}-json.log.2`]);
  await dockerOk(d, ['rm', 'rot']);

  await dockerOk(d, ['run', '--network', 'none', '--name', 'nolog', '--log-driver', 'none', 'busybox', 'echo', 'hi']);
  await dockerFails(d, ['logs', 'nolog'], 1, 'configured logging driver does not support reading');
  await dockerOk(d, ['rm', 'nolog']);

  await dockerOk(d, ['run', '--network', 'none', '--name', 'loc', '--log-driver', 'local', 'busybox', 'sh', '-c', 'echo out1; echo err1 >&2; echo out2']);
  const lr = await dockerOk(d, ['logs', 'loc']);
  assert.equal(lr.stdout, 'out1\nout2\n');
  assert.equal(lr.stderr, 'err1\n');
  assert.equal(await inspectField(d, 'loc', '{{.HostConfig.LogConfig.Type}}|{{.LogPath}}'), 'local|');
  await dockerOk(d, ['rm', 'loc']);
  await dockerFails(d, ['run', '--network', 'none', '--rm', '--log-driver', 'bogus', 'busybox', 'true'], 125, "logger: no log driver named 'bogus' is registered");
});
