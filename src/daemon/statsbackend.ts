// GET /containers/{id}/stats for the container router's backend: one empty frame for a container
// that is not running, otherwise encoded frames until the container stops or the client leaves.
import type { StatsStream } from '../server/router/container.js';
import type { Container } from '../container/container.js';
import type { Daemon } from './daemon.js';
import { emptyStats, encodeStats, readStats, statsStream, validateStatsQuery } from './stats.js';

export async function containerStats(
  d: Daemon,
  c: Container,
  opts: { stream: boolean; oneShot: boolean },
): Promise<StatsStream> {
  validateStatsQuery(opts.stream, opts.oneShot);
  // A container that is not running: one empty frame (dockerd's answer without stream).
  if (!c.running || c.state.Restarting) return { idle: encodeStats(emptyStats(c.name, c.id)) };
  return { frames: (clientGone) => frames(d, c, opts, clientGone) };
}

async function* frames(d: Daemon, c: Container, opts: { stream: boolean; oneShot: boolean }, clientGone: AbortSignal): AsyncGenerator<string> {
  const ac = new AbortController();
  const onGone = () => ac.abort();
  clientGone.addEventListener('abort', onGone, { once: true });
  if (clientGone.aborted) ac.abort();
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
    for await (const s of statsStream(sample, 1000, { ...opts, signal: ac.signal })) {
      if (ac.signal.aborted) break;
      yield encodeStats(s);
    }
  } catch (err) {
    // The cgroup went away (the container stopped): as dockerd, end with an empty frame.
    if (!ac.signal.aborted) yield encodeStats(emptyStats(c.name, c.id));
    d.logger.debug({ err, id: c.id }, 'stats ended');
  } finally {
    ac.abort();
    clientGone.removeEventListener('abort', onGone);
  }
}
