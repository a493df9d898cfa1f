// The engine: owns the stores, the containerd connection and the event bus, and wires them together.
// The operations import one another one way: daemon → monitor (exits, restore) → restart (restart
// policies) → stop → start → delete, start → healthcheck → exec → taskio → logdriver. Nothing calls
// up that chain; settings reach the operations through this Daemon (its DaemonOptions).
import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ContainerdClient, type DeletedProcess } from '../libcontainerd/client.js';
import { DEFAULT_SHIM_GROUP_SIZE, SHIM_GROUP_ANNOTATION, ShimGroups } from '../libcontainerd/shimgroups.js';
import { startContainerd } from '../libcontainerd/supervisor.js';
import { ImageService } from '../image/service.js';
import { EventBus } from '../events/bus.js';
import { ContainerStore } from '../container/store.js';
import { VolumeService } from '../volume/service.js';
import type { Container } from '../container/container.js';
import type { DaemonLogConfig } from '../logger/drivers.js';
import type { ExecConfig } from './exec.js';
import type { TaskIO } from './taskio.js';
import type { HealthMonitor } from './health.js';
import { readSysInfo, type SysInfo } from './resources.js';
import { handleTaskExit, handleExecExit, loadContainers, restoreContainers } from './monitor.js';
import { startContainersOnDaemonStart } from './restart.js';
import { stopContainersAtShutdown } from './shutdown.js';
import type { NetworkController } from '../network/controller.js';
import { openNetworks, restoreNetworking, type NetworkDaemonOptions } from './network.js';
import { chownToRemappedGroup, type IdentityMapping } from '../pkg/idmap.js';
import { RegistryConfig, type RegistryOptions } from '../registry/config.js';
import { LayerDigests } from '../distribution/layerdigests.js';
import type { DistributionDeps } from '../distribution/pull.js';

export const CONTAINERD_NAMESPACE = 'berth';

/** containerd's containers that have a task, with the shim group their spec names. */
async function liveShimGroups(ctd: ContainerdClient): Promise<{ id: string; group?: string }[]> {
  const [containers, tasks] = await Promise.all([ctd.listContainers(), ctd.listTasks()]);
  const withTask = new Set(tasks.map((t) => t.id));
  return containers.filter((c) => withTask.has(c.id)).map((c) => ({ id: c.id, group: c.annotations[SHIM_GROUP_ANNOTATION] }));
}

/**
 * How long start-up waits for containers to be reconciled with containerd before the API serves
 * anyway (berthd must answer within 10 s of its start); the rest continues in the background.
 */
const RESTORE_WAIT_MS = 1000;

export interface DaemonOptions {
  dataRoot: string;
  execRoot: string;
  /** An existing containerd socket; without it berthd runs its own. */
  containerd?: string;
  logger: Logger;
  debug: boolean;
  /** Paths of host binaries the daemon hands to containers. */
  runtimePath: string;
  initPath: string;
  /** A stable ID for /info, kept in the data root. */
  engineId: string;
  /** Bridge, address pools, NAT, firewall (berthd flags / daemon.json). */
  network?: NetworkDaemonOptions;
  /** The default log driver and options of new containers (daemon.json `log-driver`/`log-opts`). */
  logConfig?: DaemonLogConfig;
  /** Containers keep running while berthd is down (default true). */
  liveRestore?: boolean;
  /** --userns-remap: containers run in a user namespace with these mappings; files are stored shifted. */
  idMap?: IdentityMapping;
  /** Containers per containerd shim (default DEFAULT_SHIM_GROUP_SIZE; ≤ 1: a shim each). */
  shimGroupSize?: number;
  /** Registry mirrors and insecure registries (`--registry-mirror`, `--insecure-registry`). */
  registry?: RegistryOptions;
}

export class Daemon {
  readonly containers = new ContainerStore();
  readonly execs = new Map<string, ExecConfig>();
  /** Live tasks by container ID: their stdio pumps and exit bookkeeping. */
  readonly taskIO = new Map<string, TaskIO>();
  /** The health monitor of each running container that has a health check. */
  readonly healthMonitors = new WeakMap<Container, HealthMonitor>();
  readonly startedAt = new Date();
  /** Which shared shim each new task goes to. */
  readonly shimGroups: ShimGroups;
  /** Networks, sandboxes, published ports, embedded DNS (set in start(), before containers load). */
  networks!: NetworkController;
  /** Named and anonymous volumes (set in start(), before containers load). */
  volumes!: VolumeService;
  /** What pulls and pushes work with: the image service, registry settings, known blobs. */
  distribution!: DistributionDeps;
  private stopContainerd?: () => Promise<void>;
  private closing = false;
  private stoppingContainers = false;
  private hostSysInfo?: Promise<SysInfo>;
  private unsubscribe?: () => void;
  /** Settles once start-up's reconciling with containerd and restarts by policy are done. */
  restored: Promise<void> = Promise.resolve();

