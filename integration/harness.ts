// Starts a real berthd per test file, in its own temporary directories, and cleans up
// everything it leaves behind: its containerd, shims and container processes, mounts,
// and the directories themselves.

import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, mkdir, open, readFile, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { before, after, afterEach } from 'node:test';
import { Client } from '../src/client/client.js';
import { randomBytes, randomInt } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const DOCKER_BIN = '/usr/local/bin/docker';
const BERTHD_MAIN = fileURLToPath(new URL('../src/cmd/berthd/main.cjs', import.meta.url));

export interface StartOptions {
  /** Extra berthd flags. */
  args?: string[];
  /** Written to <dir>/daemon.json (always passed, so the host's /etc/berth is never read). */
  config?: Record<string, unknown>;
  /** How long to wait for /_ping; default 60 s (containerd starts first). */
  startTimeoutMs?: number;
  /**
   * Makes the daemon's temp dir searchable by all (0711): a --userns-remap daemon's remapped root
   * must get through it to the data root, which berthd checks at start (as dockerd).
   */
  searchableDir?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface DockerResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Daemon {
  /** Temp dir holding the socket, data root, pid file and log. */
  readonly dir: string;
  readonly dataRoot: string;
  /** Short (/tmp/bt-…) because unix socket paths under it must stay below 108 bytes. */
  readonly execRoot: string;
  /** Path of the API socket. */
  readonly socket: string;
  readonly host: string;
  readonly pidFile: string;
  readonly logFile: string;
  /** A client for the current berthd (replaced on restart). */
  readonly client: Client;
  /** Environment for the real docker CLI: DOCKER_HOST set, empty DOCKER_CONFIG. */
  readonly dockerEnv: NodeJS.ProcessEnv;
  readonly pid: number | undefined;
  /** SIGTERM (or SIGKILL) berthd, then start it again on the same directories. */
  restart(opts?: { kill?: boolean }): Promise<void>;
  /** Stops berthd: SIGTERM, SIGKILL after `timeoutMs` (default 30 s), or SIGKILL at once. */
  stop(opts?: { kill?: boolean; timeoutMs?: number }): Promise<void>;
  /** Stops everything and removes every trace. Never throws; safe to call twice. */
  cleanup(): Promise<void>;
  /** The daemon's log so far. */
  logs(): Promise<string>;
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], opts?: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<DockerResult>;
}

class BerthDaemon implements Daemon {
  client: Client;
  readonly dockerEnv: NodeJS.ProcessEnv;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private cleaned = false;
  /** The daemon's nftables table, removed at cleanup. */
  firewallTable = 'berth';

