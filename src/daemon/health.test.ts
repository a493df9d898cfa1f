import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HealthMonitor,
  LimitedBuffer,
  MAX_OUTPUT_LEN,
  goDuration,
  mergeHealthcheck,
  resolveHealthConfig,
  validateHealthConfig,
  type Clock,
  type ProbeExec,
  type ProbeResult,
} from './health.js';
import { healthString, type HealthStatus } from '../container/health.js';

class FakeClock implements Clock {
  t = 1_800_000_000_000;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Advances time, firing due timers in order and letting promise chains run between them. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      const due = [...this.timers].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
    await flush();
  }
  get pending(): number {
    return this.timers.size;
  }
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

const S = 1e9; // ns per second

function scripted(results: (ProbeResult | Error)[]): { exec: ProbeExec; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    exec: async (cmd) => {
      calls.push(cmd);
      const r = results.shift() ?? { exitCode: 0, output: '' };
      if (r instanceof Error) throw r;
      return r;
    },
  };
}

test('config: defaults, CMD / CMD-SHELL / NONE, shell override', () => {
  assert.equal(resolveHealthConfig(undefined), undefined);
  assert.equal(resolveHealthConfig({ Test: ['NONE'] }), undefined);
  assert.equal(resolveHealthConfig({ Test: [] }), undefined);
  assert.equal(resolveHealthConfig({ Test: ['WHAT', 'x'] }), undefined);
  assert.deepEqual(resolveHealthConfig({ Test: ['CMD', 'curl', '-f', 'x'] }), {
    cmd: ['curl', '-f', 'x'], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3,
  });
  const r = resolveHealthConfig({ Test: ['CMD-SHELL', 'exit 1'], Interval: 2 * S, Timeout: 1.5 * S, Retries: 5, StartPeriod: 10 * S, StartInterval: S });
  assert.deepEqual(r, { cmd: ['/bin/sh', '-c', 'exit 1'], intervalMs: 2000, timeoutMs: 1500, startPeriodMs: 10_000, startIntervalMs: 1000, retries: 5 });
  assert.deepEqual(resolveHealthConfig({ Test: ['CMD-SHELL', 'x'] }, ['/bin/bash', '-ec'])!.cmd, ['/bin/bash', '-ec', 'x']);
});

test('validation messages', () => {
  validateHealthConfig({ Test: ['CMD', 'x'], Interval: 0, Timeout: 1_000_000 });
  assert.throws(() => validateHealthConfig({ Interval: 999 }), { message: 'Interval in Healthcheck cannot be less than 1ms' });
  assert.throws(() => validateHealthConfig({ Timeout: 5 }), { message: 'Timeout in Healthcheck cannot be less than 1ms' });
  assert.throws(() => validateHealthConfig({ Retries: -1 }), { message: 'Retries in Healthcheck cannot be negative' });
  assert.throws(() => validateHealthConfig({ StartPeriod: 1 }), { message: 'StartPeriod in Healthcheck cannot be less than 1ms' });
  assert.throws(() => validateHealthConfig({ StartInterval: 1 }), { message: 'StartInterval in Healthcheck cannot be less than 1ms' });
});

test('merge with the image HEALTHCHECK', () => {
  const image = { Test: ['CMD', 'img'], Interval: 5 * S, Timeout: 2 * S, Retries: 4 };
  assert.deepEqual(mergeHealthcheck(undefined, image), image);
  assert.deepEqual(mergeHealthcheck({ Interval: 9 * S }, image), { Test: ['CMD', 'img'], Interval: 9 * S, Timeout: 2 * S, Retries: 4, StartPeriod: undefined, StartInterval: undefined });
  assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image)!.Test, ['NONE']);
  assert.equal(mergeHealthcheck(undefined, undefined), undefined);
});

test('goDuration and healthString', () => {
  assert.equal(goDuration(30_000), '30s');
  assert.equal(goDuration(1500), '1.5s');
  assert.equal(goDuration(500), '500ms');
  assert.equal(goDuration(90_000), '1m30s');
  assert.equal(goDuration(3_600_000), '1h0m0s');
  assert.equal(healthString({ Status: 'starting' }), 'health: starting');
  assert.equal(healthString({ Status: 'healthy' }), 'healthy');
  assert.equal(healthString(undefined), '');
});

