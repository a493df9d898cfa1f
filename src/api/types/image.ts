// Engine API image types, as in moby's api/types/image (field names are the wire names).
import type { GraphDriverData, HealthConfig } from './container.js';

/** One entry of `GET /images/json` and of `/system/df`'s Images (image.Summary). */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  Labels: Record<string, string> | null;
  Containers: number;
}

/** The image's runtime config as inspect shows it (OCI image config fields, omitempty). */
export interface ImageInspectConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[];
  Shell?: string[];
}

/** `GET /images/{name}/json` (image.InspectResponse). */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created?: string;
  /** The committed container and its config: API < 1.45 only (deprecated, then removed). */
  Container?: string;
  ContainerConfig?: Record<string, unknown>;
  DockerVersion: string;
  Author: string;
  Config: ImageInspectConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: GraphDriverData;
  RootFS: { Type: string; Layers?: string[] };
  Metadata: { LastTagTime: string };
}

/** One entry of `GET /images/{name}/history` (image.HistoryResponseItem). */
export interface HistoryResponseItem {
  Comment: string;
  Created: number;
  CreatedBy: string;
  Id: string;
  Size: number;
  Tags: string[] | null;
}

/** One entry of `DELETE /images/{name}` (image.DeleteResponse). */
export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

/** `POST /images/prune` (image.PruneReport). */
export interface ImagesPruneReport {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}
