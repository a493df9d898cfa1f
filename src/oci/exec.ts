// The OCI process for `docker exec`, built the way dockerd does: start from the container's own
// process (capabilities, rlimits, noNewPrivileges, apparmor, oomScoreAdj are inherited) and
// override what the exec specifies.

import { allCapabilities } from './caps.js';
import type { Process, Spec } from './types.js';
import type { ResolvedUser } from './user.js';

export interface ExecProcessOptions {
  args: string[];
  env: string[];
  cwd: string;
  /** Resolved from ExecConfig.User (with the container's GroupAdd); omit to run as the container's user. */
  user?: ResolvedUser;
  tty: boolean;
  privileged: boolean;
  /** [height, width] from exec start, else exec create. */
  consoleSize?: [number, number] | null;
}

export function createExecProcess(base: Spec, opts: ExecProcessOptions): Process {
  const p: Process = structuredClone(base.process);
  p.args = [...opts.args];
  p.env = [...opts.env];
  p.cwd = opts.cwd || '/';
  p.terminal = opts.tty;
  delete p.consoleSize;
  if (opts.tty && opts.consoleSize && (opts.consoleSize[0] > 0 || opts.consoleSize[1] > 0)) {
    p.consoleSize = { height: opts.consoleSize[0], width: opts.consoleSize[1] };
  }
  if (opts.user) {
    p.user = {
      uid: opts.user.uid,
      gid: opts.user.gid,
      additionalGids: opts.user.additionalGids.length ? [...opts.user.additionalGids] : [opts.user.gid],
    };
  }
  if (opts.privileged) {
    // `exec --privileged` widens capabilities only; seccomp and the rest stay the container's.
    const caps = allCapabilities();
    p.capabilities = { bounding: [...caps], effective: [...caps], permitted: [...caps] };
  }
  return p;
}
