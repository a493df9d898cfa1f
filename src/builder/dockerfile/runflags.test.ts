import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvFields, parseDevice, parseMount, parseNetwork, parseSecurity } from './runflags.js';
import { parseGoDuration } from './goduration.js';

test('CSV fields as Go’s encoding/csv reads one record', () => {
  const cases: Array<[string, string[] | string]> = [
    ['a,b', ['a', 'b']],
    ['a,', ['a', '']],
    ['', ['']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    ['a"b', 'bare " in non-quoted-field'],
    ['"ab', 'extraneous or missing " in quoted-field'],
    ['"a"b', 'extraneous or missing " in quoted-field'],
  ];
  for (const [line, want] of cases) {
    if (typeof want === 'string') assert.throws(() => csvFields(line), { message: want }, line);
    else assert.deepEqual(csvFields(line), want, line);
  }
});

test('at parse time a mount is read for its from only', () => {
  assert.equal(parseMount('type=bind,from=build,target=/x').from, 'build');
  assert.equal(parseMount('type=nonsense,from=x$').from, 'x$'); // a trailing $ is not a variable
  assert.equal(parseMount('"type=cache,target=/a,b"').type, 'bind'); // unvalidated until the step runs
});

test('--device, --network and --security values', () => {
  assert.deepEqual(parseDevice('/dev/fuse'), { name: '/dev/fuse', required: false });
  assert.deepEqual(parseDevice('name=vendor.com/gpu=all,required=true'), { name: 'vendor.com/gpu=all', required: true });
  assert.deepEqual(parseDevice('required,/dev/kvm'), { name: '/dev/kvm', required: true });
  assert.throws(() => parseDevice('/dev/a,/dev/b'), { message: "invalid field '/dev/b' must be a key=value pair" });
  assert.throws(() => parseDevice('/dev/a,name=/dev/b'), { message: 'device name already set to /dev/a' });
  assert.throws(() => parseDevice('/dev/a,requird=1'), { message: "unexpected key 'requird' in 'requird=1' (did you mean required?)" });
  assert.equal(parseNetwork('host'), 'host');
  assert.throws(() => parseNetwork('bridge'), { message: 'invalid network mode "bridge"' });
  assert.equal(parseSecurity('insecure'), 'insecure');
});

test('Go durations in nanoseconds', () => {
  const cases: Array<[string, number | string]> = [
    ['0', 0], ['1s', 1e9], ['1.5s', 1.5e9], ['1m30s', 90e9], ['2h', 7200e9], ['300ms', 3e8], ['10us', 1e4], ['10µs', 1e4], ['7ns', 7],
    ['-1s', -1e9], ['.5s', 5e8],
    ['', 'time: invalid duration ""'], ['s', 'time: invalid duration "s"'], ['5', 'time: missing unit in duration "5"'],
    ['5d', 'time: unknown unit "d" in duration "5d"'], ['1.2.3s', 'time: missing unit in duration "1.2.3s"'],
  ];
  for (const [s, want] of cases) {
    if (typeof want === 'string') assert.throws(() => parseGoDuration(s), { message: want }, s);
    else assert.equal(parseGoDuration(s), want, s);
  }
});
