// Health monitors of running containers: started after start, restore and unpause, stopped at
// exit, pause and removal. Each probe runs as an exec in the container (dockerd's probe exec).
import type { Container } from '../container/container.js';
import { SIGKILL } from '../pkg/signal.js';
import { HealthMonitor, healthStatusAction, type ProbeResult } from './health.js';
import { createExec, getExec, startExec } from './exec.js';
import type { Daemon } from './daemon.js';

/** Starts probing a running container that has a health check (after start, restore, unpause). */
export function startHealth(d: Daemon, c: Container, opts: { keepStatus?: boolean } = {}): void {
  if (d.healthMonitors.get(c)?.active) return;
  const previous = c.state.Health;
  const kept = previous ? { Status: previous.Status, FailingStreak: previous.FailingStreak } : undefined;
  const m = new HealthMonitor({
    config: c.record.Config.Healthcheck,
    shell: c.record.Config.Shell,
    startedAt: new Date(c.state.StartedAt),
    containerId: c.id,
    previous,
    exec: (cmd, timeoutMs, signal) => probeExec(d, c, cmd, timeoutMs, signal),
    onStatusChange: (status) => {
      d.containerEvent(c, healthStatusAction(status));
      void c.save().catch(() => undefined);
    },
    onError: (err) => d.logger.debug({ err, id: c.id }, 'health probe failed'),
  });
  if (!m.enabled) return;
  // An unpause keeps the status the monitor had (dockerd only re-opens its monitor channel).
  if (opts.keepStatus && kept) Object.assign(m.state, kept);
  c.state.setHealth(m.state);
  d.healthMonitors.set(c, m);
  m.start();
}

/** Stops probing (exit, stop, pause, removal); the container shows as unhealthy, as in dockerd. */
export async function stopHealth(d: Daemon, c: Container): Promise<void> {
  const m = d.healthMonitors.get(c);
  if (!m) return;
  d.healthMonitors.delete(c);
  await m.stop();
}

/** Runs one probe through containerd's exec, as dockerd's health checks do (exec_* events included). */
async function probeExec(d: Daemon, c: Container, cmd: string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const id = createExec(d, c, {
    AttachStdin: false, AttachStdout: true, AttachStderr: true, DetachKeys: '', Tty: false, Env: [], Cmd: cmd,
    Privileged: false, User: '', WorkingDir: '',
  });
  const e = getExec(d, id);
  const chunks: Buffer[] = [];
  let size = 0;
  e.streams.addSink({
    stdout: true,
    stderr: true,
    write: (_s, chunk) => {
      if (size < 8192) chunks.push(chunk);
      size += chunk.length;
    },
    end: () => undefined,
  });
  const kill = () => void d.ctd.killTask(c.id, SIGKILL, { execId: id }).catch(() => undefined);
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => kill();
  try {
    await startExec(d, e, {});
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    await e.finished;
    return { exitCode: e.exitCode ?? -1, output: Buffer.concat(chunks).toString('utf8'), timedOut };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    d.execs.delete(id);
    c.execIds.delete(id);
  }
}
