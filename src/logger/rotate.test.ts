import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  RotatingFileWriter,
  RotatingJSONFileLogger,
  compressFile,
  decodeJSONLine,
  encodeJSONRecord,
  goJSONMap,
  gzipLastTime,
  readJSONFileLogs,
  type ReadOptions,
  type ReadRecord,
} from './rotate.js';
import { parseRFC3339Nano } from '../pkg/timeutil.js';

async function tmp(t: TestContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'berth-rotate-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const T0 = 1_795_852_800_000_000_000n;

async function collect(path: string, maxFiles: number, opts: Partial<ReadOptions> = {}, signal = new AbortController().signal): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  for await (const r of readJSONFileLogs(path, maxFiles, { stdout: true, stderr: true, follow: false, ...opts }, signal)) out.push(r);
  return out;
}

test('json-file records with attrs, as dockerd writes them', () => {
  assert.equal(
    encodeJSONRecord(Buffer.from('hi <x>\n'), 'stdout', T0 + 5n, goJSONMap({ tag: 'web', a: '&' })),
    '{"log":"hi \\u003cx\\u003e\\n","stream":"stdout","attrs":{"a":"\\u0026","tag":"web"},"time":"2026-11-28T08:00:00.000000005Z"}\n',
  );
  const d = decodeJSONLine(Buffer.from('{"log":"x\\n","stream":"stderr","attrs":{"k":"v"},"time":"2026-11-28T08:00:00Z"}\n'))!;
  assert.deepEqual({ ...d, line: d.line.toString() }, { stream: 'stderr', line: 'x\n', ns: T0, attrs: { k: 'v' } });
});

test('compressFile: valid gzip with lastTime in the header Extra', async (t) => {
  const d = await tmp(t);
  const f = join(d, 'x.log.1');
  const { writeFile } = await import('node:fs/promises');
  await writeFile(f, 'a\nb\n'.repeat(1000));
  await compressFile(f, T0 + 123n);
  const gz = await readFile(f + '.gz');
  assert.equal(gunzipSync(gz).toString(), 'a\nb\n'.repeat(1000));
  assert.equal(await gzipLastTime(f + '.gz'), T0 + 123n);
  await assert.rejects(stat(f));
});

test('rotation under a fast writer: 200k lines, none lost, order kept, across compressed files', async (t) => {
  const d = await tmp(t);
  const path = join(d, 'c-json.log');
  const maxFiles = 40;
  const MAX = 512 * 1024;
  const lg = await RotatingJSONFileLogger.open(path, { maxSize: MAX, maxFiles, compress: true, attrs: { tag: 't' } });
  const N = 200_000;
  const started = Date.now();
  for (let i = 0; i < N; i++) {
    lg.log({ line: Buffer.from(`line ${i}\n`), source: i % 7 === 0 ? 'stderr' : 'stdout', timeNano: T0 + BigInt(i) * 1_000_000n });
  }
  // log() never waited on the disk.
  assert.ok(Date.now() - started < 5000);
  await lg.close();
  assert.equal(lg.writer.error, undefined);
  const files = (await readdir(d)).sort();
  assert.ok(files.includes('c-json.log.1.gz'), files.join(','));
  assert.ok(!files.some((f) => /\.\d+$/.test(f)), 'every rotated file compressed: ' + files.join(','));
  assert.ok(files.length > 10 && files.length <= maxFiles, String(files.length));
  // Each file stays close to max-size (rotation at record boundaries).
  const cur = await stat(path);
  assert.ok(cur.size <= MAX + 200);

  const recs = await collect(path, maxFiles);
  assert.equal(recs.length, N);
  for (let i = 0; i < N; i++) {
    if (recs[i]!.line.toString() !== `line ${i}\n`) assert.fail(`record ${i}: ${recs[i]!.line}`);
  }
  assert.equal(recs[7]!.stream, 'stderr');
  assert.deepEqual(recs[0]!.attrs, { tag: 't' });

  // tail across files.
  const last = await collect(path, maxFiles, { tail: 3 });
  assert.deepEqual(last.map((r) => r.line.toString()), [`line ${N - 3}\n`, `line ${N - 2}\n`, `line ${N - 1}\n`]);
  const many = await collect(path, maxFiles, { tail: 50_000 });
  assert.equal(many.length, 50_000);
  assert.equal(many[0]!.line.toString(), `line ${N - 50_000}\n`);
  // since: whole compressed files before it are skipped, the rest filtered.
  const since = await collect(path, maxFiles, { since: new Date(Number(T0 / 1_000_000n) + 150_000) });
  assert.equal(since.length, 50_000);
  assert.equal(since[0]!.line.toString(), 'line 150000\n');
  const until = await collect(path, maxFiles, { until: new Date(Number(T0 / 1_000_000n) + 9) });
  assert.equal(until.length, 10);
  // Filters, timestamps, details.
  const errs = await collect(path, maxFiles, { stdout: false, tail: 2, timestamps: true, details: true });
  assert.equal(errs.length, 0); // tail counts records of both streams; the last two are stdout
  const e2 = await collect(path, maxFiles, { stdout: false, tail: 7 });
  assert.equal(e2.length, 1);
  const det = await collect(path, maxFiles, { tail: 1, details: true, timestamps: true });
  assert.equal(det[0]!.line.toString(), '2026-11-28T08:03:19.999000000Z tag=t line 199999\n');
});

