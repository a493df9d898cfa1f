// A container's stdio fan-out: output goes to every attached client (and, through the daemon, to
// the log driver); stdin from attached clients goes to the one stdin pipe of the running process.
import type { Readable, Writable } from 'node:stream';

export type StdStream = 'stdout' | 'stderr';

export interface OutputSink {
  stdout: boolean;
  stderr: boolean;
  write(stream: StdStream, chunk: Buffer): void;
  /** The run's output is over (or the container stopped): finish the client's stream. */
  end(): void;
}

export class StreamConfig {
  private readonly sinks = new Set<OutputSink>();
  private stdin?: Writable;
  private closeIO?: () => Promise<void>;
  /** Stdin written by clients attached before the process started, delivered at start. */
  private pendingStdin: Buffer[] = [];
  private pendingStdinClosed = false;

  constructor(readonly openStdin: boolean, readonly tty: boolean) {}

  addSink(sink: OutputSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** Copies a run's stdout/stderr to the attached clients and to `tap`; resolves when both end. */
  pumpOutput(
    outputs: { stream: StdStream; source: Readable }[],
    tap: (stream: StdStream, chunk: Buffer) => void,
  ): Promise<void> {
    const done = outputs.map(
      ({ stream, source }) =>
        new Promise<void>((resolve) => {
          source.on('data', (chunk: Buffer) => {
            tap(stream, chunk);
            for (const sink of this.sinks) if (sink[stream]) sink.write(stream, chunk);
          });
          source.once('end', resolve);
          source.once('close', resolve);
          source.once('error', () => resolve());
        }),
    );
    return Promise.all(done).then(() => undefined);
  }

  /** Ends every attached client's stream: the run they were attached to is over. */
  endSinks(): void {
    for (const sink of this.sinks) sink.end();
    this.sinks.clear();
  }

  /**
   * `closeIO` tells the runtime that input is over: the shim holds its own write end of the
   * stdin FIFO, so closing ours alone never gives the process EOF.
   */
  connectStdin(stdin: Writable, closeIO: () => Promise<void>): void {
    this.stdin = stdin;
    this.closeIO = closeIO;
    stdin.on('error', () => undefined); // the process may exit with unread input
    for (const b of this.pendingStdin) stdin.write(b);
    this.pendingStdin = [];
    if (this.pendingStdinClosed) this.closeStdin();
  }

  disconnectStdin(): void {
    this.stdin?.destroy();
    this.stdin = undefined;
    this.closeIO = undefined;
    this.pendingStdinClosed = false;
  }

  writeStdin(chunk: Buffer): void {
    if (this.stdin) this.stdin.write(chunk);
    else this.pendingStdin.push(chunk);
  }

  /** Gives the process EOF on stdin (StdinOnce: the first attached client closed its input). */
  closeStdin(): void {
    if (this.stdin) {
      const closeIO = this.closeIO;
      this.stdin.end(() => void closeIO?.().catch(() => undefined));
      this.stdin = undefined;
    } else {
      this.pendingStdinClosed = true;
    }
  }
}
