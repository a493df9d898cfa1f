// Normalising a create request's Config and HostConfig to dockerd's full shape, and merging the
// image's config into it (dockerd's container.Merge).
import type { ContainerConfig, HostConfig } from '../api/types/container.js';
import { invalidParameter } from '../pkg/errors.js';
import { mergeHealthcheck } from './health.js';

type Json = Record<string, unknown>;

const strArray = (v: unknown, field: string): string[] | null => {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field ${field} of type []string`);
  }
  return v as string[];
};

function field<T>(obj: Json, key: string, type: 'string' | 'boolean' | 'number', def: T, where: string): T {
  const v = obj[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== type) {
    const goType = type === 'number' ? 'int64' : type === 'boolean' ? 'bool' : 'string';
    throw invalidParameter(`json: cannot unmarshal ${typeof v} into Go struct field ${where}.${key} of type ${goType}`);
  }
  return v as T;
}

function record(v: unknown, where: string): Record<string, string> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw invalidParameter(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go struct field ${where} of type map[string]string`);
  }
  return v as Record<string, string>;
}

/**
 * A Healthcheck as Go decodes it: a null field is the zero value, which omitempty then leaves
 * out (SDKs send `"Interval": null` for "not set").
 */
function healthcheck(v: unknown): ContainerConfig['Healthcheck'] {
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw invalidParameter(`json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go struct field Config.Healthcheck of type container.HealthConfig`);
  }
  return Object.fromEntries(Object.entries(v as Json).filter(([, x]) => x !== null)) as ContainerConfig['Healthcheck'];
}

export function normalizeConfig(body: Json): ContainerConfig {
  const s = (k: string) => field<string>(body, k, 'string', '', 'Config');
  const b = (k: string) => field<boolean>(body, k, 'boolean', false, 'Config');
  const cfg: ContainerConfig = {
    Hostname: s('Hostname'),
    Domainname: s('Domainname'),
    User: s('User'),
    AttachStdin: b('AttachStdin'),
    AttachStdout: b('AttachStdout'),
    AttachStderr: b('AttachStderr'),
    Tty: b('Tty'),
    OpenStdin: b('OpenStdin'),
    StdinOnce: b('StdinOnce'),
    Env: strArray(body.Env, 'Config.Env'),
    Cmd: strArray(body.Cmd, 'Config.Cmd'),
    Image: s('Image'),
    Volumes: (body.Volumes as ContainerConfig['Volumes']) ?? null,
    WorkingDir: s('WorkingDir'),
    Entrypoint: strArray(body.Entrypoint, 'Config.Entrypoint'),
    OnBuild: strArray(body.OnBuild, 'Config.OnBuild'),
    Labels: record(body.Labels, 'Config.Labels'),
  };
  if (body.ExposedPorts) cfg.ExposedPorts = body.ExposedPorts as ContainerConfig['ExposedPorts'];
  if (body.Healthcheck) cfg.Healthcheck = healthcheck(body.Healthcheck);
  if (body.ArgsEscaped) cfg.ArgsEscaped = true;
  if (body.NetworkDisabled) cfg.NetworkDisabled = true;
  if (typeof body.MacAddress === 'string' && body.MacAddress) cfg.MacAddress = body.MacAddress;
  if (typeof body.StopSignal === 'string' && body.StopSignal) cfg.StopSignal = body.StopSignal;
  if (body.StopTimeout !== undefined && body.StopTimeout !== null) {
    cfg.StopTimeout = field<number>(body, 'StopTimeout', 'number', 0, 'Config');
  }
  if (body.Shell) cfg.Shell = strArray(body.Shell, 'Config.Shell') ?? undefined;
  if (cfg.Env) {
    for (const e of cfg.Env) {
      if (e.startsWith('=') || e === '') throw invalidParameter(`invalid environment variable: ${e}`);
    }
  }
  return cfg;
}

