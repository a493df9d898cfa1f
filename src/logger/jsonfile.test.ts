import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, appendFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  JSONFileLogger,
  LineSplitter,
  MAX_LINE,
  copyToLogger,
  encodeRecord,
  formatRFC3339Nano,
  formatRFC3339NanoFixed,
  parseRFC3339Nano,
  readLogs,
  type LogRecord,
  type ReadLogsOptions,
} from './jsonfile.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-jsonfile-'));
}

async function collect(path: string, opts: Partial<ReadLogsOptions>, signal = new AbortController().signal): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of readLogs(path, { stdout: true, stderr: true, follow: false, ...opts }, signal)) out.push(r);
  return out;
}

const T0 = 1_795_852_800_000_000_000n; // 2026-11-28T08:00:00Z

test('time formatting matches Go RFC3339Nano', () => {
  assert.equal(formatRFC3339Nano(T0 + 123_456_789n), '2026-11-28T08:00:00.123456789Z');
  assert.equal(formatRFC3339Nano(T0 + 120_000_000n), '2026-11-28T08:00:00.12Z');
  assert.equal(formatRFC3339Nano(T0), '2026-11-28T08:00:00Z');
  assert.equal(formatRFC3339NanoFixed(T0 + 120_000_000n), '2026-11-28T08:00:00.120000000Z');
  assert.equal(parseRFC3339Nano('2026-11-28T08:00:00.123456789Z'), T0 + 123_456_789n);
  assert.equal(parseRFC3339Nano('2026-11-28T09:00:00.5+01:00'), T0 + 500_000_000n);
  assert.equal(parseRFC3339Nano('nope'), undefined);
});

test('records are encoded as dockerd writes them', () => {
  assert.equal(
    encodeRecord(Buffer.from('a <b> & "c"\n'), 'stdout', T0 + 123_456_789n),
    '{"log":"a \\u003cb\\u003e \\u0026 \\"c\\"\\n","stream":"stdout","time":"2026-11-28T08:00:00.123456789Z"}\n',
  );
  assert.equal(encodeRecord(Buffer.alloc(0), 'stderr', T0), '{"stream":"stderr","time":"2026-11-28T08:00:00Z"}\n');
});

test('LineSplitter keeps newlines, splits long lines at 16 KiB, flushes a partial at end', () => {
  const lines: Buffer[] = [];
  const times: bigint[] = [];
  const s = new LineSplitter((l, t) => {
    lines.push(l);
    times.push(t);
  });
  s.write(Buffer.from('one\ntw'));
  s.write(Buffer.from('o\n\n'));
  const long = Buffer.alloc(MAX_LINE * 2 + 5, 'x');
  s.write(long.subarray(0, 1000));
  s.write(Buffer.concat([long.subarray(1000), Buffer.from('\nend')]));
  s.end();
  assert.deepEqual(
    lines.map((l) => l.length),
    [4, 4, 1, MAX_LINE, MAX_LINE, 6, 3],
  );
  assert.equal(lines[0]!.toString(), 'one\n');
  assert.equal(lines[1]!.toString(), 'two\n');
  assert.equal(lines[5]!.toString(), 'xxxxx\n');
  assert.equal(lines[6]!.toString(), 'end');
  // Pieces of one long line share its first timestamp.
  assert.equal(times[3], times[4]);
  assert.equal(times[4], times[5]);

  // A line of exactly MAX_LINE bytes: one full partial, then the bare newline (as the copier).
  const got: number[] = [];
  const s2 = new LineSplitter((l) => got.push(l.length));
  s2.write(Buffer.concat([Buffer.alloc(MAX_LINE, 'y'), Buffer.from('\n')]));
  assert.deepEqual(got, [MAX_LINE, 1]);
});

