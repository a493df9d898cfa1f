// Events: the container life-cycle actions and their attributes, since/until replay,
// live streaming and filters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { msAfter, msBefore, raw, subscribeEvents, waitRegistered, within, type EventFeed } from './helpers.js';
import type { EventMessage, EventsOptions } from '../src/client/client.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

async function collect(opts: EventsOptions): Promise<EventMessage[]> {
  const out: EventMessage[] = [];
  for await (const e of env.client.events(opts)) out.push(e);
  return out;
}

const actions = (list: readonly EventMessage[]) => list.map((e) => e.Action);
const is = (id: string, action: string) => (e: EventMessage) => e.Actor.ID === id && e.Action === action;

/** The feed's events published before its first event of `id` (which the feed waits for). */
async function before(feed: EventFeed, what: string, id: string): Promise<EventMessage[]> {
  const marker = await feed.next(what, (e) => e.Actor.ID === id);
  return feed.events.slice(0, feed.events.indexOf(marker));
}

test('container life cycle events with dockerd attributes, replayed with since/until', async () => {
  const feed = await subscribeEvents(env.client);
  const wallBefore = Date.now();
  let Id: string;
  try {
    ({ Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'], Labels: { team: 'blue' } }, { name: 'ev1' }));
    const { exited } = await waitRegistered(env.client, Id);
    await env.client.containerStart(Id);
    await within(10_000, exited);
    await env.client.containerRename(Id, 'ev1-renamed');
    await env.client.containerRemove(Id);
    await feed.next('destroy', is(Id, 'destroy'));
  } finally {
    feed.close();
  }
  const wallAfter = Date.now();
  // The replay window comes from the daemon's own timestamps, not from this process's clock.
  const t0 = msBefore(feed.events.find(is(Id, 'create'))!);
  const t1 = msAfter(feed.events.find(is(Id, 'destroy'))!);

  const events = await within(5000, collect({ since: t0, until: t1 }), 'replay');
  const mine = events.filter((e) => e.Actor.ID === Id);
  assert.deepEqual(actions(mine), ['create', 'start', 'die', 'rename', 'destroy']);
  assert.deepEqual(mine, feed.events.filter((e) => e.Actor.ID === Id), 'the replay is what was streamed live');
  for (const e of mine) {
    assert.equal(e.Type, 'container');
    assert.equal(e.scope, 'local');
    assert.equal(typeof e.time, 'number');
    assert.equal(typeof e.timeNano, 'number');
    assert.ok(e.time * 1000 >= wallBefore - 1000 && e.time * 1000 <= wallAfter + 1000);
    assert.equal(Math.floor(e.timeNano / 1e9), e.time);
    // The deprecated fields are still sent for container events.
    assert.equal(e.status, e.Action);
    assert.equal(e.id, Id);
    assert.equal(e.from, 'busybox');
    assert.equal(e.Actor.Attributes['image'], 'busybox');
    assert.equal(e.Actor.Attributes['team'], 'blue', 'labels are attributes');
  }
  assert.equal(mine[0]!.Actor.Attributes['name'], 'ev1');
  const die = mine.find((e) => e.Action === 'die')!;
  assert.equal(die.Actor.Attributes['exitCode'], '3');
  assert.equal(typeof die.Actor.Attributes['execDuration'], 'string');
  const rename = mine.find((e) => e.Action === 'rename')!;
  assert.equal(rename.Actor.Attributes['name'], 'ev1-renamed');
  assert.equal(rename.Actor.Attributes['oldName'], '/ev1');
  assert.equal(mine[4]!.Actor.Attributes['name'], 'ev1-renamed');
  // Ordered by time.
  for (let i = 1; i < events.length; i++) assert.ok(events[i]!.timeNano >= events[i - 1]!.timeNano);

  // until before the rename: the replay stops there.
  const partial = await within(5000, collect({ since: t0, until: new Date(Math.floor(rename.timeNano / 1e6) - 1) }));
  assert.ok(!actions(partial.filter((e) => e.Actor.ID === Id)).includes('rename'));
  assert.ok(actions(partial.filter((e) => e.Actor.ID === Id)).includes('create'));
  // since after everything: nothing (and the stream ends at until).
  const none = await within(5000, collect({ since: new Date(t1.getTime() + 1), until: new Date(t1.getTime() + 2) }));
  assert.deepEqual(none.filter((e) => e.Actor.ID === Id), []);
});

test('stop produces kill (with the signal), die and stop', async () => {
  const feed = await subscribeEvents(env.client);
  let Id: string;
  try {
    ({ Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] }));
    await env.client.containerStart(Id);
    await env.client.containerStop(Id, { t: 0 });
    await env.client.containerRemove(Id);
    await feed.next('destroy', is(Id, 'destroy'));
  } finally {
    feed.close();
  }
  const since = msBefore(feed.events.find(is(Id, 'create'))!);
  const until = msAfter(feed.events.find(is(Id, 'destroy'))!);
  const events = (await within(5000, collect({ since, until }))).filter((e) => e.Actor.ID === Id);
  const acts = actions(events);
  assert.deepEqual(acts.slice(0, 2), ['create', 'start']);
  // dockerd sends the stop signal first, even with t=0, then SIGKILL.
  const kills = events.filter((e) => e.Action === 'kill').map((e) => e.Actor.Attributes['signal']);
  assert.deepEqual(kills, ['15', '9'], acts.join(','));
  assert.ok(acts.indexOf('die') > acts.lastIndexOf('kill'));
  assert.ok(acts.indexOf('stop') > acts.indexOf('die'));
  assert.equal(events.find((e) => e.Action === 'die')!.Actor.Attributes['exitCode'], '137');
  assert.equal(acts[acts.length - 1], 'destroy');
});

