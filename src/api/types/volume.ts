// Engine API volume types, as in moby's api/types/volume (field names are the wire names).

/** A volume as inspect, list and create return it (volume.Volume). */
export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local' | 'global';
  Status?: Record<string, unknown>;
  UsageData?: VolumeUsageData;
}

/** Filled in only by `GET /system/df` (volume.UsageData). */
export interface VolumeUsageData {
  Size: number;
  RefCount: number;
}

/** The body of `POST /volumes/create` (volume.CreateOptions). */
export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

/** `GET /volumes` (volume.ListResponse). */
export interface VolumeListResponse {
  Volumes: Volume[];
  Warnings: string[] | null;
}

/** `POST /volumes/prune` (volume.PruneReport). */
export interface VolumesPruneReport {
  VolumesDeleted: string[];
  SpaceReclaimed: number;
}
