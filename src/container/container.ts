// The container model: what config.v2.json and hostconfig.json hold, plus in-memory runtime state.
import { join } from 'node:path';
import type { ContainerConfig, HostConfig } from '../api/types/container.js';
import { writeJSONAtomic } from '../pkg/atomicfile.js';
import { Mutex } from '../pkg/mutex.js';
import type { MountPoint } from '../volume/types.js';
import type { EndpointSettings } from '../api/types/network.js';
import { newState, type StateJSON } from './state.js';
import { StreamConfig } from './streams.js';

/** What is persisted in config.v2.json. */
export interface ContainerRecord {
  ID: string;
  Created: string;
  Path: string;
  Args: string[];
  Config: ContainerConfig;
  Image: string;
  Name: string;
  State: StateJSON;
  RestartCount: number;
  Driver: string;
  Platform: string;
  LogPath: string;
  HostnamePath: string;
  HostsPath: string;
  ResolvConfPath: string;
  HasBeenStartedBefore: boolean;
  HasBeenManuallyStopped: boolean;
  /** Volumes, binds and tmpfs mounts by destination (dockerd's MountPoints). */
  MountPoints?: Record<string, MountPoint>;
  /** The networks the container is configured for (by name) and its sandbox while it runs. */
  NetworkSettings?: {
    SandboxKey?: string;
    Networks?: Record<string, Partial<EndpointSettings>>;
  };
}

export class Container {
  record: ContainerRecord;
  hostConfig: HostConfig;
  readonly dir: string;
  readonly lock = new Mutex();
  readonly streams: StreamConfig;
  /** Set while `docker rm` runs, so starts and second removals are refused. */
  removing = false;
  /** Set once the container is destroyed, for `wait?condition=removed`. */
  removed = false;
  /** Counts exits since berthd started, for `wait?condition=next-exit`. */
  exitCount = 0;
  /** Exec IDs of this container's live execs. */
  readonly execIds = new Set<string>();
  /** Resolves once the running task's exit has been handled (set while running). */
  exited?: Promise<void>;
  private waiters: { pred: (c: Container) => boolean; resolve: () => void }[] = [];

  constructor(dir: string, record: ContainerRecord, hostConfig: HostConfig) {
    this.dir = dir;
    this.record = record;
    this.hostConfig = hostConfig;
    this.streams = new StreamConfig(record.Config.OpenStdin, record.Config.Tty);
  }

  get id(): string { return this.record.ID; }
  get name(): string { return this.record.Name; }
  get state(): StateJSON { return this.record.State; }
  get running(): boolean { return this.record.State.Running; }

  async save(): Promise<void> {
    await writeJSONAtomic(join(this.dir, 'hostconfig.json'), this.hostConfig);
    await writeJSONAtomic(join(this.dir, 'config.v2.json'), this.record);
  }

  /** Resolves when `pred` holds, checked at every state change. */
  waitFor(pred: (c: Container) => boolean, signal?: AbortSignal): Promise<void> {
    if (pred(this)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { pred, resolve };
      this.waiters.push(w);
      signal?.addEventListener('abort', () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal.reason);
      }, { once: true });
    });
  }

  /** Called after every state change (and on removal) to release waiters whose condition holds. */
  notify(): void {
    const ready = this.waiters.filter((w) => w.pred(this));
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  static newRecord(fields: Pick<ContainerRecord, 'ID' | 'Created' | 'Path' | 'Args' | 'Config' | 'Image' | 'Name'> & { dir: string }): ContainerRecord {
    return {
      ID: fields.ID,
      Created: fields.Created,
      Path: fields.Path,
      Args: fields.Args,
      Config: fields.Config,
      Image: fields.Image,
      Name: fields.Name,
      State: newState(),
      RestartCount: 0,
      Driver: 'overlay2',
      Platform: 'linux',
      LogPath: join(fields.dir, `${fields.ID}-json.log`),
      HostnamePath: join(fields.dir, 'hostname'),
      HostsPath: join(fields.dir, 'hosts'),
      ResolvConfPath: join(fields.dir, 'resolv.conf'),
      HasBeenStartedBefore: false,
      HasBeenManuallyStopped: false,
    };
  }
}
