// Starting a container: resolve its user, build the OCI spec, hand containerd the rootfs and the
// stdio FIFOs, then start the task.
import type { Container } from '../container/container.js';
import { conflict, notFound, notModified, isKind, BerthError } from '../pkg/errors.js';
import { createSpec, specToJSON } from '../oci/spec.js';
import { SHIM_GROUP_ANNOTATION } from '../libcontainerd/shimgroups.js';
import { resolveUser } from '../oci/user.js';
import { openStdio, stdioPaths, TaskIO, makeFifoDir } from './taskio.js';
import { removeContainer } from './delete.js';
import { openLogDriver } from './logdriver.js';
import { startHealth } from './healthcheck.js';
import { containerEnv } from './env.js';
import { RestartCanceledError } from '../restartmanager/restartmanager.js';
import type { Daemon } from './daemon.js';
import { linkEnv, releaseNetworking, setupNetworking, type NetworkOption } from './network.js';
import { usernsPathOf } from '../network/netlink.js';
import { containerSpecMounts, releaseContainerMounts } from './mounts.js';
import { mergeSpecMounts } from '../volume/mounts.js';
import { chownToRemappedRoot, type IdentityMapping } from '../pkg/idmap.js';
import { verifyUsernsSettings } from './userns.js';

/**
 * A remapped container's user namespace: a new one, the one owning the network namespace berthd
 * made for it, or the one of the container whose network namespace it joins (as dockerd).
 */
function containerUserns(d: Daemon, c: Container, network: NetworkOption): { path?: string } {
  const mode = c.hostConfig.NetworkMode;
  if (mode.startsWith('container:')) {
    const peer = d.containers.get(mode.slice('container:'.length));
    return peer.hostConfig.UsernsMode === 'host' ? {} : { path: `/proc/${peer.state.Pid}/ns/user` };
  }
  // A sandbox of berthd's: the user namespace that owns it (createNetns).
  return network.mode === 'path' ? { path: usernsPathOf(network.path) } : {};
}

/** The shim's stdio pipes belong to the container's root, which may reopen them (/dev/stdout). */
function stdioOwner(d: Daemon, userns: { path?: string } | undefined): { ioUid?: number; ioGid?: number } {
  if (!userns || !d.opts.idMap) return {};
  const { uid, gid } = d.opts.idMap.rootPair();
  return { ioUid: uid, ioGid: gid };
}

/** /etc/hostname, hosts and resolv.conf (rewritten by setupNetworking) owned by the container's root. */
async function chownNetworkFiles(c: Container, m: IdentityMapping): Promise<void> {
  for (const p of [c.record.HostnamePath, c.record.HostsPath, c.record.ResolvConfPath]) {
    if (p) await chownToRemappedRoot(p, m);
  }
}

export async function startContainer(d: Daemon, c: Container, opts: { autoRestart?: boolean } = {}): Promise<void> {
  await c.lock.run(async () => {
    if (c.removing) throw conflict(`container is marked for removal and cannot be started`);
    if (c.state.Dead) throw conflict(`container is marked for removal and cannot be started`);
    if (c.state.Paused) throw conflict(`cannot start a paused container, try unpause instead`);
    // A restart policy's start runs while the container is restarting (Running stays true).
    if (opts.autoRestart) {
      if (!c.state.Restarting) throw new RestartCanceledError();
    } else {
      if (c.running) throw notModified('container already started');
      c.resetRestartManager();
    }
    await startLocked(d, c);
  }).catch(async (err: unknown) => {
    // As dockerd's containerStart: a start that fails removes an AutoRemove container (the CLI's
    // `run --rm` waits for that removal before it reports the error).
    if (c.hostConfig.AutoRemove && !c.removing && !c.running && !isKind(err, 'not-modified')) {
      await removeContainer(d, c, { force: true, volumes: true }).catch((e) => d.logger.warn({ err: e, id: c.id }, 'auto-remove after failed start'));
    }
    throw err;
  });
}