  constructor(
    readonly dir: string,
    readonly execRoot: string,
    private readonly opts: StartOptions,
  ) {
    this.client = new Client({ socketPath: this.socket });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: this.host,
      DOCKER_CONFIG: join(dir, 'docker-config'),
    };
    // Anything that could point the CLI elsewhere.
    for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) delete env[k];
    this.dockerEnv = env;
  }

  get dataRoot(): string {
    return join(this.dir, 'data');
  }
  get socket(): string {
    return join(this.dir, 'berthd.sock');
  }
  get host(): string {
    return `unix://${this.socket}`;
  }
  get pidFile(): string {
    return join(this.dir, 'berthd.pid');
  }
  get logFile(): string {
    return join(this.dir, 'berthd.log');
  }
  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  async start(): Promise<void> {
    const log = await open(this.logFile, 'a');
    let child: ChildProcess;
    try {
      await log.write(`--- berthd start ${new Date().toISOString()}\n`);
      child = spawn(
        process.execPath,
        [
          BERTHD_MAIN,
          '--host',
          this.host,
          '--data-root',
          this.dataRoot,
          '--exec-root',
          this.execRoot,
          '--pidfile',
          this.pidFile,
          '--config-file',
          join(this.dir, 'daemon.json'),
          ...(this.opts.args ?? []),
        ],
        { stdio: ['ignore', log.fd, log.fd], env: { ...process.env, ...this.opts.env } },
      );
    } finally {
      // The child holds its own copy of the descriptor.
      await log.close();
    }
    this.child = child;
    let exitInfo = '';
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => {
        exitInfo = `berthd exited (code ${code}, signal ${sig})`;
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `berthd failed to start: ${err.message}`;
        resolve();
      });
    });

    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 60_000);
    for (;;) {
      if (exitInfo) throw new Error(`${exitInfo}\n${await this.logTail()}`);
      try {
        await this.client.ping(AbortSignal.timeout(2000));
        return;
      } catch {
        // Not up yet.
      }
      if (Date.now() > deadline) {
        await this.stop({ kill: true });
        throw new Error(`berthd did not answer /_ping in time\n${await this.logTail()}`);
      }
      await delay(50);
    }
  }

  async stop(opts: { kill?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(opts.kill ? 'SIGKILL' : 'SIGTERM');
    // The timer is cancelled once berthd exits: a pending one would keep the test process alive.
    const timer = new AbortController();
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      delay(opts.timeoutMs ?? 30_000, undefined, { signal: timer.signal }).then(
        () => true,
        () => false,
      ),
    ]);
    timer.abort();
    if (timedOut) {
      child.kill('SIGKILL');
      await this.exited;
    }
  }

  async restart(opts: { kill?: boolean } = {}): Promise<void> {
    await this.stop({ kill: opts.kill });
    // Pooled connections point at the old process.
    this.client.close();
    this.client = new Client({ socketPath: this.socket });
    await this.start();
  }

  async logs(): Promise<string> {
    return readFile(this.logFile, 'utf8').catch(() => '');
  }

  private async logTail(lines = 80): Promise<string> {
    const all = (await this.logs()).split('\n');
    return `--- ${this.logFile} (last ${lines} lines) ---\n${all.slice(-lines).join('\n')}`;
  }

  docker(args: string[], opts: { input?: string | Buffer; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<DockerResult> {
    return new Promise((resolve, reject) => {
      const p = spawn(DOCKER_BIN, args, { env: { ...this.dockerEnv, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      p.stdout.on('data', (c: Buffer) => out.push(c));
      p.stderr.on('data', (c: Buffer) => err.push(c));
      const timer = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      p.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      p.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      p.stdin.on('error', () => {
        // The command may exit without reading its input.
      });
      p.stdin.end(opts.input);
    });
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    const problems: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
      }
    };
    const roots = [this.dir, this.execRoot];
    // Under --userns-remap the state lives in <data-root>/<uid>.<gid>.
    const remapped = (await readdir(this.dataRoot).catch(() => [] as string[])).filter((n) => /^\d+\.\d+$/.test(n));
    const stateRoots = [this.dataRoot, ...remapped.map((n) => join(this.dataRoot, n))];
    const containerIds: string[] = [];
    for (const r of stateRoots) containerIds.push(...(await readdir(join(r, 'containers')).catch(() => [] as string[])));

    this.client.close();
    await step('stop berthd', () => this.stop({ timeoutMs: 15_000 }));
    // berthd's containerd, the shims and the containers' processes: everything whose
    // command line names our directories, and their descendants.
    await step('kill containerd', async () => {
      const pid = Number((await readFile(join(this.execRoot, 'containerd', 'containerd.pid'), 'utf8').catch(() => '')).trim());
      if (pid > 0) killQuietly(pid);
    });
    await step('kill processes', () => killProcessesMentioning(roots));
    await step('unmount', () => unmountUnder(roots));
    await step('cgroups', () => removeCgroups(containerIds));
    for (const r of stateRoots) await step('network', () => removeNetworking(r, this.firewallTable));
    for (const d of roots) await step(`remove ${d}`, () => removeDir(d));
    if (problems.length) console.error(`berth harness cleanup:\n  ${problems.join('\n  ')}`);
  }
}

/** Starts berthd in fresh directories and waits until it answers /_ping. */
export async function startDaemon(opts: StartOptions = {}): Promise<Daemon> {
  // Short paths: the socket and the exec root's sockets must fit in sun_path (108 bytes).
  const dir = await mkdtemp('/tmp/berth-it-');
  const execRoot = await mkdtemp('/tmp/bt-');
  if (opts.searchableDir) await chmod(dir, 0o711);
  await mkdir(join(dir, 'docker-config'));
  // Networking of its own, so test daemons never clash with each other or a real berthd: bridge,
  // nftables table and address pool (a random 10.x.0.0/16 in /24s) unless the test chose.
  const tag = randomBytes(3).toString('hex');
  const config: Record<string, unknown> = {
    bridge: `bt${tag}`,
    'firewall-table': `berth_t${tag}`,
    'default-address-pools': [{ base: `10.${64 + randomInt(180)}.0.0/16`, size: 24 }],
    ...(opts.config ?? {}),
  };
  await writeFile(join(dir, 'daemon.json'), JSON.stringify(config));
  const d = new BerthDaemon(dir, execRoot, opts);
  d.firewallTable = String(config['firewall-table']);
  try {
    await d.start();
  } catch (err) {
    if (!process.env['BERTH_TEST_KEEP']) await d.cleanup();
    throw err;
  }
  return d;
}

/**
 * Registers node:test hooks for a test file: a daemon started in `before`, cleaned up in
 * `after` (its log printed if a test failed; kept on disk with BERTH_TEST_KEEP=1).
 */
export function useDaemon(
  opts: StartOptions & {
    /**
     * Runs in the same `before` hook once the daemon answers (e.g. importing fixtures).
     * Node 20 runs a file's top-level `before` hooks concurrently, so a separate hook could
     * run before the daemon is up.
     */
    setup?: (daemon: Daemon) => Promise<void>;
  } = {},
): { readonly daemon: Daemon; readonly client: Client } {
  let daemon: Daemon | undefined;
  let failed = false;
  before(async () => {
    daemon = await startDaemon(opts);
    if (opts.setup) {
      try {
        await opts.setup(daemon);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  afterEach((t) => {
    // `passed` is on TestContext (Node ≥ 20.x) but not in every @types/node.
    if ((t as { passed?: boolean }).passed === false) failed = true;
  });
  after(async () => {
    if (!daemon) return;
    if (failed || process.env['BERTH_TEST_LOG']) {
      const text = await daemon.logs();
      console.error(`--- ${daemon.logFile} ---\n${text.split('\n').slice(-200).join('\n')}`);
    }
    if (process.env['BERTH_TEST_KEEP']) {
      await daemon.stop();
      console.error(`kept ${daemon.dir} and ${daemon.execRoot}`);
      return;
    }
    await daemon.cleanup();
  });
  return {
    get daemon(): Daemon {
      if (!daemon) throw new Error('daemon not started (use it inside tests)');
      return daemon;
    },
    get client(): Client {
      if (!daemon) throw new Error('daemon not started (use it inside tests)');
      return daemon.client;
    },
  };
}

// --- cleanup helpers ---------------------------------------------------------------------

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  cmdline: string;
}

async function listProcesses(): Promise<ProcInfo[]> {
  const out: ProcInfo[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const [cmd, stat] = await Promise.all([readFile(`/proc/${name}/cmdline`), readFile(`/proc/${name}/stat`, 'utf8')]);
      // The command name in stat may contain spaces and parentheses: fields resume after the last ')'.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(rest[1]), cmdline: cmd.toString().replace(/\0/g, ' ') });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/**
 * SIGKILLs every process whose command line mentions one of `roots` (containerd,
 * containerd-shim-runc-v2 -address <exec-root>/…, a stray berthd) and all their
 * descendants (the containers' processes), then waits for them to go.
 */
export async function killProcessesMentioning(roots: string[]): Promise<void> {
  const self = new Set<number>([process.pid, process.ppid]);
  for (let round = 0; round < 3; round++) {
    const procs = await listProcesses();
    const children = new Map<number, number[]>();
    for (const p of procs) {
      const list = children.get(p.ppid) ?? [];
      list.push(p.pid);
      children.set(p.ppid, list);
    }
    const targets = new Set<number>();
    const addTree = (pid: number): void => {
      if (targets.has(pid) || self.has(pid)) return;
      targets.add(pid);
      for (const c of children.get(pid) ?? []) addTree(c);
    };
    for (const p of procs) if (roots.some((r) => mentions(p.cmdline, r))) addTree(p.pid);
    if (targets.size === 0) return;
    // Children first, so a shim cannot reap-and-restart anything on the way.
    for (const pid of [...targets].reverse()) killQuietly(pid);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && [...targets].some(alive)) await delay(50);
  }
}

// The path itself or something under it, not merely a name it prefixes (/tmp/bt-ab vs /tmp/bt-abc).
function mentions(cmdline: string, root: string): boolean {
  for (let i = cmdline.indexOf(root); i >= 0; i = cmdline.indexOf(root, i + 1)) {
    const next = cmdline[i + root.length];
    if (next === undefined || next === '/' || next === ' ' || next === '"' || next === "'") return true;
  }
  return false;
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points at or under `roots`, from /proc/self/mountinfo, deepest first. */
export async function mountsUnder(roots: string[]): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const points = new Set<string>();
  for (const line of info.split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const path = unescapeMountPath(mp);
    if (roots.some((r) => path === r || path.startsWith(r + '/'))) points.add(path);
  }
  return [...points].sort((a, b) => b.split('/').length - a.split('/').length || b.length - a.length);
}

function umountLazy(path: string): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn('umount', ['-l', path], { stdio: 'ignore' });
    p.on('error', () => resolve());
    p.on('close', () => resolve());
  });
}

/**
 * Unmounts everything under `roots` (overlay rootfs, shm, bind-mounted network namespaces
 * under the exec root…), deepest first, repeating while mounts remain (stacked mounts).
 */
export async function unmountUnder(roots: string[]): Promise<void> {
  for (let pass = 0; pass < 5; pass++) {
    const points = await mountsUnder(roots);
    if (points.length === 0) return;
    for (const p of points) await umountLazy(p);
  }
  const left = await mountsUnder(roots);
  if (left.length) throw new Error(`still mounted: ${left.join(', ')}`);
}

/** Removes the (empty, now process-less) cgroups of this daemon's containers, where berthd may put them. */
async function removeCgroups(containerIds: string[]): Promise<void> {
  const ids = containerIds.filter((id) => /^[0-9a-f]{64}$/.test(id));
  for (const id of ids) {
    for (const p of [
      `/sys/fs/cgroup/berth/${id}`,
      `/sys/fs/cgroup/system.slice/berth-${id}.scope`,
      `/sys/fs/cgroup/docker/${id}`,
    ]) {
      await rmdir(p).catch(() => undefined);
    }
  }
}

async function removeDir(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      return;
    } catch (err) {
      // EBUSY: a lazily unmounted mount still draining.
      if (i >= 5) throw err;
      await unmountUnder([dir]).catch(() => undefined);
      await delay(200);
    }
  }
}

/**
 * Kernel state berthd's networking leaves for live restore: the bridges of its networks (from
 * its state file) and its nftables table. Namespaces are bind mounts under the exec root (gone
 * with `unmountUnder`), and veths die with their namespace.
 */
async function removeNetworking(dataRoot: string, table: string): Promise<void> {
  const run = promisify(execFile);
  const state = await readFile(join(dataRoot, 'network', 'state.json'), 'utf8').then((t) => JSON.parse(t) as { networks?: { bridge?: string }[] }).catch(() => undefined);
  for (const n of state?.networks ?? []) {
    if (n.bridge) await run('ip', ['link', 'del', n.bridge]).catch(() => undefined);
  }
  for (const family of ['ip', 'inet']) await run('nft', ['delete', 'table', family, table]).catch(() => undefined);
}
