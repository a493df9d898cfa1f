// Berth's containerd client: a small, typed, promise-based view of containerd's gRPC API (the
// containers, tasks, events and version services), in the spirit of dockerd's libcontainerd.
//
// The .proto files are loaded once, at module load, with protobufjs; requests are encoded straight
// from plain objects and every call goes over a single grpc-js channel to containerd's socket.
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { BerthError, unavailable, type ErrorKind } from '../pkg/errors.js';

// ---- public types -------------------------------------------------------------------------------

/** A mount as containerd applies it (mount(2) fields); rootfs mounts ignore `target`. */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options?: string[];
}

export type TaskStatus = 'unknown' | 'created' | 'running' | 'stopped' | 'paused' | 'pausing';

export interface TaskInfo {
  /** The container id. */
  id: string;
  pid: number;
  status: TaskStatus;
  exitStatus: number;
  exitedAt?: Date;
}

export interface ExitInfo {
  exitStatus: number;
  exitedAt: Date;
}

export interface DeletedProcess extends ExitInfo {
  pid: number;
}

/** Options for containerd-shim-runc-v2 (containerd.runc.v1.Options). */
export interface RuncOptions {
  /** OCI runtime binary, e.g. /usr/sbin/runc. */
  binaryName?: string;
  /** The runtime's state root (runc --root). */
  root?: string;
  systemdCgroup?: boolean;
  noPivotRoot?: boolean;
  /** Owner of the shim's stdio pipes (rootless/userns setups). */
  ioUid?: number;
  ioGid?: number;
}

export interface CreateTaskOptions {
  rootfs: Mount[];
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal: boolean;
  runtimeOptions?: RuncOptions;
}

export interface ExecOptions {
  /** The OCI runtime-spec Process object (args, env, cwd, user, terminal…). */
  process: object;
  stdin?: string;
  stdout?: string;
  stderr?: string;
  terminal: boolean;
}

export interface ContainerRecord {
  id: string;
  labels: Record<string, string>;
}

export interface ListedContainer extends ContainerRecord {
  /** The annotations of its OCI spec. */
  annotations: Record<string, string>;
}

/** Task events, discriminated by containerd topic. `id` of exit/delete is the exec id, or the container id for init. */
export type ContainerdEvent =
  | { topic: '/tasks/create'; timestamp: Date; containerId: string; pid: number }
  | { topic: '/tasks/start'; timestamp: Date; containerId: string; pid: number }
  | {
      topic: '/tasks/exit';
      timestamp: Date;
      containerId: string;
      id: string;
      pid: number;
      exitStatus: number;
      exitedAt: Date;
    }
  | {
      topic: '/tasks/delete';
      timestamp: Date;
      containerId: string;
      id: string;
      pid: number;
      exitStatus: number;
      exitedAt: Date;
    }
  | { topic: '/tasks/oom'; timestamp: Date; containerId: string }
  | { topic: '/tasks/paused'; timestamp: Date; containerId: string }
  | { topic: '/tasks/resumed'; timestamp: Date; containerId: string }
  | { topic: '/tasks/exec-added'; timestamp: Date; containerId: string; execId: string }
  | { topic: '/tasks/exec-started'; timestamp: Date; containerId: string; execId: string; pid: number };

export interface Subscription {
  close(): void;
}

export const RUNTIME_RUNC_V2 = 'io.containerd.runc.v2';

// ---- protobuf plumbing (module load) ------------------------------------------------------------

const SPEC_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Spec';
const PROCESS_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/Process';
const RESOURCES_TYPE_URL = 'types.containerd.io/opencontainers/runtime-spec/1/LinuxResources';
const RUNC_OPTIONS_TYPE_URL = 'containerd.runc.v1.Options';

const protoDir = fileURLToPath(new URL('./proto/', import.meta.url));
const root = new protobuf.Root();
// Our imports are relative to proto/; google/protobuf/* resolve to protobufjs' bundled copies.
root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(protoDir, target));
root.loadSync(
  [
    'types/mount.proto',
    'types/task.proto',
    'services/version.proto',
    'services/containers.proto',
    'services/tasks.proto',
    'services/events.proto',
    'events/task.proto',
    'runc/options.proto',
  ],
  { keepCase: false },
);
root.resolveAll();