test('max-file 1 drops the old data; no compression keeps plain rotated files', async (t) => {
  const d = await tmp(t);
  const p1 = join(d, 'one.log');
  const w1 = await RotatingJSONFileLogger.open(p1, { maxSize: 1000, maxFiles: 1, compress: false });
  for (let i = 0; i < 100; i++) w1.log({ line: Buffer.from(`x${i}\n`), source: 'stdout', timeNano: T0 + BigInt(i) });
  await w1.close();
  assert.deepEqual(await readdir(d), ['one.log']);
  const r1 = await collect(p1, 1);
  assert.ok(r1.length < 100 && r1.length >= 1);
  r1.forEach((r, i) => assert.equal(r.line.toString(), `x${100 - r1.length + i}\n`));

  const p3 = join(d, 'three.log');
  const w3 = await RotatingJSONFileLogger.open(p3, { maxSize: 1000, maxFiles: 3, compress: false });
  for (let i = 0; i < 100; i++) w3.log({ line: Buffer.from(`y${i}\n`), source: 'stdout', timeNano: T0 + BigInt(i) });
  await w3.close();
  assert.deepEqual((await readdir(d)).filter((f) => f.startsWith('three')).sort(), ['three.log', 'three.log.1', 'three.log.2']);
  const r3 = await collect(p3, 3);
  const nums = r3.map((r) => Number(r.line.toString().slice(1)));
  assert.deepEqual(nums, nums.slice().sort((a, b) => a - b));
  assert.equal(nums.at(-1), 99);
  assert.equal(nums[0]! + nums.length - 1, 99, 'contiguous');
});

/** Resolves once a following reader has pushed `line` into `got` (polled, with a bound). */
async function read(got: string[], line: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!got.includes(line)) {
    if (Date.now() > deadline) assert.fail(`${JSON.stringify(line)} not read; got ${got.length} lines, the last ${JSON.stringify(got.at(-1))}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('follow across rotations with the writer in this process', async (t) => {
  const d = await tmp(t);
  const path = join(d, 'f.log');
  const lg = await RotatingJSONFileLogger.open(path, { maxSize: 2000, maxFiles: 3, compress: true });
  for (let i = 0; i < 10; i++) lg.log({ line: Buffer.from(`pre ${i}\n`), source: 'stdout', timeNano: T0 + BigInt(i) });
  await lg.flush();
  const ac = new AbortController();
  const got: string[] = [];
  const reading = (async () => {
    for await (const r of readJSONFileLogs(path, 3, { stdout: true, stderr: true, follow: true, tail: 2 }, ac.signal)) got.push(r.line.toString());
  })();
  // The tail comes once the reader follows the writer.
  await read(got, 'pre 9\n');
  // Enough to rotate many times over (more than max-file): a follower must still see every line.
  for (let i = 0; i < 3000; i++) {
    lg.log({ line: Buffer.from(`live ${i}\n`), source: 'stdout', timeNano: T0 + 100n + BigInt(i) });
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  await lg.flush();
  await read(got, 'live 2999\n');
  ac.abort();
  await reading;
  await lg.close();
  assert.deepEqual(got.slice(0, 2), ['pre 8\n', 'pre 9\n']);
  const live = got.slice(2);
  assert.equal(live.length, 3000);
  live.forEach((l, i) => assert.equal(l, `live ${i}\n`));
});

test('follow without a live writer polls the file, follows its replacement and ends on abort', async (t) => {
  const d = await tmp(t);
  const path = join(d, 'p.log');
  // Written as another process would: no RotatingFileWriter for this path in this process, so
  // the reader polls the file.
  const rec = (s: string, n: bigint) => encodeJSONRecord(Buffer.from(s), 'stdout', n);
  await writeFile(path, rec('a\n', T0));
  assert.equal(RotatingFileWriter.live(path), undefined);
  const ac = new AbortController();
  const got: string[] = [];
  const reading = (async () => {
    for await (const r of readJSONFileLogs(path, 1, { stdout: true, stderr: true, follow: true }, ac.signal)) got.push(r.line.toString());
  })();
  const seen = (line: string) => read(got, line);
  await seen('a\n');
  await appendFile(path, rec('b\n', T0 + 1n));
  await seen('b\n');
  // Rotated by someone else: only the polling reader's inode check finds the new file.
  await rename(path, `${path}.1`);
  await writeFile(path, rec('c\n', T0 + 2n));
  await seen('c\n');
  ac.abort();
  await reading;
  assert.deepEqual(got, ['a\n', 'b\n', 'c\n']);
  assert.equal(parseRFC3339Nano('2026-11-28T08:00:00Z'), T0);
});
