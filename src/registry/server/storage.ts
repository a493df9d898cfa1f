// The registry's filesystem layout under its root, content-addressed like distribution's:
//
//   blobs/<alg>/<hex[0:2]>/<hex>                          blob content (layers, configs, manifests)
//   repositories/<name>/_layers/<alg>/<hex>               the repository may serve this blob
//   repositories/<name>/_manifests/revisions/<alg>/<hex>  a manifest of the repository (holds its media type)
//   repositories/<name>/_manifests/tags/<tag>             a tag (holds the manifest digest)
//   repositories/<name>/_manifests/referrers/<alg>/<hex>/<alg>/<hex>
//                                                         a manifest whose subject is the first digest (holds its descriptor)
//   _uploads/<uuid>/                                      uploads in progress (see uploads.ts)
//
// Names are validated before they reach here (names.ts): their components never start with `_`,
// so they cannot collide with the storage directories. Every file is written atomically (temp
// file, fsync, rename), and a blob becomes visible only once complete and verified.

import { mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic, syncDir } from '../../pkg/atomicfile.js';
import { errnoCode } from '../../pkg/errors.js';
import { formatDigest, parseDigest, type Digest } from './digest.js';
import { RegistryError } from './errors.js';

/** A descriptor as the referrers API lists it. */
export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  path: string;
  size: number;
}

const ignoreMissing = (err: unknown): undefined => {
  if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
  throw err;
};

export class Storage {
  constructor(readonly root: string) {}

  blobPath(d: Digest): string {
    return join(this.root, 'blobs', d.algorithm, d.hex.slice(0, 2), d.hex);
  }

  get uploadsDir(): string {
    return join(this.root, '_uploads');
  }

  get repositoriesDir(): string {
    return join(this.root, 'repositories');
  }

  private repoDir(repo: string): string {
    return join(this.repositoriesDir, repo);
  }

  private layerLink(repo: string, d: Digest): string {
    return join(this.repoDir(repo), '_layers', d.algorithm, d.hex);
  }

  private revisionLink(repo: string, d: Digest): string {
    return join(this.repoDir(repo), '_manifests', 'revisions', d.algorithm, d.hex);
  }

  private tagsDir(repo: string): string {
    return join(this.repoDir(repo), '_manifests', 'tags');
  }

  /** The blob's size, or undefined when it is not stored. */
  async blobSize(d: Digest): Promise<number | undefined> {
    const st = await stat(this.blobPath(d)).catch(ignoreMissing);
    return st?.isFile() ? st.size : undefined;
  }

  /** The blob's size when `repo` may serve it, else undefined. */
  async repoBlobSize(repo: string, d: Digest): Promise<number | undefined> {
    const linked = await stat(this.layerLink(repo, d)).catch(ignoreMissing);
    return linked ? this.blobSize(d) : undefined;
  }

  async linkBlob(repo: string, d: Digest): Promise<void> {
    await writeFileAtomic(this.layerLink(repo, d), '', 0o644);
  }

  /** Removes the blob from the repository; false when it was not there. */
  async unlinkBlob(repo: string, d: Digest): Promise<boolean> {
    return unlink(this.layerLink(repo, d)).then(() => true, (err) => ignoreMissing(err) ?? false);
  }

  /** Moves a complete, verified file into the blob store (a blob already there is kept). */
  async commitBlob(file: string, d: Digest): Promise<void> {
    const dest = this.blobPath(d);
    if ((await this.blobSize(d)) !== undefined) {
      await rm(file, { force: true });
      return;
    }
    await mkdir(dirname(dest), { recursive: true });
    await rename(file, dest);
    await syncDir(dirname(dest));
  }

  /** Stores a manifest's bytes as a blob and records it in the repository, tagged if `tag` is given. */
  async putManifest(repo: string, d: Digest, mediaType: string, body: Buffer, tag?: string): Promise<void> {
    if ((await this.blobSize(d)) === undefined) await writeFileAtomic(this.blobPath(d), body, 0o644);
    await writeFileAtomic(this.revisionLink(repo, d), mediaType, 0o644);
    if (tag !== undefined) await writeFileAtomic(join(this.tagsDir(repo), tag), formatDigest(d), 0o644);
  }

  /** The manifest's media type when it belongs to the repository. */
  async manifestMediaType(repo: string, d: Digest): Promise<string | undefined> {
    return readFile(this.revisionLink(repo, d), 'utf8').catch(ignoreMissing);
  }

  async resolveTag(repo: string, tag: string): Promise<Digest | undefined> {
    const s = await readFile(join(this.tagsDir(repo), tag), 'utf8').catch(ignoreMissing);
    return s === undefined ? undefined : parseDigest(s.trim());
  }

