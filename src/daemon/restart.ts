// Restarts made by a container's restart policy: the decision at exit, the start after the
// back-off, and the starts at daemon start-up.
//
// The daemon's modules import one another one way only: this module sits above start and delete
// (it calls them) and below monitor (which calls it at every exit). What start, stop and rm need of
// the restart manager they reach through the container (Container.restartManager and friends), so
// nothing below has to call up here.
import type { Container } from '../container/container.js';
import { RestartCanceledError, shouldStartOnDaemonStart } from '../restartmanager/restartmanager.js';
import { startContainer } from './start.js';
import { removeContainer } from './delete.js';
import type { Daemon } from './daemon.js';

/**
 * Called by the exit handler (under the container's lock) once the exit status is known: asks
 * the manager whether to restart; if so, puts the container in the restarting state
 * (RestartCount+1) and returns the back-off to wait before starting it again.
 */
export function exitDecision(d: Daemon, c: Container, exitCode: number, oomKilled: boolean): Promise<void> | undefined {
  const started = Date.parse(c.state.StartedAt);
  const duration = Number.isNaN(started) ? 0 : Date.now() - started;
  let wait: Promise<void> | undefined;
  try {
    const r = c.restartManager().shouldRestart(exitCode, c.record.HasBeenManuallyStopped || d.shuttingDown, duration);
    if (r.restart) wait = r.wait;
  } catch (err) {
    if (!(err instanceof RestartCanceledError)) d.logger.warn({ err, id: c.id }, 'restart manager');
    return undefined;
  }
  if (!wait) return undefined;
  c.record.RestartCount++;
  c.state.setRestarting(exitCode, oomKilled);
  return wait;
}

/** After the back-off: start the container again, or mark it stopped if that was canceled or failed. */
export async function restartAfter(d: Daemon, c: Container, wait: Promise<void>): Promise<void> {
  let error: unknown;
  try {
    await wait;
    await startContainer(d, c, { autoRestart: true });
    return;
  } catch (err) {
    error = err;
  }
  if (!(error instanceof RestartCanceledError)) d.logger.error({ err: error, id: c.id }, 'restarting container');
  await c.lock.run(async () => {
    if (!c.state.Restarting) return;
    c.state.setRestartEnded();
    await c.save().catch(() => undefined);
    c.notify();
  });
  if (c.hostConfig.AutoRemove && !c.removing) {
    await removeContainer(d, c, { force: true, volumes: true }).catch(() => undefined);
  }
}

/** Does the container's restart policy bring it back with the daemon (dockerd's restore)? */
export function startsWithDaemon(c: Container): boolean {
  return !c.running && shouldStartOnDaemonStart({
    policy: c.hostConfig.RestartPolicy,
    restartCount: c.record.RestartCount,
    exitCode: c.state.ExitCode,
    hasBeenManuallyStopped: c.record.HasBeenManuallyStopped,
    hasBeenStartedBefore: c.record.HasBeenStartedBefore,
  });
}

/** At daemon start, after restore: start the containers their policy says to (dockerd's restore). */
export async function startContainersOnDaemonStart(d: Daemon): Promise<void> {
  const todo = d.containers.all().filter(startsWithDaemon);
  await Promise.all(todo.map((c) => startContainer(d, c).catch((err) => d.logger.error({ err, id: c.id }, 'failed to start container at daemon start'))));
}
