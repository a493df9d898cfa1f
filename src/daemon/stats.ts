// Container stats: GET /containers/{id}/stats in dockerd's JSON shape, read straight from the
// container's cgroup (v1: one directory per controller; v2: one unified directory), /proc/stat
// (system CPU time, online CPUs) and /proc/<pid>/net/dev (the container's network namespace).
//
// Counters are u64 in dockerd and several exceed 2^53 (system_cpu_usage in ns on a big host,
// pids limit "max" on v2 = 2^64-1), so they are bigints here and encodeStats() writes them
// exactly. Field presence follows Go's encoding of moby's StatsResponse (omitempty where it has
// it, `null` for nil slices).

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatRFC3339Nano, nowNano } from '../pkg/timeutil.js';
import { invalidParameter } from '../pkg/errors.js';
import { exists } from '../pkg/fsutil.js';
import type { BlkioStatEntry, BlkioStats, CPUStats, MemoryStats, NetworkStats, Stats } from '../api/types/stats.js';

export const ZERO_TIME = '0001-01-01T00:00:00Z';
const MAX_U64 = 18446744073709551615n;
/** The value C.sysconf(_SC_CLK_TCK) has on Linux (dockerd hard-codes it too). */
const CLOCK_TICKS = 100n;
const NS_PER_S = 1_000_000_000n;

export function emptyCPUStats(): CPUStats {
  return {
    cpu_usage: { total_usage: 0n, usage_in_kernelmode: 0n, usage_in_usermode: 0n },
    throttling_data: { periods: 0n, throttled_periods: 0n, throttled_time: 0n },
  };
}

function nullBlkio(): BlkioStats {
  return {
    io_service_bytes_recursive: null, io_serviced_recursive: null, io_queue_recursive: null, io_service_time_recursive: null,
    io_wait_time_recursive: null, io_merged_recursive: null, io_time_recursive: null, sectors_recursive: null,
  };
}

/** What dockerd answers for a container that is not running (or whose stats cannot be read). */
export function emptyStats(name?: string, id?: string): Stats {
  const s: Stats = {
    read: ZERO_TIME, preread: ZERO_TIME, pids_stats: {}, blkio_stats: nullBlkio(), num_procs: 0, storage_stats: {},
    cpu_stats: emptyCPUStats(), precpu_stats: emptyCPUStats(), memory_stats: {},
  };
  return name !== undefined || id !== undefined ? { name, id, ...s } : s;
}

// ---------------------------------------------------------------------------------------
// Encoding.

/** JSON with bigints as exact numbers; undefined fields dropped; '\n'-terminated (Go's Encoder). */
export function encodeStats(s: Stats): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === 'bigint' ? `\u0000${v.toString()}\u0000` : v))
    .replace(/"\\u0000(\d+)\\u0000"/g, '$1') + '\n';
}

// ---------------------------------------------------------------------------------------
// File helpers.

async function readText(p: string): Promise<string | undefined> {
  try {
    return await readFile(p, 'utf8');
  } catch {
    return undefined;
  }
}

function u64(s: string | undefined): bigint {
  if (s === undefined) return 0n;
  const t = s.trim();
  if (t === 'max') return MAX_U64;
  return /^\d+$/.test(t) ? BigInt(t) : 0n;
}

/** "key value" lines → map. */
function keyValues(text: string | undefined): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) m.set(k, BigInt(v));
  }
  return m;
}

// ---------------------------------------------------------------------------------------
// Host CPU.

/** dockerd's getSystemCPUUsage: the first `cpu` line of /proc/stat (7 fields, ticks → ns) and the cpuN count. */
export function parseProcStat(text: string): { systemUsage: bigint; onlineCPUs: number } {
  let systemUsage = 0n;
  let onlineCPUs = 0;
  for (const line of text.split('\n')) {
    if (line.length < 4 || !line.startsWith('cpu')) break;
    if (line[3] === ' ') {
      const parts = line.trim().split(/\s+/);
      if (parts.length < 8) throw new Error('invalid number of cpu fields');
      let ticks = 0n;
      for (const f of parts.slice(1, 8)) ticks += BigInt(f);
      systemUsage = (ticks * NS_PER_S) / CLOCK_TICKS;
    } else if (line[3]! >= '0' && line[3]! <= '9') onlineCPUs++;
  }
  return { systemUsage, onlineCPUs };
}

