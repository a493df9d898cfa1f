// Exits of tasks and execs (from containerd's event stream), and re-attaching to the containers
// that kept running while berthd was down.
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig, HostConfig } from '../api/types/container.js';
import { Container, type ContainerRecord } from '../container/container.js';
import { readJSON } from '../pkg/atomicfile.js';
import { isKind } from '../pkg/errors.js';
import { SIGKILL } from '../pkg/signal.js';
import { openStdio, stdioPaths, TaskIO } from './taskio.js';
import { removeContainer } from './delete.js';
import type { Daemon } from './daemon.js';
import { exitDecision, restartAfter, startsWithDaemon } from './restart.js';
import { startHealth, stopHealth } from './healthcheck.js';
import { releaseNetworking } from './network.js';
import { releaseContainerMounts, restoreContainerMounts } from './mounts.js';

export async function handleTaskExit(d: Daemon, id: string, exitStatus: number, exitedAt: Date): Promise<void> {
  const c = d.containers.find(id);
  if (!c) return;
  let restartWait: Promise<void> | undefined;
  await c.lock.run(async () => {
    const run = d.taskIO.get(id);
    if (!run) return; // handled already (a duplicate event, or a restore that found it stopped)
    d.taskIO.delete(id);
    await stopHealth(d, c);
    await run.finish();
    // The /tasks/oom event may trail the exit: the cgroup's counter says it too (until the task is deleted).
    const oomKilled = run.oomKilled || (await cgroupOOMKilled(id));
    let status = exitStatus;
    let at = exitedAt;
    try {
      const res = await d.deleteTask(id);
      status = res.exitStatus;
      at = res.exitedAt;
    } catch (err) {
      if (!isKind(err, 'not-found')) d.logger.warn({ err, id }, 'deleting exited task');
    }
    await d.ctd.deleteContainer(id).catch(() => undefined);
    await releaseContainerMounts(d, c);
    await releaseNetworking(d, c);
    markExited(c, status, at, oomKilled);
    // A restart policy that restarts it: restarting (RestartCount+1), started again after the back-off.
    restartWait = exitDecision(d, c, status, oomKilled);
    await endExecs(d, c);
    await c.save();
    await rm(d.fifoDir(id), { recursive: true, force: true });
    d.containerEvent(c, 'die', { exitCode: String(status), execDuration: String(execDuration(c)) });
    c.notify();
  });
  if (restartWait) {
    void restartAfter(d, c, restartWait);
    return;
  }
  if (c.hostConfig.AutoRemove && !c.removing) {
    await removeContainer(d, c, { force: true, volumes: true }).catch((err) => d.logger.warn({ err, id }, 'auto-remove'));
  }
}

function execDuration(c: Container): number {
  const started = Date.parse(c.state.StartedAt);
  const finished = Date.parse(c.state.FinishedAt);
  return Number.isNaN(started) || Number.isNaN(finished) ? 0 : Math.max(0, Math.round((finished - started) / 1000));
}

function markExited(c: Container, exitCode: number, at: Date, oomKilled: boolean): void {
  c.state.setStopped({ exitCode, oomKilled, exitedAt: at });
  c.exitCount++;
}

/** Whether the kernel OOM-killed a process of the container's cgroup (a fallback for a late event). */
async function cgroupOOMKilled(id: string): Promise<boolean> {
  for (const f of [`/sys/fs/cgroup/berth/${id}/memory.events`, `/sys/fs/cgroup/memory/berth/${id}/memory.oom_control`]) {
    try {
      const m = /oom_kill (\d+)/.exec(await readFile(f, 'utf8'));
      if (m) return Number(m[1]) > 0;
    } catch {
      // not this hierarchy
    }
  }
  return false;
}

/** The container is gone: its execs are gone too. */
async function endExecs(d: Daemon, c: Container): Promise<void> {
  for (const execId of c.execIds) {
    const e = d.execs.get(execId);
    if (e?.running) await e.finish(d, 137);
    d.execs.delete(execId);
  }
  c.execIds.clear();
}

export async function handleExecExit(d: Daemon, execId: string, exitStatus: number): Promise<void> {
  const e = d.execs.get(execId);
  if (!e || !e.running) return;
  let status = exitStatus;
  try {
    status = (await d.ctd.deleteExec(e.containerId, execId)).exitStatus;
  } catch {
    // The container may have gone first; the event's status stands.
  }
  await e.finish(d, status);
}

/**
 * Loads every container from disk into the store, as it was when berthd last saw it, and drops
 * creates that never reached their commit point. Touches no containerd: it cannot hang.
 */
