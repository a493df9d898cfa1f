// Supervisor tests against the real containerd binary: adoption after berthd is SIGKILLed,
// replacement of dead/unresponsive leftovers, restart on death, stop. Needs root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm, writeFile, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { ContainerdClient } from './client.js';
import { startContainerd, type ContainerdProcess } from './supervisor.js';

let tmp = '';
let execRoot = '';
let dataRoot = '';
const logger = pino({ level: 'warn' });
const supervisors: ContainerdProcess[] = [];
const seenPids = new Set<number>();

before(async () => {
  tmp = await mkdtemp('/tmp/bctd-');
  execRoot = join(tmp, 'e');
  dataRoot = join(tmp, 'd');
});

after(async () => {
  for (const s of supervisors) await s.stop().catch(() => undefined);
  for (const pid of seenPids) {
    if (!(await isContainerd(pid))) continue;
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function isContainerd(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return state !== 'Z' && cmd.startsWith('containerd\0') && cmd.includes(execRoot);
  } catch {
    return false;
  }
}

async function start(opts: { probeIntervalMs?: number } = {}): Promise<ContainerdProcess> {
  const s = await startContainerd({ execRoot, dataRoot, logger, ...opts });
  supervisors.push(s);
  seenPids.add(s.pid);
  return s;
}

async function answers(address: string): Promise<boolean> {
  const c = await ContainerdClient.connect(address, 'berth', { timeoutMs: 3000 });
  try {
    return /^1\./.test((await c.version({ timeoutMs: 3000 })).version);
  } finally {
    c.close();
  }
}

async function eventually<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs the supervisor in a separate node process (a stand-in for berthd), returns containerd's
 * pid, then SIGKILLs that process so containerd is left behind.
 */
async function leaveContainerdBehind(): Promise<number> {
  const script = join(tmp, 'berthd-standin.mjs');
  const supervisorUrl = new URL('./supervisor.js', import.meta.url).href;
  const pinoUrl = pathToFileURL(createRequire(import.meta.url).resolve('pino')).href;
  await writeFile(
    script,
    `import { startContainerd } from ${JSON.stringify(supervisorUrl)};
import pino from ${JSON.stringify(pinoUrl)};
const c = await startContainerd({ execRoot: ${JSON.stringify(execRoot)}, dataRoot: ${JSON.stringify(dataRoot)}, logger: pino({ level: 'warn' }) });
console.log(JSON.stringify({ pid: c.pid }));
setInterval(() => {}, 1 << 30);
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    seenPids.add(pid);
    return pid;
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
}

test('reuses the containerd left by a SIGKILLed berthd, then restarts it when it dies', { timeout: 60_000 }, async () => {
  const leftover = await leaveContainerdBehind();
  assert.ok(await isContainerd(leftover), 'containerd survives its supervisor');

  const s = await start();
  assert.equal(s.pid, leftover, 'the leftover is adopted, not replaced');
  assert.ok(await answers(s.address));

  // The adopted process is not our child; its death is noticed by polling.
  process.kill(leftover, 'SIGKILL');
  const restarted = await eventually('restart of adopted containerd', async () =>
    s.pid !== leftover && (await isContainerd(s.pid)) ? s.pid : undefined,
  );
  seenPids.add(restarted);
  assert.ok(await answers(s.address));

  // Now containerd is our child: its exit event triggers the restart.
  process.kill(restarted, 'SIGKILL');
  const again = await eventually('restart of spawned containerd', async () =>
    s.pid !== restarted && (await isContainerd(s.pid)) ? s.pid : undefined,
  );
  seenPids.add(again);
  assert.ok(await answers(s.address));

  await s.stop();
  assert.equal(await isContainerd(again), false);
  await assert.rejects(stat(join(execRoot, 'containerd', 'containerd.pid')), { code: 'ENOENT' });
});

test('replaces a leftover that is dead (stale pid file and socket)', { timeout: 60_000 }, async () => {
  const stateDir = join(execRoot, 'containerd');
  await mkdir(stateDir, { recursive: true });
  // A pid that surely is not containerd (ours), and a socket path occupied by a plain file.
  await writeFile(join(stateDir, 'containerd.pid'), String(process.pid));
  await writeFile(join(stateDir, 'containerd.sock'), '');
  const s = await start();
  assert.notEqual(s.pid, process.pid);
  assert.ok(await answers(s.address));
  await s.stop();
});

test('replaces a leftover that is alive but unresponsive', { timeout: 60_000 }, async () => {
  const leftover = await leaveContainerdBehind();
  process.kill(leftover, 'SIGSTOP'); // the process exists and holds its socket, but never answers
  const s = await start();
  assert.notEqual(s.pid, leftover);
  assert.equal(await isContainerd(leftover), false, 'the unresponsive leftover was killed');
  assert.ok(await answers(s.address));
  await s.stop();
  assert.equal(await isContainerd(s.pid), false);
});

test('replaces a running containerd that stops answering', { timeout: 60_000 }, async () => {
  const s = await start({ probeIntervalMs: 200 });
  const hung = s.pid;
  process.kill(hung, 'SIGSTOP'); // alive, holding its socket, never answering
  const replaced = await eventually('replacement of the hung containerd', async () =>
    s.pid !== hung && (await isContainerd(s.pid)) ? s.pid : undefined,
  30_000);
  seenPids.add(replaced);
  assert.equal(await isContainerd(hung), false, 'the hung containerd was killed');
  assert.ok(await answers(s.address));
  await s.stop();
});
