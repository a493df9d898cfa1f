// A container's mount point as dockerd's container state spells it (not a wire type: the API
// shows it through inspect's `Mounts`, api/types/container.ts InspectMount).
import type { MountSpec, MountType } from '../api/types/mount.js';

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