  private constructor(
    readonly opts: DaemonOptions,
    readonly ctd: ContainerdClient,
    readonly images: ImageService,
    readonly events: EventBus,
  ) {
    this.shimGroups = new ShimGroups(opts.shimGroupSize ?? DEFAULT_SHIM_GROUP_SIZE);
  }

  get logger(): Logger { return this.opts.logger; }
  get containersDir(): string { return join(this.opts.dataRoot, 'containers'); }
  get runcRoot(): string { return join(this.opts.execRoot, 'runtime-runc'); }
  get logConfig(): DaemonLogConfig { return this.opts.logConfig ?? {}; }
  get liveRestore(): boolean { return this.opts.liveRestore ?? true; }
  /** Set while berthd stops its containers: their exits neither restart them nor count as the user's stop. */
  get shuttingDown(): boolean { return this.stoppingContainers; }

  /** The host's cgroup capabilities, read once. */
  sysInfo(): Promise<SysInfo> {
    this.hostSysInfo ??= readSysInfo();
    return this.hostSysInfo;
  }

  /**
   * Deletes a container's task (every task deletion goes through here): it leaves its shim
   * group first, so that a shared shim never exits under a container joining it.
   */
  async deleteTask(id: string): Promise<DeletedProcess> {
    await this.shimGroups.leave(id);
    return this.ctd.deleteTask(id);
  }

  /** Where a container's (or exec's) stdio FIFOs live: short, under the exec root. */
  fifoDir(containerId: string): string {
    return join(this.opts.execRoot, 'fifo', containerId);
  }

  static async start(opts: DaemonOptions): Promise<Daemon> {
    for (const dir of [opts.dataRoot, opts.execRoot, join(opts.dataRoot, 'containers'), join(opts.execRoot, 'fifo')]) {
      await mkdir(dir, { recursive: true, mode: 0o710 });
    }
    if (opts.idMap) {
      // The remapped root must get through to the containers' network files (dockerd's layout)
      // and to the rootfs containerd mounts in its task bundle under the exec root.
      await chownToRemappedGroup(join(opts.dataRoot, 'containers'), opts.idMap);
      await chownToRemappedGroup(opts.execRoot, opts.idMap);
      await chmod(opts.execRoot, 0o710);
    }
    let address = opts.containerd;
    let stop: (() => Promise<void>) | undefined;
    if (!address) {
      const sup = await startContainerd({ execRoot: opts.execRoot, dataRoot: opts.dataRoot, logger: opts.logger, debug: opts.debug });
      address = sup.address;
      stop = sup.stop;
    }
    const ctd = await ContainerdClient.connect(address, CONTAINERD_NAMESPACE);
    const events = new EventBus();
    const images = await ImageService.open({
      root: opts.dataRoot,
      logger: opts.logger,
      idMap: opts.idMap,
      onEvent: (action, id, attrs) => events.publish({ Type: 'image', Action: action, Actor: { ID: id, Attributes: attrs } }),
    });
    const d = new Daemon(opts, ctd, images, events);
    d.distribution = {
      images,
      registries: new RegistryConfig(opts.registry),
      digests: await LayerDigests.open(join(opts.dataRoot, 'image', 'overlay2')),
      logger: opts.logger,
    };
    void d.sysInfo();
    d.volumes = await VolumeService.open({
      root: join(opts.dataRoot, 'volumes'),
      logger: opts.logger,
      idMap: opts.idMap,
      onEvent: (action, id, attrs) => events.publish({ Type: 'volume', Action: action, Actor: { ID: id, Attributes: attrs } }),
    });
    d.stopContainerd = stop;
    d.networks = await openNetworks(d, opts.network ?? {});
    // The shared shims still serving tasks, before anything can start or delete one.
    if (d.shimGroups.enabled) void d.shimGroups.restore(() => liveShimGroups(ctd));
    // What needs no containerd comes first and cannot hang: the containers as last saved, their
    // endpoints and volumes. Reconciling them with containerd's tasks may be slow (a shim gone, a
    // containerd under load): it holds each container's lock, so requests on that container wait
    // for its true state while the API already serves.
    const loaded = await loadContainers(d);
    await restoreNetworking(d);
    const fifoDirs = await readdir(join(opts.execRoot, 'fifo'));
    // Subscribe before reconciling so that no exit between the two is missed.
    d.watchEvents();
    // Requests about a container wait until it is settled: its saved state may be stale.
    const settle = new Map(loaded.map((c) => [c, c.unsettle()]));
    d.restored = (async () => {
      await restoreContainers(d, loaded, settle);
      await d.sweepFifos(fifoDirs);
      await d.collectMissedExits();
      // Containers whose restart policy says so come back with the daemon (dockerd's restore).
      await startContainersOnDaemonStart(d);
    })()
      .catch((err: unknown) => d.logger.error({ err }, 'restoring containers'))
      .finally(() => settle.forEach((done) => done()));
    const timer = new AbortController();
    await Promise.race([d.restored, delay(RESTORE_WAIT_MS, undefined, { signal: timer.signal }).catch(() => undefined)]);
    timer.abort();
    return d;
  }

