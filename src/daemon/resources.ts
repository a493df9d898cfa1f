// Resource limits: dockerd's validation of a create/update request's resources (with its exact
// messages and warnings, depending on what the host's cgroups support), the defaults dockerd fills
// in at create, and `POST /containers/{id}/update`: merging the update into the stored HostConfig
// and the OCI LinuxResources handed to containerd for a running task.
//
// Sources: moby daemon/daemon_unix.go verifyPlatformContainerResources / adaptContainerSettings,
// daemon/container.go validateHostConfig, container/container_unix.go UpdateContainer,
// daemon/update_linux.go toContainerdResources, pkg/sysinfo.

import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../api/types/container.js';
import type { LinuxResources } from '../oci/types.js';
import { BerthError, conflict, invalidParameter, systemError } from '../pkg/errors.js';
import { exists } from '../pkg/fsutil.js';
import { isNone, validateRestartPolicy, type RestartPolicy } from '../restartmanager/restartmanager.js';

/** dockerd's minimum for --memory, --memory-reservation and --kernel-memory (6 MiB). */
export const LINUX_MIN_MEMORY = 6 * 1024 * 1024;
const DEFAULT_MAX_CPUS = 8192;

// ---------------------------------------------------------------------------------------
// What the host supports (pkg/sysinfo).

export interface SysInfo {
  cgroupVersion: 1 | 2;
  memoryLimit: boolean;
  swapLimit: boolean;
  memoryReservation: boolean;
  oomKillDisable: boolean;
  memorySwappiness: boolean;
  kernelMemory: boolean;
  pidsLimit: boolean;
  cpuShares: boolean;
  cpuCfs: boolean;
  cpuRealtime: boolean;
  cpuset: boolean;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioReadBpsDevice: boolean;
  blkioWriteBpsDevice: boolean;
  blkioReadIOpsDevice: boolean;
  blkioWriteIOpsDevice: boolean;
  /** The cpuset the daemon may use, as the kernel lists it ("0-1"). */
  cpus: string;
  mems: string;
  /** CPUs available to the daemon (Go's runtime.NumCPU). */
  numCPU: number;
}

const readTrim = (p: string): Promise<string> => readFile(p, 'utf8').then((s) => s.trim(), () => '');

