// Runtime operations wired into the container life cycle: restart policies (with back-off),
// health-check monitors, resource validation at create, the per-container log driver, and the
// daemon-wide settings they need (daemon.json `log-driver`/`log-opts`, `live-restore`).
// State that dockerd keeps on its Container struct (restart manager, health monitor) is kept here,
// keyed by the container object, so the container model stays as it is.
import { readFile } from 'node:fs/promises';
import type { ContainerConfig, HostConfig } from '../api/types/container.js';
import type { Container } from '../container/container.js';
import { conflict, isKind } from '../pkg/errors.js';
import { SIGKILL } from '../pkg/signal.js';
import { rfc3339Nano } from '../pkg/timeutil.js';
import { RestartManager, RestartCanceledError, shouldStartOnDaemonStart } from '../restartmanager/restartmanager.js';
import { HealthMonitor, healthStatusAction, validateHealthConfig, type HealthState, type ProbeResult } from './health.js';
import { adaptResources, normalizeCreateResources, readSysInfo, verifyHostConfigResources, warningsOf, type SysInfo } from './resources.js';
import { createLogDriver, initLoggingError, logPathFor, mergeLogConfig, type DaemonLogConfig, type LogDriver } from '../logger/drivers.js';
import type { LogInfo } from '../logger/loginfo.js';
import type { Daemon } from './daemon.js';

// ---------------------------------------------------------------------------------------
// Daemon-wide settings.

export interface RuntimeSettings {
  logConfig: DaemonLogConfig;
  /** Containers keep running while berthd is down (default true). */
  liveRestore: boolean;
}

const settings = new WeakMap<Daemon, RuntimeSettings>();
const shuttingDown = new WeakSet<Daemon>();
let sysInfo: Promise<SysInfo> | undefined;

export function configureRuntime(d: Daemon, s: Partial<RuntimeSettings>): void {
  settings.set(d, { logConfig: s.logConfig ?? {}, liveRestore: s.liveRestore ?? true });
  void getSysInfo();
}

export function runtimeSettings(d: Daemon): RuntimeSettings {
  return settings.get(d) ?? { logConfig: {}, liveRestore: true };
}

/** The host's cgroup capabilities, read once per process. */
export function getSysInfo(): Promise<SysInfo> {
  sysInfo ??= readSysInfo();
  return sysInfo;
}

export function isShuttingDown(d: Daemon): boolean {
  return shuttingDown.has(d);
}

// ---------------------------------------------------------------------------------------
// Create.

/**
 * The runtime part of dockerd's create validation and adaptation: health check, resources
 * (returns their warnings), log config merged with the daemon's defaults. Mutates the configs.
 */
export async function prepareCreate(d: Daemon, config: ContainerConfig, hostConfig: HostConfig): Promise<string[]> {
  validateHealthConfig(config.Healthcheck);
  normalizeCreateResources(hostConfig);
  const sys = await getSysInfo();
  let warnings: string[];
  try {
    warnings = verifyHostConfigResources(hostConfig, sys);
  } catch (err) {
    void warningsOf(err);
    throw err;
  }
  hostConfig.LogConfig = mergeLogConfig(hostConfig.LogConfig, runtimeSettings(d).logConfig);
  adaptResources(hostConfig);
  return warnings;
}

/** dockerd's LogPath: the json-file log only (the local driver's files are not part of the API). */
export function containerLogPath(c: Container): string {
  return c.hostConfig.LogConfig.Type === 'json-file' ? logPathFor('json-file', c.dir, c.id) ?? '' : '';
}

/** The log driver for a run of the container (dockerd's StartLogger). */
export async function openLogDriver(c: Container): Promise<LogDriver> {
  const r = c.record;
  const cfg = c.hostConfig.LogConfig;
  const info: LogInfo = {
    Config: cfg.Config ?? {},
    ContainerID: c.id,
    ContainerName: c.name,
    ContainerEntrypoint: r.Path,
    ContainerArgs: r.Args,
    ContainerImageID: r.Image,
    ContainerImageName: r.Config.Image,
    ContainerCreated: new Date(r.Created),
    ContainerEnv: r.Config.Env ?? [],
    ContainerLabels: r.Config.Labels ?? {},
    LogPath: logPathFor(cfg.Type, c.dir, c.id) ?? '',
    DaemonName: 'docker',
  };
  try {
    return await createLogDriver({ Type: cfg.Type || 'json-file', Config: cfg.Config ?? {} }, info);
  } catch (err) {
    throw initLoggingError(err);
  }
}

// ---------------------------------------------------------------------------------------
// Health checks.

const monitors = new WeakMap<Container, HealthMonitor>();

/** Starts probing a running container that has a health check (after start, restore, unpause). */
export function startHealth(d: Daemon, c: Container, opts: { keepStatus?: boolean } = {}): void {
  if (monitors.get(c)?.active) return;
  const previous = c.state.Health as HealthState | undefined;
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
  c.state.Health = m.state;
  monitors.set(c, m);
  m.start();
}

/** Stops probing (exit, stop, pause, removal); the container shows as unhealthy, as in dockerd. */
export async function stopHealth(c: Container): Promise<void> {
  const m = monitors.get(c);
  if (!m) return;
  monitors.delete(c);
  await m.stop();
}

