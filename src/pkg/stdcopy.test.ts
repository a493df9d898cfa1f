import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { frame, createStdWriter, demux, Demuxer, StdWriter, SystemStreamError } from './stdcopy.js';

test('frame writes the 8-byte header', () => {
  const f = frame(2, Buffer.from('hello'));
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 0, 5]);
  assert.equal(f.subarray(8).toString(), 'hello');
  assert.deepEqual([...frame(1, Buffer.alloc(0))], [1, 0, 0, 0, 0, 0, 0, 0]);
});

test('demux handles frames split at every byte boundary', async () => {
  const data = Buffer.concat([
    frame(1, Buffer.from('out1\n')),
    frame(2, Buffer.from('err1\n')),
    frame(1, Buffer.alloc(0)),
    frame(0, Buffer.from('in')),
    frame(1, Buffer.alloc(70000, 'x')),
  ]);
  for (const size of [1, 3, 7, 8, 9, 13, 4096, data.length]) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    await demux(Readable.from(chunks), (s, c) => (s === 1 ? out : err).push(c));
    assert.equal(Buffer.concat(out).toString(), 'out1\nin' + 'x'.repeat(70000), `size ${size}`);
    assert.equal(Buffer.concat(err).toString(), 'err1\n');
  }
});

test('demux rejects on a system error frame and on unknown streams', async () => {
  await assert.rejects(
    demux(Readable.from([frame(1, Buffer.from('a')), frame(3, Buffer.from('boom'))]), () => {}),
    (e: unknown) => e instanceof SystemStreamError && e.message === 'boom',
  );
  await assert.rejects(demux(Readable.from([Buffer.from([9, 0, 0, 0, 0, 0, 0, 1, 65])]), () => {}), /unrecognized stream/);
});

test('truncated input resolves with what arrived', async () => {
  const f = frame(1, Buffer.from('abcdef'));
  const got: string[] = [];
  await demux(Readable.from([f.subarray(0, 10)]), (_s, c) => got.push(c.toString()));
  assert.deepEqual(got, ['ab']);
  const d = new Demuxer(() => {});
  d.push(f.subarray(0, 4));
  assert.equal(d.incomplete, true);
});

test('StdWriters share a destination without ending it', async () => {
  const dest = new PassThrough();
  const collected: Buffer[] = [];
  dest.on('data', (c: Buffer) => collected.push(c));
  const out = createStdWriter(dest, 1);
  const err = createStdWriter(dest, 2);
  out.write('one');
  err.write(Buffer.from('two'));
  out.write('');
  await new Promise<void>((r) => out.end(r));
  await new Promise<void>((r) => err.end(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(dest.writableEnded, false);
  const parts: string[] = [];
  await demux(Readable.from([Buffer.concat(collected)]), (s, c) => parts.push(`${s}:${c}`));
  assert.deepEqual(parts, ['1:one', '2:two']);
  assert.ok(new StdWriter(2) instanceof StdWriter);
});