let machineMemoryCache: bigint | undefined;

/** MemTotal from /proc/meminfo, in bytes (dockerd caps unlimited memory limits to it). */
export async function machineMemory(procRoot = '/proc'): Promise<bigint> {
  if (procRoot === '/proc' && machineMemoryCache !== undefined) return machineMemoryCache;
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec((await readText(join(procRoot, 'meminfo'))) ?? '');
  const v = m ? BigInt(m[1]!) * 1024n : 0n;
  if (procRoot === '/proc') machineMemoryCache = v;
  return v;
}

// ---------------------------------------------------------------------------------------
// Networks.

/** /proc/<pid>/net/dev → interface stats, without `lo` (dockerd shows the sandbox's interfaces). */
export function parseNetDev(text: string): Record<string, NetworkStats> {
  const out: Record<string, NetworkStats> = {};
  for (const line of text.split('\n').slice(2)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (!name || name === 'lo') continue;
    const f = line.slice(i + 1).trim().split(/\s+/).map((x) => BigInt(x));
    if (f.length < 12) continue;
    out[name] = {
      rx_bytes: f[0]!, rx_packets: f[1]!, rx_errors: f[2]!, rx_dropped: f[3]!,
      tx_bytes: f[8]!, tx_packets: f[9]!, tx_errors: f[10]!, tx_dropped: f[11]!,
    };
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// cgroup v1.

const V1_MEMORY_KEYS = [
  'cache', 'rss', 'rss_huge', 'mapped_file', 'dirty', 'writeback', 'pgpgin', 'pgpgout', 'pgfault', 'pgmajfault',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'hierarchical_memory_limit',
  'hierarchical_memsw_limit', 'total_cache', 'total_rss', 'total_rss_huge', 'total_mapped_file', 'total_dirty',
  'total_writeback', 'total_pgpgin', 'total_pgpgout', 'total_pgfault', 'total_pgmajfault', 'total_inactive_anon',
  'total_active_anon', 'total_inactive_file', 'total_active_file', 'total_unevictable',
];

const V2_MEMORY_KEYS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable',
  'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
];


/** Where a v1 controller is mounted under the cgroup root (handles co-mounts like "cpu,cpuacct"). */
async function v1ControllerDir(root: string, ctrl: string): Promise<string | undefined> {
  if (await exists(join(root, ctrl))) return join(root, ctrl);
  try {
    for (const d of await readdir(root)) if (d.split(',').includes(ctrl)) return join(root, d);
  } catch {
    // no root
  }
  return undefined;
}

/** "8:0 Read 123" lines (and "Total 5", skipped), as containerd reads blkio files. */
function parseBlkio(text: string | undefined): BlkioStatEntry[] {
  const out: BlkioStatEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(/[ :]/).filter(Boolean);
    if (f.length < 3) continue;
    if (!/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!)) continue;
    const withOp = f.length === 4;
    const v = f[withOp ? 3 : 2]!;
    if (!/^\d+$/.test(v)) continue;
    out.push({ major: BigInt(f[0]!), minor: BigInt(f[1]!), op: withOp ? f[2]! : '', value: BigInt(v) });
  }
  return out;
}

async function blkioV1(dir: string | undefined): Promise<BlkioStats> {
  const b: BlkioStats = {
    io_service_bytes_recursive: [], io_serviced_recursive: [], io_queue_recursive: [], io_service_time_recursive: [],
    io_wait_time_recursive: [], io_merged_recursive: [], io_time_recursive: [], sectors_recursive: [],
  };
  if (!dir) return b;
  const f = (n: string): Promise<string | undefined> => readText(join(dir, `blkio.${n}`));
  // CFQ stats first; throttle stats when CFQ has none (containerd's order).
  if (await exists(join(dir, 'blkio.io_serviced_recursive'))) {
    b.sectors_recursive = parseBlkio(await f('sectors_recursive'));
    b.io_service_bytes_recursive = parseBlkio(await f('io_service_bytes_recursive'));
    b.io_serviced_recursive = parseBlkio(await f('io_serviced_recursive'));
    b.io_queue_recursive = parseBlkio(await f('io_queued_recursive'));
    b.io_service_time_recursive = parseBlkio(await f('io_service_time_recursive'));
    b.io_wait_time_recursive = parseBlkio(await f('io_wait_time_recursive'));
    b.io_merged_recursive = parseBlkio(await f('io_merged_recursive'));
    b.io_time_recursive = parseBlkio(await f('time_recursive'));
    const n = Object.values(b).reduce((a, x: BlkioStatEntry[]) => a + x.length, 0);
    if (n > 0) return b;
  }
  b.io_serviced_recursive = parseBlkio(await f('throttle.io_serviced'));
  b.io_service_bytes_recursive = parseBlkio(await f('throttle.io_service_bytes'));
  return b;
}

