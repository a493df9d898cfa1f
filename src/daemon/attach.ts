// Connecting a client's hijacked connection to a container's (or exec's) stdio.
import type { Duplex } from 'node:stream';
import type { StreamConfig, StdStream } from '../container/streams.js';
import { frame } from '../pkg/stdcopy.js';
import { invalidParameter } from '../pkg/errors.js';

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** Parses "ctrl-p,ctrl-q"-style detach keys into bytes, as dockerd's term.ToBytes. */
export function parseDetachKeys(keys: string): Buffer {
  const out: number[] = [];
  for (const part of keys.split(',')) {
    const k = part.trim();
    if (k.length === 1) {
      out.push(k.charCodeAt(0));
      continue;
    }
    const m = /^ctrl-(.)$/.exec(k);
    if (!m) throw invalidParameter(`Invalid detach keys (${keys}) provided`);
    const ch = m[1];
    if (ch >= 'a' && ch <= 'z') out.push(ch.charCodeAt(0) - 96);
    else {
      const special = '@[\\]^_'.indexOf(ch);
      if (special < 0) throw invalidParameter(`Invalid detach keys (${keys}) provided`);
      out.push(special === 0 ? 0 : 26 + special);
    }
  }
  return Buffer.from(out);
}

export interface AttachOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Raw bytes with a TTY, the 8-byte framing without one. */
  multiplexed: boolean;
  /** StdinOnce without a TTY: the client's EOF on stdin closes the process's stdin. */
  closeStdinOnEOF: boolean;
  detachKeys: Buffer;
  onDetach?: () => void;
}

/** Resolves when the stream is over: the process's output ended, the client left, or detached. */
export function attachConnection(streams: StreamConfig, conn: Duplex, opts: AttachOptions): Promise<void> {
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      removeSink();
      resolve();
    };
    const removeSink = streams.addSink({
      stdout: opts.stdout,
      stderr: opts.stderr,
      write: (stream: StdStream, chunk: Buffer) => {
        if (conn.writable) conn.write(opts.multiplexed ? frame(stream === 'stdout' ? 1 : 2, chunk) : chunk);
      },
      end: () => {
        conn.end();
        finish();
      },
    });
    conn.on('close', finish);
    conn.on('error', finish);
    if (!opts.stdin) {
      conn.resume(); // nothing to read, but EOF and close must still be seen
      return;
    }
    const scan = detachScanner(opts.detachKeys);
    conn.on('data', (chunk: Buffer) => {
      const { data, detached } = scan(chunk);
      if (data.length > 0) streams.writeStdin(data);
      if (detached) {
        opts.onDetach?.();
        conn.end();
        finish();
      }
    });
    conn.resume();
    conn.on('end', () => {
      if (opts.closeStdinOnEOF) streams.closeStdin();
      else if (!finished) {
        // With a TTY the client's EOF means it went away: stop streaming to it.
        conn.end();
        finish();
      }
    });
  });
}

/**
 * Watches stdin for the detach sequence. Bytes that could begin it are held back until the
 * sequence completes (they are dropped: the client detaches) or breaks (they are passed on).
 */
export function detachScanner(keys: Buffer): (chunk: Buffer) => { data: Buffer; detached: boolean } {
  let held: number[] = [];
  return (chunk) => {
    if (keys.length === 0) return { data: chunk, detached: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === keys[held.length]) {
        held.push(b);
        if (held.length === keys.length) return { data: Buffer.from(out), detached: true };
        continue;
      }
      out.push(...held);
      held = [];
      if (b === keys[0]) held.push(b);
      else out.push(b);
    }
    return { data: Buffer.from(out), detached: false };
  };
}