const toObjectOptions: protobuf.IConversionOptions = {
  longs: Number,
  enums: Number,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: true,
};

interface Codec {
  serialize(value: object): Buffer;
  deserialize(buf: Buffer): unknown;
}

const codecs = new Map<string, Codec>();
function codec(typeName: string): Codec {
  let c = codecs.get(typeName);
  if (!c) {
    const type = root.lookupType(typeName);
    c = {
      // Plain objects in the proto's camelCase shape encode directly: no fromObject pass.
      serialize: (value) => Buffer.from(type.encode(value).finish()),
      deserialize: (buf) => type.toObject(type.decode(buf), toObjectOptions),
    };
    codecs.set(typeName, c);
  }
  return c;
}

interface Method {
  path: string;
  req: Codec;
  res: Codec;
}

function method(service: string, name: string): Method {
  const svc = root.lookupService(service);
  const m = svc.methods[name];
  if (!m) throw new Error(`no method ${service}.${name}`);
  return {
    path: `/${service}/${name}`,
    req: codec(m.resolvedRequestType!.fullName.slice(1)),
    res: codec(m.resolvedResponseType!.fullName.slice(1)),
  };
}

const VERSION = 'containerd.services.version.v1.Version';
const CONTAINERS = 'containerd.services.containers.v1.Containers';
const TASKS = 'containerd.services.tasks.v1.Tasks';
const EVENTS = 'containerd.services.events.v1.Events';

const M = {
  version: method(VERSION, 'Version'),
  containerGet: method(CONTAINERS, 'Get'),
  containerList: method(CONTAINERS, 'List'),
  containerCreate: method(CONTAINERS, 'Create'),
  containerUpdate: method(CONTAINERS, 'Update'),
  containerDelete: method(CONTAINERS, 'Delete'),
  taskCreate: method(TASKS, 'Create'),
  taskStart: method(TASKS, 'Start'),
  taskDelete: method(TASKS, 'Delete'),
  taskDeleteProcess: method(TASKS, 'DeleteProcess'),
  taskGet: method(TASKS, 'Get'),
  taskList: method(TASKS, 'List'),
  taskKill: method(TASKS, 'Kill'),
  taskExec: method(TASKS, 'Exec'),
  taskResizePty: method(TASKS, 'ResizePty'),
  taskCloseIO: method(TASKS, 'CloseIO'),
  taskPause: method(TASKS, 'Pause'),
  taskResume: method(TASKS, 'Resume'),
  taskListPids: method(TASKS, 'ListPids'),
  taskUpdate: method(TASKS, 'Update'),
  taskWait: method(TASKS, 'Wait'),
  eventsSubscribe: method(EVENTS, 'Subscribe'),
};

const runcOptionsType = root.lookupType('containerd.runc.v1.Options');

/** Event payload decoders keyed by Any type_url (containerd uses the bare full message name). */
const eventTypes = new Map<string, protobuf.Type>(
  ['TaskCreate', 'TaskStart', 'TaskExit', 'TaskDelete', 'TaskOOM', 'TaskPaused', 'TaskResumed', 'TaskExecAdded', 'TaskExecStarted'].map(
    (n) => [`containerd.events.${n}`, root.lookupType(`containerd.events.${n}`)],
  ),
);

// ---- wire shapes (as decoded with toObjectOptions) ----------------------------------------------