test('LimitedBuffer keeps 4096 bytes and marks truncation', () => {
  const b = new LimitedBuffer();
  b.write('a'.repeat(4000));
  b.write('b'.repeat(200));
  const s = b.toString();
  assert.equal(s.length, MAX_OUTPUT_LEN + 3);
  assert.ok(s.endsWith('bbb...'));
  const b2 = new LimitedBuffer();
  b2.write('ok\n');
  assert.equal(b2.toString(), 'ok\n');
});

test('first probe after the interval; healthy on success with one event; log keeps five', async () => {
  const clock = new FakeClock();
  const events: HealthStatus[] = [];
  const { exec, calls } = scripted([]);
  const m = new HealthMonitor({
    config: { Test: ['CMD', 'true'], Interval: 2 * S },
    startedAt: new Date(clock.now()),
    exec,
    clock,
    onStatusChange: (s) => events.push(s),
  });
  assert.equal(m.enabled, true);
  assert.deepEqual({ ...m.state }, { Status: 'starting', FailingStreak: 0, Log: [] });
  m.start();
  await clock.advance(1999);
  assert.equal(calls.length, 0);
  await clock.advance(1);
  assert.equal(calls.length, 1);
  assert.equal(m.state.Status, 'healthy');
  assert.deepEqual(events, ['healthy']);
  await clock.advance(2000 * 7);
  assert.equal(calls.length, 8);
  assert.equal(m.state.Log.length, 5);
  assert.deepEqual(events, ['healthy']);
  const last = m.state.Log[4]!;
  assert.equal(last.ExitCode, 0);
  assert.match(last.Start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  await m.stop();
  assert.equal(m.state.Status, 'unhealthy');
  assert.equal(clock.pending, 0);
});

test('unhealthy after Retries consecutive failures; success resets the streak', async () => {
  const clock = new FakeClock();
  const events: HealthStatus[] = [];
  const { exec } = scripted([
    { exitCode: 1, output: 'bad' }, { exitCode: 1, output: 'bad' }, { exitCode: 0, output: 'ok' },
    { exitCode: 1, output: 'x' }, { exitCode: 2, output: 'x' }, { exitCode: 1, output: 'x' },
  ]);
  const m = new HealthMonitor({
    config: { Test: ['CMD-SHELL', 'check'], Interval: S, Retries: 3 }, startedAt: new Date(clock.now()), exec, clock,
    onStatusChange: (s) => events.push(s),
  });
  m.start();
  await clock.advance(2000);
  assert.deepEqual([m.state.Status, m.state.FailingStreak], ['starting', 2]);
  await clock.advance(1000);
  assert.deepEqual([m.state.Status, m.state.FailingStreak], ['healthy', 0]);
  await clock.advance(2000);
  assert.deepEqual([m.state.Status, m.state.FailingStreak], ['healthy', 2]);
  await clock.advance(1000);
  assert.deepEqual([m.state.Status, m.state.FailingStreak], ['unhealthy', 3]);
  assert.deepEqual(events, ['healthy', 'unhealthy']);
  assert.equal(m.state.Log.at(-1)!.Output, 'x');
  await m.stop();
});

test('start period: failures do not count and start interval is used while starting', async () => {
  const clock = new FakeClock();
  const { exec, calls } = scripted(Array.from({ length: 20 }, () => ({ exitCode: 1, output: '' })));
  const m = new HealthMonitor({
    config: { Test: ['CMD', 'x'], Interval: 30 * S, StartPeriod: 10 * S, StartInterval: 2 * S, Retries: 1 },
    startedAt: new Date(clock.now()), exec, clock,
  });
  m.start();
  await clock.advance(9_999);
  // Probes at 2,4,6,8 s: inside the start period, not counted.
  assert.equal(calls.length, 4);
  assert.deepEqual([m.state.Status, m.state.FailingStreak], ['starting', 0]);
  await clock.advance(1);
  // At 10 s: outside the start period, counted → unhealthy (retries 1).
  assert.equal(calls.length, 5);
  assert.deepEqual([m.state.Status, m.state.FailingStreak], ['unhealthy', 1]);
  // Back to the normal interval.
  await clock.advance(29_999);
  assert.equal(calls.length, 5);
  await clock.advance(1);
  assert.equal(calls.length, 6);
  await m.stop();
});

test('timeouts: the exec reports it, or the monitor gives up after timeout + start allowance', async () => {
  const clock = new FakeClock();
  let n = 0;
  const exec: ProbeExec = (cmd, timeoutMs, signal) => {
    n++;
    if (n === 1) return Promise.resolve({ exitCode: 137, output: 'partial', timedOut: true });
    assert.equal(timeoutMs, 1000);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  };
  const m = new HealthMonitor({ config: { Test: ['CMD', 'sleep', '9'], Interval: S, Timeout: S }, startedAt: new Date(clock.now()), exec, clock });
  m.start();
  await clock.advance(1000);
  assert.deepEqual({ ...m.state.Log[0]!, Start: '', End: '' }, { Start: '', End: '', ExitCode: -1, Output: 'Health check exceeded timeout (1s): partial' });
  await clock.advance(1000 + 31_000);
  assert.equal(m.state.Log.length, 2);
  assert.equal(m.state.Log[1]!.Output, 'Health check exceeded timeout (1s)');
  assert.equal(m.state.Log[1]!.ExitCode, -1);
  await m.stop();
});

test('exec errors are failures with the error as output; long output truncated', async () => {
  const clock = new FakeClock();
  const { exec } = scripted([new Error('OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH'), { exitCode: 0, output: Buffer.alloc(5000, 'z') }]);
  const m = new HealthMonitor({ config: { Test: ['CMD', 'nope'], Interval: S }, startedAt: new Date(clock.now()), exec, clock, onError: () => undefined });
  m.start();
  await clock.advance(2000);
  assert.equal(m.state.Log[0]!.ExitCode, -1);
  assert.match(m.state.Log[0]!.Output, /executable file not found/);
  assert.equal(m.state.Log[1]!.Output.length, 4096 + 3);
  await m.stop();
});

test('stop during a probe aborts it and drops its result; restart keeps the log, resets the status', async () => {
  const clock = new FakeClock();
  let aborted = false;
  const exec: ProbeExec = (_c, _t, signal) =>
    new Promise((resolve) => signal.addEventListener('abort', () => {
      aborted = true;
      resolve({ exitCode: 0, output: 'late' });
    }));
  const m = new HealthMonitor({ config: { Test: ['CMD', 'x'], Interval: S }, startedAt: new Date(clock.now()), exec, clock });
  m.start();
  await clock.advance(1000);
  await m.stop();
  assert.equal(aborted, true);
  assert.equal(m.state.Log.length, 0);
  assert.equal(m.state.Status, 'unhealthy');

  const prev = { Status: 'unhealthy' as const, FailingStreak: 4, Log: [{ Start: 'a', End: 'b', ExitCode: 1, Output: '' }] };
  const m2 = new HealthMonitor({ config: { Test: ['CMD', 'x'] }, startedAt: new Date(clock.now()), exec, clock, previous: prev });
  assert.equal(m2.state, prev);
  assert.deepEqual([prev.Status, prev.FailingStreak, prev.Log.length], ['starting', 0, 1]);
  // NONE: no monitor at all.
  const m3 = new HealthMonitor({ config: { Test: ['NONE'] }, startedAt: new Date(), exec, clock });
  assert.equal(m3.enabled, false);
  m3.start();
  assert.equal(m3.active, false);
});

test('CMD with no command: every probe fails with dockerd\'s message', async () => {
  const clock = new FakeClock();
  const { exec, calls } = scripted([]);
  const m = new HealthMonitor({ config: { Test: ['CMD'], Interval: S }, startedAt: new Date(clock.now()), exec, clock, containerId: 'abc' });
  m.start();
  await clock.advance(1000);
  assert.equal(calls.length, 0);
  assert.equal(m.state.Log[0]!.Output, 'healthcheck for container abc has no command');
  await m.stop();
});
