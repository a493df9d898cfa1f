// Facts about the host that spec generation depends on. They don't change while the daemon runs,
// so they are read once, asynchronously, when this module is first imported.

import { access, readFile } from 'node:fs/promises';

/** Capability names by number, as the kernel (and containerd's cap package) number them. */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

export interface HostRlimit {
  soft: number; // Infinity = unlimited
  hard: number;
}

export interface HostFacts {
  /** /proc/sys/kernel/cap_last_cap (-1 if unreadable). */
  capLastCap: number;
  /**
   * Capabilities this daemon actually holds (its effective set, limited to what the kernel
   * knows). This, not cap_last_cap alone, is "all capabilities": a runtime can't grant a
   * capability missing from its own bounding set (e.g. CAP_SYS_RESOURCE dropped in a sandbox).
   */
  allCapabilities: string[];
  /** Per-CPU thermal_throttle directories that exist and are masked, as dockerd does. */
  thermalThrottlePaths: string[];
  /** cgroup v2 unified hierarchy at /sys/fs/cgroup. */
  cgroupV2: boolean;
  /** Our own resource limits by rlimit name (lower case, e.g. "nofile"); the runtime inherits them. */
  rlimits: Map<string, HostRlimit>;
  /** Default sysctls dockerd sets only when the kernel has them. */
  hasPingGroupRange: boolean;
  hasUnprivilegedPortStart: boolean;
}

const readText = async (path: string): Promise<string | undefined> => {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
};

const exists = async (path: string): Promise<boolean> => {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
};

/** Parses a CPU list like "0-3,8,10-11". */
export function parseCpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map((n) => Number.parseInt(n, 10));
    if (a === undefined || Number.isNaN(a)) continue;
    const end = b === undefined || Number.isNaN(b) ? a : b;
    for (let i = a; i <= end; i++) out.push(i);
  }
  return out;
}

// /proc/self/limits labels → rlimit names as used by `--ulimit`.
const limitLabels: Record<string, string> = {
  'Max cpu time': 'cpu',
  'Max file size': 'fsize',
  'Max data size': 'data',
  'Max stack size': 'stack',
  'Max core file size': 'core',
  'Max resident set': 'rss',
  'Max processes': 'nproc',
  'Max open files': 'nofile',
  'Max locked memory': 'memlock',
  'Max address space': 'as',
  'Max file locks': 'locks',
  'Max pending signals': 'sigpending',
  'Max msgqueue size': 'msgqueue',
  'Max nice priority': 'nice',
  'Max realtime priority': 'rtprio',
  'Max realtime timeout': 'rttime',
};

export function parseProcLimits(text: string): Map<string, HostRlimit> {
  const out = new Map<string, HostRlimit>();
  const num = (s: string): number => (s === 'unlimited' ? Infinity : Number(s));
  for (const line of text.split('\n')) {
    for (const [label, name] of Object.entries(limitLabels)) {
      if (!line.startsWith(label + ' ')) continue;
      const [soft, hard] = line.slice(label.length).trim().split(/\s+/);
      if (soft !== undefined && hard !== undefined) out.set(name, { soft: num(soft), hard: num(hard) });
    }
  }
  return out;
}

/** Capability names whose bits are set in a /proc/<pid>/status hex mask. */
export function capsFromMask(hex: string, lastCap: number): string[] {
  const mask = BigInt('0x' + hex.trim());
  const last = lastCap >= 0 ? Math.min(lastCap, KNOWN_CAPABILITIES.length - 1) : KNOWN_CAPABILITIES.length - 1;
  const out: string[] = [];
  for (let i = 0; i <= last; i++) {
    if ((mask >> BigInt(i)) & 1n) out.push(KNOWN_CAPABILITIES[i]!);
  }
  return out;
}

async function readHostFacts(): Promise<HostFacts> {
  const lastText = await readText('/proc/sys/kernel/cap_last_cap');
  const capLastCap = lastText ? Number.parseInt(lastText, 10) : -1;
  const status = (await readText('/proc/self/status')) ?? '';
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const allCapabilities = capEff
    ? capsFromMask(capEff, capLastCap)
    : KNOWN_CAPABILITIES.slice(0, capLastCap >= 0 ? capLastCap + 1 : undefined);

  const cpus = parseCpuList((await readText('/sys/devices/system/cpu/possible')) ?? '');
  const thermalThrottlePaths: string[] = [];
  for (const cpu of cpus) {
    const p = `/sys/devices/system/cpu/cpu${cpu}/thermal_throttle`;
    if (await exists(p)) thermalThrottlePaths.push(p);
  }

  return {
    capLastCap,
    allCapabilities,
    thermalThrottlePaths,
    cgroupV2: await exists('/sys/fs/cgroup/cgroup.controllers'),
    rlimits: parseProcLimits((await readText('/proc/self/limits')) ?? ''),
    hasPingGroupRange: await exists('/proc/sys/net/ipv4/ping_group_range'),
    hasUnprivilegedPortStart: await exists('/proc/sys/net/ipv4/ip_unprivileged_port_start'),
  };
}

export const hostFacts: HostFacts = await readHostFacts();