test('exec events: exec_create, exec_start, exec_die with execID and exitCode', async () => {
  const feed = await subscribeEvents(env.client);
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] });
  try {
    await env.client.containerStart(Id);
    const exec = await env.client.execCreate(Id, { Cmd: ['sh', '-c', 'exit 2'], AttachStdout: true });
    const h = await env.client.execStartAttached(exec.Id);
    await within(5000, h.collect());
    const execDie = await feed.next('exec_die', is(Id, 'exec_die'));
    const since = msBefore(feed.events.find(is(Id, 'create'))!);
    const events = (await within(5000, collect({ since, until: msAfter(execDie) }))).filter((e) => e.Actor.ID === Id);
    const ex = events.filter((e) => e.Action.startsWith('exec_'));
    assert.deepEqual(actions(ex), ['exec_create: sh -c exit 2', 'exec_start: sh -c exit 2', 'exec_die']);
    for (const e of ex) assert.equal(e.Actor.Attributes['execID'], exec.Id);
    assert.equal(ex[2]!.Actor.Attributes['exitCode'], '2');
  } finally {
    feed.close();
    await env.client.containerRemove(Id, { force: true });
  }
});

test('live events with filters: container, event, type, label', async () => {
  const byName = await subscribeEvents(env.client, { container: ['flt-a'] });
  const byEvent = await subscribeEvents(env.client, { event: ['start'] });
  const byType = await subscribeEvents(env.client, { type: ['container'], event: ['destroy'] });
  const byLabel = await subscribeEvents(env.client, { label: ['flt=yes'] });
  const imageOnly = await subscribeEvents(env.client, { type: ['image'] });
  try {
    const run = async (id: string): Promise<void> => {
      const { exited } = await waitRegistered(env.client, id);
      await env.client.containerStart(id);
      await within(10_000, exited);
    };
    const a = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], Labels: { flt: 'yes' } }, { name: 'flt-a' });
    const b = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'flt-b' });
    await run(a.Id);
    await run(b.Id);
    await env.client.containerRemove(a.Id);
    await env.client.containerRemove(b.Id);
    // A last container that every container feed matches: events arrive on a stream in the order
    // they were published, so once a feed has the marker's, it has everything published before.
    const marker = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], Labels: { flt: 'yes' } }, { name: 'flt-a' });
    await run(marker.Id);
    await env.client.containerRemove(marker.Id);
    // And an image event for the image feed.
    await env.client.imageTag('busybox', 'flt-marker', 'v1');
    await env.client.imageRemove('flt-marker:v1');

    const named = await before(byName, 'the marker by name', marker.Id);
    assert.deepEqual(actions(named), ['create', 'start', 'die', 'destroy']);
    assert.ok(named.every((e) => e.Actor.ID === a.Id));
    assert.deepEqual(
      (await before(byEvent, 'the marker by event', marker.Id)).map((e) => [e.Action, e.Actor.ID]),
      [
        ['start', a.Id],
        ['start', b.Id],
      ],
    );
    assert.deepEqual(
      (await before(byType, 'the marker by type', marker.Id)).map((e) => [e.Action, e.Actor.ID]),
      [
        ['destroy', a.Id],
        ['destroy', b.Id],
      ],
    );
    const labelled = await before(byLabel, 'the marker by label', marker.Id);
    assert.deepEqual(actions(labelled), ['create', 'start', 'die', 'destroy']);
    assert.ok(labelled.every((e) => e.Actor.ID === a.Id));
    await imageOnly.next('the untag', (e) => e.Action === 'untag');
    assert.deepEqual(
      imageOnly.events.map((e) => [e.Type, e.Action]),
      [
        ['image', 'tag'],
        ['image', 'untag'],
      ],
    );
  } finally {
    for (const l of [byName, byEvent, byType, byLabel, imageOnly]) l.close();
  }
});

