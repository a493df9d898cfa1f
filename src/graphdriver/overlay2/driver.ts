// The overlay2 graph driver, laid out as dockerd's:
//   ${root}/<id>/diff     the layer's content (upper dir for RW layers)
//   ${root}/<id>/link     the short name of this layer in ${root}/l/
//   ${root}/<id>/lower    "l/A:l/B:…" the short names of all lower layers, nearest first
//   ${root}/<id>/work     overlay work dir (layers with a parent)
//   ${root}/<id>/merged   mount point when the daemon mounts the layer itself
//   ${root}/l/<SHORT>  -> ../<id>/diff
// Short links keep the lowerdir option short (a mount's data must fit in one page).

import { randomBytes } from 'node:crypto';
import { mustRun } from '../../pkg/command.js';
import { access, mkdir, readFile, readdir, readlink, rm, rmdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, notFound, systemError } from '../../pkg/errors.js';
import { writeFileAtomic } from '../../pkg/atomicfile.js';
import { exists } from '../../pkg/fsutil.js';
import { chownToRemappedGroup, chownToRemappedRoot, type IdentityMapping } from '../../pkg/idmap.js';

export interface Mount {
  type: string;
  source: string;
  options: string[];
}

const LINK_DIR = 'l';
const ID_LENGTH = 26;

function shortID(): string {
  // 26 chars of [A-Z0-9], as dockerd's generateID does
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const bytes = randomBytes(ID_LENGTH);
  let s = '';
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}



export class Overlay2Driver {
  readonly name = 'overlay2';
  private indexOff = false;
  private readonly mountRefs = new Map<string, number>();

  private constructor(
    readonly home: string,
    private readonly idMap: IdentityMapping | undefined,
  ) {}

  /**
   * `home` is ${dataRoot}/overlay2. Under --userns-remap (dockerd's layout): home and the layer
   * directories root's with the remapped group, diff/work/merged the remapped root's.
   */
  static async init(home: string, idMap?: IdentityMapping): Promise<Overlay2Driver> {
    const d = new Overlay2Driver(home, idMap);
    await mkdir(join(home, LINK_DIR), { recursive: true, mode: 0o710 });
    if (idMap) await chownToRemappedGroup(home, idMap);
    try {
      await access('/sys/module/overlay/parameters/index');
      d.indexOff = true;
    } catch {
      /* kernel without the index feature */
    }
    return d;
  }

  dir(id: string): string {
    return join(this.home, id);
  }

  /** The layer's own content directory. */
  diffPath(id: string): string {
    return join(this.home, id, 'diff');
  }

  async exists(id: string): Promise<boolean> {
    return exists(this.dir(id));
  }

  /** Creates the directories of layer `id` on top of `parent`. */
  async create(id: string, parent?: string): Promise<void> {
    if (id.includes('/') || id === LINK_DIR || id === '' || id.startsWith('.')) throw systemError(`invalid layer id ${id}`);
    const dir = this.dir(id);
    await mkdir(dir, { mode: 0o710 });
    try {
      await mkdir(join(dir, 'diff'), { mode: 0o755 });
      if (this.idMap) {
        await chownToRemappedGroup(dir, this.idMap);
        await chownToRemappedRoot(join(dir, 'diff'), this.idMap);
      }
      const lid = shortID();
      await symlink(join('..', id, 'diff'), join(this.home, LINK_DIR, lid));
      await writeFileAtomic(join(dir, 'link'), lid, 0o644);
      if (parent !== undefined) {
        await mkdir(join(dir, 'work'), { mode: 0o700 });
        if (this.idMap) await chownToRemappedRoot(join(dir, 'work'), this.idMap);
        const lower = await this.lowerOf(parent);
        await writeFileAtomic(join(dir, 'lower'), lower, 0o644);
      }
    } catch (err) {
      await this.remove(id).catch(() => undefined);
      throw err;
    }
  }

  /** The `lower` content for a child of `parent`: parent's short link, then parent's lowers. */
  private async lowerOf(parent: string): Promise<string> {
    const plink = (await readFile(join(this.dir(parent), 'link'), 'utf8')).trim();
    let lowers = `${LINK_DIR}/${plink}`;
    try {
      const pl = (await readFile(join(this.dir(parent), 'lower'), 'utf8')).trim();
      if (pl) lowers += `:${pl}`;
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw err;
    }
    return lowers;
  }

  /** The short links of the lower layers, nearest first ([] for a base layer). */
  async lowerLinks(id: string): Promise<string[]> {
    try {
      const s = (await readFile(join(this.dir(id), 'lower'), 'utf8')).trim();
      return s ? s.split(':') : [];
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return [];
      throw err;
    }
  }