interface CgroupSample {
  cpu: CPUStats;
  memory: MemoryStats;
  pids: { current?: bigint; limit?: bigint };
  blkio: BlkioStats;
}

async function sampleV1(root: string, path: string, machineMem: bigint): Promise<CgroupSample> {
  const dir = async (ctrl: string): Promise<string | undefined> => {
    const base = await v1ControllerDir(root, ctrl);
    return base ? join(base, path) : undefined;
  };
  const [cpuacct, cpu, memory, pids, blkio] = await Promise.all(['cpuacct', 'cpu', 'memory', 'pids', 'blkio'].map(dir));
  if (!memory || !(await exists(memory))) throw new Error(`cgroup ${path} not found`);

  const cpuStats = emptyCPUStats();
  if (cpuacct) {
    const [usage, percpu, stat] = await Promise.all([
      readText(join(cpuacct, 'cpuacct.usage')), readText(join(cpuacct, 'cpuacct.usage_percpu')), readText(join(cpuacct, 'cpuacct.stat')),
    ]);
    cpuStats.cpu_usage.total_usage = u64(usage);
    const per = (percpu ?? '').trim().split(/\s+/).filter(Boolean).map((x) => BigInt(x));
    if (per.length > 0) cpuStats.cpu_usage.percpu_usage = per;
    const kv = keyValues(stat);
    cpuStats.cpu_usage.usage_in_usermode = ((kv.get('user') ?? 0n) * NS_PER_S) / CLOCK_TICKS;
    cpuStats.cpu_usage.usage_in_kernelmode = ((kv.get('system') ?? 0n) * NS_PER_S) / CLOCK_TICKS;
  }
  if (cpu) {
    const kv = keyValues(await readText(join(cpu, 'cpu.stat')));
    cpuStats.throttling_data = {
      periods: kv.get('nr_periods') ?? 0n, throttled_periods: kv.get('nr_throttled') ?? 0n, throttled_time: kv.get('throttled_time') ?? 0n,
    };
  }

  const [stat, usage, max, failcnt, limit] = await Promise.all(
    ['memory.stat', 'memory.usage_in_bytes', 'memory.max_usage_in_bytes', 'memory.failcnt', 'memory.limit_in_bytes'].map((f) => readText(join(memory, f))),
  );
  const kv = keyValues(stat);
  const raw: Record<string, bigint> = {};
  for (const k of V1_MEMORY_KEYS) raw[k] = kv.get(k) ?? 0n;
  let mem: MemoryStats = { stats: raw };
  if (usage !== undefined) {
    let lim = u64(limit);
    if (machineMem > 0n && lim > machineMem) lim = machineMem;
    mem = { usage: u64(usage), max_usage: u64(max), stats: raw, failcnt: u64(failcnt), limit: lim };
  }

  const pidsStats: { current?: bigint; limit?: bigint } = {};
  if (pids) {
    const cur = await readText(join(pids, 'pids.current'));
    if (cur !== undefined) {
      pidsStats.current = u64(cur);
      const lim = ((await readText(join(pids, 'pids.max'))) ?? '').trim();
      pidsStats.limit = lim === 'max' ? 0n : u64(lim);
    }
  }
  return { cpu: cpuStats, memory: mem, pids: pidsStats, blkio: await blkioV1(blkio) };
}

// ---------------------------------------------------------------------------------------
// cgroup v2.

