// `docker ps`: running vs all, quiet, filters, formats, --last, --size.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerFails, dockerOk, dockerOut, waitStatus } from './helpers.js';

const ctx = useDaemon({
  setup: async (d) => {
    await importBusybox(d);
    // Created in this order: created (p3) is the newest.
    await dockerOk(d, ['run', '-d', '--name', 'p1', '-l', 'tier=web', '-l', 'flag', 'busybox', 'sleep', '300']);
    await dockerFails(d, ['run', '--name', 'p2', '-l', 'tier=db', 'busybox', 'sh', '-c', 'exit 2'], 2);
    await dockerOk(d, ['create', '--name', 'p3', 'busybox', 'echo', 'hello world']);
  },
});

const names = async (...args: string[]) => (await dockerOut(ctx.daemon, ['ps', ...args, '--format', '{{.Names}}'])).split('\n').filter(Boolean);

// Filled by the first test.
let ids: Record<string, string> = {};

test('default shows running containers only, newest first; -a shows all', async () => {
  ids = {};
  for (const n of ['p1', 'p2', 'p3']) ids[n] = await dockerOut(ctx.daemon, ['inspect', '-f', '{{.Id}}', n]);
  assert.deepEqual(await names(), ['p1']);
  assert.deepEqual(await names('-a'), ['p3', 'p2', 'p1']);
  const table = (await dockerOut(ctx.daemon, ['ps', '-a'])).split('\n');
  assert.match(table[0]!, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
  assert.equal(table.length, 4);
  assert.match(table[1]!, new RegExp(`^${ids.p3!.slice(0, 12)}\\s+busybox\\s+"echo 'hello world'"\\s+.+ago\\s+Created\\s+p3$`));
  assert.match(table[2]!, new RegExp(`^${ids.p2!.slice(0, 12)}\\s+busybox\\s+"sh -c 'exit 2'"\\s+.+ago\\s+Exited \\(2\\) .+ ago\\s+p2$`));
  assert.match(table[3]!, new RegExp(`^${ids.p1!.slice(0, 12)}\\s+busybox\\s+"sleep 300"\\s+.+ago\\s+Up .+\\s+p1$`));
});

test('-q prints short IDs; --no-trunc full ones', async () => {
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-q']), ids.p1!.slice(0, 12));
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-aq']), ['p3', 'p2', 'p1'].map((n) => ids[n]!.slice(0, 12)).join('\n'));
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-q', '--no-trunc']), ids.p1);
});

test('--filter name, status, exited, label, ancestor, id, before, since', async () => {
  assert.deepEqual(await names('-a', '--filter', 'name=p2'), ['p2']);
  assert.deepEqual(await names('-a', '--filter', 'name=^/p[13]$'), ['p3', 'p1']);
  assert.deepEqual(await names('-a', '--filter', 'status=exited'), ['p2']);
  assert.deepEqual(await names('-a', '--filter', 'status=created'), ['p3']);
  assert.deepEqual(await names('-a', '--filter', 'status=running'), ['p1']);
  assert.deepEqual(await names('-a', '--filter', 'status=created', '--filter', 'status=running'), ['p3', 'p1']);
  assert.deepEqual(await names('-a', '--filter', 'exited=2'), ['p2']);
  assert.deepEqual(await names('-a', '--filter', 'exited=0'), []);
  assert.deepEqual(await names('-a', '--filter', 'label=tier'), ['p2', 'p1']);
  assert.deepEqual(await names('-a', '--filter', 'label=tier=db'), ['p2']);
  assert.deepEqual(await names('-a', '--filter', 'label=tier=web', '--filter', 'label=flag'), ['p1']);
  assert.deepEqual(await names('-a', '--filter', 'ancestor=busybox'), ['p3', 'p2', 'p1']);
  assert.deepEqual(await names('-a', '--filter', 'ancestor=busybox:latest'), ['p3', 'p2', 'p1']);
  assert.deepEqual(await names('-a', '--filter', `id=${ids.p2!.slice(0, 8)}`), ['p2']);
  assert.deepEqual(await names('-a', '--filter', `id=${ids.p3}`), ['p3']);
  assert.deepEqual(await names('-a', '--filter', 'before=p3'), ['p2', 'p1']);
  assert.deepEqual(await names('-a', '--filter', 'since=p1'), ['p3', 'p2']);
  // Without -a a status filter still sees stopped containers (as dockerd).
  assert.deepEqual(await names('--filter', 'status=exited'), ['p2']);
  await dockerFails(
    ctx.daemon,
    ['ps', '-a', '--filter', 'status=bogus'],
    1,
    "Error response from daemon: invalid filter 'status=bogus': invalid value for state (bogus): must be one of created, running, paused, restarting, removing, exited, dead",
  );
  await dockerFails(ctx.daemon, ['ps', '-a', '--filter', 'exited=x'], 1, `Error response from daemon: invalid filter 'exited=x': strconv.Atoi: parsing "x": invalid syntax`);
  await dockerFails(ctx.daemon, ['ps', '--filter', 'nosuchfilter=1'], 1, /^Error response from daemon: invalid filter 'nosuchfilter'$/im);
});

test('--format templates and table', async () => {
  // One call: the relative time in Status moves on between two.
  const fields = (await dockerOut(ctx.daemon, ['ps', '-a', '--filter', 'name=p2', '--format', '{{.ID}}|{{.Image}}|{{.Command}}|{{.Status}}|{{.Labels}}|{{.Label "tier"}}|{{.Names}}|{{.Status}}'])).split('|');
  assert.equal(fields.length, 8, fields.join('|'));
  assert.match(fields[3]!, /^Exited \(2\) .+ ago$/);
  assert.equal(fields[7], fields[3], 'the same status both times');
  assert.deepEqual([...fields.slice(0, 3), ...fields.slice(4, 7)], [ids.p2!.slice(0, 12), 'busybox', `"sh -c 'exit 2'"`, 'tier=db', 'db', 'p2']);
  assert.match(await dockerOut(ctx.daemon, ['ps', '--format', '{{.State}} {{.RunningFor}}']), /^running .+ ago$/);
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-a', '--filter', 'name=p3', '--format', '{{json .Names}}']), '"p3"');
  const tbl = (await dockerOut(ctx.daemon, ['ps', '--format', 'table {{.Names}}\t{{.Image}}'])).split('\n');
  assert.match(tbl[0]!, /^NAMES\s+IMAGE$/);
  assert.match(tbl[1]!, /^p1\s+busybox$/);
  const json = JSON.parse(await dockerOut(ctx.daemon, ['ps', '--format', 'json'])) as Record<string, string>;
  assert.equal(json.Names, 'p1');
  assert.equal(json.State, 'running');
});

test('-n / --last and -l', async () => {
  assert.deepEqual(await names('-n', '1'), ['p3']);
  assert.deepEqual(await names('--last', '2'), ['p3', 'p2']);
  assert.deepEqual(await names('-l'), ['p3']);
});

test('-s shows the size of the writable layer', async () => {
  await dockerOk(ctx.daemon, ['exec', 'p1', 'sh', '-c', 'head -c 100000 /dev/zero > /tmp/blob']);
  const out = await dockerOut(ctx.daemon, ['ps', '-s', '--format', '{{.Names}} {{.Size}}']);
  assert.match(out, /^p1 1\d\d(\.\d+)?kB \(virtual \d+(\.\d+)?MB\)$/);
  const table = (await dockerOut(ctx.daemon, ['ps', '-s'])).split('\n');
  assert.match(table[0]!, /\s+SIZE$/);
});

test('ps follows state changes', async () => {
  await dockerOk(ctx.daemon, ['start', 'p3']);
  await waitStatus(ctx.daemon, 'p3', 'exited');
  assert.deepEqual(await names('-a', '--filter', 'exited=0'), ['p3']);
  await dockerOk(ctx.daemon, ['stop', '-t', '0', 'p1']);
  assert.deepEqual(await names(), []);
  assert.deepEqual(await names('-a', '--filter', 'exited=137'), ['p1']);
});