interface PbTimestamp {
  seconds: number;
  nanos: number;
}
// protobufjs' bundled well-known types keep their snake_case field names.
interface PbAny {
  type_url: string;
  value: Buffer;
}
interface PbProcess {
  containerId: string;
  id: string;
  pid: number;
  status: number;
  exitStatus: number;
  exitedAt?: PbTimestamp | null;
}
interface PbContainer {
  id: string;
  labels: Record<string, string>;
}
interface PbDeleteResponse {
  id: string;
  pid: number;
  exitStatus: number;
  exitedAt?: PbTimestamp | null;
}
interface PbEnvelope {
  timestamp?: PbTimestamp | null;
  namespace: string;
  topic: string;
  event?: PbAny | null;
}
interface PbEvent {
  containerId: string;
  id: string;
  execId: string;
  pid: number;
  exitStatus: number;
  exitedAt?: PbTimestamp | null;
}

const statuses: TaskStatus[] = ['unknown', 'created', 'running', 'stopped', 'paused', 'pausing'];
const ZERO_DATE = new Date(0);

function toDate(ts: PbTimestamp | null | undefined): Date {
  return ts ? new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1e6)) : ZERO_DATE;
}

/** `value` may come already serialised (an OCI spec with exact 64-bit rlimits is not plain JSON). */
function jsonAny(typeUrl: string, value: object | string): PbAny {
  return { type_url: typeUrl, value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) };
}

/**
 * The runc shim copies every output stream once any stdio is set, and fails to open an empty
 * path; /dev/null (a plain file to the shim) stands in for the streams the caller left out.
 */
function stdioPaths(o: { stdin?: string; stdout?: string; stderr?: string; terminal: boolean }): {
  stdin: string;
  stdout: string;
  stderr: string;
} {
  const stdin = o.stdin ?? '';
  if (!stdin && !o.stdout && !o.stderr) return { stdin, stdout: '', stderr: '' };
  return {
    stdin,
    stdout: o.stdout || '/dev/null',
    // With a terminal, stderr is merged into the pty: nothing to copy.
    stderr: o.stderr || (o.terminal ? '' : '/dev/null'),
  };
}

function specAnnotations(spec: PbAny | null | undefined): Record<string, string> {
  if (!spec?.value.length) return {};
  try {
    return (JSON.parse(spec.value.toString()) as { annotations?: Record<string, string> }).annotations ?? {};
  } catch {
    return {};
  }
}

function toTaskInfo(p: PbProcess): TaskInfo {
  const info: TaskInfo = {
    id: p.containerId || p.id,
    pid: p.pid,
    status: statuses[p.status] ?? 'unknown',
    exitStatus: p.exitStatus,
  };
  // containerd reports the zero time (0001-01-01) for processes that have not exited.
  if (p.exitedAt && p.exitedAt.seconds > 0) info.exitedAt = toDate(p.exitedAt);
  return info;
}

function toDeleted(r: PbDeleteResponse): DeletedProcess {
  return { pid: r.pid, exitStatus: r.exitStatus, exitedAt: toDate(r.exitedAt) };
}

/**
 * Maps a gRPC error from containerd to Berth's typed errors. The message is containerd's own, as
 * dockerd passes it on (users see "failed to create shim task: OCI runtime create failed: …");
 * the call that failed stays in the cause for the logs.
 */
function mapError(err: grpc.ServiceError, what: string): BerthError {
  return new BerthError(errorKinds.get(err.code) ?? 'system', err.details || err.message, { cause: Object.assign(err, { call: what }) });
}

const errorKinds = new Map<grpc.status, ErrorKind>([
  [grpc.status.NOT_FOUND, 'not-found'],
  [grpc.status.ALREADY_EXISTS, 'conflict'],
  [grpc.status.FAILED_PRECONDITION, 'conflict'], // e.g. deleting a running task
  [grpc.status.INVALID_ARGUMENT, 'invalid-parameter'],
  [grpc.status.UNAVAILABLE, 'unavailable'],
  [grpc.status.DEADLINE_EXCEEDED, 'unavailable'],
]);