async function sampleV2(root: string, path: string, machineMem: bigint): Promise<CgroupSample> {
  const dir = join(root, path);
  const f = (n: string): Promise<string | undefined> => readText(join(dir, n));
  const [cpuStat, memStat, memCurrent, memMax, memEvents, pidsCur, pidsMax, ioStat] = await Promise.all(
    ['cpu.stat', 'memory.stat', 'memory.current', 'memory.max', 'memory.events', 'pids.current', 'pids.max', 'io.stat'].map(f),
  );
  if (cpuStat === undefined && memCurrent === undefined && !(await exists(dir))) throw new Error(`cgroup ${path} not found`);

  const cpu = emptyCPUStats();
  if (cpuStat !== undefined) {
    const kv = keyValues(cpuStat);
    cpu.cpu_usage.total_usage = (kv.get('usage_usec') ?? 0n) * 1000n;
    cpu.cpu_usage.usage_in_kernelmode = (kv.get('system_usec') ?? 0n) * 1000n;
    cpu.cpu_usage.usage_in_usermode = (kv.get('user_usec') ?? 0n) * 1000n;
    cpu.throttling_data = {
      periods: kv.get('nr_periods') ?? 0n, throttled_periods: kv.get('nr_throttled') ?? 0n, throttled_time: (kv.get('throttled_usec') ?? 0n) * 1000n,
    };
  }

  let mem: MemoryStats = {};
  if (memStat !== undefined || memCurrent !== undefined) {
    const kv = keyValues(memStat);
    const raw: Record<string, bigint> = {};
    for (const k of V2_MEMORY_KEYS) raw[k] = kv.get(k) ?? 0n;
    let lim = u64(memMax);
    if (machineMem > 0n && lim > machineMem) lim = machineMem;
    mem = { usage: u64(memCurrent), stats: raw };
    if (memEvents !== undefined) mem.failcnt = keyValues(memEvents).get('oom') ?? 0n;
    mem.limit = lim;
  }

  const pids: { current?: bigint; limit?: bigint } = {};
  if (pidsCur !== undefined) {
    pids.current = u64(pidsCur);
    pids.limit = u64(pidsMax);
  }

  const blkio = nullBlkio();
  const entries: BlkioStatEntry[] = [];
  for (const line of (ioStat ?? '').split('\n')) {
    const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const kv = new Map(m[3]!.split(/\s+/).map((p) => p.split('=') as [string, string]));
    const major = BigInt(m[1]!);
    const minor = BigInt(m[2]!);
    entries.push({ major, minor, op: 'read', value: u64(kv.get('rbytes')) }, { major, minor, op: 'write', value: u64(kv.get('wbytes')) });
  }
  if (entries.length > 0) blkio.io_service_bytes_recursive = entries;
  return { cpu, memory: mem, pids, blkio };
}

// ---------------------------------------------------------------------------------------
// Sampling.

/** Rebuilds CPU stats in Go's field order, with the host's figures (omitted when zero). */
function orderCPUStats(c: CPUStats, systemUsage: bigint, onlineCPUs: number): CPUStats {
  const u = c.cpu_usage;
  const out: CPUStats = {
    cpu_usage: {
      total_usage: u.total_usage,
      ...(u.percpu_usage && u.percpu_usage.length > 0 ? { percpu_usage: u.percpu_usage } : {}),
      usage_in_kernelmode: u.usage_in_kernelmode,
      usage_in_usermode: u.usage_in_usermode,
    },
    throttling_data: c.throttling_data,
  };
  if (systemUsage > 0n) out.system_cpu_usage = systemUsage;
  if (onlineCPUs > 0) out.online_cpus = onlineCPUs;
  // Re-insert throttling_data last, as Go orders the fields.
  const t = out.throttling_data;
  delete (out as Partial<CPUStats>).throttling_data;
  out.throttling_data = t;
  return out;
}

export interface StatsOptions {
  /** The container's cgroup path below each hierarchy: "/berth/<id>". */
  cgroupPath: string;
  /** Default /sys/fs/cgroup. */
  cgroupRoot?: string;
  /** Default: detected (v2 when <root>/cgroup.controllers exists). */
  cgroupVersion?: 1 | 2;
  /** The container's init pid, for its network namespace's counters. */
  pid?: number;
  /**
   * Whether to report `networks`: false for NetworkMode host (dockerd shows no interfaces for
   * it) and when Config.NetworkDisabled is set.
   */
  network?: boolean;
  /** Default /proc. */
  procRoot?: string;
  name?: string;
  id?: string;
}

