// stop, kill, restart and wait, with dockerd's signals, timeouts and messages.
import type { Container } from '../container/container.js';
import { conflict, notModified, isKind, invalidParameter } from '../pkg/errors.js';
import { parseSignal, SIGKILL, SIGTERM } from '../pkg/signal.js';
import { startContainer } from './start.js';
import type { Daemon } from './daemon.js';

const DEFAULT_STOP_TIMEOUT = 10;

/** Sends a signal to the container's init process (all its processes for SIGKILL). */
export async function killContainer(d: Daemon, c: Container, signalRaw: string | undefined): Promise<void> {
  const signal = signalRaw ? parseSignal(signalRaw) : SIGKILL;
  if (!c.running) throw conflict(`Cannot kill container: ${c.id}: Container ${c.id} is not running`);
  // dockerd's killWithSignal: no more restarts, and the user stopped it (unless berthd is shutting
  // down); a restarting container has no process to signal.
  c.cancelRestart(!d.shuttingDown);
  if (c.state.Restarting) return;
  try {
    await d.ctd.killTask(c.id, signal, { all: signal === SIGKILL });
  } catch (err) {
    // A kill racing the deletion of an exited task reaches its shim as it closes and fails with
    // "ttrpc: closed" instead of "not found": ask containerd whether there is still a process.
    if (!isKind(err, 'not-found') && !(await taskGone(d, c.id))) throw err;
  }
  d.containerEvent(c, 'kill', { signal: String(signal) });
}

async function taskGone(d: Daemon, id: string): Promise<boolean> {
  const task = await d.ctd.getTask(id).catch(() => null);
  return task === undefined || task?.status === 'stopped';
}

/** Resolves true once the container is not running, false after `ms` (-1: no limit). */
export function waitStopped(c: Container, ms: number): Promise<boolean> {
  return waitUntilStopped(c, ms);
}

function waitUntilStopped(c: Container, ms: number): Promise<boolean> {
  if (!c.running) return Promise.resolve(true);
  const ac = new AbortController();
  const timer = ms >= 0 ? setTimeout(() => ac.abort(), ms) : undefined;
  return c.waitFor((x) => !x.running, ac.signal).then(
    () => { clearTimeout(timer); return true; },
    () => false,
  );
}

/** The stop signal, then SIGKILL after the timeout (-1: wait forever), as dockerd's containerStop. */
export async function stopContainer(d: Daemon, c: Container, opts: { timeout?: number; signal?: string }): Promise<void> {
  if (!c.running) throw notModified('container already stopped');
  c.cancelRestart(!d.shuttingDown);
  const signalName = opts.signal || c.record.Config.StopSignal || String(SIGTERM);
  const timeout = opts.timeout ?? c.record.Config.StopTimeout ?? DEFAULT_STOP_TIMEOUT;
  const signal = parseSignal(signalName);
  if (signal !== SIGKILL) {
    try {
      await killContainer(d, c, String(signal));
    } catch (err) {
      if (!isKind(err, 'conflict')) throw err;
    }
    if (await waitUntilStopped(c, timeout < 0 ? -1 : timeout * 1000)) {
      d.containerEvent(c, 'stop');
      return;
    }
  }
  try {
    await killContainer(d, c, String(SIGKILL));
  } catch (err) {
    if (!isKind(err, 'conflict')) throw err;
  }
  await waitUntilStopped(c, -1);
  d.containerEvent(c, 'stop');
}

export async function restartContainer(d: Daemon, c: Container, opts: { timeout?: number; signal?: string }): Promise<void> {
  if (c.running) {
    try {
      await stopContainer(d, c, opts);
    } catch (err) {
      if (!isKind(err, 'not-modified')) throw err;
    }
  }
  try {
    await startContainer(d, c);
  } catch (err) {
    if (!isKind(err, 'not-modified')) throw err;
  }
  d.containerEvent(c, 'restart');
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export function parseWaitCondition(raw: string | null): WaitCondition {
  const v = raw || 'not-running';
  if (v !== 'not-running' && v !== 'next-exit' && v !== 'removed') {
    throw invalidParameter(`invalid condition: "${v}"`);
  }
  return v;
}

/** Resolves with the exit code once the condition holds. */
export async function waitContainer(c: Container, condition: WaitCondition, signal?: AbortSignal): Promise<number> {
  if (condition === 'not-running') {
    // An exit answers even when a restart policy keeps the container "running" (restarting).
    const seen = c.exitCount;
    await c.waitFor((x) => !x.running || x.removed || x.exitCount > seen, signal);
  } else if (condition === 'next-exit') {
    const seen = c.exitCount;
    await c.waitFor((x) => x.exitCount > seen || x.removed, signal);
  } else {
    await c.waitFor((x) => x.removed, signal);
  }
  return c.state.ExitCode;
}
