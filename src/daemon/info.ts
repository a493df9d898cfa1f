// GET /info and GET /version: real counts and host figures, real component versions.
import os from 'node:os';
import { readdir, readFile } from 'node:fs/promises';
import type { Info, Version } from '../api/types/system.js';
import { API_VERSION, MIN_API_VERSION } from '../server/version.js';
import { rfc3339Nano } from '../pkg/timeutil.js';
import { hostArchitecture } from '../pkg/platform.js';
import { runCommand } from '../pkg/command.js';
import type { Daemon } from './daemon.js';

export const BERTH_VERSION = '0.1.0';

interface Versions {
  containerd: { version: string; revision: string };
  runc: { version: string; commit: string };
  init: { version: string; commit: string };
}

let cached: Promise<Versions> | undefined;

/** What `tool --version` prints; empty when the tool is missing or fails. */
function versionOutput(tool: string): Promise<string> {
  return runCommand(tool, ['--version']).then((r) => (r.code === 0 ? r.stdout : ''), () => '');
}

/** Component versions, asked once: they do not change while berthd runs. */
export function componentVersions(d: Daemon): Promise<Versions> {
  cached ??= (async () => {
    const containerd = await d.ctd.version();
    const runcOut = await versionOutput(d.opts.runtimePath);
    const initOut = await versionOutput(d.opts.initPath);
    return {
      containerd,
      runc: { version: /runc version (\S+)/.exec(runcOut)?.[1] ?? '', commit: /commit: (\S+)/.exec(runcOut)?.[1] ?? '' },
      init: { version: /version (\S+)/.exec(initOut)?.[1] ?? '', commit: /git\.(\w+)/.exec(initOut)?.[1] ?? '' },
    };
  })();
  return cached;
}

async function osRelease(): Promise<{ name: string; version: string }> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? '';
  return { name: get('PRETTY_NAME') || 'Linux', version: get('VERSION_ID') };
}

export async function versionInfo(d: Daemon): Promise<Version> {
  const v = await componentVersions(d);
  const engine = {
    Version: BERTH_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node${process.versions.node}`,
    Os: 'linux',
    Arch: hostArchitecture(),
    KernelVersion: os.release(),
    BuildTime: '',
  };
  return {
    Platform: { Name: 'Berth' },
    Components: [
      { Name: 'Engine', Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, Arch: engine.Arch, BuildTime: '', Experimental: 'false', GitCommit: '', GoVersion: engine.GoVersion, KernelVersion: engine.KernelVersion, MinAPIVersion: MIN_API_VERSION, Os: 'linux' } },
      { Name: 'containerd', Version: v.containerd.version, Details: { GitCommit: v.containerd.revision } },
      { Name: 'runc', Version: v.runc.version, Details: { GitCommit: v.runc.commit } },
      { Name: 'docker-init', Version: v.init.version, Details: { GitCommit: v.init.commit } },
    ],
    ...engine,
  };
}

/** A /proc/sys switch: on only when it reads 1 (absent, as without br_netfilter, is off). */
async function procFlag(path: string): Promise<boolean> {
  return (await readFile(path, 'utf8').catch(() => '0')).trim() === '1';
}

export async function systemInfo(d: Daemon): Promise<Info> {
  const v = await componentVersions(d);
  const rel = await osRelease();
  const all = d.containers.all();
  const running = all.filter((c) => c.running && !c.state.Paused).length;
  const paused = all.filter((c) => c.state.Paused).length;
  const sys = await d.sysInfo();
  const cgroupV2 = sys.cgroupVersion === 2;
  return {
    ID: d.opts.engineId,
    Containers: all.length,
    ContainersRunning: running,
    ContainersPaused: paused,
    ContainersStopped: all.length - running - paused,
    Images: d.images.imageCount(),
    Driver: 'overlay2',
    DriverStatus: d.images.driverStatus(),
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'none'], Authorization: null, Log: ['json-file', 'local'] },
    // What the host's cgroups offer, as the resource checks at create and update see it.
    MemoryLimit: sys.memoryLimit,
    SwapLimit: sys.swapLimit,
    CpuCfsPeriod: sys.cpuCfs,
    CpuCfsQuota: sys.cpuCfs,
    CPUShares: sys.cpuShares,
    CPUSet: sys.cpuset,
    PidsLimit: sys.pidsLimit,
    IPv4Forwarding: await procFlag('/proc/sys/net/ipv4/ip_forward'),
    BridgeNfIptables: await procFlag('/proc/sys/net/bridge/bridge-nf-call-iptables'),
    BridgeNfIp6tables: await procFlag('/proc/sys/net/bridge/bridge-nf-call-ip6tables'),
    Debug: d.opts.debug,
    NFd: await countFds(),
    OomKillDisable: sys.oomKillDisable,
    NGoroutines: 0,
    SystemTime: rfc3339Nano(),
    LoggingDriver: d.logConfig['log-driver'] || 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupV2 ? '2' : '1',
    NEventsListener: d.events.subscriberCount,
    KernelVersion: os.release(),
    OperatingSystem: rel.name,
    OSVersion: rel.version,
    OSType: 'linux',
    Architecture: os.machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: d.distribution.registries.info(),
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    GenericResources: null,
    DockerRootDir: d.opts.dataRoot,
    HttpProxy: process.env.HTTP_PROXY ?? process.env.http_proxy ?? '',
    HttpsProxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '',
    NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
    Name: os.hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: BERTH_VERSION,
    Runtimes: { runc: { path: d.opts.runtimePath } },
    DefaultRuntime: 'runc',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: d.liveRestore,
    Isolation: '',
    InitBinary: 'docker-init',
    ContainerdCommit: { ID: v.containerd.revision },
    RuncCommit: { ID: v.runc.commit },
    InitCommit: { ID: v.init.commit },
    SecurityOptions: ['name=seccomp,profile=builtin', ...(d.opts.idMap ? ['name=userns'] : []), ...(cgroupV2 ? ['name=cgroupns'] : [])],
    CDISpecDirs: [],
    Warnings: await networkWarnings(),
  };
}

async function countFds(): Promise<number> {
  return (await readdir('/proc/self/fd').catch(() => [])).length;
}

/** dockerd's bridge-netfilter warnings (only when br_netfilter is loaded with the hooks off). */
async function networkWarnings(): Promise<string[]> {
  const out: string[] = [];
  for (const v of ['iptables', 'ip6tables']) {
    const val = await readFile(`/proc/sys/net/bridge/bridge-nf-call-${v}`, 'utf8').catch(() => '');
    if (val.trim() === '0') out.push(`WARNING: bridge-nf-call-${v} is disabled`);
  }
  return out;
}
