// Integration tests against a real containerd (started through the supervisor), runc and a
// busybox rootfs. Needs root.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, rmdir, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type net from 'node:net';
import pino from 'pino';
import { isKind } from '../pkg/errors.js';
import { createFifos, openFifoForRead, openFifoForWrite } from '../pkg/fifo.js';
import { ContainerdClient, type ContainerdEvent, type Mount } from './client.js';
import { startContainerd, type ContainerdProcess } from './supervisor.js';

const NS = 'berth-test';
let tmp = '';
let rootfsDir = '';
let fifoDir = '';
let ctd: ContainerdProcess | undefined;
let client: ContainerdClient | undefined;
let sub: { close(): void } | undefined;
const events: ContainerdEvent[] = [];

const c = (): ContainerdClient => client!;

before(async () => {
  tmp = await mkdtemp('/tmp/bctd-');
  rootfsDir = join(tmp, 'rootfs');
  fifoDir = join(tmp, 'fifo');
  await mkdir(join(rootfsDir, 'bin'), { recursive: true });
  for (const d of ['proc', 'dev', 'sys', 'tmp']) await mkdir(join(rootfsDir, d));
  await mkdir(fifoDir);
  await copyFile('/usr/bin/busybox', join(rootfsDir, 'bin/busybox'));
  for (const cmd of ['sh', 'echo', 'sleep', 'cat', 'true', 'stty']) await symlink('busybox', join(rootfsDir, 'bin', cmd));
  ctd = await startContainerd({
    execRoot: join(tmp, 'e'),
    dataRoot: join(tmp, 'd'),
    logger: pino({ level: 'warn' }),
  });
  client = await ContainerdClient.connect(ctd.address, NS);
  sub = client.subscribe((e) => events.push(e));
});