export async function loadContainers(d: Daemon): Promise<Container[]> {
  const loaded: Container[] = [];
  for (const id of await readdir(d.containersDir)) {
    const dir = join(d.containersDir, id);
    const record = await readJSON<ContainerRecord>(join(dir, 'config.v2.json')).catch(() => undefined);
    const hostConfig = await readJSON<HostConfig>(join(dir, 'hostconfig.json')).catch(() => undefined);
    if (!record || !hostConfig) {
      d.logger.warn({ id }, 'removing half-created container');
      await d.images.removeRWLayer(id).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    if (!d.images.hasRWLayer(id)) {
      // The layer is made before the record and removed before the directory: a removal that
      // berthd did not finish. Finish it.
      d.logger.warn({ id }, 'removing container whose removal was interrupted');
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    const c = new Container(dir, record, hostConfig);
    d.containers.add(c);
    // Volume references are not persisted: re-register them; reconciling releases those of a
    // container found exited.
    restoreContainerMounts(d, c, c.running);
    loaded.push(c);
  }
  await d.images.sweepRWLayers(new Set(loaded.map((c) => c.id)));
  return loaded;
}

/**
 * Reconciles loaded containers with what containerd still runs. Each container is reconciled
 * under its lock, so that requests on it wait for its true state; the API may already serve.
 */
export async function restoreContainers(d: Daemon, loaded: Container[], settle: Map<Container, () => void>): Promise<void> {
  const tasks = new Map((await d.ctd.listTasks()).map((t) => [t.id, t]));
  for (const c of loaded) {
    const task = tasks.get(c.id);
    tasks.delete(c.id);
    await c.lock.run(async () => {
      if (c.removing || !d.containers.find(c.id)) return;
      const started = Date.now();
      try {
        await restoreOne(d, c, task);
      } catch (err) {
        d.logger.error({ err, id: c.id }, 'restoring container');
      }
      const ms = Date.now() - started;
      if (ms > 1000) d.logger.warn({ id: c.id, ms, task: task?.status }, 'slow container restore');
    });
    // One that its restart policy brings back stays unsettled until that start.
    if (!startsWithDaemon(c)) settle.get(c)?.();
  }
  // Tasks and containerd containers without a container record are left from removals that
  // berthd did not finish.
  for (const id of tasks.keys()) {
    if (!d.containers.find(id)) await discardTask(d, id);
  }
  for (const { id } of await d.ctd.listContainers()) {
    if (!d.containers.find(id)) await d.ctd.deleteContainer(id).catch(() => undefined);
  }
}

/** How long a task berthd discards may take to die after SIGKILL before it is given up on. */
const DISCARD_WAIT_MS = 10_000;

/**
 * Kills a task that berthd does not own (any more), waits for it to stop and deletes it with its
 * containerd container. Deleting a task that still runs fails, so the wait is what makes it go.
 */
async function discardTask(d: Daemon, id: string): Promise<{ exitStatus: number; exitedAt?: Date } | undefined> {
  await d.ctd.killTask(id, SIGKILL, { all: true }).catch(() => undefined);
  await d.ctd.waitTask(id, { timeoutMs: DISCARD_WAIT_MS }).catch(() => undefined);
  const res = await d.deleteTask(id).catch((err) => {
    d.logger.warn({ err, id }, 'could not delete a discarded task');
    return undefined;
  });
  await d.ctd.deleteContainer(id).catch(() => undefined);
  return res;
}

async function restoreOne(d: Daemon, c: Container, task: { status: string; exitStatus: number; exitedAt?: Date } | undefined): Promise<void> {
  const alive = task && (task.status === 'running' || task.status === 'paused' || task.status === 'pausing');
  if (c.running && alive) {
    const cfg: ContainerConfig = c.record.Config;
    const paths = stdioPaths(d.fifoDir(c.id), 'init', { stdin: cfg.OpenStdin, tty: cfg.Tty });
    const io = await openStdio(paths, true);
    d.taskIO.set(c.id, await TaskIO.attach(c, io, await containerdSpec(d, c.id), () => d.ctd.closeStdin(c.id)));
    c.state.restorePaused(task.status !== 'running');
    c.exited = c.waitFor((x) => !x.running);
    if (!c.state.Paused) startHealth(d, c, { keepStatus: true });
    d.logger.info({ id: c.id }, 'restored running container');
    return;
  }
  if (task) {
    // It exited while berthd was away, or berthd died inside a start before recording it (the task
    // may run then, but nobody was told it started): collect its real exit status.
    const res = await discardTask(d, c.id);
    if (c.running) {
      await releaseRestored(d, c);
      markExited(c, res?.exitStatus ?? task.exitStatus, res?.exitedAt ?? task.exitedAt ?? new Date(), false);
      d.containerEvent(c, 'die', { exitCode: String(c.state.ExitCode) });
    }
  } else if (c.running) {
    // containerd lost it (e.g. a reboot): dockerd reports such a container as exited with 255.
    await releaseRestored(d, c);
    markExited(c, 255, new Date(), false);
  }
  await c.save();
  if (c.hostConfig.AutoRemove) await removeContainer(d, c, { force: true, volumes: true }).catch(() => undefined);
}

/** A container that was running when berthd died and is not any more: its mounts and endpoints go. */
async function releaseRestored(d: Daemon, c: Container): Promise<void> {
  await releaseContainerMounts(d, c);
  await releaseNetworking(d, c);
}

/** The spec a restored container runs with, kept by containerd (exec needs it). */
async function containerdSpec(d: Daemon, id: string): Promise<object> {
  return (await d.ctd.getContainer(id)).spec ?? {};
}