test('filter by container ID and by image; image events: tag, untag', async () => {
  const feed = await subscribeEvents(env.client);
  let Id: string;
  let untag: EventMessage;
  try {
    ({ Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }));
    await env.client.containerRemove(Id);
    await env.client.imageTag('busybox', 'evtag', 'v1');
    await env.client.imageRemove('evtag:v1');
    untag = await feed.next('untag', (e) => e.Type === 'image' && e.Action === 'untag');
  } finally {
    feed.close();
  }
  const t0 = msBefore(feed.events.find(is(Id, 'create'))!);
  const t1 = msAfter(untag);
  const byId = await within(5000, collect({ since: t0, until: t1, filters: { container: [Id] } }));
  assert.deepEqual(actions(byId), ['create', 'destroy']);
  const byShortId = await within(5000, collect({ since: t0, until: t1, filters: { container: [Id.slice(0, 12)] } }));
  assert.deepEqual(actions(byShortId), ['create', 'destroy']);
  const images = await within(5000, collect({ since: t0, until: t1, filters: { type: ['image'] } }));
  assert.deepEqual(actions(images), ['tag', 'untag']);
  const busybox = await env.client.imageInspect('busybox');
  assert.equal(images[0]!.Actor.ID, busybox.Id);
  assert.equal(images[0]!.Actor.Attributes['name'], 'evtag:v1');
  // dockerd names the image ID in untag events.
  assert.equal(images[1]!.Actor.Attributes['name'], busybox.Id);
  // image=busybox matches container events of containers from it as well.
  const fromImage = await within(5000, collect({ since: t0, until: t1, filters: { image: ['busybox'], type: ['container'] } }));
  assert.deepEqual(actions(fromImage), ['create', 'destroy']);
});

test('events: bad times are 400; filter names are not checked', async () => {
  // dockerd does not validate event filter names (unlike most list endpoints).
  const odd = await raw(env.daemon.socket, 'GET', `/v1.47/events?until=1000&filters=${encodeURIComponent('{"nosuch":["x"]}')}`);
  assert.equal(odd.status, 200, odd.text);
  const badJson = await raw(env.daemon.socket, 'GET', '/v1.47/events?until=1000&filters=notjson');
  assert.equal(badJson.status, 400, badJson.text);
  // dockerd 27 returns ParseTimestamps' error untyped (500).
  const badTime = await raw(env.daemon.socket, 'GET', '/v1.47/events?since=tomorrowish');
  assert.ok(badTime.status === 400 || badTime.status === 500, badTime.text);
  assert.equal(typeof (badTime.json as { message?: string }).message, 'string');
  const order = await raw(env.daemon.socket, 'GET', '/v1.47/events?since=2000&until=1000');
  assert.equal(order.status, 400);
  assert.deepEqual(order.json, { message: '`since` time (2000) cannot be after `until` time (1000)' });
  // until in the past with no since: the stream ends at once.
  const past = await raw(env.daemon.socket, 'GET', '/v1.47/events?until=1000');
  assert.equal(past.status, 200);
  assert.equal(past.headers['content-type'], 'application/json');
});
