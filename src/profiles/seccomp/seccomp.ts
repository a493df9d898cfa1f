// Turns a Docker-format seccomp profile into the OCI `linux.seccomp` section for one container,
// resolving the conditional rules against its capabilities, the host architecture and kernel.

import { release } from 'node:os';
import { invalidParameter } from '../../pkg/errors.js';
import { defaultProfileSource } from './default.js';
import type { LinuxSeccomp, LinuxSyscall, SeccompFilter, SeccompProfile } from './types.js';

export type * from './types.js';

/** `--security-opt seccomp=unconfined`: run without a filter. */
export const SECCOMP_UNCONFINED = 'unconfined';
/** `--security-opt seccomp=builtin`: the default profile, even if the daemon has another. */
export const SECCOMP_BUILTIN = 'builtin';

// Node's process.arch → libseccomp's native arch names (what profile `arches` filters use).
const nodeToNative: Record<string, string> = {
  x64: 'amd64',
  ia32: 'x86',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loongarch64',
  mips64el: 'mipsel64',
};

const nativeToSeccomp: Record<string, string> = {
  x86: 'SCMP_ARCH_X86',
  amd64: 'SCMP_ARCH_X86_64',
  arm: 'SCMP_ARCH_ARM',
  arm64: 'SCMP_ARCH_AARCH64',
  loongarch64: 'SCMP_ARCH_LOONGARCH64',
  mipsel64: 'SCMP_ARCH_MIPSEL64',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  riscv64: 'SCMP_ARCH_RISCV64',
  s390x: 'SCMP_ARCH_S390X',
};

/** Accepts a Node arch (`x64`) or a libseccomp native name (`amd64`). */
function nativeArch(arch: string): string {
  return nodeToNative[arch] ?? arch;
}

interface KernelVersion {
  kernel: number;
  major: number;
}

function parseKernel(v: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)/.exec(v);
  return m ? { kernel: Number(m[1]), major: Number(m[2]) } : undefined;
}

const hostKernel = parseKernel(release());

function kernelAtLeast(min: string): boolean {
  const want = parseKernel(min);
  if (!want) throw invalidParameter(`invalid kernel version: "${min}", expected "<kernel>.<major>"`);
  if (!hostKernel) return false;
  return hostKernel.kernel > want.kernel || (hostKernel.kernel === want.kernel && hostKernel.major >= want.major);
}

export interface SeccompContext {
  /** The container's bounding capabilities (CAP_ prefixed), which `caps` filters test. */
  caps: readonly string[];
  arch?: string;
}

/**
 * Resolves a Docker-format profile: keeps a rule when every `includes` condition holds and no
 * `excludes` condition does (caps: all/any in the bounding set; arches: the native arch;
 * minKernel: the host kernel), and expands `archMap` for the native arch.
 * Returns undefined for an empty profile (no default action and no rules), as dockerd does.
 */
export function setupSeccomp(profile: SeccompProfile, ctx: SeccompContext): LinuxSeccomp | undefined {
  const syscalls = profile.syscalls ?? [];
  if (!profile.defaultAction && syscalls.length === 0) return undefined;
  if (profile.architectures?.length && profile.archMap?.length) {
    throw invalidParameter(
      "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'",
    );
  }
  const arch = nativeArch(ctx.arch ?? process.arch);
  const out: LinuxSeccomp = { defaultAction: profile.defaultAction ?? 'SCMP_ACT_ERRNO' };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const archs = [...(profile.architectures ?? [])];
  const seccompArch = nativeToSeccomp[arch];
  const entry = profile.archMap?.find((a) => a.architecture === seccompArch);
  if (entry) archs.push(entry.architecture, ...(entry.subArchitectures ?? []));
  if (archs.length) out.architectures = archs;
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;

  const caps = new Set(ctx.caps);
  const excluded = (f: SeccompFilter): boolean =>
    (f.arches?.includes(arch) ?? false) ||
    (f.caps?.some((c) => caps.has(c)) ?? false) ||
    (f.minKernel !== undefined && kernelAtLeast(f.minKernel));
  const included = (f: SeccompFilter): boolean =>
    (!f.arches?.length || f.arches.includes(arch)) &&
    (f.caps ?? []).every((c) => caps.has(c)) &&
    (f.minKernel === undefined || kernelAtLeast(f.minKernel));

  const result: LinuxSyscall[] = [];
  for (const rule of syscalls) {
    let names = rule.names ?? [];
    if (rule.name) {
      if (names.length) {
        throw invalidParameter("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'");
      }
      names = [rule.name];
    }
    if (rule.excludes && excluded(rule.excludes)) continue;
    if (rule.includes && !included(rule.includes)) continue;
    const call: LinuxSyscall = { names: [...names], action: rule.action ?? 'SCMP_ACT_ALLOW' };
    if (rule.errnoRet !== undefined) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ ...a }));
    result.push(call);
  }
  out.syscalls = result;
  return out;
}

/** Docker's default profile for a container with bounding capabilities `caps`. */
export function defaultSeccompProfile(caps: readonly string[], arch: string = process.arch): LinuxSeccomp {
  // The default profile always has a default action, so it never resolves to "no filter".
  return setupSeccomp(defaultProfileSource(), { caps, arch }) as LinuxSeccomp;
}

/** A custom profile, as the JSON text the CLI sends in `seccomp=<json>`. */
export function loadSeccompProfile(json: string, caps: readonly string[], arch: string = process.arch): LinuxSeccomp | undefined {
  let profile: SeccompProfile;
  try {
    const parsed: unknown = JSON.parse(json);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    profile = parsed as SeccompProfile;
  } catch (err) {
    throw invalidParameter(`Decoding seccomp profile failed: ${(err as Error).message}`);
  }
  return setupSeccomp(profile, { caps, arch });
}

/**
 * The seccomp section for a container, as dockerd's WithSeccomp decides it:
 * `profile` is the value of SecurityOpt `seccomp=` (undefined when not given).
 * Unconfined → none; privileged → none unless a profile was asked for; otherwise the
 * default profile (or `daemonProfile`, the daemon's --seccomp-profile JSON) or the custom one.
 */
export function containerSeccomp(opts: {
  profile?: string;
  privileged: boolean;
  caps: readonly string[];
  arch?: string;
  daemonProfile?: string;
}): LinuxSeccomp | undefined {
  const { profile, caps } = opts;
  const arch = opts.arch ?? process.arch;
  if (profile === SECCOMP_UNCONFINED) return undefined;
  if (opts.privileged) {
    if (!profile) return undefined;
    return profile === SECCOMP_BUILTIN ? defaultSeccompProfile(caps, arch) : loadSeccompProfile(profile, caps, arch);
  }
  if (profile === SECCOMP_BUILTIN) return defaultSeccompProfile(caps, arch);
  if (profile) return loadSeccompProfile(profile, caps, arch);
  if (opts.daemonProfile === SECCOMP_UNCONFINED) return undefined;
  if (opts.daemonProfile) return loadSeccompProfile(opts.daemonProfile, caps, arch);
  return defaultSeccompProfile(caps, arch);
}
