// HostConfig.SecurityOpt parsing, as dockerd's parseSecurityOpt does it.

import { invalidParameter } from '../pkg/errors.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** `seccomp=`: "unconfined", "builtin", or a profile's JSON text; undefined when not given. */
  seccompProfile?: string;
  /** `apparmor=`: recorded but unused (AppArmor isn't available to Berth). */
  apparmorProfile?: string;
  /** `writable-cgroups[=bool]`; undefined means "same as Privileged". */
  writableCgroups?: boolean;
  /** `label=…` / `disable` (SELinux); recorded but unused. */
  labelOpts: string[];
}

function parseBool(v: string): boolean | undefined {
  // Go's strconv.ParseBool spellings.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/**
 * Parses SecurityOpt entries ("key=value"; "key:value" is the deprecated spelling).
 * `daemonNoNewPrivileges` is the daemon-wide default (--no-new-privileges). Errors are
 * invalid-parameter errors with dockerd's wording, so call this at create time.
 */
export function parseSecurityOpt(securityOpt: readonly string[] | null | undefined, daemonNoNewPrivileges = false): SecurityOptions {
  const out: SecurityOptions = { noNewPrivileges: daemonNoNewPrivileges, labelOpts: [] };
  for (const opt of securityOpt ?? []) {
    if (opt === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    if (opt === 'writable-cgroups') {
      out.writableCgroups = true;
      continue;
    }
    if (opt === 'disable') {
      out.labelOpts.push('disable');
      continue;
    }
    const sep = opt.includes('=') ? '=' : opt.includes(':') ? ':' : '';
    if (!sep) throw invalidParameter(`invalid --security-opt 1: ${JSON.stringify(opt)}`);
    const i = opt.indexOf(sep);
    const k = opt.slice(0, i);
    const v = opt.slice(i + 1);
    switch (k) {
      case 'label':
        out.labelOpts.push(v);
        break;
      case 'apparmor':
        out.apparmorProfile = v;
        break;
      case 'seccomp':
        out.seccompProfile = v;
        break;
      case 'no-new-privileges':
      case 'writable-cgroups': {
        const b = parseBool(v);
        if (b === undefined) throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
        if (k === 'no-new-privileges') out.noNewPrivileges = b;
        else out.writableCgroups = b;
        break;
      }
      default:
        throw invalidParameter(`invalid --security-opt 2: ${JSON.stringify(opt)}`);
    }
  }
  return out;
}
