import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilters } from '../api/types/filters.js';
import type { EventMessage } from '../api/types/events.js';
import { EventBus, EVENTS_HISTORY, type EventInput } from './bus.js';
import { eventMatches, familiarName } from './filter.js';

const container = (Action: string, ID = 'c1', attrs: Record<string, string> = {}): EventInput => ({
  Type: 'container',
  Action,
  Actor: { ID, Attributes: { name: 'web', image: 'busybox:latest', ...attrs } },
});

test('messages carry dockerd JSON shape with legacy fields', () => {
  const bus = new EventBus();
  const m = bus.publish(container('start'));
  assert.deepEqual(Object.keys(m), ['status', 'id', 'from', 'Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
  assert.equal(m.status, 'start');
  assert.equal(m.id, 'c1');
  assert.equal(m.from, 'busybox:latest');
  assert.equal(m.scope, 'local');
  assert.equal(m.time, Math.floor(m.timeNano / 1e9));
  assert.ok(Math.abs(m.time - Date.now() / 1000) < 2);
  const img = bus.publish({ Type: 'image', Action: 'tag', Actor: { ID: 'sha256:abc', Attributes: { name: 'x:1' } } });
  assert.equal(img.status, 'tag');
  assert.equal(img.from, undefined);
  const net = bus.publish({ Type: 'network', Action: 'create', Actor: { ID: 'n1', Attributes: {} } });
  assert.deepEqual(Object.keys(net), ['Type', 'Action', 'Actor', 'scope', 'time', 'timeNano']);
});

test('live subscribers get matching events until closed', () => {
  const bus = new EventBus();
  const got: string[] = [];
  const sub = bus.subscribe({ filters: parseFilters('{"event":{"start":true,"die":true}}') }, (m) => got.push(m.Action));
  bus.publish(container('create'));
  bus.publish(container('start'));
  bus.publish(container('die'));
  sub.close();
  bus.publish(container('start'));
  assert.deepEqual(got, ['start', 'die']);
  assert.equal(bus.subscriberCount, 0);
});

test('since replays history (last 256 kept); without since nothing is replayed', async () => {
  const bus = new EventBus();
  const before = new Date(Date.now() - 1000);
  for (let i = 0; i < EVENTS_HISTORY + 10; i++) bus.publish(container('start', `c${i}`));
  const none: EventMessage[] = [];
  bus.subscribe({}, (m) => none.push(m)).close();
  assert.equal(none.length, 0);
  const replay: string[] = [];
  const sub = bus.subscribe({ since: before }, (m) => replay.push(m.Actor.ID));
  assert.equal(replay.length, EVENTS_HISTORY);
  assert.equal(replay[0], 'c10');
  bus.publish(container('stop', 'live'));
  assert.equal(replay.at(-1), 'live');
  sub.close();
  await sub.done;
});

test('until in the past sends history only and ends; in the future ends on time', async () => {
  const bus = new EventBus();
  bus.publish(container('start'));
  await new Promise((r) => setTimeout(r, 5));
  const got: string[] = [];
  const past = bus.subscribe({ until: new Date() }, (m) => got.push(m.Action));
  await past.done;
  assert.deepEqual(got, ['start']);
  assert.equal(bus.subscriberCount, 0);

  const live: string[] = [];
  const t0 = Date.now();
  const fut = bus.subscribe({ until: new Date(Date.now() + 150) }, (m) => live.push(m.Action));
  bus.publish(container('die'));
  await fut.done;
  assert.ok(Date.now() - t0 >= 140);
  bus.publish(container('destroy'));
  assert.deepEqual(live, ['start', 'die']); // until alone replays history too, as dockerd
});

test('a throwing subscriber is dropped without affecting others', () => {
  const bus = new EventBus();
  const got: string[] = [];
  bus.subscribe({}, () => {
    throw new Error('gone');
  });
  bus.subscribe({}, (m) => got.push(m.Action));
  bus.publish(container('start'));
  bus.publish(container('stop'));
  assert.deepEqual(got, ['start', 'stop']);
  assert.equal(bus.subscriberCount, 1);
  bus.close();
  assert.equal(bus.subscriberCount, 0);
});

test('filters as dockerd', () => {
  const bus = new EventBus();
  const ev = (e: EventInput) => bus.publish(e);
  const m = (f: string, e: EventMessage) => eventMatches(parseFilters(f), e);
  const start = ev(container('start', 'abcdef123', { 'com.example': 'x' }));
  const health = ev(container('health_status: healthy'));
  const exec = ev(container('exec_start: sh -c echo hi'));
  const vol = ev({ Type: 'volume', Action: 'create', Actor: { ID: 'myvol', Attributes: { driver: 'local' } } });
  const img = ev({ Type: 'image', Action: 'tag', Actor: { ID: 'sha256:1234', Attributes: { name: 'docker.io/library/alpine:3' } } });

  assert.ok(m('{"container":{"web":true}}', start));
  assert.ok(m('{"container":{"abc":true}}', start));
  assert.ok(!m('{"container":{"db":true}}', start));
  assert.ok(!m('{"container":{"web":true}}', vol));
  assert.ok(m('{"event":{"health_status":true}}', health));
  assert.ok(!m('{"event":{"health_status: unhealthy":true}}', health));
  assert.ok(m('{"event":{"exec_start":true}}', exec));
  assert.ok(m('{"action":{"start":true}}', start));
  assert.ok(!m('{"event":{"start":true}}', exec));
  assert.ok(m('{"type":{"volume":true}}', vol));
  assert.ok(m('{"volume":{"myvol":true}}', vol));
  assert.ok(m('{"label":{"com.example":true}}', start));
  assert.ok(m('{"label":{"com.example=x":true}}', start));
  assert.ok(!m('{"label":{"com.example=y":true}}', start));
  assert.ok(m('{"image":{"busybox":true}}', start));
  assert.ok(m('{"image":{"busybox:latest":true}}', start));
  assert.ok(m('{"image":{"alpine":true}}', img));
  assert.ok(m('{"image":{"sha256:1234":true}}', img));
  assert.ok(!m('{"image":{"alpine":true}}', start));
  assert.ok(m('{"scope":{"local":true}}', start));
  assert.ok(!m('{"scope":{"swarm":true}}', start));
  assert.ok(m('{"type":{"container":true},"event":{"start":true},"container":{"web":true}}', start));
  assert.ok(!m('{"type":{"image":true},"event":{"start":true}}', start));
  assert.equal(familiarName('registry.local:5000/a/b:1@sha256:ff'), 'registry.local:5000/a/b');
  assert.equal(familiarName('docker.io/user/app:latest'), 'user/app');
});
