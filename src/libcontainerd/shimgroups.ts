// Shared shims. containerd-shim-runc-v2 serves every container whose OCI spec carries the same
// `io.containerd.runc.v2.group` annotation: the first one starts a shim whose socket address is
// derived from (containerd address, namespace, group), the others connect to it, and the shim
// exits once the last of its tasks is deleted. One shim costs ~13 MiB; a grouped container adds
// little to it.
//
// Policy: a container joins the fullest open group of its kind that has a free slot, else opens
// a new group (best fit, so that groups thinned out by exits drain and their shims go away). A
// group whose last task left is closed for good: its shim is exiting, and a container joining it
// then could hand containerd the socket of a dying shim.
//
// Tasks leave the shim only when berthd deletes them (or when the shim dies). Deleting the last
// task of a group while another container is joining it would end the shim under the joiner; so
// a deletion first waits for the joins in flight in its group, which then hold the shim.
//
// What is live is read back from containerd after a berthd restart (the annotation in the spec
// of every container that has a task), so there is no second record to keep in step.
import { randomBytes } from 'node:crypto';

export const SHIM_GROUP_ANNOTATION = 'io.containerd.runc.v2.group';

/**
 * Containers per shim unless configured. A shared shim is a shared failure domain (its death
 * takes every container of the group with it) and serialises its tasks' creation. Measured with
 * 50 idle containers (hack/bench/density): a shim costs ~14 MiB, a container in it ~0.3 MiB more;
 * berthd + containerd + shims take 781 MiB with a shim each, 304 with 4 per shim, 223 with 8, 198
 * with 10 (a quarter of dockerd's 797), 179 with 16. Ten is where the memory stops paying for a
 * larger blast radius.
 */
export const DEFAULT_SHIM_GROUP_SIZE = 10;

/** A container that has a task in containerd, as listed at start-up. */
export interface LiveTask {
  id: string;
  /** The spec's group annotation, if it has one. */
  group?: string;
}

interface Group {
  readonly id: string;
  readonly kind: string;
  /** Tasks in the shim plus joins in flight. */
  live: number;
  readonly joining: Set<Promise<void>>;
}

export interface Reservation {
  /** The annotation value for the container's spec. */
  readonly group: string;
  /** Call once task create returned (`created`) or failed: a failed join leaves the group. */
  settle(created: boolean): void;
}

export class ShimGroups {
  private readonly open = new Map<string, Group>();
  private readonly member = new Map<string, Group>();
  private ready: Promise<void> = Promise.resolve();

  /** `size` ≤ 1: one shim per container, no annotation. */
  constructor(readonly size: number) {}

  get enabled(): boolean {
    return this.size > 1;
  }

  /**
   * Rebuilds the groups from containerd's containers that have a task. Joins and leaves wait for
   * it. If it fails, what ran before is simply not joined: new containers open new groups.
   */
  restore(list: () => Promise<LiveTask[]>): Promise<void> {
    this.ready = list().then(
      (tasks) => {
        for (const t of tasks) {
          if (!t.group || this.member.has(t.id)) continue;
          let g = this.open.get(t.group);
          if (!g) {
            g = { id: t.group, kind: kindOf(t.group), live: 0, joining: new Set() };
            this.open.set(g.id, g);
          }
          g.live++;
          this.member.set(t.id, g);
        }
      },
      () => undefined,
    );
    return this.ready;
  }

  /**
   * Picks the group of a container about to get a task. `kind` separates containers that must
   * not share a shim (another runtime). Undefined when grouping is off.
   */
  async join(containerId: string, kind: string): Promise<Reservation | undefined> {
    if (!this.enabled) return undefined;
    await this.ready;
    let best: Group | undefined;
    for (const g of this.open.values()) {
      if (g.kind === kind && g.live < this.size && (!best || g.live > best.live)) best = g;
    }
    const g = best ?? this.newGroup(kind);
    g.live++;
    this.member.set(containerId, g);
    let landed!: () => void;
    const joining = new Promise<void>((resolve) => (landed = resolve));
    g.joining.add(joining);
    let settled = false;
    return {
      group: g.id,
      settle: (created) => {
        if (settled) return;
        settled = true;
        g.joining.delete(joining);
        landed();
        if (!created) this.release(containerId);
      },
    };
  }

  /**
   * Call before deleting a container's task: it leaves its group, after the joins in flight in
   * that group have landed in the shim (so this deletion cannot end the shim under them).
   */
  async leave(containerId: string): Promise<void> {
    await this.ready;
    const g = this.member.get(containerId);
    if (!g) return;
    this.release(containerId);
    await Promise.all(g.joining);
  }

  /** The group a container's task is in (tests, debugging). */
  groupOf(containerId: string): string | undefined {
    return this.member.get(containerId)?.id;
  }

  private release(containerId: string): void {
    const g = this.member.get(containerId);
    if (!g) return;
    this.member.delete(containerId);
    if (--g.live <= 0) this.open.delete(g.id);
  }

  private newGroup(kind: string): Group {
    const g: Group = { id: `${kind}~${randomBytes(6).toString('hex')}`, kind, live: 0, joining: new Set() };
    this.open.set(g.id, g);
    return g;
  }
}

/** A group's kind is the part of its id before the last `~` (the id is `<kind>~<random>`). */
function kindOf(group: string): string {
  const i = group.lastIndexOf('~');
  return i < 0 ? '' : group.slice(0, i);
}