test('logger writes every record in order, and the reader reads them back', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'c-json.log');
    const logger = await JSONFileLogger.open(path);
    const N = 5000;
    for (let i = 0; i < N; i++) {
      logger.log({ line: Buffer.from(`line ${i}\n`), source: i % 2 ? 'stderr' : 'stdout', timeNano: T0 + BigInt(i) * 1000n });
    }
    logger.log({ line: Buffer.from('partial'), source: 'stdout', time: new Date(Number(T0 / 1_000_000n) + 10_000) });
    await logger.close();
    const text = await readFile(path, 'utf8');
    const rows = text.trimEnd().split('\n');
    assert.equal(rows.length, N + 1);
    assert.equal(rows[0], '{"log":"line 0\\n","stream":"stdout","time":"2026-11-28T08:00:00Z"}');
    assert.equal(rows[N], '{"log":"partial","stream":"stdout","time":"2026-11-28T08:00:10Z"}');

    const all = await collect(path, {});
    assert.equal(all.length, N + 1);
    assert.equal(all[7]!.line.toString(), 'line 7\n');
    assert.equal(all[7]!.stream, 'stderr');
    assert.equal(all[7]!.timeNano, T0 + 7000n);

    const outOnly = await collect(path, { stderr: false });
    assert.equal(outOnly.length, N / 2 + 1);

    const tail = await collect(path, { tail: 3 });
    assert.deepEqual(
      tail.map((r) => r.line.toString()),
      [`line ${N - 2}\n`, `line ${N - 1}\n`, 'partial'],
    );
    assert.equal((await collect(path, { tail: 0 })).length, 0);
    assert.equal((await collect(path, { tail: N * 10 })).length, N + 1);

    const since = await collect(path, { since: new Date(Number(T0 / 1_000_000n) + 5_000) });
    assert.deepEqual(since.map((r) => r.line.toString()), ['partial']);
    const until = await collect(path, { until: new Date(Number(T0 / 1_000_000n) + 1) });
    assert.equal(until.length, 1001); // records 0..1000 are at or before T0+1ms

    const ts = await collect(path, { tail: 1, timestamps: true });
    assert.equal(ts[0]!.line.toString(), '2026-11-28T08:00:10.000000000Z partial');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tail reads backwards across block boundaries and ignores a half-written record', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'x.log');
    const big = 'z'.repeat(40_000);
    const recs = Array.from({ length: 10 }, (_, i) => encodeRecord(Buffer.from(`${i}${big}\n`), 'stdout', T0 + BigInt(i)));
    await writeFile(path, recs.join('') + '{"log":"half');
    const got = await collect(path, { tail: 4 });
    assert.deepEqual(
      got.map((r) => r.line.toString()[0]),
      ['6', '7', '8', '9'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('follow yields appended lines and drains after abort', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'f.log');
    const logger = await JSONFileLogger.open(path);
    logger.log({ line: Buffer.from('before\n'), source: 'stdout' });
    await logger.flush();

    const ac = new AbortController();
    const seen: string[] = [];
    let resolveFirst!: () => void;
    const gotFirst = new Promise<void>((r) => (resolveFirst = r));
    const reader = (async () => {
      for await (const r of readLogs(path, { stdout: true, stderr: true, follow: true, tail: 0 }, ac.signal)) {
        seen.push(r.line.toString());
        if (seen.length === 1) resolveFirst();
      }
    })();

    await new Promise((r) => setTimeout(r, 50));
    logger.log({ line: Buffer.from('live 1\n'), source: 'stdout' });
    await gotFirst;
    // Written and immediately aborted: must still be delivered.
    logger.log({ line: Buffer.from('last words\n'), source: 'stderr' });
    await logger.flush();
    ac.abort();
    await reader;
    assert.deepEqual(seen, ['live 1\n', 'last words\n']);
    await logger.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('follow waits for a missing file and for a half-written record to complete', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'late.log');
    const ac = new AbortController();
    const seen: string[] = [];
    const reader = (async () => {
      for await (const r of readLogs(path, { stdout: true, stderr: true, follow: true }, ac.signal)) seen.push(r.line.toString());
    })();
    await new Promise((r) => setTimeout(r, 100));
    const rec = encodeRecord(Buffer.from('hello\n'), 'stdout', T0);
    await appendFile(path, rec.slice(0, 10));
    await new Promise((r) => setTimeout(r, 400));
    ac.abort();
    // The rest lands during the post-abort grace period.
    await appendFile(path, rec.slice(10));
    await reader;
    assert.deepEqual(seen, ['hello\n']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('follow ends when until passes', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'u.log');
    await writeFile(path, '');
    const start = Date.now();
    const got = await collect(path, { follow: true, until: new Date(Date.now() + 300) });
    assert.equal(got.length, 0);
    assert.ok(Date.now() - start >= 250);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('copyToLogger pipes a stream through the splitter', async () => {
  const dir = await tmp();
  try {
    const path = join(dir, 'p.log');
    const logger = await JSONFileLogger.open(path);
    await copyToLogger(Readable.from([Buffer.from('a\nb'), Buffer.from('c\nd')]), 'stdout', logger);
    await logger.close();
    const got = await collect(path, {});
    assert.deepEqual(
      got.map((r) => r.line.toString()),
      ['a\n', 'bc\n', 'd'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
