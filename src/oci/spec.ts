// OCI runtime spec generation with dockerd's defaults (daemon/pkg/oci/defaults.go and
// daemon/oci_linux.go): the default spec, then the container's options applied in dockerd's order.

import type { ContainerConfig, HostConfig, SpecMount, Ulimit } from '../api/types/container.js';
import { invalidParameter } from '../pkg/errors.js';
import { containerSeccomp } from '../profiles/seccomp/seccomp.js';
import { DEFAULT_CAPABILITIES, tweakCapabilities } from './caps.js';
import { devicesFromPath, hostDevices, parseDeviceCgroupRules } from './devices.js';
import { hostFacts } from './host.js';
import { parseSecurityOpt } from './security.js';
import {
  OCI_VERSION,
  type LinuxCPU,
  type LinuxDevice,
  type LinuxDeviceCgroup,
  type LinuxMemory,
  type LinuxNamespace,
  type LinuxResources,
  type Mount,
  type POSIXRlimit,
  type Spec,
} from './types.js';
import type { ResolvedUser } from './user.js';
import type { IdentityMapping } from '../pkg/idmap.js';

export * from './types.js';

/** Where the init binary (tini) appears inside the container, and how it's invoked. */
export const INIT_PATH_IN_CONTAINER = '/sbin/docker-init';
export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** RLIM_INFINITY; a bigint because 2^64-1 isn't exact as a JS number. */
export const RLIM_INFINITY = 2n ** 64n - 1n;

export type NamespaceMode = { mode: 'new' } | { mode: 'host' } | { mode: 'path'; path: string };
/** IPC additionally has "none": a private namespace without /dev/shm. */
export type IpcNamespaceMode = NamespaceMode | { mode: 'none' };

export interface SpecOptions {
  id: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** The final command line: entrypoint + cmd. */
  args: string[];
  /** The final environment (the daemon adds PATH, HOSTNAME, TERM). */
  env: string[];
  /** Working directory; "/" when the image and config leave it empty. */
  cwd: string;
  user: ResolvedUser;
  hostname: string;
  /** Set through the kernel.domainname sysctl (the OCI spec has no field for it). */
  domainname?: string;
  /** Daemon-provided mounts (binds of /etc/hosts, resolv.conf, hostname, volumes, tmpfs…). */
  mounts: SpecMount[];
  network: NamespaceMode;
  ipc?: IpcNamespaceMode;
  pid?: NamespaceMode;
  /** e.g. /berth/<id> (cgroupfs driver) or system.slice:berth:<id> (systemd). */
  cgroupsPath: string;
  /** When HostConfig.Init (or the daemon's --init): the host path of tini. */
  initPath?: string;
  /** The daemon's --default-ulimit values; HostConfig.Ulimits override them by name. */
  defaultUlimits?: Ulimit[];
  /** The daemon's --no-new-privileges default. */
  daemonNoNewPrivileges?: boolean;
  /** The daemon's --seccomp-profile (JSON text, or "unconfined"). */
  daemonSeccompProfile?: string;
  /** Overrides the host architecture for seccomp (tests). */
  arch?: string;
  /** linux.rootfsPropagation ("shared", "rslave") when bind mounts need it. */
  rootfsPropagation?: string;
  /** The daemon's --userns-remap mappings (whether or not this container opted out). */
  idMap?: IdentityMapping;
  /**
   * The container's user namespace under remapping: a new one with the daemon's mappings, or the
   * one of the container whose namespaces it joins (`path`); undefined with --userns=host.
   */
  userns?: { path?: string };
}

/** The paths dockerd masks by default; the daemon stores them in HostConfig.MaskedPaths at create. */
export function defaultMaskedPaths(): string[] {
  return [
    '/proc/acpi',
    '/proc/asound',
    '/proc/interrupts',
    '/proc/kcore',
    '/proc/keys',
    '/proc/latency_stats',
    '/proc/sched_debug',
    '/proc/scsi',
    '/proc/timer_list',
    '/proc/timer_stats',
    '/sys/devices/virtual/powercap',
    '/sys/firmware',
    ...hostFacts.thermalThrottlePaths,
  ];
}

/** The paths dockerd makes read-only by default (HostConfig.ReadonlyPaths at create). */
export function defaultReadonlyPaths(): string[] {
  return ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];
}

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777'] },
  ];
}