  /**
   * Follows containerd's task events. When the stream breaks (containerd restarting), it
   * subscribes again and collects the exits it may have missed meanwhile.
   */
  private watchEvents(): void {
    const sub = this.ctd.subscribe(
      (e) => {
        if (e.topic === '/tasks/exit') {
          if (e.id === e.containerId) void handleTaskExit(this, e.containerId, e.exitStatus, e.exitedAt);
          else void handleExecExit(this, e.id, e.exitStatus);
        } else if (e.topic === '/tasks/oom') {
          this.onOOM(e.containerId);
        }
      },
      (err) => {
        if (this.closing) return;
        this.logger.warn({ err }, 'containerd event stream broke; subscribing again');
        setTimeout(() => {
          if (this.closing) return;
          this.watchEvents();
          void this.collectMissedExits();
        }, 200);
      },
    );
    this.unsubscribe = () => sub.close();
  }

  /** Exits of tasks berthd follows that happened while it was not listening. */
  private async collectMissedExits(): Promise<void> {
    for (const id of this.taskIO.keys()) {
      const task = await this.ctd.getTask(id).catch(() => undefined);
      if (task?.status === 'stopped') await handleTaskExit(this, id, task.exitStatus, task.exitedAt ?? new Date());
    }
  }

  /** Publishes a container event with dockerd's attributes (name, image, labels). */
  containerEvent(c: Container, action: string, extra: Record<string, string> = {}): void {
    this.events.publish({
      Type: 'container',
      Action: action,
      Actor: {
        ID: c.id,
        Attributes: { ...(c.record.Config.Labels ?? {}), image: c.record.Config.Image, name: c.name.slice(1), ...extra },
      },
    });
  }

  private onOOM(containerId: string): void {
    const run = this.taskIO.get(containerId);
    const c = this.containers.find(containerId);
    if (run) run.oomKilled = true;
    if (c) this.containerEvent(c, 'oom');
  }

  /**
   * FIFO directories (found at start) of containers that no longer run are leftovers of a crash.
   * A container's lock keeps a start that is creating its FIFOs meanwhile out.
   */
  private async sweepFifos(ids: string[]): Promise<void> {
    const root = join(this.opts.execRoot, 'fifo');
    for (const id of ids) {
      const sweep = async () => {
        if (!this.taskIO.has(id)) await rm(join(root, id), { recursive: true, force: true });
      };
      const c = this.containers.find(id);
      await (c ? c.lock.run(sweep) : sweep());
    }
  }

  /** Stops the engine: running containers keep running with live restore, and stop with berthd without. */
  async shutdown(): Promise<void> {
    if (!this.liveRestore) {
      this.stoppingContainers = true;
      await stopContainersAtShutdown(this);
    }
    this.closing = true;
    this.unsubscribe?.();
    for (const run of this.taskIO.values()) run.detach();
    this.ctd.close();
    await this.networks?.close().catch((err: unknown) => this.logger.warn({ err }, 'network controller close'));
    await this.volumes?.shutdown().catch((err: unknown) => this.logger.warn({ err }, 'volume service shutdown'));
    await this.stopContainerd?.();
  }
}
