// User-namespace ID mappings (--userns-remap): container IDs 0…n-1 map onto the subordinate
// ranges of /etc/subuid and /etc/subgid, as moby/sys/user's IdentityMapping. Layers, volumes
// and container files are stored with host IDs; tars going out carry container IDs again.
import { chown } from 'node:fs/promises';
import { invalidParameter } from './errors.js';

export interface IDMap {
  containerID: number;
  hostID: number;
  size: number;
}

/** One line of /etc/subuid or /etc/subgid: `name-or-id:start:count`. */
export interface SubIDRange {
  name: string;
  start: number;
  count: number;
}

/** The ID the kernel shows for a host ID that has no mapping in the namespace (overflowuid). */
export const OVERFLOW_ID = 65534;

/** Parses /etc/subuid or /etc/subgid; malformed lines are refused, as moby/sys/user does. */
export function parseSubIDFile(text: string, path: string): SubIDRange[] {
  const out: SubIDRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (f.length !== 3 || !f[0] || !/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[2]!)) {
      throw invalidParameter(`invalid subid range in ${path}: ${JSON.stringify(line)}`);
    }
    out.push({ name: f[0], start, count });
  }
  return out;
}

/** Ranges laid end to end from container ID 0, in the file's order (as dockerd). */
export function rangesToMaps(ranges: SubIDRange[]): IDMap[] {
  let next = 0;
  return ranges.map((r) => {
    const m = { containerID: next, hostID: r.start, size: r.count };
    next += r.count;
    return m;
  });
}

function toHostID(id: number, maps: IDMap[]): number | undefined {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

function toContainerID(id: number, maps: IDMap[]): number | undefined {
  for (const m of maps) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return undefined;
}

export class IdentityMapping {
  constructor(
    readonly uidMaps: IDMap[],
    readonly gidMaps: IDMap[],
  ) {}

  /** The host uid/gid of the container's root. */
  rootPair(): { uid: number; gid: number } {
    return this.toHost(0, 0);
  }

  /** Container IDs to host IDs; an ID outside the ranges is refused (dockerd's message). */
  toHost(uid: number, gid: number): { uid: number; gid: number } {
    const hu = toHostID(uid, this.uidMaps);
    if (hu === undefined) throw invalidParameter(`Container ID ${uid} cannot be mapped to a host ID`);
    const hg = toHostID(gid, this.gidMaps);
    if (hg === undefined) throw invalidParameter(`Container ID ${gid} cannot be mapped to a host ID`);
    return { uid: hu, gid: hg };
  }

  /**
   * Host IDs to container IDs. A host ID outside the ranges becomes the overflow ID, which is how
   * the container itself sees such a file (dockerd refuses the whole archive instead).
   */
  toContainer(uid: number, gid: number): { uid: number; gid: number } {
    return { uid: toContainerID(uid, this.uidMaps) ?? OVERFLOW_ID, gid: toContainerID(gid, this.gidMaps) ?? OVERFLOW_ID };
  }
}

/** A directory of berthd's that the remapped root must pass through: root's, the remapped group's. */
export async function chownToRemappedGroup(path: string, m: IdentityMapping): Promise<void> {
  await chown(path, 0, m.rootPair().gid);
}

/** Something the container's root owns (a layer's diff, a volume's _data, its network files). */
export async function chownToRemappedRoot(path: string, m: IdentityMapping): Promise<void> {
  const { uid, gid } = m.rootPair();
  await chown(path, uid, gid);
}