/**
 * The device cgroup rules every container starts with: deny all, then allow the devices runc
 * creates in /dev (null, zero, full, random, urandom, tty, console, ptmx) and deny /dev/net/tun.
 */
export function defaultDeviceRules(): LinuxDeviceCgroup[] {
  const c = (major: number, minor: number, allow = true): LinuxDeviceCgroup => ({ allow, type: 'c', major, minor, access: 'rwm' });
  return [{ allow: false, access: 'rwm' }, c(1, 5), c(1, 3), c(1, 9), c(1, 8), c(5, 0), c(5, 1), c(10, 229, false)];
}

const depth = (dest: string): number => (dest.replace(/\/+$/, '') || '/').split('/').length - 1;

const withoutRo = (m: Mount): Mount => ({ ...m, options: (m.options ?? []).filter((o) => o !== 'ro') });

function mergeMounts(o: SpecOptions, readonlyRootfs: boolean, privileged: boolean, writableCgroups: boolean): Mount[] {
  // Parents before children, keeping the daemon's order otherwise (dockerd's sortMounts).
  const user = [...o.mounts].sort((a, b) => depth(a.destination) - depth(b.destination));
  const userDests = new Set(user.map((m) => m.destination));
  const userDev = userDests.has('/dev');
  const shmSize = o.hostConfig.ShmSize > 0 ? o.hostConfig.ShmSize : DEFAULT_SHM_SIZE;

  const out: Mount[] = [];
  for (const m of defaultMounts()) {
    if (userDests.has(m.destination)) continue; // replaced by the daemon's mount
    if (userDev && m.destination.startsWith('/dev/')) continue; // a user /dev hides ours beneath it
    if (m.destination === '/dev/shm') {
      if (o.ipc?.mode === 'none') continue;
      m.options = [...(m.options ?? []), `size=${shmSize}`];
    }
    out.push(m);
  }
  if (o.initPath && (o.pid ?? { mode: 'new' }).mode === 'new' && !userDests.has(INIT_PATH_IN_CONTAINER)) {
    out.push({ destination: INIT_PATH_IN_CONTAINER, type: 'bind', source: o.initPath, options: ['bind', 'ro'] });
  }
  const ours = out.length;
  for (const m of user) out.push({ destination: m.destination, type: m.type, source: m.source, options: [...m.options] });

  return out.map((m, i) => {
    let r = m;
    // A read-only rootfs makes our own mounts read-only too, except the ones a process needs to write.
    if (readonlyRootfs && i < ours && !['/proc', '/dev/pts', '/dev/shm', '/dev/mqueue', '/dev'].includes(m.destination)) {
      if (!(m.options ?? []).includes('ro')) r = { ...m, options: [...(m.options ?? []), 'ro'] };
    }
    if (privileged && r.destination === '/sys') r = withoutRo(r);
    if (writableCgroups && r.type === 'cgroup') r = withoutRo(r);
    return r;
  });
}

function namespace(type: LinuxNamespace['type'], mode: NamespaceMode | IpcNamespaceMode | undefined): LinuxNamespace[] {
  const m = mode ?? { mode: 'new' };
  if (m.mode === 'host') return [];
  if (m.mode === 'path') return [{ type, path: m.path }];
  return [{ type }];
}

function cgroupnsPrivate(hc: HostConfig): boolean {
  if (hc.CgroupnsMode === 'private') return true;
  if (hc.CgroupnsMode === 'host') return false;
  if (hc.CgroupnsMode) throw invalidParameter(`invalid cgroup namespace mode: ${hc.CgroupnsMode}`);
  // dockerd's default: private on cgroup v2 (unified), host on v1.
  return hostFacts.cgroupV2;
}

/** HostConfig.Ulimits over the daemon defaults, clamped to our own hard limits. */
function rlimits(hc: HostConfig, defaults: Ulimit[] | undefined): POSIXRlimit[] | undefined {
  const byName = new Map<string, Ulimit>();
  for (const u of defaults ?? []) byName.set(u.Name, u);
  for (const u of hc.Ulimits ?? []) byName.set(u.Name, u);
  if (byName.size === 0) return undefined; // inherit the runtime's limits
  const out: POSIXRlimit[] = [];
  for (const u of byName.values()) {
    // Raising a hard limit above ours needs CAP_SYS_RESOURCE, which the runtime may not have.
    const hostHard = hostFacts.rlimits.get(u.Name.toLowerCase())?.hard ?? Infinity;
    const clamp = (v: number): number => Math.min(v < 0 ? Infinity : v, hostHard);
    const hard = clamp(u.Hard);
    const soft = Math.min(clamp(u.Soft), hard);
    const enc = (v: number): number | bigint => (v === Infinity ? RLIM_INFINITY : v);
    out.push({ type: 'RLIMIT_' + u.Name.toUpperCase(), hard: enc(hard), soft: enc(soft) });
  }
  return out;
}