function decodeEvent(env: PbEnvelope): ContainerdEvent | undefined {
  const type = env.event ? eventTypes.get(env.event.type_url) : undefined;
  if (!type || !env.event) return undefined;
  const e = type.toObject(type.decode(env.event.value), toObjectOptions) as PbEvent;
  const timestamp = toDate(env.timestamp);
  const containerId = e.containerId;
  switch (env.topic) {
    case '/tasks/create':
    case '/tasks/start':
      return { topic: env.topic, timestamp, containerId, pid: e.pid };
    case '/tasks/exit':
    case '/tasks/delete':
      return {
        topic: env.topic,
        timestamp,
        containerId,
        id: e.id || containerId,
        pid: e.pid,
        exitStatus: e.exitStatus,
        exitedAt: toDate(e.exitedAt),
      };
    case '/tasks/oom':
    case '/tasks/paused':
    case '/tasks/resumed':
      return { topic: env.topic, timestamp, containerId };
    case '/tasks/exec-added':
      return { topic: env.topic, timestamp, containerId, execId: e.execId };
    case '/tasks/exec-started':
      return { topic: env.topic, timestamp, containerId, execId: e.execId, pid: e.pid };
    default:
      return undefined;
  }
}

// ---- the client ---------------------------------------------------------------------------------

const channelOptions: grpc.ChannelOptions = {
  // Reconnect quickly after containerd restarts (grpc's default first back-off is 1 s).
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  'grpc.max_receive_message_length': 16 << 20,
  'grpc.max_send_message_length': 16 << 20,
};

/**
 * How long one call to containerd may take. containerd answers in milliseconds; a shim that is
 * starting under load takes seconds. A call still pending after this is reported as unavailable
 * rather than left to hold a request, a lock or berthd's start-up forever.
 */
export const CALL_TIMEOUT_MS = 30_000;

export class ContainerdClient {
  readonly address: string;
  readonly namespace: string;
  private readonly client: grpc.Client;
  private readonly metadata: grpc.Metadata;

