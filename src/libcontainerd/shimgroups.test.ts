import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ShimGroups } from './shimgroups.js';

async function joined(g: ShimGroups, id: string, kind = 'runc'): Promise<string> {
  const r = await g.join(id, kind);
  assert.ok(r);
  r.settle(true);
  return r.group;
}

test('size 0 or 1: no groups, no annotation', async () => {
  for (const size of [0, 1]) {
    const g = new ShimGroups(size);
    assert.equal(g.enabled, false);
    assert.equal(await g.join('a', 'runc'), undefined);
    await g.leave('a');
  }
});

test('containers fill a group up to its size, then open the next', async () => {
  const g = new ShimGroups(3);
  const groups = [];
  for (const id of ['a', 'b', 'c', 'd', 'e']) groups.push(await joined(g, id));
  assert.equal(new Set(groups.slice(0, 3)).size, 1);
  assert.equal(groups[3], groups[4]);
  assert.notEqual(groups[0], groups[3]);
  assert.match(groups[0]!, /^runc~[0-9a-f]{12}$/);
});

test('another kind never shares a group', async () => {
  const g = new ShimGroups(4);
  assert.notEqual(await joined(g, 'a', 'runc'), await joined(g, 'b', 'other'));
});

test('a free slot is taken in the fullest group; an emptied group is never joined again', async () => {
  const g = new ShimGroups(3);
  const first = await joined(g, 'a');
  await joined(g, 'b');
  await joined(g, 'c');
  const second = await joined(g, 'd');
  // a leaves: first has 2 of 3, second 1 of 3; the next goes to the fuller one.
  await g.leave('a');
  assert.equal(await joined(g, 'e'), first);
  // second empties: its shim exits, so it is not reused even though it had room.
  await g.leave('d');
  for (const id of ['b', 'c', 'e']) await g.leave(id);
  const third = await joined(g, 'f');
  assert.notEqual(third, first);
  assert.notEqual(third, second);
});

test('a failed join leaves its group', async () => {
  const g = new ShimGroups(2);
  const a = await g.join('a', 'runc');
  a!.settle(false);
  assert.equal(g.groupOf('a'), undefined);
  const b = await joined(g, 'b');
  assert.notEqual(b, a!.group, 'the group emptied by the failure is closed');
});

test('deleting a task waits for joins in flight in its group, and only those', async () => {
  const g = new ShimGroups(4);
  await joined(g, 'a');
  const b = await g.join('b', 'runc');
  const other = await g.join('x', 'other');
  let left = false;
  const leaving = g.leave('a').then(() => (left = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(left, false, 'a waits for b to land in the shim');
  other!.settle(true);
  await new Promise((r) => setImmediate(r));
  assert.equal(left, false, 'a join in another group does not release it');
  b!.settle(true);
  await leaving;
  assert.equal(left, true);
});

test('restored from containerd: live groups are joined, ones of other kinds or without a task are not', async () => {
  const g = new ShimGroups(3);
  await g.restore(async () => [
    { id: 'a', group: 'runc~aaaaaaaaaaaa' },
    { id: 'b', group: 'runc~aaaaaaaaaaaa' },
    { id: 'c', group: 'user-chosen' },
    { id: 'd' },
  ]);
  assert.equal(await joined(g, 'e'), 'runc~aaaaaaaaaaaa');
  assert.notEqual(await joined(g, 'f'), 'runc~aaaaaaaaaaaa', 'that group is full now');
  // Leaving a restored member frees its slot.
  await g.leave('a');
  assert.equal(await joined(g, 'h'), 'runc~aaaaaaaaaaaa');
});

test('joins wait for the restore; a restore that fails leaves only new groups', async () => {
  const g = new ShimGroups(3);
  let release!: (v: { id: string; group?: string }[]) => void;
  void g.restore(() => new Promise((r) => (release = r)));
  const pending = g.join('n', 'runc');
  release([{ id: 'a', group: 'runc~bbbbbbbbbbbb' }]);
  const r = await pending;
  assert.equal(r?.group, 'runc~bbbbbbbbbbbb');

  const h = new ShimGroups(3);
  await h.restore(() => Promise.reject(new Error('containerd down')));
  assert.match((await h.join('n', 'runc'))!.group, /^runc~/);
});
