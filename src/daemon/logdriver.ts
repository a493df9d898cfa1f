// A container's log driver: the one each run writes its output to, and the LogPath inspect shows.
import type { Container } from '../container/container.js';
import { createLogDriver, initLoggingError, logPathFor, type LogDriver } from '../logger/drivers.js';
import type { LogInfo } from '../logger/loginfo.js';

/** dockerd's LogPath: the json-file log only (the local driver's files are not part of the API). */
export function containerLogPath(c: Container): string {
  return c.hostConfig.LogConfig.Type === 'json-file' ? logPathFor('json-file', c.dir, c.id) ?? '' : '';
}

/** The log driver for a run of the container (dockerd's StartLogger). */
export async function openLogDriver(c: Container): Promise<LogDriver> {
  const r = c.record;
  const cfg = c.hostConfig.LogConfig;
  const info: LogInfo = {
    Config: cfg.Config ?? {},
    ContainerID: c.id,
    ContainerName: c.name,
    ContainerEntrypoint: r.Path,
    ContainerArgs: r.Args,
    ContainerImageID: r.Image,
    ContainerImageName: r.Config.Image,
    ContainerCreated: new Date(r.Created),
    ContainerEnv: r.Config.Env ?? [],
    ContainerLabels: r.Config.Labels ?? {},
    LogPath: logPathFor(cfg.Type, c.dir, c.id) ?? '',
    DaemonName: 'docker',
  };
  try {
    return await createLogDriver({ Type: cfg.Type || 'json-file', Config: cfg.Config ?? {} }, info);
  } catch (err) {
    throw initLoggingError(err);
  }
}
