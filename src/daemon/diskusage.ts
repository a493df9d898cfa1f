// GET /system/df: the space images, containers, volumes and the build cache take (dockerd's
// daemon/disk_usage.go).
import type { DiskUsage } from '../api/types/system.js';
import type { DiskUsageOptions } from '../server/router/system.js';
import type { Daemon } from './daemon.js';
import { listContainers } from './inspect.js';


/** A type left out of `want` is left out of the answer too. */
export async function diskUsage(d: Daemon, want: DiskUsageOptions): Promise<DiskUsage> {
  const out: DiskUsage = {};
  if (want.images) {
    const counts = new Map<string, number>();
    for (const c of d.containers.all()) counts.set(c.record.Image, (counts.get(c.record.Image) ?? 0) + 1);
    const du = d.images.diskUsage(counts);
    out.LayersSize = du.layersSize;
    out.Images = du.images;
  }
  if (want.containers) {
    out.Containers = await listContainers(d, { all: true, limit: -1, size: true, filters: new Map() });
  }
  if (want.volumes) out.Volumes = await d.volumes.usage();
  if (want.buildCache) out.BuildCache = [];
  return out;
}
