// API version negotiation, as dockerd's middleware does it.
import { invalidParameter } from '../pkg/errors.js';

/** The newest Engine API version whose behaviour Berth implements. */
export const API_VERSION = '1.47';
/** The oldest version still honoured (dockerd's default minimum). */
export const MIN_API_VERSION = '1.24';

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export const versionLessThan = (v: string, other: string): boolean => compareVersions(v, other) < 0;
export const versionAtLeast = (v: string, other: string): boolean => compareVersions(v, other) >= 0;

/** Checks a version from a `/vX.Y/` path prefix; an unprefixed path means the newest version. */
export function negotiateVersion(requested: string | undefined): string {
  if (!requested) return API_VERSION;
  if (versionLessThan(requested, MIN_API_VERSION)) {
    throw invalidParameter(
      `client version ${requested} is too old. Minimum supported API version is ${MIN_API_VERSION}, please upgrade your client to a newer version`,
    );
  }
  if (compareVersions(requested, API_VERSION) > 0) {
    throw invalidParameter(
      `client version ${requested} is too new. Maximum supported API version is ${API_VERSION}`,
    );
  }
  return requested;
}
