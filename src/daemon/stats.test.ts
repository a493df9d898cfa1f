import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, rmdir, writeFile, access } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cpuPercent,
  emptyStats,
  encodeStats,
  parseNetDev,
  parseProcStat,
  readStats,
  statsStream,
  validateStatsQuery,
} from './stats.js';
import type { Stats } from '../api/types/stats.js';


const PROC_STAT = `cpu  100 5 50 10000 20 0 3 0 0 0
cpu0 50 2 25 5000 10 0 1 0 0 0
cpu1 50 3 25 5000 10 0 2 0 0 0
intr 12345
ctxt 999
`;

test('parseProcStat: seven fields of the cpu line, ticks → ns, cpuN count', () => {
  const r = parseProcStat(PROC_STAT);
  assert.equal(r.systemUsage, (100n + 5n + 50n + 10000n + 20n + 0n + 3n) * 10_000_000n);
  assert.equal(r.onlineCPUs, 2);
  assert.throws(() => parseProcStat('cpu  1 2 3\n'), /invalid number of cpu fields/);
});

test('parseNetDev omits lo', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     100       1    0    0    0     0          0         0      100       1    0    0    0     0       0          0
  eth0: 1296        16    1    2    0     0          0         0      180       2    3    4    0     0       0          0
`;
  assert.deepEqual(parseNetDev(text), {
    eth0: { rx_bytes: 1296n, rx_packets: 16n, rx_errors: 1n, rx_dropped: 2n, tx_bytes: 180n, tx_packets: 2n, tx_errors: 3n, tx_dropped: 4n },
  });
});

test('encoding: exact u64s, Go field presence for a stopped container', () => {
  const e = emptyStats('/web', 'abc');
  assert.equal(
    encodeStats(e),
    '{"name":"/web","id":"abc","read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},' +
      '"blkio_stats":{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,' +
      '"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,' +
      '"sectors_recursive":null},"num_procs":0,"storage_stats":{},' +
      '"cpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},' +
      '"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},' +
      '"memory_stats":{}}\n',
  );
  const s = emptyStats();
  s.pids_stats = { current: 1n, limit: 18446744073709551615n };
  assert.match(encodeStats(s), /"pids_stats":\{"current":1,"limit":18446744073709551615\}/);
});

async function fakeV2(t: TestContext): Promise<{ root: string; proc: string }> {
  const base = await mkdtemp(join(tmpdir(), 'berth-stats-v2-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const root = join(base, 'cgroup');
  const proc = join(base, 'proc');
  const cg = join(root, 'berth', 'c1');
  await mkdir(cg, { recursive: true });
  await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  await writeFile(join(cg, 'cpu.stat'), 'usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 7\nnr_throttled 2\nthrottled_usec 30\n');
  await writeFile(join(cg, 'memory.current'), '4096000\n');
  await writeFile(join(cg, 'memory.max'), 'max\n');
  await writeFile(join(cg, 'memory.stat'), 'anon 1000\nfile 2000\nslab 5\nworkingset_refault_anon 3\n');
  await writeFile(join(cg, 'memory.events'), 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n');
  await writeFile(join(cg, 'pids.current'), '3\n');
  await writeFile(join(cg, 'pids.max'), 'max\n');
  await writeFile(join(cg, 'io.stat'), '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n');
  await mkdir(join(proc, '42', 'net'), { recursive: true });
  await writeFile(join(proc, 'stat'), PROC_STAT);
  await writeFile(join(proc, 'meminfo'), 'MemTotal:        2048000 kB\nMemFree: 1 kB\n');
  await writeFile(join(proc, '42', 'net', 'dev'), 'h1\nh2\n    lo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n  eth0: 10 2 0 0 0 0 0 0 20 3 0 0 0 0 0 0\n');
  return { root, proc };
}

test('cgroup v2 (fake tree): dockerd\'s mapping', async (t) => {
  const { root, proc } = await fakeV2(t);
  const s = await readStats({ cgroupPath: '/berth/c1', cgroupRoot: root, procRoot: proc, pid: 42, name: '/c1', id: 'c1' });
  assert.equal(s.name, '/c1');
  assert.match(s.read, /^\d{4}-\d\d-\d\dT/);
  assert.equal(s.preread, '0001-01-01T00:00:00Z');
  assert.deepEqual(s.cpu_stats.cpu_usage, { total_usage: 2_000_000n, usage_in_kernelmode: 500_000n, usage_in_usermode: 1_500_000n });
  assert.deepEqual(s.cpu_stats.throttling_data, { periods: 7n, throttled_periods: 2n, throttled_time: 30_000n });
  assert.equal(s.cpu_stats.online_cpus, 2);
  assert.equal(s.cpu_stats.system_cpu_usage, 101780000000n);
  assert.equal(s.memory_stats.usage, 4_096_000n);
  assert.equal(s.memory_stats.max_usage, undefined);
  // Unlimited → machine memory.
  assert.equal(s.memory_stats.limit, 2_048_000n * 1024n);
  assert.equal(s.memory_stats.failcnt, 1n);
  assert.equal(s.memory_stats.stats!.anon, 1000n);
  assert.equal(s.memory_stats.stats!.thp_collapse_alloc, 0n);
  assert.equal(Object.keys(s.memory_stats.stats!).length, 31);
  assert.deepEqual(s.pids_stats, { current: 3n, limit: 18446744073709551615n });
  assert.deepEqual(s.blkio_stats.io_service_bytes_recursive, [
    { major: 8n, minor: 0n, op: 'read', value: 4096n }, { major: 8n, minor: 0n, op: 'write', value: 8192n },
    { major: 253n, minor: 1n, op: 'read', value: 1n }, { major: 253n, minor: 1n, op: 'write', value: 2n },
  ]);
  assert.equal(s.blkio_stats.io_serviced_recursive, null);
  assert.deepEqual(Object.keys(s.networks!), ['eth0']);
  const json = JSON.parse(encodeStats(s)) as Record<string, unknown>;
  assert.deepEqual(Object.keys(json), ['name', 'id', 'read', 'preread', 'pids_stats', 'blkio_stats', 'num_procs', 'storage_stats', 'cpu_stats', 'precpu_stats', 'memory_stats', 'networks']);
  assert.deepEqual(Object.keys(json.cpu_stats as object), ['cpu_usage', 'system_cpu_usage', 'online_cpus', 'throttling_data']);
  assert.deepEqual(Object.keys(json.memory_stats as object), ['usage', 'stats', 'failcnt', 'limit']);
  // network: false (host mode) → no networks.
  const s2 = await readStats({ cgroupPath: '/berth/c1', cgroupRoot: root, procRoot: proc, pid: 42, network: false });
  assert.equal(s2.networks, undefined);
  // Gone → throws.
  await assert.rejects(readStats({ cgroupPath: '/berth/nope', cgroupRoot: root, procRoot: proc, cgroupVersion: 2 }));
});

test('statsStream: precpu from the previous sample; stream=false primes; one-shot', async () => {
  let n = 0;
  const sample = async (): Promise<Stats> => {
    n++;
    const s = emptyStats('/x', 'x');
    s.read = `2026-01-01T00:00:0${n}Z`;
    s.cpu_stats.cpu_usage.total_usage = BigInt(n) * 1000n;
    s.cpu_stats.system_cpu_usage = BigInt(n) * 10_000n;
    s.cpu_stats.online_cpus = 2;
    return s;
  };
  const sleeps: number[] = [];
  const sleep = async (ms: number) => {
    sleeps.push(ms);
  };
  const frames: Stats[] = [];
  for await (const f of statsStream(sample, 500, { sleep })) {
    frames.push(f);
    if (frames.length === 3) break;
  }
  assert.equal(frames[0]!.preread, '0001-01-01T00:00:00Z');
  assert.equal(frames[0]!.precpu_stats.cpu_usage.total_usage, 0n);
  assert.equal(frames[1]!.preread, '2026-01-01T00:00:01Z');
  assert.equal(frames[2]!.precpu_stats.cpu_usage.total_usage, 2000n);
  assert.equal(cpuPercent(frames[2]!), (1000 / 10000) * 2 * 100);
  assert.deepEqual(sleeps, [500, 500]);

  n = 0;
  const once: Stats[] = [];
  for await (const f of statsStream(sample, 500, { stream: false, sleep })) once.push(f);
  assert.equal(once.length, 1);
  assert.equal(once[0]!.read, '2026-01-01T00:00:02Z');
  assert.equal(once[0]!.preread, '2026-01-01T00:00:01Z');

  n = 0;
  const one: Stats[] = [];
  for await (const f of statsStream(sample, 500, { stream: false, oneShot: true, sleep })) one.push(f);
  assert.equal(one.length, 1);
  assert.equal(one[0]!.preread, '0001-01-01T00:00:00Z');
  assert.throws(() => validateStatsQuery(true, true), { message: 'cannot have stream=true and one-shot=true' });

  // Abort ends a stream.
  const ac = new AbortController();
  const got: Stats[] = [];
  for await (const f of statsStream(sample, 10_000, { signal: ac.signal })) {
    got.push(f);
    ac.abort();
  }
  assert.equal(got.length, 1);
});

// ---------------------------------------------------------------------------------------
// cgroup v1, for real on this host.

const V1_ROOT = '/sys/fs/cgroup';
const exists = (p: string) => access(p).then(() => true, () => false);

async function v1Available(): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  if (await exists(join(V1_ROOT, 'cgroup.controllers'))) return false;
  return (await exists(join(V1_ROOT, 'memory', 'memory.usage_in_bytes'))) && (await exists(join(V1_ROOT, 'cpuacct')));
}

test('cgroup v1 (this host): a process in a test cgroup', async (t) => {
  if (!(await v1Available())) {
    t.skip('needs root on a cgroup v1 host');
    return;
  }
  const name = `berth-test-${randomBytes(4).toString('hex')}`;
  const ctrls = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio'];
  const made: string[] = [];
  let child: ChildProcess | undefined;
  // Per-test cleanup: runs as soon as this test ends, pass or fail.
  t.after(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    child?.stdout?.destroy();
    child?.stdin?.destroy();
    // Anything else still in our test cgroup was started by this test: end it too.
    const left = await readFile(join(V1_ROOT, 'pids', name, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const p of left.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of made.reverse()) {
      // The kernel may take a moment to drop the dead task from the group.
      for (let i = 0; i < 50; i++) {
        try {
          await rmdir(d);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  });
  for (const c of ctrls) {
    const d = join(V1_ROOT, c, name);
    await mkdir(d);
    made.push(d);
  }
  await writeFile(join(V1_ROOT, 'memory', name, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
  await writeFile(join(V1_ROOT, 'pids', name, 'pids.max'), '10');
  await writeFile(join(V1_ROOT, 'cpu', name, 'cpu.cfs_quota_us'), '50000');

  // The child waits for a line on stdin (so it is in the cgroups before it works), burns CPU, then sleeps.
  child = spawn('/bin/sh', ['-c', 'read x; i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; echo done; exec sleep 60'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = child.pid!;
  for (const c of ctrls) await writeFile(join(V1_ROOT, c, name, 'cgroup.procs'), String(pid));
  const done = new Promise<void>((r) => child!.stdout!.once('data', () => r()));
  child.stdin!.write('go\n');
  await done;

  const s = await readStats({ cgroupPath: `/${name}`, pid, name: '/t', id: 't' });
  assert.ok(s.cpu_stats.cpu_usage.total_usage > 0n, 'cpu usage');
  const percpu = (await readFile(join(V1_ROOT, 'cpuacct', name, 'cpuacct.usage_percpu'), 'utf8')).trim().split(/\s+/).length;
  assert.equal(s.cpu_stats.cpu_usage.percpu_usage?.length, percpu);
  assert.ok(s.cpu_stats.cpu_usage.usage_in_usermode + s.cpu_stats.cpu_usage.usage_in_kernelmode > 0n, 'user+kernel time');
  assert.ok(s.cpu_stats.system_cpu_usage! > 0n);
  assert.ok(s.cpu_stats.online_cpus! >= 1);
  assert.ok(s.cpu_stats.throttling_data.periods > 0n, 'cfs periods counted with a quota');
  assert.ok(s.memory_stats.usage! > 0n, 'memory usage');
  assert.ok(s.memory_stats.max_usage! >= s.memory_stats.usage!);
  assert.equal(s.memory_stats.limit, 64n * 1024n * 1024n);
  assert.equal(Object.keys(s.memory_stats.stats!).length, 32);
  assert.ok('total_rss' in s.memory_stats.stats!);
  assert.ok(s.pids_stats.current! >= 1n);
  assert.equal(s.pids_stats.limit, 10n);
  assert.ok(Array.isArray(s.blkio_stats.io_service_bytes_recursive));
  assert.ok(Array.isArray(s.blkio_stats.sectors_recursive));
  assert.equal(s.networks?.lo, undefined);
  const json = JSON.parse(encodeStats(s)) as { memory_stats: { limit: number } };
  assert.equal(json.memory_stats.limit, 64 * 1024 * 1024);

  // Two samples a little apart: precpu carried over.
  const frames: Stats[] = [];
  for await (const f of statsStream(() => readStats({ cgroupPath: `/${name}`, pid }), 50, { stream: false })) frames.push(f);
  assert.equal(frames.length, 1);
  assert.notEqual(frames[0]!.preread, '0001-01-01T00:00:00Z');
  assert.ok(frames[0]!.precpu_stats.cpu_usage.total_usage > 0n);
});
