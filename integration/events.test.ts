// Events: the container life-cycle actions and their attributes, since/until replay,
// live streaming and filters.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, waitFor, within } from './helpers.js';
import type { EventMessage, EventsOptions } from '../src/client/client.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

async function collect(opts: EventsOptions): Promise<EventMessage[]> {
  const out: EventMessage[] = [];
  for await (const e of env.client.events(opts)) out.push(e);
  return out;
}

/** Streams events live (with filters) until `n` arrived or `ms` passed. */
function live(filters: Record<string, string[]>): { events: EventMessage[]; stop: () => void; ready: Promise<void> } {
  const ac = new AbortController();
  const events: EventMessage[] = [];
  const ready = (async () => {
    // Give the request a moment to be registered before acting.
    await delay(100);
  })();
  void (async () => {
    for await (const e of env.client.events({ filters, signal: ac.signal })) events.push(e);
  })().catch(() => undefined);
  return { events, stop: () => ac.abort(), ready };
}

const actions = (list: EventMessage[]) => list.map((e) => e.Action);

test('container life cycle events with dockerd attributes, replayed with since/until', async () => {
  const t0 = new Date();
  await delay(5);
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sh', '-c', 'sleep 0.2; exit 3'], Labels: { team: 'blue' } }, { name: 'ev1' });
  const waited = env.client.containerWait(Id, 'next-exit');
  await delay(20);
  await env.client.containerStart(Id);
  await within(10_000, waited);
  await env.client.containerRename(Id, 'ev1-renamed');
  await env.client.containerRemove(Id);
  await delay(5);
  const t1 = new Date();

  const events = await within(5000, collect({ since: t0, until: t1 }), 'replay');
  const mine = events.filter((e) => e.Actor.ID === Id);
  assert.deepEqual(actions(mine), ['create', 'start', 'die', 'rename', 'destroy']);
  for (const e of mine) {
    assert.equal(e.Type, 'container');
    assert.equal(e.scope, 'local');
    assert.equal(typeof e.time, 'number');
    assert.equal(typeof e.timeNano, 'number');
    assert.ok(e.time * 1000 >= t0.getTime() - 1000 && e.time * 1000 <= t1.getTime() + 1000);
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
  const t0 = new Date();
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] });
  await env.client.containerStart(Id);
  await env.client.containerStop(Id, { t: 0 });
  await env.client.containerRemove(Id);
  await delay(5);
  const events = (await within(5000, collect({ since: t0, until: new Date() }))).filter((e) => e.Actor.ID === Id);
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
  const t0 = new Date();
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'] });
  await env.client.containerStart(Id);
  try {
    const exec = await env.client.execCreate(Id, { Cmd: ['sh', '-c', 'exit 2'], AttachStdout: true });
    const h = await env.client.execStartAttached(exec.Id);
    await within(5000, h.collect());
    await waitFor('exec exit', async () => (await env.client.execInspect(exec.Id)).ExitCode !== null);
    await delay(50);
    const events = (await within(5000, collect({ since: t0, until: new Date() }))).filter((e) => e.Actor.ID === Id);
    const ex = events.filter((e) => e.Action.startsWith('exec_'));
    assert.deepEqual(actions(ex), ['exec_create: sh -c exit 2', 'exec_start: sh -c exit 2', 'exec_die']);
    for (const e of ex) assert.equal(e.Actor.Attributes['execID'], exec.Id);
    assert.equal(ex[2]!.Actor.Attributes['exitCode'], '2');
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('live events with filters: container, event, type, label', async () => {
  const byName = live({ container: ['flt-a'] });
  const byEvent = live({ event: ['start'] });
  const byType = live({ type: ['container'], event: ['destroy'] });
  const byLabel = live({ label: ['flt=yes'] });
  const imageOnly = live({ type: ['image'] });
  await Promise.all([byName.ready, byEvent.ready, byType.ready, byLabel.ready, imageOnly.ready]);
  try {
    const a = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], Labels: { flt: 'yes' } }, { name: 'flt-a' });
    const b = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'flt-b' });
    for (const id of [a.Id, b.Id]) {
      const w = env.client.containerWait(id, 'next-exit');
      await delay(20);
      await env.client.containerStart(id);
      await within(10_000, w);
    }
    await env.client.containerRemove(a.Id);
    await env.client.containerRemove(b.Id);
    await waitFor('events to arrive', () => byType.events.length >= 2 && byName.events.length >= 4, 5000);
    await delay(100);

    assert.deepEqual(actions(byName.events), ['create', 'start', 'die', 'destroy']);
    assert.ok(byName.events.every((e) => e.Actor.ID === a.Id));
    assert.deepEqual(
      byEvent.events.map((e) => [e.Action, e.Actor.ID]),
      [
        ['start', a.Id],
        ['start', b.Id],
      ],
    );
    assert.deepEqual(
      byType.events.map((e) => [e.Action, e.Actor.ID]),
      [
        ['destroy', a.Id],
        ['destroy', b.Id],
      ],
    );
    assert.deepEqual(actions(byLabel.events), ['create', 'start', 'die', 'destroy']);
    assert.ok(byLabel.events.every((e) => e.Actor.ID === a.Id));
    assert.deepEqual(imageOnly.events, []);
  } finally {
    for (const l of [byName, byEvent, byType, byLabel, imageOnly]) l.stop();
  }
});

test('filter by container ID and by image; image events: tag, untag', async () => {
  const t0 = new Date();
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
  await env.client.containerRemove(Id);
  await delay(5);
  await env.client.imageTag('busybox', 'evtag', 'v1');
  await env.client.imageRemove('evtag:v1');
  // until has the millisecond precision of a Date here: step past the last event's.
  await delay(5);
  const t1 = new Date();
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
