import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants as fsc } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type net from 'node:net';
import { createFifos, openFifoForRead, openFifoForWrite, removeFifos, reopenFifoForRead } from './fifo.js';

let dir = '';
before(async () => {
  dir = await mkdtemp('/tmp/bfifo-');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function readAll(sock: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

test('createFifos makes mode-0600 FIFOs with one mkfifo; removeFifos tolerates missing ones', async () => {
  const paths = [join(dir, 'a'), join(dir, 'b')];
  await createFifos(paths);
  for (const p of paths) {
    const st = await stat(p);
    assert.ok(st.isFIFO());
    assert.equal(st.mode & 0o777, 0o600);
  }
  await assert.rejects(createFifos([paths[0]!]), /mkfifo/);
  await removeFifos([...paths, join(dir, 'missing')]);
  await assert.rejects(stat(paths[0]!), { code: 'ENOENT' });
});

test('a reader opened before the writer sees no early EOF, then data and EOF', async () => {
  const p = join(dir, 'r1');
  await createFifos([p]);
  const reading = openFifoForRead(p).then(readAll);
  // No writer for a while: the open must stay pending rather than yield an empty stream.
  const early = await Promise.race([reading, new Promise((r) => setTimeout(() => r('pending'), 100))]);
  assert.equal(early, 'pending');
  const w = await open(p, fsc.O_WRONLY);
  await w.write('hello ');
  await w.write('world\n');
  await w.close();
  assert.equal(await reading, 'hello world\n');
  await removeFifos([p]);
});

test('a pending read open can be cancelled', async () => {
  const p = join(dir, 'r2');
  await createFifos([p]);
  const ac = new AbortController();
  const reading = openFifoForRead(p, ac.signal);
  ac.abort();
  await assert.rejects(reading, { name: 'AbortError' });
  // Aborting before the call is also an immediate rejection.
  await assert.rejects(openFifoForRead(p, ac.signal), { name: 'AbortError' });
  await removeFifos([p]);
});

test('the write side opens without a reader and closing it gives the reader EOF', async () => {
  const p = join(dir, 'w1');
  await createFifos([p]);
  const w = await openFifoForWrite(p); // must not block: nobody reads yet
  w.write('ping\n');
  // Our write side counts as a writer, so this open completes at once.
  const got = readAll(await openFifoForRead(p));
  await new Promise<void>((resolve) => w.end(resolve));
  assert.equal(await got, 'ping\n');
  await removeFifos([p]);
});

test('reopenFifoForRead never waits for a writer; with one, data then EOF', { timeout: 10_000 }, async () => {
  const path = join(dir, 'reopen');
  await createFifos([path]);
  // No writer: a blocking open would never return.
  (await reopenFifoForRead(path)).destroy();
  // A writer that holds the FIFO (the shim, after a daemon restart): its data, then EOF when it closes.
  const keep = await open(path, fsc.O_RDWR);
  const reader = reopenFifoForRead(path);
  const sock = await reader;
  const text = readAll(sock);
  await keep.write('after restore\n');
  await keep.close();
  assert.equal(await text, 'after restore\n');
  await removeFifos([path]);
});
