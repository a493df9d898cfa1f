// docker commit: a new image from a container's changes (dockerd's CreateImageFromContainer).
import type { ContainerConfig } from '../api/types/container.js';
import { conflict } from '../pkg/errors.js';
import { applyChanges } from '../image/changeinstructions.js';
import { repoTagReference } from '../image/service.js';
import { familiarString } from '../reference/reference.js';
import type { Daemon } from './daemon.js';
import type { CommitRequest as CommitRouteRequest } from '../server/router/image.js';

/** The router's commit request, its body normalised to a container config. */
export interface CommitRequest extends Omit<CommitRouteRequest, 'config'> {
  /** Config overrides from the request body; the container's config when absent. */
  config?: ContainerConfig;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** dockerd's merge: fields the new config leaves empty come from the container's config. */
export function mergeCommitConfig(user: ContainerConfig, base: ContainerConfig): ContainerConfig {
  const u = clone(user);
  if (!u.User) u.User = base.User;
  if (!u.ExposedPorts || Object.keys(u.ExposedPorts).length === 0) u.ExposedPorts = base.ExposedPorts;
  else for (const p of Object.keys(base.ExposedPorts ?? {})) u.ExposedPorts[p] ??= {};
  if (!u.Env || u.Env.length === 0) u.Env = base.Env;
  else {
    const keys = new Set(u.Env.map((e) => e.split('=')[0]));
    for (const e of base.Env ?? []) if (!keys.has(e.split('=')[0])) u.Env.push(e);
  }
  u.Labels ??= {};
  for (const [k, v] of Object.entries(base.Labels ?? {})) if (!(k in u.Labels)) u.Labels[k] = v;
  if (!u.Entrypoint || u.Entrypoint.length === 0) {
    if (!u.Cmd || u.Cmd.length === 0) u.Cmd = base.Cmd;
    if (u.Entrypoint === null || u.Entrypoint === undefined) u.Entrypoint = base.Entrypoint;
  }
  if (base.Healthcheck) {
    if (!u.Healthcheck) u.Healthcheck = base.Healthcheck;
    else {
      const h = u.Healthcheck as Record<string, unknown>;
      const b = base.Healthcheck as Record<string, unknown>;
      for (const k of ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries']) {
        const v = h[k];
        if (v === undefined || v === 0 || (Array.isArray(v) && v.length === 0)) h[k] = b[k];
      }
    }
  }
  if (!u.WorkingDir) u.WorkingDir = base.WorkingDir;
  if (!u.Volumes || Object.keys(u.Volumes).length === 0) u.Volumes = base.Volumes;
  else Object.assign(u.Volumes, base.Volumes ?? {});
  if (!u.StopSignal && base.StopSignal) u.StopSignal = base.StopSignal;
  return u;
}

export async function commitContainer(d: Daemon, req: CommitRequest): Promise<string> {
  // Refuse a bad reference before doing any work, as dockerd's router does.
  const ref = req.repo ? repoTagReference(req.repo, req.tag) : undefined;
  const c = d.containers.get(req.container);
  if (c.state.Dead) throw conflict(`You cannot commit container ${c.id} which is Dead`);
  if (c.removing) throw conflict(`You cannot commit container ${c.id} which is being removed`);

  const newConfig = mergeCommitConfig(applyChanges(clone(req.config ?? c.record.Config), req.changes), c.record.Config);
  // Under the container's lock: a pause or unpause in the middle would otherwise be undone by the
  // resume below, leaving the container running while its state says paused.
  const id = await c.lock.run(async () => {
    let paused = false;
    if (req.pause && c.running && !c.state.Paused) {
      try {
        await d.ctd.pause(c.id);
        paused = true;
      } catch (err) {
        d.logger.warn({ err, id: c.id }, 'could not pause container for commit');
      }
    }
    try {
      return await d.images.commit({
        containerID: c.id,
        parentImageID: c.record.Image,
        config: newConfig,
        containerConfig: c.record.Config,
        author: req.author,
        comment: req.comment,
        os: 'linux',
        repo: req.repo,
        tag: req.tag,
      });
    } finally {
      if (paused) await d.ctd.resume(c.id).catch((err: unknown) => d.logger.warn({ err, id: c.id }, 'could not resume container after commit'));
    }
  });
  d.containerEvent(c, 'commit', { comment: req.comment ?? '', imageID: id, imageRef: ref ? familiarString(ref) : '' });
  return id;
}
