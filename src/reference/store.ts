// The references store: tags and digests → image IDs, persisted in repositories.json
// exactly as dockerd lays it out:
//   {"Repositories": {"busybox": {"busybox:latest": "sha256:…", "busybox@sha256:…": "sha256:…"}}}

import { join } from 'node:path';
import { readJSON, writeJSONAtomic } from '../pkg/atomicfile.js';
import { conflict, invalidParameter, notFound } from '../pkg/errors.js';
import {
  familiarName,
  familiarString,
  parseNormalizedNamed,
  tagNameOnly,
  type Reference,
} from './reference.js';
import { Mutex } from '../pkg/mutex.js';

interface RepositoriesFile {
  Repositories: Record<string, Record<string, string>>;
}

export class ReferenceStore {
  private repos: Record<string, Record<string, string>> = {};
  private byId = new Map<string, Map<string, Reference>>();
  private readonly lock = new Mutex();

  private constructor(private readonly file: string) {}

  /** Opens (or creates on first write) `${dir}/repositories.json`. */
  static async open(file: string): Promise<ReferenceStore> {
    const s = new ReferenceStore(file);
    const data = await readJSON<RepositoriesFile>(file);
    if (data?.Repositories) {
      s.repos = data.Repositories;
      for (const repo of Object.values(s.repos)) {
        for (const [refStr, id] of Object.entries(repo)) {
          try {
            s.index(parseNormalizedNamed(refStr), id);
          } catch {
            // an unparsable entry is kept on disk but ignored
          }
        }
      }
    }
    return s;
  }

  static pathIn(imageRoot: string): string {
    return join(imageRoot, 'repositories.json');
  }

  private index(ref: Reference, id: string): void {
    let m = this.byId.get(id);
    if (!m) this.byId.set(id, (m = new Map()));
    m.set(familiarString(ref), ref);
  }

  private unindex(refStr: string, id: string): void {
    const m = this.byId.get(id);
    if (!m) return;
    m.delete(refStr);
    if (m.size === 0) this.byId.delete(id);
  }

  /** Tags `ref` (`:latest` when it has none) → id. Overwrites an existing tag only with force. */
  async addTag(ref: Reference, id: string, force: boolean): Promise<void> {
    if (ref.digest !== undefined) throw invalidParameter('refusing to create a tag with a digest reference');
    await this.addReference(tagNameOnly(ref), id, force);
  }

  /** Records a digest reference (name@sha256:…) → id. */
  async addDigest(ref: Reference, id: string, force: boolean): Promise<void> {
    if (ref.digest === undefined) throw invalidParameter('reference is not a digest reference');
    await this.addReference({ domain: ref.domain, path: ref.path, digest: ref.digest }, id, force);
  }

  private async addReference(ref: Reference, id: string, force: boolean): Promise<void> {
    const refName = familiarName(ref);
    const refStr = familiarString(ref);
    if (refName === 'sha256') {
      throw invalidParameter('refusing to create an ambiguous tag using digest algorithm as name');
    }
    await this.lock.run(async () => {
      const repo = (this.repos[refName] ??= {});
      const old = repo[refStr];
      if (old !== undefined) {
        if (old === id) return;
        if (ref.digest !== undefined) throw conflict(`Cannot overwrite digest ${ref.digest}`);
        if (!force) {
          throw conflict(
            `Conflict: Tag ${refStr} is already set to image ${old}, if you want to replace it, please use the force option`,
          );
        }
        this.unindex(refStr, old);
      }
      repo[refStr] = id;
      this.index(ref, id);
      await this.save();
    });
  }

  /** Deletes a reference (`:latest` implied); false when it did not exist. */
  async delete(ref: Reference): Promise<boolean> {
    const r = tagNameOnly(ref);
    const refName = familiarName(r);
    const refStr = familiarString(r);
    return this.lock.run(async () => {
      const repo = this.repos[refName];
      const id = repo?.[refStr];
      if (!repo || id === undefined) return false;
      delete repo[refStr];
      if (Object.keys(repo).length === 0) delete this.repos[refName];
      this.unindex(refStr, id);
      await this.save();
      return true;
    });
  }

  /** Deletes a reference; notFound when it does not exist. */
  async deleteOrThrow(ref: Reference): Promise<void> {
    if (!(await this.delete(ref))) throw notFound('reference does not exist');
  }

  /** The image ID a reference points to (`:latest` implied). */
  get(ref: Reference): string | undefined {
    const r = tagNameOnly(ref);
    return this.repos[familiarName(r)]?.[familiarString(r)];
  }

  /** All references to an image, sorted by their familiar string (as dockerd sorts them). */
  references(id: string): Reference[] {
    const m = this.byId.get(id);
    if (!m) return [];
    return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, r]) => r);
  }

  hasReferences(id: string): boolean {
    return (this.byId.get(id)?.size ?? 0) > 0;
  }

  /** Every reference within the repository of `ref` → id. */
  referencesByName(ref: Reference): { ref: Reference; id: string }[] {
    const repo = this.repos[familiarName(ref)];
    if (!repo) return [];
    const out: { ref: Reference; id: string }[] = [];
    for (const [refStr, id] of Object.entries(repo).sort()) {
      try {
        out.push({ ref: parseNormalizedNamed(refStr), id });
      } catch {
        /* skip */
      }
    }
    return out;
  }

  private async save(): Promise<void> {
    await writeJSONAtomic(this.file, { Repositories: this.repos } satisfies RepositoriesFile, 0o600);
  }
}