export function normalizeHostConfig(raw: unknown): HostConfig {
  const h = (raw && typeof raw === 'object' ? raw : {}) as Json;
  const s = (k: string, def = '') => field<string>(h, k, 'string', def, 'HostConfig');
  const n = (k: string, def = 0) => field<number>(h, k, 'number', def, 'HostConfig');
  const b = (k: string) => field<boolean>(h, k, 'boolean', false, 'HostConfig');
  const arr = (k: string) => strArray(h[k], `HostConfig.${k}`);
  const lc = (h.LogConfig ?? {}) as Json;
  const rp = (h.RestartPolicy ?? {}) as Json;
  const networkMode = s('NetworkMode');
  return {
    Binds: arr('Binds'),
    ContainerIDFile: s('ContainerIDFile'),
    // An empty Type stays empty so that create fills in the daemon's default driver (mergeLogConfig).
    LogConfig: { Type: (lc.Type as string) || '', Config: (lc.Config as Record<string, string>) ?? {} },
    NetworkMode: networkMode === '' || networkMode === 'default' ? 'bridge' : networkMode,
    PortBindings: (h.PortBindings as HostConfig['PortBindings']) ?? {},
    RestartPolicy: {
      Name: ((rp.Name as string) || 'no') as HostConfig['RestartPolicy']['Name'],
      MaximumRetryCount: (rp.MaximumRetryCount as number) ?? 0,
    },
    AutoRemove: b('AutoRemove'),
    VolumeDriver: s('VolumeDriver'),
    VolumesFrom: arr('VolumesFrom'),
    ConsoleSize: Array.isArray(h.ConsoleSize) ? [Number(h.ConsoleSize[0]) || 0, Number(h.ConsoleSize[1]) || 0] : [0, 0],
    Annotations: record(h.Annotations, 'HostConfig.Annotations') ?? undefined,
    CapAdd: arr('CapAdd'),
    CapDrop: arr('CapDrop'),
    CgroupnsMode: s('CgroupnsMode') || 'host',
    Dns: arr('Dns') ?? [],
    DnsOptions: arr('DnsOptions') ?? [],
    DnsSearch: arr('DnsSearch') ?? [],
    ExtraHosts: arr('ExtraHosts'),
    GroupAdd: arr('GroupAdd'),
    IpcMode: s('IpcMode') || 'private',
    Cgroup: s('Cgroup'),
    Links: arr('Links'),
    OomScoreAdj: n('OomScoreAdj'),
    PidMode: s('PidMode'),
    Privileged: b('Privileged'),
    PublishAllPorts: b('PublishAllPorts'),
    ReadonlyRootfs: b('ReadonlyRootfs'),
    SecurityOpt: arr('SecurityOpt'),
    StorageOpt: record(h.StorageOpt, 'HostConfig.StorageOpt') ?? undefined,
    Tmpfs: record(h.Tmpfs, 'HostConfig.Tmpfs') ?? undefined,
    UTSMode: s('UTSMode'),
    UsernsMode: s('UsernsMode'),
    ShmSize: n('ShmSize') || 64 * 1024 * 1024,
    Sysctls: record(h.Sysctls, 'HostConfig.Sysctls') ?? undefined,
    Runtime: s('Runtime') || 'runc',
    Isolation: s('Isolation'),
    CpuShares: n('CpuShares'),
    Memory: n('Memory'),
    NanoCpus: n('NanoCpus'),
    CgroupParent: s('CgroupParent'),
    BlkioWeight: n('BlkioWeight'),
    BlkioWeightDevice: (h.BlkioWeightDevice as unknown[]) ?? [],
    BlkioDeviceReadBps: (h.BlkioDeviceReadBps as unknown[]) ?? [],
    BlkioDeviceWriteBps: (h.BlkioDeviceWriteBps as unknown[]) ?? [],
    BlkioDeviceReadIOps: (h.BlkioDeviceReadIOps as unknown[]) ?? [],
    BlkioDeviceWriteIOps: (h.BlkioDeviceWriteIOps as unknown[]) ?? [],
    CpuPeriod: n('CpuPeriod'),
    CpuQuota: n('CpuQuota'),
    CpuRealtimePeriod: n('CpuRealtimePeriod'),
    CpuRealtimeRuntime: n('CpuRealtimeRuntime'),
    CpusetCpus: s('CpusetCpus'),
    CpusetMems: s('CpusetMems'),
    Devices: (h.Devices as HostConfig['Devices']) ?? [],
    DeviceCgroupRules: arr('DeviceCgroupRules'),
    DeviceRequests: (h.DeviceRequests as unknown[]) ?? null,
    MemoryReservation: n('MemoryReservation'),
    MemorySwap: n('MemorySwap'),
    MemorySwappiness: (h.MemorySwappiness as number | null) ?? null,
    OomKillDisable: (h.OomKillDisable as boolean | null) ?? null,
    PidsLimit: (h.PidsLimit as number | null) ?? null,
    Ulimits: (h.Ulimits as HostConfig['Ulimits']) ?? [],
    CpuCount: n('CpuCount'),
    CpuPercent: n('CpuPercent'),
    IOMaximumIOps: n('IOMaximumIOps'),
    IOMaximumBandwidth: n('IOMaximumBandwidth'),
    Mounts: Array.isArray(h.Mounts) ? h.Mounts : undefined,
    MaskedPaths: arr('MaskedPaths'),
    ReadonlyPaths: arr('ReadonlyPaths'),
    Init: (h.Init as boolean | null) ?? null,
  };
}

/** The parts of an image config a container inherits. */
export interface ImageRunConfig {
  User?: string;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Entrypoint?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, Record<string, never>>;
  Volumes?: Record<string, Record<string, never>> | null;
  StopSignal?: string;
  Healthcheck?: ContainerConfig['Healthcheck'];
  ArgsEscaped?: boolean;
  Shell?: string[];
}

/** dockerd's container.Merge: the user's values win, the image fills the gaps. */
export function mergeImageConfig(user: ContainerConfig, image: ImageRunConfig): void {
  if (!user.User) user.User = image.User ?? '';
  if (image.ExposedPorts) user.ExposedPorts = { ...image.ExposedPorts, ...(user.ExposedPorts ?? {}) };
  if (image.Env && image.Env.length > 0) {
    const env = user.Env ?? [];
    const keys = new Set(env.map((e) => e.split('=')[0]));
    for (const e of image.Env) if (!keys.has(e.split('=')[0])) env.push(e);
    user.Env = env;
  }
  if (image.Labels) user.Labels = { ...image.Labels, ...(user.Labels ?? {}) };
  if (!user.Entrypoint || user.Entrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) {
      user.Cmd = image.Cmd ?? null;
      if (image.ArgsEscaped) user.ArgsEscaped = true;
    }
    if (user.Entrypoint === null || user.Entrypoint === undefined) user.Entrypoint = image.Entrypoint ?? null;
  }
  user.Healthcheck = mergeHealthcheck(user.Healthcheck, image.Healthcheck);
  if (user.Healthcheck === undefined) delete user.Healthcheck;
  if (!user.WorkingDir) user.WorkingDir = image.WorkingDir ?? '';
  if (image.Volumes) user.Volumes = { ...image.Volumes, ...(user.Volumes ?? {}) };
  if (!user.StopSignal && image.StopSignal) user.StopSignal = image.StopSignal;
  if (!user.Shell && image.Shell) user.Shell = image.Shell;
}
