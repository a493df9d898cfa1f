import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../api/types/container.js';
import { normalizeHostConfig } from './config.js';
import {
  adaptResources,
  isCpusetListAvailable,
  normalizeCreateResources,
  parseUintList,
  parseUpdateBody,
  readSysInfo,
  toContainerdResources,
  updateResources,
  verifyHostConfigResources,
  verifyResources,
  warningsOf,
  type SysInfo,
} from './resources.js';

const MB = 1024 * 1024;

const V1: SysInfo = {
  cgroupVersion: 1, memoryLimit: true, swapLimit: true, memoryReservation: true, oomKillDisable: true, memorySwappiness: true,
  kernelMemory: true, pidsLimit: true, cpuShares: true, cpuCfs: true, cpuRealtime: true, cpuset: true, blkioWeight: true,
  blkioWeightDevice: true, blkioReadBpsDevice: true, blkioWriteBpsDevice: true, blkioReadIOpsDevice: true, blkioWriteIOpsDevice: true,
  cpus: '0-1', mems: '0', numCPU: 2,
};
const V2: SysInfo = { ...V1, cgroupVersion: 2, oomKillDisable: false, memorySwappiness: false, kernelMemory: false, cpuRealtime: false, swapLimit: false };

const err = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(no error)';
};

test('memory rules and messages', () => {
  assert.equal(err(() => verifyResources({ Memory: 4 * MB }, V1)), 'Minimum memory limit allowed is 6MB');
  assert.deepEqual(verifyResources({ Memory: 6 * MB }, V1), []);
  assert.equal(err(() => verifyResources({ Memory: 64 * MB, MemorySwap: 32 * MB }, V1)), 'Minimum memoryswap limit should be larger than memory limit, see usage');
  assert.equal(err(() => verifyResources({ MemorySwap: 32 * MB }, V1)), 'You should always set the Memory limit when using Memoryswap limit, see usage');
  assert.deepEqual(verifyResources({ MemorySwap: 32 * MB }, V1, { update: true }), []);
  assert.equal(err(() => verifyResources({ MemoryReservation: MB }, V1)), 'Minimum memory reservation allowed is 6MB');
  assert.equal(err(() => verifyResources({ Memory: 10 * MB, MemoryReservation: 20 * MB }, V1)), 'Minimum memory limit can not be less than memory reservation limit, see usage');
  assert.equal(err(() => verifyResources({ MemorySwappiness: 101 }, V1)), 'Invalid value: 101, valid memory swappiness range is 0-100');
  const r = { MemorySwappiness: -1 };
  verifyResources(r, V1);
  assert.equal(r.MemorySwappiness, null);
  // -1 for swap means unlimited: fine.
  assert.deepEqual(verifyResources({ Memory: 10 * MB, MemorySwap: -1 }, V1), []);
});

test('cgroup v2: discarded settings come back as warnings', () => {
  const r = { Memory: 64 * MB, MemorySwap: 128 * MB, MemorySwappiness: 50, OomKillDisable: true };
  const w = verifyResources(r, V2);
  assert.deepEqual(w, [
    'Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.',
    'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
    'Your kernel does not support OomKillDisable. OomKillDisable discarded.',
  ]);
  assert.deepEqual(r, { Memory: 64 * MB, MemorySwap: -1, MemorySwappiness: null, OomKillDisable: null, KernelMemory: 0 });
  // OomKillDisable=false (what the CLI always sends) is dropped silently.
  assert.deepEqual(verifyResources({ OomKillDisable: false }, V2), []);
});

test('kernel memory: ignored from API 1.42; on older APIs refused by v2 hosts and checked on v1', () => {
  const r = { KernelMemory: 50 * MB };
  assert.deepEqual(verifyResources(r, V2, { apiVersion: '1.47' }), []);
  assert.equal(r.KernelMemory, 0);
  const r2 = { KernelMemory: 50 * MB };
  assert.deepEqual(verifyResources(r2, V2, { apiVersion: '1.41' }), [
    'Your kernel does not support kernel memory limit capabilities or the cgroup is not mounted. Limitation discarded.',
  ]);
  assert.equal(r2.KernelMemory, 0);
  assert.equal(err(() => verifyResources({ KernelMemory: MB }, V1, { apiVersion: '1.41' })), 'Minimum kernel memory limit allowed is 6MB');
  assert.deepEqual(verifyResources({ KernelMemory: 50 * MB }, V1, { apiVersion: '1.41' }), []);
});

test('oom-kill-disable without a memory limit warns', () => {
  assert.deepEqual(verifyResources({ OomKillDisable: true }, V1), [
    'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
  ]);
  assert.deepEqual(verifyResources({ OomKillDisable: true, Memory: 10 * MB }, V1), []);
});

