// The container model: what config.v2.json and hostconfig.json hold, plus in-memory runtime state.
import { join } from 'node:path';
import type { ContainerConfig, HostConfig } from '../api/types/container.js';
import { writeJSONAtomic } from '../pkg/atomicfile.js';
import { Mutex } from '../pkg/mutex.js';
import type { MountPoint } from '../volume/types.js';
import type { EndpointSettings } from '../api/types/network.js';
import { RestartManager } from '../restartmanager/restartmanager.js';
import { State } from './state.js';
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
  State: State;
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
  /**
   * Resolves once start-up has reconciled the container with containerd (and started it, if its
   * restart policy brings it back with the daemon). Until then its state is what was last saved,
   * which may no longer be true, so requests about it wait for this.
   */
  settled: Promise<void> = Promise.resolve();
  /** The restart manager of the current run sequence (dockerd keeps it on its Container too). */
  private restarts?: RestartManager;
  private waiters: { pred: (c: Container) => boolean; resolve: () => void }[] = [];

  constructor(dir: string, record: ContainerRecord, hostConfig: HostConfig) {
    this.dir = dir;
    // A record read back from config.v2.json holds its state as plain JSON.
    this.record = record.State instanceof State ? record : { ...record, State: State.from(record.State) };
    this.hostConfig = hostConfig;
    this.streams = new StreamConfig(record.Config.OpenStdin, record.Config.Tty);
  }

  /** Makes `settled` pending until the returned function is called (it may be called again). */
  unsettle(): () => void {
    let settle!: () => void;
    this.settled = new Promise<void>((resolve) => (settle = resolve));
    return settle;
  }

  get id(): string { return this.record.ID; }
  get name(): string { return this.record.Name; }
  get state(): State { return this.record.State; }
  get running(): boolean { return this.record.State.Running; }

  /** The manager that decides restarts after exits, made on first use from the policy and count. */
  restartManager(): RestartManager {
    this.restarts ??= new RestartManager(this.hostConfig.RestartPolicy, this.record.RestartCount);
    return this.restarts;
  }

  /** A user's start (or restart): a new manager and RestartCount 0 (dockerd's ResetRestartManager). */
  resetRestartManager(): void {
    this.restarts?.cancel();
    this.restarts = undefined;
    this.record.RestartCount = 0;
  }

  /**
   * stop/kill/rm (and daemon shutdown): no more restarts from the current manager; a pending
   * back-off ends. A user's stop is recorded, so unless-stopped does not bring it back.
   */
  cancelRestart(byUser: boolean): void {
    if (byUser) this.record.HasBeenManuallyStopped = true;
    this.restartManager().cancel();
  }

  /** `docker update --restart`: the current manager applies the new policy from the next exit. */
  updateRestartPolicy(): void {
    this.restarts?.setPolicy(this.hostConfig.RestartPolicy);
  }

  /** `docker rm` under way: starts and second removals are refused. */
  setRemovalInProgress(): void {
    this.removing = true;
  }

  /** The removal failed: the container stays as it was. */
  resetRemovalInProgress(): void {
    this.removing = false;
    this.state.clearDead();
  }

  /** The container is destroyed; as dockerd's SetRemoved, that clears the error its waiters get. */
  setRemoved(): void {
    this.state.setError('');
    this.removed = true;
  }

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
      State: new State(),
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