async function startLocked(d: Daemon, c: Container): Promise<void> {
  const cfg = c.record.Config;
  const h = c.hostConfig;
  let userMounts: Awaited<ReturnType<typeof containerSpecMounts>> | undefined;
  try {
    verifyUsernsSettings(h, d.opts.idMap);
    const user = await resolveUser(cfg.User, h.GroupAdd ?? [], (p) => d.images.readContainerFile(c.id, p));
    userMounts = await containerSpecMounts(d, c);
    const env = containerEnv(c, linkEnv(d, c));
    const network = await setupNetworking(d, c);
    const userns = d.opts.idMap && h.UsernsMode !== 'host' ? containerUserns(d, c, network) : undefined;
    if (d.opts.idMap) await chownNetworkFiles(c, d.opts.idMap);
    const spec = await createSpec({
      id: c.id,
      config: cfg,
      hostConfig: h,
      args: [c.record.Path, ...c.record.Args],
      env,
      cwd: cfg.WorkingDir || '/',
      user,
      hostname: cfg.Hostname,
      domainname: cfg.Domainname,
      mounts: mergeSpecMounts([
        { destination: '/etc/resolv.conf', source: c.record.ResolvConfPath, type: 'bind', options: ['rbind', 'rprivate'] },
        { destination: '/etc/hostname', source: c.record.HostnamePath, type: 'bind', options: ['rbind', 'rprivate'] },
        { destination: '/etc/hosts', source: c.record.HostsPath, type: 'bind', options: ['rbind', 'rprivate'] },
      ], userMounts.mounts),
      rootfsPropagation: userMounts.rootfsPropagation,
      network,
      idMap: d.opts.idMap,
      userns,
      cgroupsPath: `/berth/${c.id}`,
      initPath: h.Init ? d.opts.initPath : undefined,
    });
    // A containerd container left from an earlier run (or a crash) is replaced.
    await d.deleteTask(c.id).catch(() => undefined);
    await d.ctd.deleteContainer(c.id).catch(() => undefined);
    // The shared shim this task joins: left again if the task is not created.
    const shim = await d.shimGroups.join(c.id, h.Runtime || 'runc');
    if (shim) {
      spec.annotations = { ...spec.annotations, [SHIM_GROUP_ANNOTATION]: shim.group };
      d.logger.debug({ id: c.id, group: shim.group }, 'joining shim group');
    }
    let created = false;
    let io: Awaited<ReturnType<typeof openStdio>>;
    let logDriver: Awaited<ReturnType<typeof openLogDriver>>;
    try {
      await d.ctd.createContainer(c.id, specToJSON(spec), { 'com.docker/engine.bundle.path': c.dir });
      const dir = d.fifoDir(c.id);
      await makeFifoDir(dir);
      const paths = stdioPaths(dir, 'init', { stdin: cfg.OpenStdin, tty: cfg.Tty });
      logDriver = await openLogDriver(c);
      io = await openStdio(paths, false);
      try {
        await d.ctd.createTask(c.id, {
          rootfs: await d.images.rootfsMounts(c.id),
          stdin: paths.stdin,
          stdout: paths.stdout,
          stderr: paths.stderr,
          terminal: cfg.Tty,
          runtimeOptions: { binaryName: d.opts.runtimePath, root: d.runcRoot, ...stdioOwner(d, userns) },
        });
        created = true;
      } catch (err) {
        await io.abort();
        await logDriver.close().catch(() => undefined);
        await d.ctd.deleteContainer(c.id).catch(() => undefined);
        // Only task creation carries this prefix (libcontainerd's NewTask wraps its error so);
        // errors building the spec, such as an unknown user, are reported as they are.
        const msg = err instanceof Error ? err.message : String(err);
        throw new BerthError(err instanceof BerthError ? err.kind : 'system', `failed to create task for container: ${msg}`, { cause: err });
      }
    } finally {
      shim?.settle(created);
    }
    let pid: number;
    const run = await TaskIO.attach(c, io, spec, () => d.ctd.closeStdin(c.id), logDriver);
    d.taskIO.set(c.id, run);
    try {
      const [hgt, wid] = h.ConsoleSize;
      if (cfg.Tty && hgt > 0 && wid > 0) await d.ctd.resizePty(c.id, undefined, wid, hgt).catch(() => undefined);
      ({ pid } = await d.ctd.startTask(c.id));
    } catch (err) {
      d.taskIO.delete(c.id);
      await d.deleteTask(c.id).catch(() => undefined);
      await run.finish(0);
      await d.ctd.deleteContainer(c.id).catch(() => undefined);
      throw err;
    }
    c.state.setRunning(pid);
    c.record.HasBeenStartedBefore = true;
    c.record.HasBeenManuallyStopped = false;
    c.exited = c.waitFor((x) => !x.running);
    await c.save();
    c.notify();
    d.containerEvent(c, 'start');
    startHealth(d, c);
  } catch (err) {
    // A restart policy's start that failed leaves the container restarting until its caller marks it stopped.
    const restarting = c.state.Restarting;
    if (userMounts && (!c.running || restarting)) await releaseContainerMounts(d, c);
    if (!c.running || restarting) await releaseNetworking(d, c);
    const msg = err instanceof Error ? err.message : String(err);
    c.state.setError(msg);
    // dockerd's exit codes for a process that never ran: 127 not found, 126 cannot execute.
    const notFound = /executable file not found|no such file or directory/.test(msg);
    const cannotRun = /permission denied/.test(msg);
    if (!c.running) c.state.setExitCode(notFound ? 127 : cannotRun ? 126 : 128);
    await c.save().catch(() => undefined);
    // A command that cannot run is the user's config at fault: 400, as dockerd's startInvalidConfigError.
    if ((notFound || cannotRun) && !(err instanceof BerthError && err.kind !== 'system')) {
      throw new BerthError('invalid-parameter', msg, { cause: err });
    }
    if (err instanceof BerthError) throw err;
    throw new BerthError('system', msg, { cause: err });
  }
}
