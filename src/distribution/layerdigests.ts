// Which compressed blob each layer (by diffID) is on which registry and repository: learnt from
// pulls and pushes (dockerd's V2MetadataService), so a push can skip or cross-mount a layer the
// registry already has instead of uploading it again. One JSON file, written atomically.
import { join } from 'node:path';
import { readJSON, writeJSONAtomic } from '../pkg/atomicfile.js';
import { Mutex } from '../pkg/mutex.js';

export interface BlobRecord {
  /** Registry host (docker.io for the Hub). */
  registry: string;
  repository: string;
  digest: string;
  size: number;
  mediaType: string;
}

/** Records kept per layer: the newest few are enough to find a mount source. */
const MAX_PER_LAYER = 16;

export class LayerDigests {
  private byDiffID: Record<string, BlobRecord[]> = {};
  private readonly lock = new Mutex();

  private constructor(private readonly file: string) {}

  /** `dir` is the image root (…/image/overlay2); the file lives in its distribution/ folder. */
  static async open(dir: string): Promise<LayerDigests> {
    const s = new LayerDigests(join(dir, 'distribution', 'layerdigests.json'));
    const data = await readJSON<Record<string, BlobRecord[]>>(s.file);
    if (data && typeof data === 'object') s.byDiffID = data;
    return s;
  }

  /** What is known of a layer on a registry, the same repository first. */
  lookup(registry: string, repository: string, diffID: string): BlobRecord[] {
    const recs = (this.byDiffID[diffID] ?? []).filter((r) => r.registry === registry);
    return [...recs.filter((r) => r.repository === repository), ...recs.filter((r) => r.repository !== repository)];
  }

  async remember(registry: string, repository: string, diffID: string, blob: { digest: string; size: number; mediaType: string }): Promise<void> {
    await this.lock.run(async () => {
      const recs = (this.byDiffID[diffID] ?? []).filter((r) => !(r.registry === registry && r.repository === repository && r.digest === blob.digest));
      recs.unshift({ registry, repository, digest: blob.digest, size: blob.size, mediaType: blob.mediaType });
      this.byDiffID[diffID] = recs.slice(0, MAX_PER_LAYER);
      await writeJSONAtomic(this.file, this.byDiffID, 0o600);
    });
  }
}