/** Probes the host's cgroups as dockerd's sysinfo.New does (cgroupfs driver). */
export async function readSysInfo(opts: { root?: string; procSelfCgroup?: string } = {}): Promise<SysInfo> {
  const root = opts.root ?? '/sys/fs/cgroup';
  const numCPU = availableParallelism();
  if (await exists(join(root, 'cgroup.controllers'))) {
    // cgroup v2: what our own group offers.
    const self = await readTrim(opts.procSelfCgroup ?? '/proc/self/cgroup');
    const group = /^0::(.*)$/m.exec(self)?.[1] ?? '/';
    let ctrls = await readTrim(join(root, group, 'cgroup.controllers'));
    if (!ctrls) ctrls = await readTrim(join(root, 'cgroup.controllers'));
    const has = new Set(ctrls.split(/\s+/).filter(Boolean));
    const io = has.has('io');
    const cpuset = has.has('cpuset');
    return {
      cgroupVersion: 2,
      memoryLimit: has.has('memory'),
      swapLimit: has.has('memory') && group !== '/' && (await exists(join(root, group, 'memory.swap.max'))),
      memoryReservation: has.has('memory'),
      oomKillDisable: false,
      memorySwappiness: false,
      kernelMemory: false,
      pidsLimit: has.has('pids'),
      cpuShares: has.has('cpu'),
      cpuCfs: has.has('cpu'),
      cpuRealtime: false,
      cpuset,
      blkioWeight: io,
      blkioWeightDevice: io,
      blkioReadBpsDevice: io,
      blkioWriteBpsDevice: io,
      blkioReadIOpsDevice: io,
      blkioWriteIOpsDevice: io,
      cpus: cpuset ? await readTrim(join(root, group, 'cpuset.cpus.effective')) : '',
      mems: cpuset ? await readTrim(join(root, group, 'cpuset.mems.effective')) : '',
      numCPU,
    };
  }
  const f = (ctrl: string, file: string): Promise<boolean> => exists(join(root, ctrl, file));
  const memory = await exists(join(root, 'memory'));
  const cpusetMounted = await exists(join(root, 'cpuset', 'cpuset.cpus'));
  return {
    cgroupVersion: 1,
    memoryLimit: memory,
    swapLimit: await f('memory', 'memory.memsw.limit_in_bytes'),
    memoryReservation: await f('memory', 'memory.soft_limit_in_bytes'),
    oomKillDisable: await f('memory', 'memory.oom_control'),
    memorySwappiness: await f('memory', 'memory.swappiness'),
    kernelMemory: await f('memory', 'memory.kmem.limit_in_bytes'),
    pidsLimit: await exists(join(root, 'pids')),
    cpuShares: await f('cpu', 'cpu.shares'),
    cpuCfs: await f('cpu', 'cpu.cfs_quota_us'),
    cpuRealtime: await f('cpu', 'cpu.rt_period_us'),
    cpuset: cpusetMounted,
    blkioWeight: await f('blkio', 'blkio.weight'),
    blkioWeightDevice: await f('blkio', 'blkio.weight_device'),
    blkioReadBpsDevice: await f('blkio', 'blkio.throttle.read_bps_device'),
    blkioWriteBpsDevice: await f('blkio', 'blkio.throttle.write_bps_device'),
    blkioReadIOpsDevice: await f('blkio', 'blkio.throttle.read_iops_device'),
    blkioWriteIOpsDevice: await f('blkio', 'blkio.throttle.write_iops_device'),
    cpus: cpusetMounted ? await readTrim(join(root, 'cpuset', 'cpuset.cpus')) : '',
    mems: cpusetMounted ? await readTrim(join(root, 'cpuset', 'cpuset.mems')) : '',
    numCPU,
  };
}

// ---------------------------------------------------------------------------------------
// Lists like "0-3,7" (pkg/parsers.ParseUintList).

export function parseUintList(val: string, maximum = 0): Set<number> {
  const out = new Set<number>();
  if (val === '') return out;
  const invalid = (): BerthError => invalidParameter(`invalid format: ${val}`);
  const atoi = (s: string): number => {
    if (!/^[+-]?\d+$/.test(s)) throw invalid();
    return parseInt(s, 10);
  };
  for (const r of val.split(',')) {
    if (!r.includes('-')) {
      const v = atoi(r);
      if (maximum !== 0 && v > maximum) throw invalidParameter(`value of out range, maximum is ${maximum}`);
      out.add(v);
    } else {
      const i = r.indexOf('-');
      const lo = atoi(r.slice(0, i));
      const hi = atoi(r.slice(i + 1));
      if (hi < lo) throw invalid();
      if (maximum !== 0 && hi > maximum) throw invalidParameter(`value of out range, maximum is ${maximum}`);
      for (let k = lo; k <= hi; k++) out.add(k);
    }
  }
  return out;
}