test('cpu rules', () => {
  assert.equal(err(() => verifyResources({ NanoCpus: 1e9, CpuPeriod: 50000 }, V1)), 'Conflicting options: Nano CPUs and CPU Period cannot both be set');
  assert.equal(err(() => verifyResources({ NanoCpus: 1e9, CpuQuota: 50000 }, V1)), 'Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  assert.equal(err(() => verifyResources({ NanoCpus: 3e9 }, V1)), 'range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available');
  assert.equal(err(() => verifyResources({ NanoCpus: 1e9 }, { ...V1, cpuCfs: false })), 'NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  assert.equal(err(() => verifyResources({ CpuQuota: 999 }, V1)), 'CPU cfs quota can not be less than 1ms (i.e. 1000)');
  assert.deepEqual(verifyResources({ CpuQuota: -1 }, V1), []);
  assert.equal(err(() => verifyResources({ CpuPeriod: 999 }, V1)), 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  assert.equal(err(() => verifyResources({ CpuPeriod: 1_000_001 }, V1)), 'CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  assert.deepEqual(verifyResources({ CpuPercent: 50 }, V1), ['linux does not support CPU percent. Percent discarded.']);
  assert.deepEqual(verifyResources({ CpuShares: 512 }, { ...V1, cpuShares: false }), ['Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.']);
});

test('cpuset', () => {
  assert.equal(err(() => verifyResources({ CpusetCpus: '0-9' }, V1)), 'Requested CPUs are not available - requested 0-9, available: 0-1');
  assert.deepEqual(verifyResources({ CpusetCpus: '0,1', CpusetMems: '0' }, V1), []);
  assert.equal(err(() => verifyResources({ CpusetCpus: '1-' }, V1)), 'Invalid value 1- for cpuset cpus: invalid format: 1-');
  assert.equal(err(() => verifyResources({ CpusetCpus: '9000' }, V1)), 'Invalid value 9000 for cpuset cpus: value of out range, maximum is 8192');
  assert.equal(err(() => verifyResources({ CpusetMems: '1' }, V1)), 'Requested memory nodes are not available - requested 1, available: 0');
  assert.deepEqual([...parseUintList('0-2,5')], [0, 1, 2, 5]);
  assert.equal(isCpusetListAvailable('', '0-1'), true);
  assert.throws(() => parseUintList('3-1'), /invalid format: 3-1/);
});

test('pids and blkio', () => {
  assert.deepEqual(verifyResources({ PidsLimit: 10 }, { ...V1, pidsLimit: false }), ['Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.']);
  assert.equal(err(() => verifyResources({ BlkioWeight: 5 }, V1)), 'Range of blkio weight is from 10 to 1000');
  assert.equal(err(() => verifyResources({ BlkioWeight: 1001 }, V1)), 'Range of blkio weight is from 10 to 1000');
  assert.deepEqual(verifyResources({ BlkioWeight: 500 }, V1), []);
  // Without blkio.weight (BFQ-only hosts) dockerd discards it before checking the range.
  assert.deepEqual(verifyResources({ BlkioWeight: 5 }, { ...V1, blkioWeight: false }), ['Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.']);
  assert.equal(err(() => verifyResources({ IOMaximumIOps: 5 }, V1)), 'Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps');
});

test('host config checks: restart policy, AutoRemove, oom score adj, shm, warnings kept on error', () => {
  const hc = (over: Partial<HostConfig>) => ({ ...normalizeHostConfig({}), ...over });
  assert.equal(err(() => verifyHostConfigResources(hc({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } }), V1)), 'invalid restart policy: maximum retry count cannot be negative');
  assert.equal(err(() => verifyHostConfigResources(hc({ AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }), V1)), "can't create 'AutoRemove' container with restart policy");
  assert.equal(err(() => verifyHostConfigResources(hc({ OomScoreAdj: 1001 }), V1)), 'Invalid value 1001, range for oom score adj is [-1000, 1000]');
  assert.equal(err(() => verifyHostConfigResources(hc({ ShmSize: -1 }), V1)), 'SHM size can not be less than 0');
  assert.deepEqual(verifyHostConfigResources(hc({ NetworkMode: 'host', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] } }), V1), [
    'Published ports are discarded when using host network mode',
  ]);
  try {
    verifyHostConfigResources(hc({ Memory: 10 * MB, MemorySwap: 20 * MB, CpusetCpus: '7' }), V2);
    assert.fail('expected an error');
  } catch (e) {
    assert.deepEqual(warningsOf(e), ['Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.']);
    assert.equal((e as { kind?: string }).kind, 'invalid-parameter');
  }
});

test('create defaults: swap doubles memory, pids-limit <= 0 is unlimited, OomKillDisable false', () => {
  const hc = normalizeHostConfig({ Memory: 100 * MB, PidsLimit: -1 });
  normalizeCreateResources(hc);
  adaptResources(hc);
  assert.equal(hc.MemorySwap, 200 * MB);
  assert.equal(hc.PidsLimit, null);
  assert.equal(hc.OomKillDisable, false);
});

test('update: merge, conflicts, restart policy, containerd resources', () => {
  const id = 'c'.repeat(64);
  const cur = normalizeHostConfig({ Memory: 300 * MB, CpuShares: 800 });
  adaptResources(cur);
  // -m 500M: under the stored 600M swap limit → fine; untouched fields stay.
  const p = updateResources(id, cur, parseUpdateBody({ Memory: 500 * MB }), V1);
  assert.equal(p.hostConfig.Memory, 500 * MB);
  assert.equal(p.hostConfig.CpuShares, 800);
  assert.equal(cur.Memory, 300 * MB, 'input not mutated');
  assert.deepEqual(p.resources, { memory: { limit: 500 * MB } });
  assert.equal(p.restartPolicy, undefined);
  // -m 800M without --memory-swap: 409.
  assert.equal(err(() => updateResources(id, cur, { Memory: 800 * MB }, V1)),
    `Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
  const p2 = updateResources(id, cur, { Memory: 800 * MB, MemorySwap: 1000 * MB }, V1);
  assert.deepEqual(p2.resources, { memory: { limit: 800 * MB, swap: 1000 * MB } });
  // Validation errors are plain 400s.
  assert.equal(err(() => updateResources(id, cur, { Memory: 2 * MB }, V1)), 'Minimum memory limit allowed is 6MB');
  // Cpus vs period/quota across updates.
  const withCpus = normalizeHostConfig({ NanoCpus: 1e9 });
  assert.equal(err(() => updateResources(id, withCpus, { CpuQuota: 50000 }, V1)), `Cannot update container ${id}: Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set`);
  const withQuota = normalizeHostConfig({ CpuQuota: 50000 });
  assert.equal(err(() => updateResources(id, withQuota, { NanoCpus: 1e9 }, V1)), `Cannot update container ${id}: Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set`);
  assert.deepEqual(updateResources(id, withCpus, { NanoCpus: 1.5e9, CpuShares: 500, CpusetCpus: '1' }, V1).resources, {
    cpu: { cpus: '1', shares: 500, period: 100000, quota: 150000 },
  });
  // Restart policy.
  const p3 = updateResources(id, cur, parseUpdateBody({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } }), V1);
  assert.deepEqual(p3.hostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(p3.restartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(p3.resources, {});
  const auto = normalizeHostConfig({ AutoRemove: true });
  assert.equal(err(() => updateResources(id, auto, { RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } }, V1)),
    `Cannot update container ${id}: Restart policy cannot be updated because AutoRemove is enabled for the container`);
  assert.equal(err(() => updateResources(id, cur, { RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } }, V1)),
    "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  // Pids: <= 0 means unlimited (-1 for runc), stored as 0.
  const p4 = updateResources(id, normalizeHostConfig({ PidsLimit: 10 }), parseUpdateBody({ PidsLimit: -1 }), V1);
  assert.equal(p4.hostConfig.PidsLimit, 0);
  assert.deepEqual(p4.resources, { pids: { limit: -1 } });
  assert.deepEqual(toContainerdResources({ BlkioWeight: 300, PidsLimit: 20, MemoryReservation: 10 * MB }), {
    blockIO: { weight: 300 }, memory: { reservation: 10 * MB }, pids: { limit: 20 },
  });
});

test('parseUpdateBody: types, KernelMemory dropped for API >= 1.42', () => {
  assert.deepEqual(parseUpdateBody({ Memory: 10, KernelMemory: 5, CpusetCpus: '0' }), { Memory: 10, CpusetCpus: '0' });
  assert.deepEqual(parseUpdateBody({ KernelMemory: 5 }, '1.41'), { KernelMemory: 5 });
  assert.throws(() => parseUpdateBody({ Memory: '10' }), { message: 'json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64' });
});

test('readSysInfo: v2 tree and this host', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-sysinfo-'));
  try {
    await writeFile(join(dir, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
    await mkdir(join(dir, 'berth.slice'));
    await writeFile(join(dir, 'berth.slice', 'cgroup.controllers'), 'cpuset cpu memory pids\n');
    await writeFile(join(dir, 'berth.slice', 'cpuset.cpus.effective'), '0-3\n');
    await writeFile(join(dir, 'berth.slice', 'cpuset.mems.effective'), '0\n');
    await writeFile(join(dir, 'berth.slice', 'memory.swap.max'), 'max\n');
    await writeFile(join(dir, 'self'), '0::/berth.slice\n');
    const s = await readSysInfo({ root: dir, procSelfCgroup: join(dir, 'self') });
    assert.equal(s.cgroupVersion, 2);
    assert.equal(s.cpus, '0-3');
    assert.equal(s.swapLimit, true);
    assert.equal(s.blkioWeight, false);
    assert.equal(s.oomKillDisable, false);
    assert.equal(s.pidsLimit, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const host = await readSysInfo();
  assert.ok(host.cgroupVersion === 1 || host.cgroupVersion === 2);
  assert.ok(host.numCPU >= 1);
  if (host.cpuset) assert.match(host.cpus, /^[\d,-]+$/);
});
