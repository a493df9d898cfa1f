// `docker events`: past events with --since/--until, filters, formats, and streaming.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { msAfter, msBefore, subscribeEvents, type EventFeed } from '../integration/helpers.js';
import type { EventMessage } from '../src/client/client.js';
import { dockerBackground, dockerFails, dockerOk, dockerOut, waitUntil, within } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

const FMT = '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}';

/** Unix seconds with a fractional part, as the CLI accepts for --since/--until. */
const secs = (d: Date): string => (d.getTime() / 1000).toFixed(3);

/**
 * The --since/--until window around what a feed has seen, up to the event `last` matches
 * (waited for), by the daemon's own timestamps.
 */
async function window(feed: EventFeed, what: string, last: (e: EventMessage) => boolean): Promise<{ since: string; until: string }> {
  const end = await feed.next(what, last);
  feed.close();
  return { since: secs(msBefore(feed.events[0]!)), until: secs(msAfter(end)) };
}

test('a container\'s life as events: create, attach, start, die with exitCode, rename, destroy', async () => {
  const feed = await subscribeEvents(ctx.client, { type: ['container'] });
  await dockerFails(ctx.daemon, ['run', '--name', 'ev1', '-l', 'team=a', 'busybox', 'sh', '-c', 'exit 3'], 3);
  const id = await dockerOut(ctx.daemon, ['inspect', '-f', '{{.Id}}', 'ev1']);
  await dockerOk(ctx.daemon, ['rename', 'ev1', 'ev2']);
  await dockerOk(ctx.daemon, ['rm', 'ev2']);
  const { since, until } = await window(feed, 'the destroy', (e) => e.Actor.ID === id && e.Action === 'destroy');
  const lines = (await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'type=container', '--format', FMT])).split('\n');
  assert.deepEqual(lines, [
    'container create ev1',
    'container attach ev1',
    'container start ev1',
    'container die ev1',
    'container rename ev2',
    'container destroy ev2',
  ]);
  const die = JSON.parse(
    await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'event=die', '--format', '{{json .}}']),
  ) as { Type: string; Action: string; status: string; id: string; from: string; Actor: { ID: string; Attributes: Record<string, string> }; time: number; timeNano: number; scope: string };
  assert.equal(die.Type, 'container');
  assert.equal(die.Action, 'die');
  assert.equal(die.status, 'die');
  assert.equal(die.id, id);
  assert.equal(die.from, 'busybox');
  assert.equal(die.scope, 'local');
  assert.equal(die.Actor.ID, id);
  assert.equal(die.Actor.Attributes.exitCode, '3');
  assert.equal(die.Actor.Attributes.name, 'ev1');
  assert.equal(die.Actor.Attributes.image, 'busybox');
  assert.equal(die.Actor.Attributes.team, 'a');
  assert.ok(die.timeNano >= Number(since) * 1e9);
  const rename = await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'event=rename', '--format', '{{.Actor.Attributes.oldName}} {{.Actor.Attributes.name}}']);
  assert.equal(rename, '/ev1 ev2');
  // Filters: by container (name or ID), label, several events.
  assert.equal(
    await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', `container=${id}`, '--filter', 'event=create', '--filter', 'event=destroy', '--format', '{{.Action}}']),
    'create\ndestroy',
  );
  assert.equal(
    await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'container=ev2', '--format', '{{.Action}}']),
    'rename\ndestroy',
  );
  assert.equal((await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'label=team=a', '--format', '{{.Action}}'])).split('\n').length, 6);
  assert.equal(await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'label=team=b']), '');
  // The default format.
  const plain = (await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'event=start'])).split('\n');
  assert.equal(plain.length, 1);
  assert.match(plain[0]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+(Z|[+-]\\d\\d:\\d\\d) container start ${id} \\((image=busybox, name=ev1, team=a|.*name=ev1.*)\\)$`));
});

test('kill, stop, exec and restart events', async () => {
  const feed = await subscribeEvents(ctx.client, { container: ['ev3'] });
  await dockerOk(ctx.daemon, ['run', '-d', '--name', 'ev3', 'busybox', 'sleep', '300']);
  await dockerOk(ctx.daemon, ['exec', 'ev3', 'true']);
  await dockerOk(ctx.daemon, ['kill', '-s', 'USR2', 'ev3']);
  await dockerOk(ctx.daemon, ['start', 'ev3']);
  await dockerOk(ctx.daemon, ['restart', '-t', '0', 'ev3']);
  await dockerOk(ctx.daemon, ['stop', '-t', '0', 'ev3']);
  // Removing it marks the end: once its destroy is in, so is every earlier event; the window
  // ends at the last stop (a whole CLI run before the destroy).
  await dockerOk(ctx.daemon, ['rm', 'ev3']);
  await feed.next('the destroy', (e) => e.Action === 'destroy');
  const lastStop = feed.events.filter((e) => e.Action === 'stop').at(-1)!;
  const { since, until } = await window(feed, 'the last stop', (e) => e === lastStop);
  const actions = (await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'container=ev3', '--format', '{{.Action}} {{.Actor.Attributes.signal}}'])).split('\n');
  assert.equal(actions[0], 'create <no value>');
  assert.equal(actions[1], 'start <no value>');
  assert.match(actions[2]!, /^exec_create: true /);
  assert.match(actions[3]!, /^exec_start: true /);
  assert.match(actions[4]!, /^exec_die /);
  assert.equal(actions[5], 'kill 12');
  // USR2 leaves sleep (PID 1, no handler) running, so the start is a no-op; then restart (kill 15,
  // kill 9, die, start, restart), then stop.
  assert.ok(actions.includes('restart <no value>'), actions.join('\n'));
  assert.ok(actions.includes('kill 15'), actions.join('\n'));
  assert.equal(actions[actions.length - 1], 'stop <no value>');
  const execDie = await dockerOut(ctx.daemon, ['events', '--since', since, '--until', until, '--filter', 'event=exec_die', '--format', '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.name}}']);
  assert.equal(execDie, '0 ev3');
});

test('events streams new events until interrupted; --until in the future ends it', async () => {
  const stream = dockerBackground(ctx.daemon, ['events', '--filter', 'type=container', '--filter', 'event=start', '--format', FMT]);
  try {
    // Give the CLI time to subscribe, then make events until one shows up.
    await waitUntil(
      'a streamed start event',
      async () => {
        await dockerOk(ctx.daemon, ['run', '--rm', 'busybox', 'true']);
        return stream.stdout().includes('container start ');
      },
      15_000,
      200,
    );
  } finally {
    stream.kill('SIGINT');
  }
  await within('events to exit on SIGINT', stream.exited, 5000);

  // The create is in the past when the CLI asks (replayed from since), whenever the CLI gets
  // there; until is later, and the stream ends by itself then.
  const feed = await subscribeEvents(ctx.client, { container: ['ev4'] });
  await dockerOk(ctx.daemon, ['create', '--name', 'ev4', 'busybox']);
  const created = await feed.next('the create', (e) => e.Action === 'create');
  feed.close();
  const until = secs(new Date(Date.now() + 1500));
  const bounded = dockerBackground(ctx.daemon, ['events', '--since', secs(msBefore(created)), '--until', until, '--filter', 'container=ev4', '--format', FMT]);
  assert.equal(await within('events --until to end by itself', bounded.exited, 30_000), 0);
  assert.equal(bounded.stdout(), 'container create ev4\n');
  await dockerOk(ctx.daemon, ['rm', 'ev4']);
});

test('--since after --until is refused', async () => {
  await dockerFails(ctx.daemon, ['events', '--since', '20', '--until', '10'], 1, 'Error response from daemon: `since` time (20) cannot be after `until` time (10)');
});
