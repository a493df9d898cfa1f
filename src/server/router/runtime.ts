// /containers/{id}/update, /pause, /unpause and /stats: runtime operations on a container.
import type { Router, RouteContext } from '../router.js';
import { boolValue, boolValueOr, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import type { Daemon } from '../../daemon/daemon.js';
import { cannotUpdate, cannotUpdateRemoving, parseUpdateBody, updateResources } from '../../daemon/resources.js';
import { emptyStats, encodeStats, readStats, statsStream, validateStatsQuery } from '../../daemon/stats.js';
import { pauseContainer, unpauseContainer } from '../../daemon/pause.js';

export function runtimeRoutes(r: Router, d: Daemon): void {
  const get = (ctx: RouteContext) => d.containers.get(ctx.params.name);

  r.post('/containers/{name}/update', async (ctx) => {
    const c = get(ctx);
    const update = parseUpdateBody(await readJSONBody(ctx.req), ctx.version);
    const sys = await d.sysInfo();
    const warnings = await c.lock.run(async () => {
      if (c.removing) throw cannotUpdateRemoving(c.id);
      const plan = updateResources(c.id, c.hostConfig, update, sys, ctx.version);
      // A running (or paused) task gets the new limits now; a restarting one at its next start.
      if (c.running && !c.state.Restarting && Object.keys(plan.resources).length > 0) {
        try {
          await d.ctd.updateResources(c.id, plan.resources);
        } catch (err) {
          throw cannotUpdate(c.id, err);
        }
      }
      c.hostConfig = plan.hostConfig;
      if (plan.restartPolicy) c.updateRestartPolicy();
      await c.save();
      return plan.warnings;
    });
    d.containerEvent(c, 'update');
    writeJSON(ctx.res, 200, { Warnings: warnings });
  });

  r.post('/containers/{name}/pause', async (ctx) => {
    await pauseContainer(d, get(ctx));
    writeNoContent(ctx.res);
  });

  r.post('/containers/{name}/unpause', async (ctx) => {
    await unpauseContainer(d, get(ctx));
    writeNoContent(ctx.res);
  });

  r.get('/containers/{name}/stats', async (ctx) => {
    const c = get(ctx);
    const stream = boolValueOr(ctx.query, 'stream', true);
    const oneShot = boolValue(ctx.query, 'one-shot');
    validateStatsQuery(stream, oneShot);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    // A container that is not running: one empty frame (dockerd's answer without stream).
    if (!c.running || c.state.Restarting) {
      ctx.res.end(encodeStats(emptyStats(c.name, c.id)));
      return;
    }
    ctx.res.flushHeaders();
    const ac = new AbortController();
    ctx.req.socket.once('close', () => ac.abort());
    // The stream ends when the container stops.
    void c.waitFor((x) => !x.running || x.removed || x.state.Restarting, ac.signal).then(() => ac.abort(), () => undefined);
    const sample = () => readStats({
      cgroupPath: `/berth/${c.id}`,
      pid: c.state.Pid,
      network: c.hostConfig.NetworkMode !== 'host' && !c.record.Config.NetworkDisabled,
      name: c.name,
      id: c.id,
    });
    try {
      for await (const s of statsStream(sample, 1000, { stream, oneShot, signal: ac.signal })) {
        if (ac.signal.aborted) break;
        if (!ctx.res.write(encodeStats(s))) await new Promise<void>((res) => ctx.res.once('drain', res));
      }
    } catch (err) {
      // The cgroup went away (the container stopped): as dockerd, end with an empty frame.
      if (!ac.signal.aborted) ctx.res.write(encodeStats(emptyStats(c.name, c.id)));
      d.logger.debug({ err, id: c.id }, 'stats ended');
    }
    ac.abort();
    ctx.res.end();
  });
}