  /** Absolute diff dirs of the lower layers, nearest first. */
  async lowerDirs(id: string): Promise<string[]> {
    const out: string[] = [];
    for (const l of await this.lowerLinks(id)) {
      const target = await readlink(join(this.home, l));
      out.push(join(this.home, LINK_DIR, target));
    }
    return out;
  }

  /** Removes layer `id` and its short link. Unmounts it first if we mounted it. */
  async remove(id: string): Promise<void> {
    const dir = this.dir(id);
    if (this.mountRefs.has(id)) {
      this.mountRefs.set(id, 1);
      await this.unmount(id).catch(() => undefined);
    }
    try {
      const lid = (await readFile(join(dir, 'link'), 'utf8')).trim();
      if (lid && !lid.includes('/')) await rm(join(this.home, LINK_DIR, lid), { force: true });
    } catch {
      /* no link yet */
    }
    await rm(dir, { recursive: true, force: true });
  }

  /** The mounts containerd needs for the rootfs of layer `id` (its diff as the upper dir). */
  async mounts(id: string): Promise<Mount[]> {
    const dir = this.dir(id);
    if (!(await exists(dir))) throw notFound(`layer ${id} does not exist`);
    const lowers = await this.lowerLinks(id);
    if (lowers.length === 0) {
      return [{ type: 'bind', source: this.diffPath(id), options: ['rbind', 'rw'] }];
    }
    const options: string[] = [];
    if (this.indexOff) options.push('index=off');
    options.push(
      `lowerdir=${lowers.map((l) => join(this.home, l)).join(':')}`,
      `upperdir=${this.diffPath(id)}`,
      `workdir=${join(dir, 'work')}`,
    );
    return [{ type: 'overlay', source: 'overlay', options }];
  }

  /** Mounts layer `id` at ${root}/<id>/merged for the daemon's own use; reference counted. */
  async mount(id: string): Promise<string> {
    const n = this.mountRefs.get(id) ?? 0;
    const merged = join(this.dir(id), 'merged');
    if (n > 0) {
      this.mountRefs.set(id, n + 1);
      return merged;
    }
    const [m] = await this.mounts(id);
    if (!m) throw systemError(`no mounts for ${id}`);
    if (m.type === 'bind') {
      this.mountRefs.set(id, 1);
      return this.diffPath(id); // a base layer needs no mount
    }
    await mkdir(merged, { recursive: true, mode: 0o700 });
    if (this.idMap) await chownToRemappedRoot(merged, this.idMap);
    await mustRun('mount', ['-t', 'overlay', 'overlay', '-o', m.options.join(','), merged]);
    this.mountRefs.set(id, 1);
    return merged;
  }

  async unmount(id: string): Promise<void> {
    const n = this.mountRefs.get(id) ?? 0;
    if (n > 1) {
      this.mountRefs.set(id, n - 1);
      return;
    }
    this.mountRefs.delete(id);
    const merged = join(this.dir(id), 'merged');
    if (!(await this.lowerLinks(id)).length) return;
    try {
      await mustRun('umount', [merged]);
    } catch (err) {
      // not mounted is fine
      if (!/not mounted|no mount point/i.test(String(err))) throw err;
    }
    await rmdir(merged).catch(() => undefined);
  }

  /** GraphDriver.Data for inspect. */
  async metadata(id: string): Promise<Record<string, string>> {
    const dir = this.dir(id);
    const data: Record<string, string> = {
      MergedDir: join(dir, 'merged'),
      UpperDir: join(dir, 'diff'),
      WorkDir: join(dir, 'work'),
    };
    const lowers = await this.lowerDirs(id);
    if (lowers.length) data.LowerDir = lowers.join(':');
    return data;
  }

  /** Every layer directory name (excluding l/). */
  async list(): Promise<string[]> {
    const names = await readdir(this.home);
    return names.filter((n) => n !== LINK_DIR);
  }

  /** Removes short links whose target no longer exists. */
  async sweepLinks(): Promise<void> {
    const ldir = join(this.home, LINK_DIR);
    for (const n of await readdir(ldir)) {
      const p = join(ldir, n);
      try {
        const t = await readlink(p);
        if (!(await exists(join(ldir, t)))) await rm(p, { force: true });
      } catch {
        /* not a link */
      }
    }
  }

  status(): [string, string][] {
    return [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
      ['Using metacopy', 'false'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', 'false'],
    ];
  }
}