  /** The manifest by tag or digest; MANIFEST_UNKNOWN when the repository has no such manifest. */
  async getManifest(repo: string, ref: { tag?: string; digest?: Digest }): Promise<StoredManifest> {
    const d = ref.digest ?? (await this.resolveTag(repo, ref.tag!));
    const unknown = new RegistryError('MANIFEST_UNKNOWN', ref.tag !== undefined ? { Tag: ref.tag } : { Revision: formatDigest(ref.digest!) });
    if (!d) throw unknown;
    const mediaType = await this.manifestMediaType(repo, d);
    const size = await this.blobSize(d);
    if (mediaType === undefined || size === undefined) throw unknown;
    return { digest: formatDigest(d), mediaType, path: this.blobPath(d), size };
  }

  /** Removes a manifest from the repository together with every tag pointing at it. */
  async deleteManifest(repo: string, d: Digest): Promise<boolean> {
    const existed = await unlink(this.revisionLink(repo, d)).then(() => true, (err) => ignoreMissing(err) ?? false);
    const digest = formatDigest(d);
    for (const tag of (await this.listTags(repo)) ?? []) {
      const target = await readFile(join(this.tagsDir(repo), tag), 'utf8').catch(ignoreMissing);
      if (target?.trim() === digest) await unlink(join(this.tagsDir(repo), tag)).catch(ignoreMissing);
    }
    return existed;
  }

  async deleteTag(repo: string, tag: string): Promise<boolean> {
    return unlink(join(this.tagsDir(repo), tag)).then(() => true, (err) => ignoreMissing(err) ?? false);
  }

  /** The repository's tags, sorted; undefined when the repository does not exist. */
  async listTags(repo: string): Promise<string[] | undefined> {
    if (!(await this.repositoryExists(repo))) return undefined;
    const entries = (await readdir(this.tagsDir(repo)).catch(ignoreMissing)) ?? [];
    return entries.filter((t) => !t.startsWith('.')).sort();
  }

  async repositoryExists(repo: string): Promise<boolean> {
    const st = await stat(join(this.repoDir(repo), '_manifests')).catch(ignoreMissing);
    return st?.isDirectory() ?? false;
  }

  /** Every repository holding manifests, sorted as the catalog lists them. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = (await readdir(dir, { withFileTypes: true }).catch(ignoreMissing)) ?? [];
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        if (e.name === '_manifests') out.push(prefix);
        else if (!e.name.startsWith('_')) await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(this.repositoriesDir, '');
    return out.filter(Boolean).sort();
  }

  private referrersDir(repo: string, subject: Digest): string {
    return join(this.repoDir(repo), '_manifests', 'referrers', subject.algorithm, subject.hex);
  }

  /** Records that manifest `d` (described by `descriptor`) refers to `subject`. */
  async addReferrer(repo: string, subject: Digest, d: Digest, descriptor: ReferrerDescriptor): Promise<void> {
    await writeFileAtomic(join(this.referrersDir(repo, subject), d.algorithm, d.hex), JSON.stringify(descriptor), 0o644);
  }

  /** The manifests of the repository that refer to `subject`, by digest (deleted ones left out). */
  async listReferrers(repo: string, subject: Digest): Promise<ReferrerDescriptor[]> {
    const out: ReferrerDescriptor[] = [];
    const dir = this.referrersDir(repo, subject);
    for (const d of await this.listDigests(dir)) {
      if ((await this.manifestMediaType(repo, d)) === undefined) continue;
      const text = await readFile(join(dir, d.algorithm, d.hex), 'utf8').catch(ignoreMissing);
      if (text !== undefined) out.push(JSON.parse(text) as ReferrerDescriptor);
    }
    return out.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  }

  /** Digests of every manifest revision of the repository. */
  async listRevisions(repo: string): Promise<Digest[]> {
    return this.listDigests(join(this.repoDir(repo), '_manifests', 'revisions'));
  }

  /** Digests of every blob linked into the repository. */
  async listLinkedBlobs(repo: string): Promise<Digest[]> {
    return this.listDigests(join(this.repoDir(repo), '_layers'));
  }

  /** Digests of every stored blob. */
  async listBlobs(): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const alg of (await readdir(join(this.root, 'blobs')).catch(ignoreMissing)) ?? []) {
      for (const prefix of (await readdir(join(this.root, 'blobs', alg)).catch(ignoreMissing)) ?? []) {
        out.push(...(await this.listDigests(join(this.root, 'blobs'), alg, prefix)));
      }
    }
    return out;
  }

  async removeBlob(d: Digest): Promise<void> {
    await rm(this.blobPath(d), { force: true });
  }

  /** Digests named by the files of <dir>/<alg>[/<sub>] (files that are not digests are left out). */
  private async listDigests(dir: string, only?: string, sub?: string): Promise<Digest[]> {
    const out: Digest[] = [];
    for (const alg of only ? [only] : ((await readdir(dir).catch(ignoreMissing)) ?? [])) {
      const algDir = sub ? join(dir, alg, sub) : join(dir, alg);
      for (const hex of (await readdir(algDir).catch(ignoreMissing)) ?? []) {
        try {
          out.push(parseDigest(`${alg}:${hex}`));
        } catch {
          // a temp file of an interrupted atomic write
        }
      }
    }
    return out;
  }
}