function memoryResources(hc: HostConfig): LinuxMemory | undefined {
  const m: LinuxMemory = {};
  if (hc.Memory > 0) m.limit = hc.Memory;
  if (hc.MemoryReservation > 0) m.reservation = hc.MemoryReservation;
  if (hc.MemorySwap > 0) m.swap = hc.MemorySwap;
  // -1 is the API's "unset".
  if (hc.MemorySwappiness != null && hc.MemorySwappiness >= 0) m.swappiness = hc.MemorySwappiness;
  if (hc.OomKillDisable != null) m.disableOOMKiller = hc.OomKillDisable;
  return Object.keys(m).length ? m : undefined;
}

function cpuResources(hc: HostConfig): LinuxCPU | undefined {
  const c: LinuxCPU = {};
  if (hc.CpuShares) {
    if (hc.CpuShares < 0) throw invalidParameter(`invalid CPU shares (${hc.CpuShares}): value must be a positive integer`);
    c.shares = hc.CpuShares;
  }
  if (hc.CpusetCpus) c.cpus = hc.CpusetCpus;
  if (hc.CpusetMems) c.mems = hc.CpusetMems;
  if (hc.NanoCpus > 0) {
    c.period = 100_000; // 100ms, in µs
    c.quota = Math.floor((hc.NanoCpus * c.period) / 1e9);
  }
  if (hc.CpuPeriod) c.period = hc.CpuPeriod;
  if (hc.CpuQuota) c.quota = hc.CpuQuota;
  if (hc.CpuRealtimePeriod) c.realtimePeriod = hc.CpuRealtimePeriod;
  if (hc.CpuRealtimeRuntime) c.realtimeRuntime = hc.CpuRealtimeRuntime;
  return Object.keys(c).length ? c : undefined;
}

