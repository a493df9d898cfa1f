import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter, MAX_LINE } from './lines.js';
import { encodeJSONRecord } from './rotate.js';

const T0 = 1_795_852_800_000_000_000n; // 2026-11-28T08:00:00Z

test('records are encoded as dockerd writes them', () => {
  assert.equal(
    encodeJSONRecord(Buffer.from('a <b> & "c"\n'), 'stdout', T0 + 123_456_789n),
    '{"log":"a \\u003cb\\u003e \\u0026 \\"c\\"\\n","stream":"stdout","time":"2026-11-28T08:00:00.123456789Z"}\n',
  );
  assert.equal(encodeJSONRecord(Buffer.alloc(0), 'stderr', T0), '{"stream":"stderr","time":"2026-11-28T08:00:00Z"}\n');
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