after(async () => {
  sub?.close();
  if (client) {
    // Remove whatever a failed test left behind.
    for (const t of await client.listTasks().catch(() => [])) {
      await client.killTask(t.id, 9, { all: true }).catch(() => undefined);
      await client.waitTask(t.id).catch(() => undefined);
      await client.deleteTask(t.id).catch(() => undefined);
    }
    for (const ct of await client.listContainers().catch(() => [])) await client.deleteContainer(ct.id).catch(() => undefined);
    client.close();
  }
  await ctd?.stop();
  // The shim unmounts rootfs on task delete; this only catches leftovers of a crashed run.
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && tmp !== '' && m.startsWith(tmp + '/'))
    .reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  // runc removes each container's cgroup, not the parent we grouped them under.
  if (tmp) {
    for (const hier of ['', ...(await readdir('/sys/fs/cgroup').catch(() => []))]) {
      await rmdir(join('/sys/fs/cgroup', hier, basename(tmp))).catch(() => undefined);
    }
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

// runc's state under the test's own directory: the default root is shared by every containerd on the host.
const runcOptions = () => ({ binaryName: '/usr/sbin/runc', root: join(tmp, 'runc') });
const rootfs = (): Mount[] => [{ type: 'bind', source: rootfsDir, options: ['rbind', 'rw'] }];

function processSpec(args: string[], terminal = false): object {
  return {
    terminal,
    user: { uid: 0, gid: 0 },
    args,
    env: ['PATH=/bin', 'TERM=xterm'],
    cwd: '/',
    noNewPrivileges: true,
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  };
}

function spec(id: string, args: string[], terminal = false): object {
  return {
    ociVersion: '1.0.2',
    process: processSpec(args, terminal),
    root: { path: 'rootfs' },
    hostname: id,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
    ],
    linux: {
      cgroupsPath: `/${basename(tmp)}/${id}`,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
    },
  };
}

function readAll(sock: net.Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (out += d));
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

async function fifos(id: string, ...names: string[]): Promise<string[]> {
  const paths = names.map((n) => join(fifoDir, `${id}-${n}`));
  await createFifos(paths);
  return paths;
}

async function eventually<T>(what: string, f: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('version', async () => {
  const v = await c().version();
  assert.match(v.version, /^1\./);
});

test('run echo hello: stdout through FIFOs, exit status, delete', { timeout: 30_000 }, async () => {
  const id = 'echo1';
  const [stdout, stderr] = await fifos(id, 'stdout', 'stderr');
  await c().createContainer(id, spec(id, ['echo', 'hello']), { 'berth.test': '1' });
  const out = openFifoForRead(stdout!).then(readAll);
  const err = openFifoForRead(stderr!).then(readAll);
  const created = await c().createTask(id, { rootfs: rootfs(), stdout, stderr, terminal: false, runtimeOptions: runcOptions() });
  assert.ok(created.pid > 0);
  assert.equal((await c().getTask(id))?.status, 'created');
  const started = await c().startTask(id);
  assert.equal(started.pid, created.pid);
  const exit = await c().waitTask(id);
  assert.equal(exit.exitStatus, 0);
  assert.ok(exit.exitedAt.getTime() > Date.now() - 60_000);
  assert.equal(await out, 'hello\n');
  assert.equal(await err, '');
  assert.equal((await c().getTask(id))?.status, 'stopped');
  const del = await c().deleteTask(id);
  assert.equal(del.exitStatus, 0);
  assert.equal(del.pid, created.pid);
  assert.equal(await c().getTask(id), undefined);
  assert.deepEqual(
    (await c().listContainers()).find((x) => x.id === id),
    { id, labels: { 'berth.test': '1' }, annotations: {} },
  );
  await c().deleteContainer(id);
});

test('exit status 7 and the /tasks/exit event', { timeout: 30_000 }, async () => {
  const id = 'exit7';
  await c().createContainer(id, spec(id, ['sh', '-c', 'exit 7']));
  await c().createTask(id, { rootfs: rootfs(), terminal: false, runtimeOptions: runcOptions() });
  const waiting = c().waitTask(id); // issued before start: must not time out or return early
  waiting.catch(() => undefined); // (only awaited later)
  await c().startTask(id);
  assert.equal((await waiting).exitStatus, 7);
  const ev = await eventually('exit event', () => events.find((e) => e.topic === '/tasks/exit' && e.containerId === id));
  assert.ok(ev.topic === '/tasks/exit');
  assert.equal(ev.exitStatus, 7);
  assert.equal(ev.id, id);
  assert.ok(events.some((e) => e.topic === '/tasks/start' && e.containerId === id));
  await c().deleteTask(id);
  await eventually('delete event', () => events.find((e) => e.topic === '/tasks/delete' && e.containerId === id));
  await c().deleteContainer(id);
});

test('errors are typed', async () => {
  await assert.rejects(c().deleteContainer('nope'), (e) => isKind(e, 'not-found'));
  await assert.rejects(c().startTask('nope'), (e) => isKind(e, 'not-found'));
  await c().createContainer('dup', spec('dup', ['true']));
  await assert.rejects(c().createContainer('dup', spec('dup', ['true'])), (e) => isKind(e, 'conflict'));
  await c().updateContainerSpec('dup', spec('dup', ['echo', 'updated']));
  const got = (await c().getContainer('dup')).spec as { process: { args: string[] } };
  assert.deepEqual(got.process.args, ['echo', 'updated']);
  await c().deleteContainer('dup');
});

test('exec, stdin, pause/resume, pids, kill in a running container', { timeout: 60_000 }, async () => {
  const id = 'sleeper';
  await c().createContainer(id, spec(id, ['sleep', '1000']));
  const { pid } = await c().createTask(id, { rootfs: rootfs(), terminal: false, runtimeOptions: runcOptions() });
  await c().startTask(id);
  assert.equal((await c().getTask(id))?.status, 'running');
  assert.ok((await c().listTasks()).some((t) => t.id === id && t.pid === pid));

  // A non-interactive exec with output and an exit status.
  const [e1out] = await fifos(id, 'e1-stdout');
  const e1text = openFifoForRead(e1out!).then(readAll);
  await c().exec(id, 'e1', { process: processSpec(['sh', '-c', 'echo from-exec; exit 3']), stdout: e1out, terminal: false });
  const e1wait = c().waitTask(id, { execId: 'e1' });
  e1wait.catch(() => undefined);
  const e1 = await c().startExec(id, 'e1');
  assert.ok(e1.pid > 0 && e1.pid !== pid);
  assert.equal((await e1wait).exitStatus, 3);
  assert.equal(await e1text, 'from-exec\n');
  const e1del = await c().deleteExec(id, 'e1');
  assert.equal(e1del.exitStatus, 3);
  const started = await eventually('exec-started', () =>
    events.find((e) => e.topic === '/tasks/exec-started' && e.containerId === id),
  );
  assert.ok(started.topic === '/tasks/exec-started' && started.execId === 'e1' && started.pid === e1.pid);
  const e1exit = await eventually('exec exit', () => events.find((e) => e.topic === '/tasks/exit' && e.id === 'e1'));
  assert.ok(e1exit.topic === '/tasks/exit' && e1exit.containerId === id && e1exit.exitStatus === 3);

  // stdin: cat echoes what we write. Closing our write end is not enough for EOF (the shim
  // holds a write end of the stdin FIFO itself); CloseIO makes the shim close the process' stdin.
  const [e2in, e2out] = await fifos(id, 'e2-stdin', 'e2-stdout');
  const stdin = await openFifoForWrite(e2in!);
  const e2text = openFifoForRead(e2out!).then(readAll);
  await c().exec(id, 'e2', { process: processSpec(['cat']), stdin: e2in, stdout: e2out, terminal: false });
  await c().startExec(id, 'e2');
  stdin.write('ping\n');
  await new Promise<void>((resolve) => stdin.end(resolve));
  await c().closeStdin(id, 'e2');
  assert.equal((await c().waitTask(id, { execId: 'e2' })).exitStatus, 0);
  assert.equal(await e2text, 'ping\n');
  await c().deleteExec(id, 'e2');

  assert.deepEqual(await c().pids(id), [pid]);

  await c().pause(id);
  assert.equal((await c().getTask(id))?.status, 'paused');
  await eventually('paused event', () => events.find((e) => e.topic === '/tasks/paused' && e.containerId === id));
  await c().resume(id);
  assert.equal((await c().getTask(id))?.status, 'running');

  await assert.rejects(c().deleteTask(id), /running/); // containerd reports this as 'unknown'
  const waiting = c().waitTask(id);
  waiting.catch(() => undefined);
  await c().killTask(id, 9);
  assert.equal((await waiting).exitStatus, 137);
  assert.equal((await c().deleteTask(id)).exitStatus, 137);
  await c().deleteContainer(id);
});

test('a running task survives a containerd restart (live restore)', { timeout: 60_000 }, async () => {
  const id = 'survivor';
  await c().createContainer(id, spec(id, ['sleep', '1000']));
  const { pid } = await c().createTask(id, { rootfs: rootfs(), terminal: false, runtimeOptions: runcOptions() });
  await c().startTask(id);
  await ctd!.stop();
  ctd = await startContainerd({ execRoot: join(tmp, 'e'), dataRoot: join(tmp, 'd'), logger: pino({ level: 'warn' }) });
  // The existing client's channel reconnects by itself (after its back-off).
  const task = await eventually('task after restart', () => {
    void c().getTask(id).then((t) => (restored = t), () => undefined);
    return restored;
  }, 10_000);
  assert.equal(task.status, 'running');
  assert.equal(task.pid, pid);
  const waiting = c().waitTask(id);
  waiting.catch(() => undefined);
  await c().killTask(id, 9); // (SIGTERM would be ignored: sleep is the namespace's init)
  assert.equal((await waiting).exitStatus, 137);
  await c().deleteTask(id);
  await c().deleteContainer(id);
});
let restored: Awaited<ReturnType<ContainerdClient['getTask']>>;

test('terminal task with resizePty', { timeout: 30_000 }, async () => {
  const id = 'tty1';
  const [stdout] = await fifos(id, 'stdout');
  await c().createContainer(id, spec(id, ['stty', 'size'], true));
  const out = openFifoForRead(stdout!).then(readAll);
  await c().createTask(id, { rootfs: rootfs(), stdout, terminal: true, runtimeOptions: runcOptions() });
  // The pty exists from create on: resizing before start means stty sees the size, with no race.
  await c().resizePty(id, undefined, 100, 40);
  await c().startTask(id);
  assert.equal((await c().waitTask(id)).exitStatus, 0);
  assert.equal((await out).trim(), '40 100');
  await c().deleteTask(id);
  await c().deleteContainer(id);
});
