// Helpers for the CLI tests: running the real docker CLI against a test berthd, asserting on
// its result, polling, and driving it through a real pseudo-terminal.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import type { Daemon, DockerResult } from '../integration/harness.js';
import { DOCKER_BIN } from '../integration/harness.js';

/** Describes a CLI result for assertion messages. */
export function show(args: string[], r: DockerResult): string {
  return `docker ${args.join(' ')} → exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Runs the CLI and asserts exit code 0; resolves with the result. */
export async function dockerOk(d: Daemon, args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<DockerResult> {
  const r = await d.docker(args, opts);
  assert.equal(r.code, 0, show(args, r));
  return r;
}

/** Runs the CLI, asserts exit code 0, and resolves with trimmed stdout. */
export async function dockerOut(d: Daemon, args: string[], opts?: { input?: string | Buffer; timeoutMs?: number }): Promise<string> {
  return (await dockerOk(d, args, opts)).stdout.trim();
}

/** Runs the CLI and asserts the exit code (and, optionally, stderr). */
export async function dockerFails(
  d: Daemon,
  args: string[],
  code: number,
  stderr?: string | RegExp,
  opts?: { input?: string | Buffer; timeoutMs?: number },
): Promise<DockerResult> {
  const r = await d.docker(args, opts);
  assert.equal(r.code, code, show(args, r));
  if (typeof stderr === 'string') assert.ok(r.stderr.includes(stderr), `stderr should contain ${JSON.stringify(stderr)}\n${show(args, r)}`);
  else if (stderr) assert.match(r.stderr, stderr, show(args, r));
  return r;
}

/** Polls `fn` until it returns a truthy value (resolved with), or fails after `timeoutMs`. */
export async function waitUntil<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 10_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await delay(stepMs);
  }
}

/** `docker inspect -f <template> <name>`, trimmed. */
export function inspectField(d: Daemon, name: string, template: string): Promise<string> {
  return dockerOut(d, ['inspect', '-f', template, name]);
}

/** Waits until the container's status (State.Status) is `status`. */
export function waitStatus(d: Daemon, name: string, status: string, timeoutMs = 10_000): Promise<string> {
  return waitUntil(`${name} to be ${status}`, async () => ((await inspectField(d, name, '{{.State.Status}}')) === status ? status : undefined), timeoutMs);
}

/** Waits until `docker logs <name>` contains `text`; resolves with the logs. */
export function waitLogs(d: Daemon, name: string, text: string | RegExp, timeoutMs = 10_000): Promise<string> {
  return waitUntil(`logs of ${name} to show ${String(text)}`, async () => {
    const r = await d.docker(['logs', name]);
    const all = r.stdout + r.stderr;
    return (typeof text === 'string' ? all.includes(text) : text.test(all)) ? all : undefined;
  }, timeoutMs, 100);
}

/** A docker CLI process left running (logs -f, events, attach…), with its output so far. */
export interface Background {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export function dockerBackground(d: Daemon, args: string[]): Background {
  const p = spawn(DOCKER_BIN, args, { env: d.dockerEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout.on('data', (c: Buffer) => out.push(c));
  p.stderr.on('data', (c: Buffer) => err.push(c));
  const exited = new Promise<number | null>((resolve) => {
    p.on('error', () => resolve(-1));
    p.on('close', (code) => resolve(code));
  });
  return {
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
    exited,
    kill: (signal: NodeJS.Signals = 'SIGKILL') => {
      if (p.exitCode === null && p.signalCode === null) p.kill(signal);
    },
  };
}

/** Resolves with `p`, or rejects after `ms`. */
export async function within<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// --- pseudo-terminal -----------------------------------------------------------------------

export type PtyStep = { send: string } | { expect: string; timeoutMs?: number };

export interface PtyResult {
  /** Everything the terminal showed (with the echo of what was typed, \r\n line ends). */
  transcript: string;
  /** The command's exit code; null if it did not exit in time (it is then killed). */
  code: number | null;
  /** Set when an `expect` step timed out (the remaining steps are skipped). */
  error: string | null;
}

// Runs argv on a new pty (80x24) and plays the steps: `send` writes to the terminal, `expect`
// waits for a regex in the output after the previous match. Then waits for the exit.
const PTY_HELPER = String.raw`
import fcntl, json, os, pty, re, select, signal, struct, sys, termios, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execve(spec['argv'][0], spec['argv'], spec['env'])
    finally:
        os._exit(127)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
buf = bytearray()
pos = 0
status = None
eof = False
def pump(until):
    # Reads what the terminal has (returns on new data), or returns once the child has exited
    # and its terminal is drained (EIO on the master), or at 'until'.
    global status, eof
    while True:
        left = until - time.time()
        if left <= 0:
            return
        r = []
        if not eof:
            r, _, _ = select.select([fd], [], [], min(left, 0.05))
        else:
            time.sleep(min(left, 0.02))
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b''
            if data:
                buf.extend(data)
                return
            eof = True
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid:
                status = st
        if status is not None and (eof or not r):
            return
error = None
for step in spec['steps']:
    if 'send' in step:
        os.write(fd, step['send'].encode())
    else:
        rx = re.compile(step['expect'].encode())
        end = time.time() + step.get('timeoutMs', 10000) / 1000
        while True:
            m = rx.search(buf, pos)
            if m:
                pos = m.end()
                break
            if time.time() >= end or (status is not None and (eof or not select.select([fd], [], [], 0)[0])):
                error = 'expected %r; output after the last match: %r' % (step['expect'], bytes(buf[pos:]).decode('utf-8', 'replace'))
                break
            pump(end)
        if error:
            break
# After a failed expect, don't wait for an exit that will not come.
end = time.time() + (0 if error else spec['exitTimeoutMs'] / 1000)
while status is None and time.time() < end:
    pump(end)
    if status is None:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
code = None
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
else:
    # Drain what is left on the terminal.
    while not eof and select.select([fd], [], [], 0.05)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        buf.extend(data)
    code = os.waitstatus_to_exitcode(status)
print(json.dumps({'transcript': bytes(buf).decode('utf-8', 'replace'), 'code': code, 'error': error}))
`;

/** Runs `docker <args>` on a real pseudo-terminal (through python3's pty) and plays `steps`. */
export function dockerPty(d: Daemon, args: string[], steps: PtyStep[], opts: { exitTimeoutMs?: number } = {}): Promise<PtyResult> {
  const spec = {
    argv: [DOCKER_BIN, ...args],
    env: { ...d.dockerEnv, TERM: 'xterm' },
    steps,
    exitTimeoutMs: opts.exitTimeoutMs ?? 10_000,
  };
  return new Promise((resolve, reject) => {
    const p = spawn('python3', ['-c', PTY_HELPER, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (c: Buffer) => out.push(c));
    p.stderr.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) => {
      const text = Buffer.concat(out).toString();
      try {
        resolve(JSON.parse(text) as PtyResult);
      } catch {
        reject(new Error(`pty helper failed (exit ${code}): ${text}${Buffer.concat(err).toString()}`));
      }
    });
  });
}

/** Describes a pty result for assertion messages. */
export function showPty(args: string[], r: PtyResult): string {
  return `docker ${args.join(' ')} on a pty → exit ${r.code}${r.error ? `, ${r.error}` : ''}\n--- transcript ---\n${r.transcript}`;
}