/** Runs one probe through containerd's exec, as dockerd's health checks do (exec_* events included). */
async function probeExec(d: Daemon, c: Container, cmd: string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const { createExec, getExec, startExec } = await import('./exec.js');
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

// ---------------------------------------------------------------------------------------
// Restart policies.

const managers = new WeakMap<Container, RestartManager>();

function managerOf(c: Container): RestartManager {
  let m = managers.get(c);
  if (!m) {
    m = new RestartManager(c.hostConfig.RestartPolicy, c.record.RestartCount);
    managers.set(c, m);
  }
  return m;
}

/** A user's start (or restart): a new manager and RestartCount 0 (dockerd's ResetRestartManager). */
export function resetRestartManager(c: Container): void {
  managers.get(c)?.cancel();
  managers.delete(c);
  c.record.RestartCount = 0;
}

/**
 * stop/kill/rm (and daemon shutdown): no more restarts from the current manager; a pending
 * back-off ends and the container is marked stopped. Sets HasBeenManuallyStopped unless the
 * daemon is shutting down (so unless-stopped containers come back with the daemon).
 */
export function cancelRestart(d: Daemon, c: Container): void {
  if (!isShuttingDown(d)) c.record.HasBeenManuallyStopped = true;
  managerOf(c).cancel();
}

/** `docker update --restart`: takes effect from the next exit. */
export function setRestartPolicy(c: Container): void {
  managers.get(c)?.setPolicy(c.hostConfig.RestartPolicy);
}

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
    const r = managerOf(c).shouldRestart(exitCode, c.record.HasBeenManuallyStopped || isShuttingDown(d), duration);
    if (r.restart) wait = r.wait;
  } catch (err) {
    if (!(err instanceof RestartCanceledError)) d.logger.warn({ err, id: c.id }, 'restart manager');
    return undefined;
  }
  if (!wait) return undefined;
  c.record.RestartCount++;
  Object.assign(c.state, { Status: 'restarting', Running: true, Restarting: true, Paused: false, Pid: 0, ExitCode: exitCode, OOMKilled: oomKilled });
  return wait;
}

/** After the back-off: start the container again, or mark it stopped if that was canceled or failed. */
export async function restartAfter(d: Daemon, c: Container, wait: Promise<void>): Promise<void> {
  const { startContainer } = await import('./start.js');
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
    Object.assign(c.state, { Status: 'exited', Running: false, Restarting: false, Paused: false, Pid: 0, FinishedAt: rfc3339Nano() });
    await c.save().catch(() => undefined);
    c.notify();
  });
  if (c.hostConfig.AutoRemove && !c.removing) {
    const { removeContainer } = await import('./delete.js');
    await removeContainer(d, c, { force: true, volumes: true }).catch(() => undefined);
  }
}

/** At daemon start, after restore: start the containers their policy says to (dockerd's restore). */
export async function startContainersOnDaemonStart(d: Daemon): Promise<void> {
  const { startContainer } = await import('./start.js');
  const todo = d.containers.all().filter((c) => !c.running && shouldStartOnDaemonStart({
    policy: c.hostConfig.RestartPolicy,
    restartCount: c.record.RestartCount,
    exitCode: c.state.ExitCode,
    hasBeenManuallyStopped: c.record.HasBeenManuallyStopped,
    hasBeenStartedBefore: c.record.HasBeenStartedBefore,
  }));
  await Promise.all(todo.map((c) => startContainer(d, c).catch((err) => d.logger.error({ err, id: c.id }, 'failed to start container at daemon start'))));
}

/** berthd stopping with live-restore off: stop every container with its stop timeout, as dockerd. */
export async function shutdownContainers(d: Daemon): Promise<void> {
  shuttingDown.add(d);
  const { stopContainer } = await import('./stop.js');
  await Promise.all(d.containers.all().filter((c) => c.running).map(async (c) => {
    managerOf(c).cancel();
    if (c.state.Paused) await d.ctd.resume(c.id).catch(() => undefined);
    await stopContainer(d, c, {}).catch((err) => {
      if (!isKind(err, 'not-modified')) d.logger.warn({ err, id: c.id }, 'stopping container at shutdown');
    });
  }));
}

// ---------------------------------------------------------------------------------------
// OOM.

/** Whether the kernel OOM-killed a process of the container's cgroup (a fallback for a late event). */
export async function cgroupOOMKilled(id: string): Promise<boolean> {
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

// ---------------------------------------------------------------------------------------
// Pause.

export async function pauseContainer(d: Daemon, c: Container): Promise<void> {
  await c.lock.run(async () => {
    if (!c.running) throw conflict(`Container ${c.id} is not running`);
    if (c.state.Paused) throw conflict(`Container ${c.id} is already paused`);
    if (c.state.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
    await d.ctd.pause(c.id);
    c.state.Paused = true;
    c.state.Status = 'paused';
    await stopHealth(c);
    await c.save();
    c.notify();
    d.containerEvent(c, 'pause');
  });
}

export async function unpauseContainer(d: Daemon, c: Container): Promise<void> {
  await c.lock.run(async () => {
    if (!c.running || !c.state.Paused) throw conflict(`Container ${c.id} is not paused`);
    await d.ctd.resume(c.id);
    c.state.Paused = false;
    c.state.Status = 'running';
    await c.save();
    c.notify();
    d.containerEvent(c, 'unpause');
    startHealth(d, c, { keepStatus: true });
  });
}