/** sysinfo.isCpusetListAvailable: throws on a malformed list. */
export function isCpusetListAvailable(requested: string, available: string): boolean {
  const avail = parseUintList(available);
  let max = DEFAULT_MAX_CPUS;
  for (const m of avail) if (m > max) max = m;
  for (const k of parseUintList(requested, max)) if (!avail.has(k)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------
// Validation.

/** The resource fields of HostConfig (and of an update body). Every field optional. */
export interface Resources {
  CpuShares?: number;
  Memory?: number;
  NanoCpus?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  BlkioWeightDevice?: unknown[] | null;
  BlkioDeviceReadBps?: unknown[] | null;
  BlkioDeviceWriteBps?: unknown[] | null;
  BlkioDeviceReadIOps?: unknown[] | null;
  BlkioDeviceWriteIOps?: unknown[] | null;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: unknown[] | null;
  DeviceCgroupRules?: string[] | null;
  DeviceRequests?: unknown[] | null;
  /** Removed from the API in 1.42; ignored for newer clients. */
  KernelMemory?: number;
  KernelMemoryTCP?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  PidsLimit?: number | null;
  Ulimits?: unknown[] | null;
  CpuCount?: number;
  CpuPercent?: number;
  IOMaximumIOps?: number;
  IOMaximumBandwidth?: number;
}

export interface VerifyOptions {
  /** true for `docker update` (Memory may then be 0 with MemorySwap set). */
  update?: boolean;
  /** The request's API version ("1.47"); from 1.42 on KernelMemory is ignored. */
  apiVersion?: string;
}

export function versionLess(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

const nz = (v: number | undefined | null): number => v ?? 0;
const len = (v: unknown[] | null | undefined): number => v?.length ?? 0;

/**
 * dockerd's verifyPlatformContainerResources: adjusts `r` in place (discarding what the host
 * cannot do, with a warning each) and throws invalid-parameter errors with dockerd's messages.
 * Returns the warnings.
 */
export function verifyResources(r: Resources, sys: SysInfo, opts: VerifyOptions = {}): string[] {
  const warnings: string[] = [];
  const update = opts.update ?? false;
  // API >= 1.42 (the router drops it before the daemon sees it).
  if (!opts.apiVersion || !versionLess(opts.apiVersion, '1.42')) r.KernelMemory = 0;
  // -1 means "unset".
  if (r.MemorySwappiness === -1) r.MemorySwappiness = null;

  const fail = (msg: string): never => {
    const e = invalidParameter(msg);
    (e as BerthError & { warnings?: string[] }).warnings = warnings;
    throw e;
  };

  // Memory.
  if (nz(r.Memory) !== 0 && nz(r.Memory) < LINUX_MIN_MEMORY) fail('Minimum memory limit allowed is 6MB');
  if (nz(r.Memory) > 0 && !sys.memoryLimit) {
    warnings.push('Your kernel does not support memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.Memory = 0;
    r.MemorySwap = -1;
  }
  if (nz(r.Memory) > 0 && r.MemorySwap !== -1 && !sys.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    r.MemorySwap = -1;
  }
  if (nz(r.Memory) > 0 && nz(r.MemorySwap) > 0 && nz(r.MemorySwap) < nz(r.Memory)) {
    fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (nz(r.Memory) === 0 && nz(r.MemorySwap) > 0 && !update) {
    fail('You should always set the Memory limit when using Memoryswap limit, see usage');
  }
  if (r.MemorySwappiness != null && !sys.memorySwappiness) {
    warnings.push('Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.');
    r.MemorySwappiness = null;
  }
  if (r.MemorySwappiness != null && (r.MemorySwappiness < 0 || r.MemorySwappiness > 100)) {
    fail(`Invalid value: ${r.MemorySwappiness}, valid memory swappiness range is 0-100`);
  }
  if (nz(r.MemoryReservation) > 0 && !sys.memoryReservation) {
    warnings.push('Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.');
    r.MemoryReservation = 0;
  }
  if (nz(r.MemoryReservation) > 0 && nz(r.MemoryReservation) < LINUX_MIN_MEMORY) fail('Minimum memory reservation allowed is 6MB');
  if (nz(r.Memory) > 0 && nz(r.MemoryReservation) > 0 && nz(r.Memory) < nz(r.MemoryReservation)) {
    fail('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if (nz(r.KernelMemory) > 0) {
    // Not on cgroup v2; deprecated on v1 since kernel 5.4.
    if (!sys.kernelMemory) {
      warnings.push('Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.');
      r.KernelMemory = 0;
    }
    if (nz(r.KernelMemory) > 0 && nz(r.KernelMemory) < LINUX_MIN_MEMORY) fail('Minimum kernel memory limit allowed is 6MB');
  }
  if (r.OomKillDisable != null && !sys.oomKillDisable) {
    // Only a warning if it asked to disable the OOM killer.
    if (r.OomKillDisable) warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
    r.OomKillDisable = null;
  }
  if (r.OomKillDisable && nz(r.Memory) === 0) {
    warnings.push('OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.');
  }
  if (r.PidsLimit != null && !sys.pidsLimit) {
    if (r.PidsLimit > 0) warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    r.PidsLimit = null;
  }

  // CPU.
  if (nz(r.NanoCpus) > 0 && nz(r.CpuPeriod) > 0) fail('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nz(r.NanoCpus) > 0 && nz(r.CpuQuota) > 0) fail('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nz(r.NanoCpus) > 0 && !sys.cpuCfs) fail('NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  if (nz(r.NanoCpus) !== 0) {
    const nc = sys.numCPU;
    if (nz(r.NanoCpus) < 0 || nz(r.NanoCpus) > nc * 1e9) fail(`range of CPUs is from 0.01 to ${nc}.00, as there are only ${nc} CPUs available`);
  }
  if (nz(r.CpuShares) > 0 && !sys.cpuShares) {
    warnings.push('Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.');
    r.CpuShares = 0;
  }
  if ((nz(r.CpuPeriod) !== 0 || nz(r.CpuQuota) !== 0) && !sys.cpuCfs) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    r.CpuPeriod = 0;
    r.CpuQuota = 0;
  }
  if (nz(r.CpuPeriod) !== 0 && (nz(r.CpuPeriod) < 1000 || nz(r.CpuPeriod) > 1_000_000)) {
    fail('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  if (nz(r.CpuQuota) > 0 && nz(r.CpuQuota) < 1000) fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if (nz(r.CpuPercent) > 0) {
    warnings.push('linux does not support CPU percent. Percent discarded.');
    r.CpuPercent = 0;
  }

  // Cpuset.
  if ((r.CpusetCpus || r.CpusetMems) && !sys.cpuset) {
    warnings.push('Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.');
    r.CpusetCpus = '';
    r.CpusetMems = '';
  }
  const cpusetCheck = (requested: string, available: string, what: 'cpus' | 'mems'): void => {
    let ok: boolean;
    try {
      ok = isCpusetListAvailable(requested, available);
    } catch (err) {
      return fail(`Invalid value ${requested} for cpuset ${what}: ${(err as Error).message}`);
    }
    if (!ok) {
      if (what === 'cpus') fail(`Requested CPUs are not available - requested ${requested}, available: ${available}`);
      else fail(`Requested memory nodes are not available - requested ${requested}, available: ${available}`);
    }
  };
  cpusetCheck(r.CpusetCpus ?? '', sys.cpus, 'cpus');
  cpusetCheck(r.CpusetMems ?? '', sys.mems, 'mems');

  // Block I/O.
  if (nz(r.BlkioWeight) > 0 && !sys.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    r.BlkioWeight = 0;
  }
  if (nz(r.BlkioWeight) > 0 && (nz(r.BlkioWeight) < 10 || nz(r.BlkioWeight) > 1000)) fail('Range of blkio weight is from 10 to 1000');
  if (nz(r.IOMaximumBandwidth) !== 0 || nz(r.IOMaximumIOps) !== 0) {
    fail('Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps');
  }
  if (len(r.BlkioWeightDevice) > 0 && !sys.blkioWeightDevice) {
    warnings.push('Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.');
    r.BlkioWeightDevice = [];
  }
  if (len(r.BlkioDeviceReadBps) > 0 && !sys.blkioReadBpsDevice) {
    warnings.push('Your kernel does not support BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit discarded.');
    r.BlkioDeviceReadBps = [];
  }
  if (len(r.BlkioDeviceWriteBps) > 0 && !sys.blkioWriteBpsDevice) {
    warnings.push('Your kernel does not support BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit discarded.');
    r.BlkioDeviceWriteBps = [];
  }
  if (len(r.BlkioDeviceReadIOps) > 0 && !sys.blkioReadIOpsDevice) {
    warnings.push('Your kernel does not support IOPS Block read limit or the cgroup is not mounted. Block I/O IOPS read limit discarded.');
    r.BlkioDeviceReadIOps = [];
  }
  if (len(r.BlkioDeviceWriteIOps) > 0 && !sys.blkioWriteIOpsDevice) {
    warnings.push('Your kernel does not support IOPS Block write limit or the cgroup is not mounted. Block I/O IOPS write limit discarded.');
    r.BlkioDeviceWriteIOps = [];
  }
  return warnings;
}

/** Warnings gathered before a validation error (the create response carries them too). */
export function warningsOf(err: unknown): string[] {
  return (err as { warnings?: string[] } | null)?.warnings ?? [];
}

/**
 * The resource-related part of dockerd's verifyContainerSettings for create (and for update,
 * with opts.update): AutoRemove vs restart policy, the restart policy, the resources, ShmSize,
 * OomScoreAdj, published ports with host networking. Mutates `hc` like dockerd. Returns warnings.
 * Call it after the router's normalisation (normalizeCreateResources).
 */
export function verifyHostConfigResources(
  hc: Resources & Partial<Pick<HostConfig, 'AutoRemove' | 'RestartPolicy' | 'ShmSize' | 'OomScoreAdj' | 'NetworkMode' | 'PortBindings'>>,
  sys: SysInfo,
  opts: VerifyOptions = {},
): string[] {
  const policy = hc.RestartPolicy ?? { Name: '', MaximumRetryCount: 0 };
  if (hc.AutoRemove && !isNone(policy)) throw invalidParameter("can't create 'AutoRemove' container with restart policy");
  validateRestartPolicy(policy);
  const warnings = verifyResources(hc, sys, opts);
  const fail = (msg: string): never => {
    const e = invalidParameter(msg);
    (e as BerthError & { warnings?: string[] }).warnings = warnings;
    throw e;
  };
  if (nz(hc.ShmSize) < 0) fail('SHM size can not be less than 0');
  const adj = nz(hc.OomScoreAdj);
  if (adj < -1000 || adj > 1000) fail(`Invalid value ${adj}, range for oom score adj is [-1000, 1000]`);
  if (hc.NetworkMode === 'host' && hc.PortBindings && Object.keys(hc.PortBindings).length > 0) {
    warnings.push('Published ports are discarded when using host network mode');
  }
  return warnings;
}

/**
 * The create router's and adaptContainerSettings' defaults, applied after validation:
 * PidsLimit <= 0 → null (unlimited), MemorySwap = 2 × Memory when unset, OomKillDisable
 * defaults to false. Run normalizeCreateResources before verify, adaptResources after.
 */
export function normalizeCreateResources(hc: Resources): void {
  if (hc.PidsLimit != null && hc.PidsLimit <= 0) hc.PidsLimit = null;
}

export function adaptResources(hc: Resources): void {
  if (nz(hc.Memory) > 0 && nz(hc.MemorySwap) === 0) hc.MemorySwap = nz(hc.Memory) * 2;
  if (hc.OomKillDisable == null) hc.OomKillDisable = false;
}

// ---------------------------------------------------------------------------------------
// docker update.

/** The body of POST /containers/{id}/update: resources plus RestartPolicy. */
export interface UpdateConfig extends Resources {
  RestartPolicy?: RestartPolicy;
}

const NUM_FIELDS = [
  'CpuShares', 'Memory', 'NanoCpus', 'BlkioWeight', 'CpuPeriod', 'CpuQuota', 'CpuRealtimePeriod', 'CpuRealtimeRuntime',
  'KernelMemory', 'KernelMemoryTCP', 'MemoryReservation', 'MemorySwap', 'CpuCount', 'CpuPercent', 'IOMaximumIOps', 'IOMaximumBandwidth',
] as const;

/**
 * Parses an update body as the router does: type checks with Go's unmarshal messages, PidsLimit
 * <= 0 → 0 ("unlimited"), and (API >= 1.42) KernelMemory dropped.
 */
export function parseUpdateBody(body: unknown, apiVersion = '1.47'): UpdateConfig {
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const u: UpdateConfig = {};
  for (const k of NUM_FIELDS) {
    const v = b[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field UpdateConfig.${k} of type int64`);
    }
    u[k] = v;
  }
  for (const k of ['CpusetCpus', 'CpusetMems', 'CgroupParent'] as const) {
    const v = b[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field UpdateConfig.${k} of type string`);
    u[k] = v;
  }
  if (typeof b.MemorySwappiness === 'number') u.MemorySwappiness = b.MemorySwappiness;
  if (typeof b.OomKillDisable === 'boolean') u.OomKillDisable = b.OomKillDisable;
  if (typeof b.PidsLimit === 'number') u.PidsLimit = b.PidsLimit <= 0 ? 0 : b.PidsLimit;
  for (const k of ['BlkioWeightDevice', 'BlkioDeviceReadBps', 'BlkioDeviceWriteBps', 'BlkioDeviceReadIOps', 'BlkioDeviceWriteIOps', 'Devices', 'Ulimits', 'DeviceRequests'] as const) {
    if (Array.isArray(b[k])) u[k] = b[k] as unknown[];
  }
  if (Array.isArray(b.DeviceCgroupRules)) u.DeviceCgroupRules = b.DeviceCgroupRules as string[];
  if (b.RestartPolicy && typeof b.RestartPolicy === 'object') {
    const rp = b.RestartPolicy as Record<string, unknown>;
    u.RestartPolicy = { Name: typeof rp.Name === 'string' ? rp.Name : '', MaximumRetryCount: typeof rp.MaximumRetryCount === 'number' ? rp.MaximumRetryCount : 0 };
  }
  if (versionLess(apiVersion, '1.40')) delete u.PidsLimit;
  if (!versionLess(apiVersion, '1.42')) delete u.KernelMemory;
  return u;
}

export interface UpdatePlan {
  /** The container's HostConfig with the update applied (a copy; commit it with the container). */
  hostConfig: HostConfig;
  /** What the validation discarded/adjusted, for the response's Warnings. */
  warnings: string[];
  /** Set when the update carried a restart policy: give it to the RestartManager (setPolicy). */
  restartPolicy?: RestartPolicy;
  /** For a running or paused (not restarting) task: send with ctd.updateResources(id, resources). */
  resources: LinuxResources;
}

/**
 * POST /containers/{id}/update, minus the I/O: validates the update (dockerd's messages, 400),
 * checks it against the stored HostConfig (409 "Cannot update container <id>: Conflicting
 * options: …"), and returns the merged HostConfig and the OCI resources for containerd.
 * On a containerd failure the caller keeps the old HostConfig and answers with
 * cannotUpdate(id, err) (500).
 */
export function updateResources(id: string, current: HostConfig, update: UpdateConfig, sys: SysInfo, apiVersion = '1.47'): UpdatePlan {
  const u: UpdateConfig = { ...update };
  const rp = u.RestartPolicy ?? { Name: '', MaximumRetryCount: 0 };
  validateRestartPolicy(rp);
  const warnings = verifyResources(u, sys, { update: true, apiVersion });

  const hc: HostConfig = structuredClone(current);
  const cur = hc as HostConfig & { KernelMemory?: number };
  const conflictErr = (msg: string): BerthError => conflict(`Cannot update container ${id}: ${msg}`);
  // NanoCpus and CpuPeriod/CpuQuota exclude each other, also across updates.
  if (nz(u.NanoCpus) > 0 && nz(cur.CpuPeriod) > 0) throw conflictErr('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
  if (nz(u.NanoCpus) > 0 && nz(cur.CpuQuota) > 0) throw conflictErr('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
  if (nz(u.CpuPeriod) > 0 && nz(cur.NanoCpus) > 0) throw conflictErr('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
  if (nz(u.CpuQuota) > 0 && nz(cur.NanoCpus) > 0) throw conflictErr('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');

  if (nz(u.BlkioWeight) !== 0) cur.BlkioWeight = nz(u.BlkioWeight);
  if (nz(u.CpuShares) !== 0) cur.CpuShares = nz(u.CpuShares);
  if (nz(u.NanoCpus) !== 0) cur.NanoCpus = nz(u.NanoCpus);
  if (nz(u.CpuPeriod) !== 0) cur.CpuPeriod = nz(u.CpuPeriod);
  if (nz(u.CpuQuota) !== 0) cur.CpuQuota = nz(u.CpuQuota);
  if (u.CpusetCpus) cur.CpusetCpus = u.CpusetCpus;
  if (u.CpusetMems) cur.CpusetMems = u.CpusetMems;
  if (nz(u.Memory) !== 0) {
    // A new memory limit above the stored swap limit needs a new swap limit too.
    if (nz(u.Memory) > nz(cur.MemorySwap) && nz(u.MemorySwap) === 0) {
      throw conflictErr('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
    }
    cur.Memory = nz(u.Memory);
  }
  if (nz(u.MemorySwap) !== 0) cur.MemorySwap = nz(u.MemorySwap);
  if (nz(u.MemoryReservation) !== 0) cur.MemoryReservation = nz(u.MemoryReservation);
  if (nz(u.KernelMemory) !== 0) cur.KernelMemory = nz(u.KernelMemory);
  if (nz(u.CpuRealtimePeriod) !== 0) cur.CpuRealtimePeriod = nz(u.CpuRealtimePeriod);
  if (nz(u.CpuRealtimeRuntime) !== 0) cur.CpuRealtimeRuntime = nz(u.CpuRealtimeRuntime);
  if (u.PidsLimit != null) cur.PidsLimit = u.PidsLimit;

  let restartPolicy: RestartPolicy | undefined;
  if (rp.Name !== '') {
    if (cur.AutoRemove && !isNone(rp)) throw conflictErr('Restart policy cannot be updated because AutoRemove is enabled for the container');
    cur.RestartPolicy = { Name: rp.Name as HostConfig['RestartPolicy']['Name'], MaximumRetryCount: rp.MaximumRetryCount };
    restartPolicy = { ...rp };
  }
  return { hostConfig: hc, warnings, restartPolicy, resources: toContainerdResources(u) };
}

/** dockerd's toContainerdResources: only what the update sets (the task keeps the rest). */
export function toContainerdResources(r: Resources): LinuxResources {
  const out: LinuxResources = {};
  if (nz(r.BlkioWeight) !== 0) out.blockIO = { weight: nz(r.BlkioWeight) };
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (r.CpusetMems) cpu.mems = r.CpusetMems;
  if (nz(r.CpuShares) !== 0) cpu.shares = nz(r.CpuShares);
  let period = 0;
  let quota = 0;
  if (nz(r.NanoCpus) !== 0) {
    period = 100_000;
    quota = Math.trunc((nz(r.NanoCpus) * period) / 1e9);
  }
  if (quota === 0 && nz(r.CpuQuota) !== 0) quota = nz(r.CpuQuota);
  if (period === 0 && nz(r.CpuPeriod) !== 0) period = nz(r.CpuPeriod);
  if (period !== 0) cpu.period = period;
  if (quota !== 0) cpu.quota = quota;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  const mem: NonNullable<LinuxResources['memory']> & { kernel?: number } = {};
  if (nz(r.Memory) !== 0) mem.limit = nz(r.Memory);
  if (nz(r.MemoryReservation) !== 0) mem.reservation = nz(r.MemoryReservation);
  if (nz(r.KernelMemory) !== 0) mem.kernel = nz(r.KernelMemory);
  if (nz(r.MemorySwap) > 0) mem.swap = nz(r.MemorySwap);
  if (Object.keys(mem).length > 0) out.memory = mem;
  if (r.PidsLimit != null) out.pids = { limit: r.PidsLimit <= 0 ? -1 : r.PidsLimit };
  return out;
}

/** The 500 for a failed containerd update ("Cannot update container <id>: <err>"). */
export function cannotUpdate(id: string, err: unknown): BerthError {
  return systemError(`Cannot update container ${id}: ${err instanceof Error ? err.message : String(err)}`, err);
}

/** The 409 for a container being removed. */
export function cannotUpdateRemoving(id: string): BerthError {
  return conflict(`Cannot update container ${id}: container is marked for removal and cannot be "update"`);
}