export async function detectCgroupVersion(root = '/sys/fs/cgroup'): Promise<1 | 2> {
  return (await exists(join(root, 'cgroup.controllers'))) ? 2 : 1;
}

/**
 * One sample (dockerd's GetContainerStats): `read` now, precpu empty. Throws if the cgroup is
 * gone (the container stopped) — dockerd then answers emptyStats(name, id).
 */
export async function readStats(o: StatsOptions): Promise<Stats> {
  const root = o.cgroupRoot ?? '/sys/fs/cgroup';
  const proc = o.procRoot ?? '/proc';
  const version = o.cgroupVersion ?? (await detectCgroupVersion(root));
  const mm = await machineMemory(proc);
  const read = formatRFC3339Nano(nowNano());
  const cg = version === 2 ? await sampleV2(root, o.cgroupPath, mm) : await sampleV1(root, o.cgroupPath, mm);
  // Sampled right after the cgroup, to keep the two close (dockerd does the same).
  const host = parseProcStat((await readText(join(proc, 'stat'))) ?? '');
  cg.cpu = orderCPUStats(cg.cpu, host.systemUsage, host.onlineCPUs);
  const s: Stats = {
    read,
    preread: ZERO_TIME,
    pids_stats: cg.pids,
    blkio_stats: cg.blkio,
    num_procs: 0,
    storage_stats: {},
    cpu_stats: cg.cpu,
    precpu_stats: emptyCPUStats(),
    memory_stats: cg.memory,
  };
  if (o.network !== false && o.pid) {
    const nets = parseNetDev((await readText(join(proc, String(o.pid), 'net', 'dev'))) ?? '');
    if (Object.keys(nets).length > 0) s.networks = nets;
  }
  return o.name !== undefined || o.id !== undefined ? { name: o.name, id: o.id, ...s } : s;
}

// ---------------------------------------------------------------------------------------
// Streaming.

export interface StatsStreamOptions {
  /** `stream` query parameter (default true). */
  stream?: boolean;
  /** `one-shot` query parameter: a single sample, no priming (only with stream=false). */
  oneShot?: boolean;
  signal?: AbortSignal;
  /** For tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** dockerd's check of the query parameters. */
export function validateStatsQuery(stream: boolean, oneShot: boolean): void {
  if (stream && oneShot) throw invalidParameter('cannot have stream=true and one-shot=true');
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => sleep(ms, undefined, { signal }).then(() => undefined);

/**
 * Yields stats frames the way dockerd's ContainerStats does:
 *  - stream: a frame every interval, each with precpu_stats/preread from the previous sample
 *    (the first has them empty), until `signal` aborts or sample() throws;
 *  - stream=false: samples twice, one interval apart, and yields only the second (so the CPU
 *    percentage can be computed);
 *  - one-shot: yields a single sample at once, precpu empty.
 * For a container that is not running, with stream=false, answer emptyStats() without calling this.
 */
export async function* statsStream(
  sample: () => Promise<Stats>,
  intervalMs = 1000,
  opts: StatsStreamOptions = {},
): AsyncGenerator<Stats> {
  const stream = opts.stream ?? true;
  validateStatsQuery(stream, opts.oneShot ?? false);
  const wait = opts.sleep ?? defaultSleep;
  if (opts.oneShot) {
    yield await sample();
    return;
  }
  let pre: { cpu: CPUStats; read: string } = { cpu: emptyCPUStats(), read: ZERO_TIME };
  let first = true;
  while (!opts.signal?.aborted) {
    const s = await sample();
    s.precpu_stats = pre.cpu;
    s.preread = pre.read;
    pre = { cpu: s.cpu_stats, read: s.read };
    if (stream || !first) {
      yield s;
      if (!stream) return;
    }
    first = false;
    try {
      await wait(intervalMs, opts.signal);
    } catch {
      return; // aborted
    }
  }
}

/** docker stats' CPU percentage (client side), handy for berth's CLI and tests. */
export function cpuPercent(s: Stats): number {
  const cpuDelta = Number(s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage);
  const sysDelta = Number((s.cpu_stats.system_cpu_usage ?? 0n) - (s.precpu_stats.system_cpu_usage ?? 0n));
  const online = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 0;
  if (sysDelta > 0 && cpuDelta > 0) return (cpuDelta / sysDelta) * online * 100;
  return 0;
}