  private constructor(address: string, namespace: string) {
    this.address = address;
    this.namespace = namespace;
    const target = address.startsWith('unix:') ? address : `unix://${address}`;
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), channelOptions);
    this.metadata = new grpc.Metadata();
    this.metadata.set('containerd-namespace', namespace);
  }

  /**
   * Connects to containerd's gRPC socket (a path or unix:// address) and waits until the channel
   * is ready. Every call is made in `namespace`.
   */
  static async connect(address: string, namespace: string, opts: { timeoutMs?: number } = {}): Promise<ContainerdClient> {
    const c = new ContainerdClient(address, namespace);
    try {
      await new Promise<void>((resolve, reject) =>
        c.client.waitForReady(Date.now() + (opts.timeoutMs ?? 10_000), (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      c.close();
      throw unavailable(`containerd at ${address} is not reachable: ${(err as Error).message}`);
    }
    return c;
  }

  close(): void {
    this.client.close();
  }

  /** One call, bounded by `deadline` (CALL_TIMEOUT_MS from now by default; Infinity: unbounded). */
  private unary<T>(m: Method, req: object, what: string, deadline: Date | number = Date.now() + CALL_TIMEOUT_MS): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path,
        m.req.serialize,
        m.res.deserialize,
        req,
        this.metadata.clone(),
        { deadline },
        (err, res) => (err ? reject(mapError(err, what)) : resolve(res as T)),
      );
    });
  }

  // ---- version ----

  version(opts: { timeoutMs?: number } = {}): Promise<{ version: string; revision: string }> {
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : undefined;
    return this.unary<{ version: string; revision: string }>(M.version, {}, 'version', deadline).then((r) => ({
      version: r.version,
      revision: r.revision,
    }));
  }

  // ---- containers ----

  /** Creates the container record; spec is the OCI runtime spec object. */
  async createContainer(id: string, spec: object | string, labels: Record<string, string> = {}): Promise<void> {
    await this.unary(
      M.containerCreate,
      { container: { id, labels, runtime: { name: RUNTIME_RUNC_V2 }, spec: jsonAny(SPEC_TYPE_URL, spec) } },
      `create container ${id}`,
    );
  }

  /** Replaces the container's spec (takes effect at the next task create). */
  async updateContainerSpec(id: string, spec: object): Promise<void> {
    await this.unary(
      M.containerUpdate,
      { container: { id, spec: jsonAny(SPEC_TYPE_URL, spec) }, updateMask: { paths: ['spec'] } },
      `update container ${id}`,
    );
  }

  /** Replaces the container's labels. */
  async updateContainerLabels(id: string, labels: Record<string, string>): Promise<void> {
    await this.unary(
      M.containerUpdate,
      { container: { id, labels }, updateMask: { paths: ['labels'] } },
      `update container ${id}`,
    );
  }

  async getContainer(id: string): Promise<ContainerRecord & { spec: object | undefined }> {
    const r = await this.unary<{ container: PbContainer & { spec?: PbAny | null } }>(
      M.containerGet,
      { id },
      `get container ${id}`,
    );
    const spec = r.container.spec?.value.length ? (JSON.parse(r.container.spec.value.toString()) as object) : undefined;
    return { id: r.container.id, labels: r.container.labels, spec };
  }

  /** Throws a not-found error when the container does not exist. */
  async deleteContainer(id: string): Promise<void> {
    await this.unary(M.containerDelete, { id }, `delete container ${id}`);
  }

  async listContainers(opts: { timeoutMs?: number } = {}): Promise<ListedContainer[]> {
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : undefined;
    const r = await this.unary<{ containers: (PbContainer & { spec?: PbAny | null })[] }>(M.containerList, {}, 'list containers', deadline);
    return r.containers.map((c) => ({ id: c.id, labels: c.labels, annotations: specAnnotations(c.spec) }));
  }

  // ---- tasks ----

  /** Creates the task (runc create via the shim); the init process exists but has not started. */
  async createTask(id: string, opts: CreateTaskOptions): Promise<{ pid: number }> {
    const req: Record<string, unknown> = {
      containerId: id,
      rootfs: opts.rootfs,
      ...stdioPaths(opts),
      terminal: opts.terminal,
    };
    if (opts.runtimeOptions) {
      req.options = {
        type_url: RUNC_OPTIONS_TYPE_URL,
        value: Buffer.from(runcOptionsType.encode(opts.runtimeOptions).finish()),
      };
    }
    const r = await this.unary<{ pid: number }>(M.taskCreate, req, `create task ${id}`);
    return { pid: r.pid };
  }

  async startTask(id: string): Promise<{ pid: number }> {
    const r = await this.unary<{ pid: number }>(M.taskStart, { containerId: id }, `start task ${id}`);
    return { pid: r.pid };
  }

  /** Deletes a stopped (or created) task, returning how its init process ended. */
  async deleteTask(id: string): Promise<DeletedProcess> {
    return toDeleted(await this.unary<PbDeleteResponse>(M.taskDelete, { containerId: id }, `delete task ${id}`));
  }

  async killTask(id: string, signal: number, opts: { all?: boolean; execId?: string } = {}): Promise<void> {
    await this.unary(
      M.taskKill,
      { containerId: id, execId: opts.execId ?? '', signal, all: opts.all ?? false },
      `kill task ${id}`,
    );
  }

  /** The task's init process, or undefined when the container has no task. */
  async getTask(id: string): Promise<TaskInfo | undefined> {
    try {
      const r = await this.unary<{ process: PbProcess }>(M.taskGet, { containerId: id }, `get task ${id}`);
      return toTaskInfo(r.process);
    } catch (err) {
      if (err instanceof BerthError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  async listTasks(opts: { timeoutMs?: number } = {}): Promise<TaskInfo[]> {
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : undefined;
    const r = await this.unary<{ tasks: PbProcess[] }>(M.taskList, {}, 'list tasks', deadline);
    return r.tasks.map(toTaskInfo);
  }

  /**
   * Resolves when the task's init process (or the given exec) exits. Without a timeout a
   * long-lived call; it fails with an unavailable error if containerd goes away meanwhile.
   */
  async waitTask(id: string, opts: { execId?: string; timeoutMs?: number } = {}): Promise<ExitInfo> {
    const r = await this.unary<{ exitStatus: number; exitedAt?: PbTimestamp | null }>(
      M.taskWait,
      { containerId: id, execId: opts.execId ?? '' },
      `wait task ${id}`,
      opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs,
    );
    return { exitStatus: r.exitStatus, exitedAt: toDate(r.exitedAt) };
  }

  async pids(id: string): Promise<number[]> {
    const r = await this.unary<{ processes: { pid: number }[] }>(M.taskListPids, { containerId: id }, `list pids of ${id}`);
    return r.processes.map((p) => p.pid);
  }

  async pause(id: string): Promise<void> {
    await this.unary(M.taskPause, { containerId: id }, `pause task ${id}`);
  }

  async resume(id: string): Promise<void> {
    await this.unary(M.taskResume, { containerId: id }, `resume task ${id}`);
  }

  /** Updates the running task's resources (OCI LinuxResources object). */
  async updateResources(id: string, resources: object): Promise<void> {
    await this.unary(
      M.taskUpdate,
      { containerId: id, resources: jsonAny(RESOURCES_TYPE_URL, resources) },
      `update task ${id}`,
    );
  }

  // ---- execs (execId undefined = the init process) ----

  /** Adds an exec process to a running task; start it with startExec. */
  async exec(id: string, execId: string, opts: ExecOptions): Promise<void> {
    await this.unary(
      M.taskExec,
      {
        containerId: id,
        execId,
        ...stdioPaths(opts),
        terminal: opts.terminal,
        spec: jsonAny(PROCESS_TYPE_URL, opts.process),
      },
      `exec ${execId} in ${id}`,
    );
  }

  async startExec(id: string, execId: string): Promise<{ pid: number }> {
    const r = await this.unary<{ pid: number }>(M.taskStart, { containerId: id, execId }, `start exec ${execId} in ${id}`);
    return { pid: r.pid };
  }

  async deleteExec(id: string, execId: string): Promise<DeletedProcess> {
    return toDeleted(
      await this.unary<PbDeleteResponse>(M.taskDeleteProcess, { containerId: id, execId }, `delete exec ${execId} in ${id}`),
    );
  }

  async resizePty(id: string, execId: string | undefined, width: number, height: number): Promise<void> {
    await this.unary(
      M.taskResizePty,
      { containerId: id, execId: execId ?? '', width, height },
      `resize pty of ${execId ?? id}`,
    );
  }

  /** Closes the process' stdin inside the shim (the container then reads EOF). */
  async closeStdin(id: string, execId?: string): Promise<void> {
    await this.unary(M.taskCloseIO, { containerId: id, execId: execId ?? '', stdin: true }, `close stdin of ${execId ?? id}`);
  }

  // ---- events ----

  /**
   * Streams task events of this client's namespace. `onError` is called once if the stream ends
   * for any reason other than close() (e.g. containerd restarted); subscribe again then, and
   * reconcile task state, since events may have been missed in between.
   */
  subscribe(onEvent: (e: ContainerdEvent) => void, onError?: (err: Error) => void): Subscription {
    const m = M.eventsSubscribe;
    const call = this.client.makeServerStreamRequest(
      m.path,
      m.req.serialize,
      m.res.deserialize,
      { filters: [`namespace==${this.namespace},topic~=|^/tasks/|`] },
      this.metadata.clone(),
      {},
    );
    let closed = false;
    let failed = false;
    const fail = (err: Error): void => {
      if (closed || failed) return;
      failed = true;
      onError?.(err);
    };
    call.on('data', (env: PbEnvelope) => {
      if (closed) return;
      let ev: ContainerdEvent | undefined;
      try {
        ev = decodeEvent(env);
      } catch {
        return; // an undecodable payload is not worth tearing the stream down for
      }
      if (ev) onEvent(ev);
    });
    call.on('error', (err: grpc.ServiceError) => fail(mapError(err, 'events')));
    call.on('end', () => fail(unavailable('containerd event stream ended')));
    return {
      close() {
        if (closed) return;
        closed = true;
        call.cancel();
      },
    };
  }
}