/** Builds the OCI spec for a container. Rejects (invalid parameter) on invalid options. */
export async function createSpec(o: SpecOptions): Promise<Spec> {
  const hc = o.hostConfig;
  const privileged = hc.Privileged;
  const sec = parseSecurityOpt(hc.SecurityOpt, o.daemonNoNewPrivileges);
  const caps = tweakCapabilities(DEFAULT_CAPABILITIES, hc.CapAdd, hc.CapDrop, privileged);
  const utsHost = hc.UTSMode === 'host';
  const pidMode = o.pid ?? { mode: 'new' };
  const userns = o.idMap && o.userns ? o.userns : undefined;

  let args = [...o.args];
  if (o.initPath && pidMode.mode === 'new') args = [INIT_PATH_IN_CONTAINER, '--', ...args];

  // Devices: privileged containers see every host device and may use any.
  const devices: LinuxDevice[] = [];
  const rules = defaultDeviceRules();
  if (privileged) {
    devices.push(...(await hostDevices()));
    for (const d of hc.Devices ?? []) {
      if (d.PathOnHost === d.PathInContainer) continue; // already there
      devices.push(...(await devicesFromPath(d.PathOnHost, d.PathInContainer, 'rwm')).devices);
    }
    rules.push({ allow: true, access: 'rwm' });
  } else {
    for (const d of hc.Devices ?? []) {
      const r = await devicesFromPath(d.PathOnHost, d.PathInContainer, d.CgroupPermissions || 'rwm');
      devices.push(...r.devices);
      rules.push(...r.rules);
    }
    rules.push(...parseDeviceCgroupRules(hc.DeviceCgroupRules));
  }

  const resources: LinuxResources = { devices: rules };
  const memory = memoryResources(hc);
  if (memory) resources.memory = memory;
  const cpu = cpuResources(hc);
  if (cpu) resources.cpu = cpu;
  if (hc.PidsLimit != null) resources.pids = { limit: hc.PidsLimit > 0 ? hc.PidsLimit : -1 };
  if (hc.BlkioWeight) resources.blockIO = { weight: hc.BlkioWeight };

  const sysctl: Record<string, string> = {};
  if (o.network.mode === 'new') {
    // Safe, useful defaults dockerd sets in a private network namespace: unprivileged ICMP
    // echo sockets (not in a user namespace, where it cannot be set) and binding ports < 1024
    // without capabilities.
    if (hostFacts.hasPingGroupRange && !userns) sysctl['net.ipv4.ping_group_range'] = '0 2147483647';
    if (hostFacts.hasUnprivilegedPortStart) sysctl['net.ipv4.ip_unprivileged_port_start'] = '0';
  }
  if (o.domainname) sysctl['kernel.domainname'] = o.domainname;
  Object.assign(sysctl, hc.Sysctls ?? {});

  const namespaces: LinuxNamespace[] = [
    { type: 'mount' },
    ...namespace('network', o.network),
    ...(utsHost ? [] : [{ type: 'uts' as const }]),
    ...namespace('pid', pidMode),
    ...namespace('ipc', o.ipc),
    ...(cgroupnsPrivate(hc) ? [{ type: 'cgroup' as const }] : []),
    ...(userns ? [userns.path ? { type: 'user' as const, path: userns.path } : { type: 'user' as const }] : []),
  ];

  // A read-only cgroup mount cannot be remounted in a user namespace: dockerd leaves it writable
  // whenever the daemon remaps.
  const writableCgroups = o.idMap ? true : (sec.writableCgroups ?? privileged);
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: o.config.Tty,
      user: {
        uid: o.user.uid,
        gid: o.user.gid,
        additionalGids: o.user.additionalGids.length ? [...o.user.additionalGids] : [o.user.gid],
      },
      args,
      env: [...o.env],
      cwd: o.cwd || '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      oomScoreAdj: hc.OomScoreAdj,
    },
    root: { path: 'rootfs', readonly: hc.ReadonlyRootfs },
    mounts: mergeMounts(o, hc.ReadonlyRootfs, privileged, writableCgroups),
    linux: {
      sysctl,
      resources,
      cgroupsPath: o.cgroupsPath,
      namespaces,
      devices,
    },
  };
  if (userns && o.idMap) {
    spec.linux.uidMappings = o.idMap.uidMaps.map((m) => ({ ...m }));
    spec.linux.gidMappings = o.idMap.gidMaps.map((m) => ({ ...m }));
  }
  if (!utsHost && o.hostname) spec.hostname = o.hostname;
  if (o.rootfsPropagation) spec.linux.rootfsPropagation = o.rootfsPropagation;
  if (o.config.Tty && (hc.ConsoleSize?.[0] > 0 || hc.ConsoleSize?.[1] > 0)) {
    spec.process.consoleSize = { height: hc.ConsoleSize[0], width: hc.ConsoleSize[1] };
  }
  const limits = rlimits(hc, o.defaultUlimits);
  if (limits) spec.process.rlimits = limits;
  if (sec.noNewPrivileges) spec.process.noNewPrivileges = true;
  if (hc.Annotations && Object.keys(hc.Annotations).length) spec.annotations = { ...hc.Annotations };

  // Masked/read-only paths: none for privileged, unless HostConfig says otherwise.
  const masked = hc.MaskedPaths ?? (privileged ? undefined : defaultMaskedPaths());
  const readonly = hc.ReadonlyPaths ?? (privileged ? undefined : defaultReadonlyPaths());
  if (masked?.length) spec.linux.maskedPaths = [...masked];
  if (readonly?.length) spec.linux.readonlyPaths = [...readonly];

  const seccomp = containerSeccomp({
    profile: sec.seccompProfile,
    privileged,
    caps,
    arch: o.arch,
    daemonProfile: o.daemonSeccompProfile,
  });
  if (seccomp) spec.linux.seccomp = seccomp;
  return spec;
}

/**
 * JSON for the runtime. Use this rather than JSON.stringify: rlimits may hold RLIM_INFINITY as a
 * bigint, written here as an exact integer.
 */
export function specToJSON(spec: Spec): string {
  const marker = '\u0000bigint:';
  const json = JSON.stringify(spec, (_k, v: unknown) => (typeof v === 'bigint' ? marker + v.toString() : v));
  return json.replace(/"\\u0000bigint:(\d+)"/g, '$1');
}
