// docker exec: an extra process in a running container, through containerd's Exec.
import { randomBytes } from 'node:crypto';
import type { ExecInspect } from '../api/types/exec.js';
import type { Container } from '../container/container.js';
import { StreamConfig } from '../container/streams.js';
import { conflict, invalidParameter, notFound } from '../pkg/errors.js';
import { createExecProcess } from '../oci/exec.js';
import type { Spec } from '../oci/spec.js';
import { resolveUser } from '../oci/user.js';
import { containerEnv } from './env.js';
import { linkEnv } from './network.js';
import { openStdio, stdioPaths, removeFifos, type ProcessIO } from './taskio.js';
import type { Daemon } from './daemon.js';

export interface ExecCreateOptions {
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  DetachKeys: string;
  Tty: boolean;
  Env: string[];
  Cmd: string[];
  Privileged: boolean;
  User: string;
  WorkingDir: string;
  ConsoleSize?: [number, number];
}

export class ExecConfig {
  running = false;
  exitCode: number | null = null;
  pid = 0;
  readonly streams: StreamConfig;
  io?: ProcessIO;
  private drained: Promise<void> = Promise.resolve();
  private done!: () => void;
  /** Resolves when the exec has exited and its output is flushed. */
  readonly finished = new Promise<void>((r) => (this.done = r));

  constructor(readonly id: string, readonly containerId: string, readonly opts: ExecCreateOptions) {
    this.streams = new StreamConfig(opts.AttachStdin, opts.Tty);
  }

  get started(): boolean { return this.pid !== 0 || this.running || this.exitCode !== null; }

  /** dockerd's two refusals: a finished exec cannot run again, a running one cannot start twice. */
  assertStartable(): void {
    if (this.exitCode !== null) throw conflict(`Error: Exec command ${this.id} has already run`);
    if (this.started) throw conflict(`Error: Exec command ${this.id} is already running`);
  }

  watchOutput(drained: Promise<void>): void { this.drained = drained.catch(() => undefined); }

  async finish(d: Daemon, exitCode: number): Promise<void> {
    if (!this.running) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drained, new Promise<void>((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    this.running = false;
    this.exitCode = exitCode;
    this.io?.close();
    if (this.io) await removeFifos(this.io.paths);
    this.streams.disconnectStdin();
    const c = d.containers.find(this.containerId);
    if (c) d.containerEvent(c, 'exec_die', { execID: this.id, exitCode: String(exitCode) });
    this.streams.endSinks();
    this.done();
  }

  inspect(c: Container | undefined): ExecInspect {
    const [entrypoint, ...args] = this.opts.Cmd;
    return {
      ID: this.id,
      Running: this.running,
      ExitCode: this.exitCode,
      ProcessConfig: { tty: this.opts.Tty, entrypoint, arguments: args, privileged: this.opts.Privileged, user: this.opts.User || undefined },
      OpenStdin: this.opts.AttachStdin,
      OpenStderr: this.opts.AttachStderr,
      OpenStdout: this.opts.AttachStdout,
      CanRemove: false,
      ContainerID: c?.id ?? this.containerId,
      DetachKeys: this.opts.DetachKeys,
      Pid: this.pid,
    };
  }
}

function assertRunning(c: Container): void {
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (c.state.Paused) throw conflict(`container ${c.id} is paused, unpause the container before exec`);
  if (c.state.Restarting) throw conflict(`container ${c.id} is restarting, wait until the container is running`);
}

export function createExec(d: Daemon, c: Container, opts: ExecCreateOptions): string {
  assertRunning(c);
  if (!opts.Cmd || opts.Cmd.length === 0) throw invalidParameter('No exec command specified');
  const id = randomBytes(32).toString('hex');
  const e = new ExecConfig(id, c.id, opts);
  d.execs.set(id, e);
  c.execIds.add(id);
  d.containerEvent(c, `exec_create: ${execCommandLine(opts.Cmd)}`, { execID: id });
  return id;
}

/** The command in exec events as dockerd writes it: entrypoint + " " + args (a trailing space without args). */
function execCommandLine(cmd: string[]): string {
  const [entrypoint = '', ...args] = cmd;
  return `${entrypoint} ${args.join(' ')}`;
}

export function getExec(d: Daemon, id: string): ExecConfig {
  const e = d.execs.get(id);
  if (!e) throw notFound(`No such exec instance: ${id}`);
  return e;
}

/** Starts the process; output flows to the exec's attached sinks (added by the caller first). */
export async function startExec(d: Daemon, e: ExecConfig, opts: { consoleSize?: [number, number] }): Promise<void> {
  e.assertStartable();
  const c = d.containers.get(e.containerId);
  assertRunning(c);
  const run = d.taskIO.get(c.id);
  if (!run) throw conflict(`container ${c.id} is not running`);
  e.running = true;
  try {
    const tty = e.opts.Tty;
    // An exec without a user runs as the container's process does.
    const user = e.opts.User
      ? await resolveUser(e.opts.User, c.hostConfig.GroupAdd ?? [], (p) => d.images.readContainerFile(c.id, p))
      : undefined;
    // Links whose peer has gone since the start contribute nothing, rather than failing the exec.
    const links = (() => { try { return linkEnv(d, c); } catch { return []; } })();
    const env = [...containerEnv(c, links), ...(e.opts.Env ?? [])];
    const process = createExecProcess(run.spec as Spec, {
      args: e.opts.Cmd,
      env,
      cwd: e.opts.WorkingDir || c.record.Config.WorkingDir || '/',
      user,
      tty,
      privileged: e.opts.Privileged || c.hostConfig.Privileged,
      consoleSize: opts.consoleSize ?? e.opts.ConsoleSize,
    });
    const paths = stdioPaths(d.fifoDir(c.id), e.id.slice(0, 16), { stdin: e.opts.AttachStdin, tty });
    const io = await openStdio(paths, false);
    e.io = io;
    // The shim opens an exec's FIFOs when the process starts, so the pump is set up first and
    // the exit handler can wait for the output whatever the order of events.
    e.watchOutput(io.outputs().then((outputs) => e.streams.pumpOutput(outputs, () => undefined)));
    try {
      await d.ctd.exec(c.id, e.id, { process, stdin: paths.stdin, stdout: paths.stdout, stderr: paths.stderr, terminal: tty });
      e.pid = (await d.ctd.startExec(c.id, e.id)).pid;
    } catch (err) {
      await io.abort();
      throw err;
    }
    // Input goes in once the process exists: closing stdin (CloseIO) needs it, and bytes left
    // in a FIFO nobody has opened yet would be lost.
    if (io.stdin) e.streams.connectStdin(io.stdin, () => d.ctd.closeStdin(c.id, e.id));
    const size = opts.consoleSize ?? e.opts.ConsoleSize;
    if (tty && size && size[0] > 0 && size[1] > 0) await d.ctd.resizePty(c.id, e.id, size[1], size[0]).catch(() => undefined);
    d.containerEvent(c, `exec_start: ${execCommandLine(e.opts.Cmd)}`, { execID: e.id });
  } catch (err) {
    e.running = false;
    const msg = err instanceof Error ? err.message : String(err);
    e.exitCode = /executable file not found|no such file or directory/.test(msg) ? 127 : 126;
    // Attached clients are not ended here: the API layer writes the error into their stream
    // first (as dockerd does), then closes it.
    await d.ctd.deleteExec(c.id, e.id).catch(() => undefined);
    throw err;
  }
}
