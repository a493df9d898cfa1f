// Volume and mount types as the Engine API and dockerd's container state spell them.

/** api/types/volume.Volume. */
export interface Volume {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local' | 'global';
  Status?: Record<string, unknown>;
  UsageData?: { Size: number; RefCount: number };
}

export interface VolumeCreateRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

export type MountType = 'bind' | 'volume' | 'tmpfs' | 'image' | 'npipe' | 'cluster';

/** api/types/mount.Mount: one entry of HostConfig.Mounts (`--mount`). */
export interface MountSpec {
  Type?: MountType | string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: {
    Propagation?: string;
    NonRecursive?: boolean;
    CreateMountpoint?: boolean;
    ReadOnlyNonRecursive?: boolean;
    ReadOnlyForceRecursive?: boolean;
  } | null;
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: { Name?: string; Options?: Record<string, string> | null } | null;
    Subpath?: string;
  } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number; Options?: string[][] | null } | null;
  ImageOptions?: unknown;
  ClusterOptions?: unknown;
}

/**
 * A container's mount point, persisted with the container (dockerd's volume/mounts.MountPoint,
 * under config.v2.json's MountPoints keyed by Destination).
 */
export interface MountPoint {
  /** Host path: the bind source, or the volume's _data directory. */
  Source: string;
  Destination: string;
  RW: boolean;
  /** Volume name. */
  Name: string;
  /** Volume driver. */
  Driver: string;
  Type: MountType;
  /** The raw -v mode ("ro,z"…); "z" for local volumes given without one. dockerd stores it as "Relabel". */
  Relabel: string;
  /** Bind propagation ("rprivate" default for binds, "" for volumes and tmpfs). */
  Propagation: string;
  /** Whether image content is copied into the volume when it is first used (not persisted by dockerd either). */
  CopyData?: boolean;
  /** --mount binds are never created; -v binds are (mkdir -p) at start. */
  SkipMountpointCreation?: boolean;
  /** The API request that made it. */
  Spec: MountSpec;
}

/** How inspect and `docker ps` show a mount point (api/types/container.MountPoint). */
export interface InspectMount {
  Type?: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}
