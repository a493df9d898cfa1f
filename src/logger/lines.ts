// What every log driver shares: the log message and record shapes, the splitting of a
// container's raw output into log lines, and the options of a read (the writers and readers
// live in rotate.ts and local.ts; times come from pkg/timeutil.ts).

import { nowNano } from '../pkg/timeutil.js';

export const MAX_LINE = 16 * 1024;

export type LogSource = 'stdout' | 'stderr';

export interface LogMessage {
  /** The line with its trailing '\n', or without one when partial. */
  line: Buffer;
  source: LogSource;
  time?: Date;
  /** Nanoseconds since the epoch; wins over `time` (a Date only holds milliseconds). */
  timeNano?: bigint;
}

export interface LogRecord {
  stream: LogSource;
  /** As logged: ends with '\n' unless partial; prefixed with the timestamp when asked. */
  line: Buffer;
  time: Date;
  timeNano: bigint;
}

// ---------------------------------------------------------------------------------------
// Line splitting, as moby's logger.Copier does it.

/**
 * Splits a container's raw output into log lines: each complete line is emitted with its
 * '\n'; a run of MAX_LINE bytes without a newline is emitted as a partial line (no '\n'),
 * and so is whatever is left at end(). Partial pieces of one line share the first
 * piece's timestamp, as dockerd does.
 */
export class LineSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private partialTime: bigint | undefined;

  constructor(
    private readonly onLine: (line: Buffer, timeNano: bigint) => void,
    private readonly maxLine: number = MAX_LINE,
  ) {}

  write(chunk: Buffer): void {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let p = 0;
    for (;;) {
      // Only look for a newline within the line's allowance, as the copier's full buffer does.
      const limit = Math.min(buf.length, p + this.maxLine);
      const nl = buf.subarray(p, limit).indexOf(0x0a);
      if (nl >= 0) {
        this.emit(buf.subarray(p, p + nl + 1), false);
        p += nl + 1;
      } else if (buf.length - p >= this.maxLine) {
        this.emit(buf.subarray(p, p + this.maxLine), true);
        p += this.maxLine;
      } else break;
    }
    // Copy the remainder so the caller's chunk (often a pooled buffer) is not retained.
    this.pending = p < buf.length ? Buffer.from(buf.subarray(p)) : Buffer.alloc(0);
  }

  /** Emits an unterminated last line as a partial line (the splitter stays usable). */
  flush(): void {
    this.end();
  }

  /** Flushes an unterminated last line as a partial line. */
  end(): void {
    if (this.pending.length > 0) this.emit(this.pending, true);
    this.pending = Buffer.alloc(0);
    this.partialTime = undefined;
  }

  private emit(line: Buffer, partial: boolean): void {
    const t = this.partialTime ?? nowNano();
    if (partial) this.partialTime = t;
    else this.partialTime = undefined;
    // Emitted lines are copies: the logger keeps them past this call.
    this.onLine(Buffer.from(line), t);
  }
}

/** What `docker logs` asks of any driver's reader. */
export interface ReadLogsOptions {
  stdout: boolean;
  stderr: boolean;
  since?: Date;
  until?: Date;
  /** Last N lines; -1 (or undefined) = all, 0 = none (then only followed lines). */
  tail?: number;
  follow: boolean;
  /** Prefix each line with dockerd's fixed-width RFC3339Nano timestamp and a space. */
  timestamps?: boolean;
}
