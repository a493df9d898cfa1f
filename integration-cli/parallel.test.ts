// Many CLI commands at once: twenty parallel `docker run -d`, then twenty parallel
// `docker rm -f`; nothing fails, nothing is left behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mountsUnder, useDaemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerOk, dockerOut, show, waitUntil } from './helpers.js';

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

const N = 20;

test(`${N} parallel run -d, then ${N} parallel rm -f`, async () => {
  const names = Array.from({ length: N }, (_, i) => `par${i}`);
  const runs = await Promise.all(
    names.map((n, i) => ctx.daemon.docker(['run', '-d', '--name', n, '-l', 'par=1', 'busybox', 'sh', '-c', `echo hello-${i}; sleep 300`], { timeoutMs: 120_000 })),
  );
  runs.forEach((r, i) => assert.equal(r.code, 0, show(['run', '-d', '--name', names[i]!], r)));
  const ids = new Set(runs.map((r) => r.stdout.trim()));
  assert.equal(ids.size, N);
  assert.equal((await dockerOut(ctx.daemon, ['ps', '-q', '--filter', 'label=par=1'])).split('\n').length, N);
  // Each has its own output (once the daemon has read it from the container).
  for (const [i, n] of names.entries()) {
    const out = await waitUntil(`${n} to log its line`, async () => await dockerOut(ctx.daemon, ['logs', n]));
    assert.equal(out, `hello-${i}`, n);
  }

  const rms = await Promise.all(names.map((n) => ctx.daemon.docker(['rm', '-f', n], { timeoutMs: 120_000 })));
  rms.forEach((r, i) => {
    assert.equal(r.code, 0, show(['rm', '-f', names[i]!], r));
    assert.equal(r.stdout.trim(), names[i]);
  });
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-aq']), '');
  // Nothing left: no rootfs mounts, no container dirs, no FIFOs.
  assert.deepEqual(
    (await mountsUnder([ctx.daemon.dataRoot, ctx.daemon.execRoot])).filter((m) => !m.includes('/containerd/') || m.includes('/rootfs')),
    [],
  );
  assert.deepEqual(await readdir(join(ctx.daemon.dataRoot, 'containers')), []);
  assert.deepEqual(await readdir(join(ctx.daemon.execRoot, 'fifo')).catch(() => []), []);
});

test(`${N} parallel run --rm`, async () => {
  const runs = await Promise.all(
    Array.from({ length: N }, (_, i) => ctx.daemon.docker(['run', '--rm', 'busybox', 'sh', '-c', `echo out-${i}; exit ${i % 4}`], { timeoutMs: 120_000 })),
  );
  runs.forEach((r, i) => {
    assert.equal(r.code, i % 4, show(['run', '--rm', `#${i}`], r));
    assert.equal(r.stdout, `out-${i}\n`, show(['run', '--rm', `#${i}`], r));
  });
  assert.equal(await dockerOut(ctx.daemon, ['ps', '-aq']), '');
  await dockerOk(ctx.daemon, ['container', 'prune', '-f']);
});
