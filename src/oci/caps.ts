// Capability sets as dockerd computes them (daemon/pkg/oci/caps).

import { invalidParameter } from '../pkg/errors.js';
import { hostFacts, KNOWN_CAPABILITIES } from './host.js';

/** The capabilities dockerd grants a non-privileged container. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const ALL = 'ALL';

/** Every capability available here: what a privileged container (or `--cap-add ALL`) gets. */
export function allCapabilities(): string[] {
  return [...hostFacts.allCapabilities];
}

/**
 * Upper-cases and CAP_-prefixes CapAdd/CapDrop entries, keeping the magic "ALL"; unknown names
 * and names the kernel/environment doesn't provide are invalid-parameter errors.
 */
export function normalizeCapabilities(caps: readonly string[] | null | undefined): string[] {
  const available = new Set(hostFacts.allCapabilities);
  // If we couldn't learn our own capabilities, treat every known one as available and let the
  // runtime refuse, as dockerd does.
  const detect = available.size > 0;
  const out: string[] = [];
  for (const raw of caps ?? []) {
    let c = raw.toUpperCase();
    if (c === ALL) {
      out.push(c);
      continue;
    }
    if (!c.startsWith('CAP_')) c = 'CAP_' + c;
    if (!KNOWN_CAPABILITIES.includes(c)) throw invalidParameter(`unknown capability: ${JSON.stringify(c)}`);
    if (detect && !available.has(c)) {
      throw invalidParameter(
        `capability not supported by your kernel or not available in the current environment: ${JSON.stringify(c)}`,
      );
    }
    out.push(c);
  }
  return out;
}

/** Create-time validation of HostConfig.CapAdd/CapDrop, with dockerd's messages. */
export function validateCapabilities(capAdd: readonly string[] | null | undefined, capDrop: readonly string[] | null | undefined): void {
  for (const [field, list] of [['CapAdd', capAdd], ['CapDrop', capDrop]] as const) {
    try {
      normalizeCapabilities(list);
    } catch (err) {
      throw invalidParameter(`invalid ${field}: ${(err as Error).message}`);
    }
  }
}

/**
 * The container's capability set: privileged → all; CapAdd ALL → all minus CapDrop;
 * CapDrop ALL → exactly CapAdd; otherwise defaults minus CapDrop plus CapAdd.
 */
export function tweakCapabilities(
  basics: readonly string[],
  adds: readonly string[] | null | undefined,
  drops: readonly string[] | null | undefined,
  privileged: boolean,
): string[] {
  if (privileged) return allCapabilities();
  if (!adds?.length && !drops?.length) return [...basics];
  const capDrop = normalizeCapabilities(drops);
  const capAdd = normalizeCapabilities(adds);
  let caps: string[];
  if (capAdd.includes(ALL)) caps = allCapabilities().filter((c) => !capDrop.includes(c));
  else if (capDrop.includes(ALL)) caps = capAdd;
  else caps = [...basics.filter((c) => !capDrop.includes(c)), ...capAdd];
  // dockerd may list a capability twice (default + added); the set is the same, keep it once.
  return [...new Set(caps)];
}
