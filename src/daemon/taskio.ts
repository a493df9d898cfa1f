// The stdio of one running task (a container's init process): FIFOs to the shim, the log driver,
// and the fan-out to attached clients.
import { join } from 'node:path';
import { rm, mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { Container } from '../container/container.js';
import type { StdStream } from '../container/streams.js';
import { createFifos, openFifoForRead, openFifoForWrite, reopenFifoForRead } from '../pkg/fifo.js';
import { LineSplitter } from '../logger/lines.js';
import type { LogDriver } from '../logger/drivers.js';
import { openLogDriver } from './logdriver.js';

export interface StdioPaths {
  stdin?: string;
  stdout: string;
  stderr?: string;
}

/** FIFO paths for a process: `init` for the container's main process, the exec ID otherwise. */
export function stdioPaths(dir: string, proc: string, opts: { stdin: boolean; tty: boolean }): StdioPaths {
  return {
    stdin: opts.stdin ? join(dir, `${proc}-stdin`) : undefined,
    stdout: join(dir, `${proc}-stdout`),
    // With a terminal, stderr is merged into the pty: the shim uses stdout only.
    stderr: opts.tty ? undefined : join(dir, `${proc}-stderr`),
  };
}

/** Opens the daemon's side of a process's FIFOs; `restore` reopens FIFOs the shim already holds. */
export async function openStdio(paths: StdioPaths, restore: boolean): Promise<ProcessIO> {
  const all = [paths.stdin, paths.stdout, paths.stderr].filter((p): p is string => p !== undefined);
  if (!restore) await createFifos(all);
  const outputs: { stream: StdStream; path: string }[] = [{ stream: 'stdout', path: paths.stdout }];
  if (paths.stderr) outputs.push({ stream: 'stderr', path: paths.stderr });
  const stdin = paths.stdin ? await openFifoForWrite(paths.stdin) : undefined;
  // A new task's read opens complete once the shim opens the write side during task creation;
  // a restored task's shim holds it already, or is gone: then no open may wait for it.
  const cancel = new AbortController();
  const openRead = (path: string) => (restore ? reopenFifoForRead(path) : openFifoForRead(path, cancel.signal));
  const pending = outputs.map(({ stream, path }) => openRead(path).then((source) => ({ stream, source })));
  // A failed open surfaces through outputs() or abort(); never as an unhandled rejection.
  for (const p of pending) p.catch(() => undefined);
  return new ProcessIO(paths, stdin, pending, cancel);
}

export class ProcessIO {
  private readers: Socket[] = [];

  constructor(
    readonly paths: StdioPaths,
    readonly stdin: Socket | undefined,
    private readonly pending: Promise<{ stream: StdStream; source: Socket }>[],
    private readonly cancel: AbortController,
  ) {}

  async outputs(): Promise<{ stream: StdStream; source: Socket }[]> {
    const outs = await Promise.all(this.pending);
    this.readers = outs.map((o) => o.source);
    return outs;
  }

  /** Task creation failed: unblock the pending opens and drop everything. */
  async abort(): Promise<void> {
    this.cancel.abort();
    await Promise.allSettled(this.pending).then((rs) => rs.forEach((r) => r.status === 'fulfilled' && r.value.source.destroy()));
    this.close();
  }

  close(): void {
    this.stdin?.destroy();
    for (const r of this.readers) r.destroy();
  }
}

/** A container's running task: its stdio, log driver and exit bookkeeping. */
export class TaskIO {
  oomKilled = false;
  /** Resolves when stdout and stderr reached EOF (the shim closes them after the process exits). */
  readonly drained: Promise<void>;
  private readonly logger: LogDriver;
  private readonly splitters: Record<StdStream, LineSplitter>;

  private constructor(
    readonly container: Container,
    readonly io: ProcessIO,
    readonly spec: object,
    logger: LogDriver,
    outputs: { stream: StdStream; source: Socket }[],
    closeIO: () => Promise<void>,
  ) {
    this.logger = logger;
    const sink = (source: StdStream) => (line: Buffer, timeNano: bigint) => logger.log({ line, source, timeNano });
    this.splitters = { stdout: new LineSplitter(sink('stdout')), stderr: new LineSplitter(sink('stderr')) };
    this.drained = container.streams.pumpOutput(outputs, (stream, chunk) => this.splitters[stream].write(chunk));
    if (io.stdin) container.streams.connectStdin(io.stdin, closeIO);
  }

  static async attach(c: Container, io: ProcessIO, spec: object, closeIO: () => Promise<void>, driver?: LogDriver): Promise<TaskIO> {
    const outputs = await io.outputs();
    const logger = driver ?? (await openLogDriver(c));
    return new TaskIO(c, io, spec, logger, outputs, closeIO);
  }

  /** After the exit: flush what the process wrote, end attached clients, close the log. */
  async finish(drainTimeoutMs = 2000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.drained, new Promise<void>((r) => (timer = setTimeout(r, drainTimeoutMs)))]);
    clearTimeout(timer);
    this.splitters.stdout.flush();
    this.splitters.stderr.flush();
    this.io.close();
    this.container.streams.disconnectStdin();
    this.container.streams.endSinks();
    await this.logger.close();
  }

  /** berthd is shutting down: let go of the FIFOs, leave the process running. */
  detach(): void {
    this.io.close();
    void this.logger.close();
  }
}

export async function makeFifoDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

export async function removeFifos(paths: StdioPaths): Promise<void> {
  await Promise.all(
    [paths.stdin, paths.stdout, paths.stderr].filter((p): p is string => !!p).map((p) => rm(p, { force: true })),
  );
}
