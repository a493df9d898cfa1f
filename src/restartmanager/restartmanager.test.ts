import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RestartCanceledError,
  RestartManager,
  parseRestartPolicy,
  policyWantsRestart,
  shouldStartOnDaemonStart,
  validateRestartPolicy,
  type Timers,
} from './restartmanager.js';

/** A fake clock: timers fire only when advanced. */
class FakeTimers implements Timers {
  now = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.now) {
        this.timers.delete(id);
        t.fn();
      }
    }
  }
  get count(): number {
    return this.timers.size;
  }
}

const tick = () => new Promise<void>((r) => setImmediate(r));

test('no / empty policy never restarts', () => {
  for (const Name of ['no', '']) {
    const rm = new RestartManager({ Name, MaximumRetryCount: 0 });
    assert.deepEqual(rm.shouldRestart(1, false, 0), { restart: false, delayMs: 0 });
  }
});

test('always: back-off doubles from 100ms, capped at 1 minute, reset after a 10s run', async () => {
  const t = new FakeTimers();
  const rm = new RestartManager({ Name: 'always', MaximumRetryCount: 0 }, 0, t);
  const delays: number[] = [];
  for (let i = 0; i < 12; i++) {
    const d = rm.shouldRestart(0, false, 50);
    assert.equal(d.restart, true);
    delays.push(d.delayMs);
    let done = false;
    void d.wait!.then(() => (done = true));
    t.advance(d.delayMs - 1);
    await tick();
    assert.equal(done, false);
    t.advance(1);
    await tick();
    assert.equal(done, true);
  }
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
  assert.equal(rm.restartCount, 12);
  // A run of 10s or more resets the back-off.
  const d = rm.shouldRestart(0, false, 10_000);
  assert.equal(d.delayMs, 100);
});

test('a second call while a restart is pending is refused; cancel rejects the wait', async () => {
  const t = new FakeTimers();
  const rm = new RestartManager({ Name: 'always', MaximumRetryCount: 0 }, 0, t);
  const d = rm.shouldRestart(1, false, 0);
  assert.throws(() => rm.shouldRestart(1, false, 0), /invalid call on an active restart manager/);
  rm.cancel();
  await assert.rejects(d.wait!, RestartCanceledError);
  assert.equal(t.count, 0);
  assert.throws(() => rm.shouldRestart(1, false, 0), RestartCanceledError);
  rm.cancel(); // idempotent
});

test('unless-stopped restarts unless manually stopped', () => {
  const rm = new RestartManager({ Name: 'unless-stopped', MaximumRetryCount: 0 }, 0, new FakeTimers());
  assert.equal(rm.shouldRestart(0, true, 0).restart, false);
  assert.equal(rm.shouldRestart(0, false, 0).restart, true);
});

test('always restarts even after a manual stop decision (the daemon cancels it on stop)', () => {
  const rm = new RestartManager({ Name: 'always', MaximumRetryCount: 0 }, 0, new FakeTimers());
  assert.equal(rm.shouldRestart(0, true, 0).restart, true);
});

test('on-failure: only non-zero exits, up to MaximumRetryCount', async () => {
  const t = new FakeTimers();
  const rm = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 2 }, 0, t);
  assert.equal(rm.shouldRestart(0, false, 0).restart, false);
  for (let i = 0; i < 2; i++) {
    const d = rm.shouldRestart(3, false, 0);
    assert.equal(d.restart, true);
    t.advance(d.delayMs);
    await d.wait;
  }
  assert.equal(rm.shouldRestart(3, false, 0).restart, false);
  assert.equal(rm.restartCount, 2);

  // Unlimited, and counting from a stored RestartCount.
  const rm2 = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 0 }, 100, t);
  assert.equal(rm2.shouldRestart(1, false, 0).restart, true);
  const rm3 = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 3 }, 3, t);
  assert.equal(rm3.shouldRestart(1, false, 0).restart, false);
});

test('setPolicy takes effect at the next exit', () => {
  const rm = new RestartManager({ Name: 'no', MaximumRetryCount: 0 }, 0, new FakeTimers());
  assert.equal(rm.shouldRestart(1, false, 0).restart, false);
  rm.setPolicy({ Name: 'on-failure', MaximumRetryCount: 1 });
  assert.equal(rm.shouldRestart(1, false, 0).restart, true);
});

test('validateRestartPolicy: dockerd messages', () => {
  validateRestartPolicy({ Name: 'no', MaximumRetryCount: 0 });
  validateRestartPolicy({ Name: '', MaximumRetryCount: 5 });
  validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: 5 });
  assert.throws(() => validateRestartPolicy({ Name: 'on-failure', MaximumRetryCount: -1 }), {
    message: 'invalid restart policy: maximum retry count cannot be negative',
  });
  assert.throws(() => validateRestartPolicy({ Name: 'always', MaximumRetryCount: 3 }), {
    message: "invalid restart policy: maximum retry count can only be used with 'on-failure'",
  });
  assert.throws(() => validateRestartPolicy({ Name: 'unless-stopped', MaximumRetryCount: -3 }), {
    message: "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative",
  });
  assert.throws(() => validateRestartPolicy({ Name: 'sometimes', MaximumRetryCount: 0 }), {
    message: "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
  });
});

test('containers to start at daemon start', () => {
  const base = { restartCount: 0, exitCode: 0, hasBeenManuallyStopped: false, hasBeenStartedBefore: true };
  const p = (Name: string, MaximumRetryCount = 0) => ({ Name, MaximumRetryCount });
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('always') }), true);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('always'), hasBeenManuallyStopped: true }), true);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('unless-stopped') }), true);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('unless-stopped'), hasBeenManuallyStopped: true }), false);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('no') }), false);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('on-failure') }), false);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('on-failure'), exitCode: 255 }), true);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('on-failure', 2), exitCode: 1, restartCount: 2 }), false);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('always'), hasBeenStartedBefore: false }), false);
  assert.equal(shouldStartOnDaemonStart({ ...base, policy: p('always') }, false), false);
  assert.equal(policyWantsRestart(p('on-failure'), 0, 2, true), true);
});

test('parseRestartPolicy', () => {
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestartPolicy('always'), { Name: 'always', MaximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy('on-failure:-1'), { Name: 'on-failure', MaximumRetryCount: -1 });
  assert.throws(() => parseRestartPolicy('on-failure:x'), /maximum retry count must be an integer/);
});
