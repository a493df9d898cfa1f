// The container router's backend (server/router/container.ts): the container routes' operations
// on a Daemon, by container name or ID.
import type { Writable } from 'node:stream';
import type { ContainerBackend, ContainerCreateRequest } from '../server/router/container.js';
import type { EndpointSettings } from '../api/types/network.js';
import type { ContainerConfig } from '../api/types/container.js';
import { versionLessThan } from '../server/version.js';
import { BerthError, conflict, invalidParameter } from '../pkg/errors.js';
import { parseSignal, SIGKILL } from '../pkg/signal.js';
import { ReadLogsNotSupportedError, supportsReading } from '../logger/drivers.js';
import type { Daemon } from './daemon.js';
import { normalizeConfig, normalizeHostConfig } from './config.js';
import type { Container } from '../container/container.js';
import { createContainer } from './create.js';
import { startContainer } from './start.js';
import { killContainer, parseWaitCondition, restartContainer, stopContainer, waitContainer, waitStopped } from './stop.js';
import { pruneContainers, removeContainer } from './delete.js';
import { inspectContainer, listContainers, topContainer } from './inspect.js';
import { renameContainer } from './rename.js';
import { attachConnection, parseDetachKeys, DEFAULT_DETACH_KEYS } from './attach.js';
import { parseLogBounds, streamLogs } from './logs.js';
import { createExec } from './exec.js';
import { exportContainer } from './export.js';
import { pauseContainer, unpauseContainer } from './pause.js';
import { updateContainer } from './update.js';
import { resizeContainerTTY } from './resize.js';
import { removeLink } from './network.js';
import { containerStats } from './statsbackend.js';

type EndpointsConfig = Record<string, Partial<EndpointSettings> | null>;

async function create(d: Daemon, req: ContainerCreateRequest): Promise<{ Id: string; Warnings: string[] }> {
  const { body, platform } = req;
  const config = normalizeConfig(body);
  const hostConfig = normalizeHostConfig(body.HostConfig);
  if (platform && !/^linux(\/|$)/.test(platform)) {
    throw invalidParameter(`"${platform}": unknown operating system or architecture: invalid argument`);
  }
  let endpointsConfig = (body.NetworkingConfig as { EndpointsConfig?: EndpointsConfig } | null | undefined)?.EndpointsConfig ?? null;
  // As dockerd's postContainersCreate: with the default network mode (the CLI sends "default"
  // and an EndpointsConfig keyed "default"), that endpoint config belongs to the default network.
  const rawMode = (body.HostConfig as { NetworkMode?: unknown } | null | undefined)?.NetworkMode;
  if ((rawMode === undefined || rawMode === '' || rawMode === 'default') && endpointsConfig && 'default' in endpointsConfig) {
    const { default: ep, ...rest } = endpointsConfig;
    endpointsConfig = { ...rest, [hostConfig.NetworkMode]: ep ?? null };
  }
  const endpoints: EndpointsConfig = endpointsConfig ?? {};
  const warning = migrateContainerMac(config, hostConfig.NetworkMode, endpoints, req.version);
  if (Object.keys(endpoints).length > 0) endpointsConfig = endpoints;
  const created = await createContainer(d, req.name, config, hostConfig, { version: req.version, endpointsConfig });
  if (warning) created.Warnings.push(warning);
  return created;
}

/**
 * The container-wide Config.MacAddress (deprecated since API 1.44, still honoured) becomes the
 * MAC of the main network's endpoint, as dockerd's handleMACAddressBC does; from 1.44 on it is
 * moved there with a warning.
 */
function migrateContainerMac(config: ContainerConfig, mode: string, endpoints: EndpointsConfig, version: string): string | undefined {
  const mac = config.MacAddress;
  const bridgeLike = mode !== 'host' && mode !== 'none' && !mode.startsWith('container:');
  if (versionLessThan(version, '1.44')) {
    // The old API had no per-endpoint MAC: one given there is ignored.
    if (!mac) {
      for (const ep of Object.values(endpoints)) if (ep) delete ep.MacAddress;
      return undefined;
    }
    if (!bridgeLike) throw invalidParameter('conflicting options: mac-address and the network mode');
    if (Object.keys(endpoints).length === 0) endpoints[mode] = {};
    for (const [name, ep] of Object.entries(endpoints)) endpoints[name] = { ...(ep ?? {}), MacAddress: mac };
    return undefined;
  }
  if (!mac) return undefined;
  if (bridgeLike) {
    if (Object.keys(endpoints).length === 0) {
      endpoints[mode] = { MacAddress: mac };
    } else {
      if (!(mode in endpoints)) {
        throw invalidParameter('if a container-wide MAC address is supplied, HostConfig.NetworkMode must match the identity of a network in NetworkSettings.Networks');
      }
      const ep = endpoints[mode] ?? {};
      if (ep.MacAddress && ep.MacAddress !== mac) {
        throw invalidParameter('the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty');
      }
      endpoints[mode] = { ...ep, MacAddress: mac };
    }
  }
  delete config.MacAddress;
  return 'The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.';
}

/** A container restored at start-up is looked up once it is settled (Container.settled). */
async function settledContainer(d: Daemon, name: string): Promise<Container> {
  await d.containers.get(name).settled;
  return d.containers.get(name);
}

async function kill(d: Daemon, name: string, signal: string | undefined): Promise<void> {
  try {
    if (signal) parseSignal(signal);
    const c = await settledContainer(d, name);
    if (!c.running) throw conflict(`container ${c.id} is not running`);
    await killContainer(d, c, signal);
    // As dockerd's ContainerKill: SIGKILL (the default) waits until the container is gone.
    if (!signal || parseSignal(signal) === SIGKILL) await waitStopped(c, 10_000);
  } catch (err) {
    // dockerd wraps every kill error: errors.Wrapf(err, "cannot kill container: %s", name).
    if (err instanceof BerthError) throw new BerthError(err.kind, `cannot kill container: ${name}: ${err.message}`, { cause: err });
    throw err;
  }
}

export function containerBackend(d: Daemon): ContainerBackend {
  const get = (name: string) => settledContainer(d, name);
  return {
    containerCreate: (req) => create(d, req),
    containerStart: async (name) => startContainer(d, await get(name)),
    containerStop: async (name, opts) => stopContainer(d, await get(name), opts),
    containerRestart: async (name, opts) => restartContainer(d, await get(name), opts),
    containerKill: (name, signal) => kill(d, name, signal),
    containerRemove: async (name, opts) => {
      if (opts.removeLink) return removeLink(d, name);
      await removeContainer(d, await get(name), { force: opts.force, volumes: opts.removeVolumes });
    },
    containerRename: async (name, newName) => renameContainer(d, await get(name), newName),
    containerPause: async (name) => pauseContainer(d, await get(name)),
    containerUnpause: async (name) => unpauseContainer(d, await get(name)),
    containerUpdate: (name, body, version) => updateContainer(d, name, body, version),
    containersPrune: (filters) => pruneContainers(d, filters),

    containers: (opts) => listContainers(d, opts),
    containerInspect: async (name, opts) => inspectContainer(d, await get(name), opts),
    containerTop: async (name, psArgs) => topContainer(d, await get(name), psArgs),
    containerChanges: async (name) => d.images.changes((await get(name)).id),
    containerExport: async (name) => exportContainer(d, await get(name)),

    containerAttach: async (name, cfg) => {
      const c = await get(name);
      if (c.removing) throw conflict(`container ${c.id} is being removed`);
      const detachKeys = parseDetachKeys(cfg.detachKeys || DEFAULT_DETACH_KEYS);
      if (!cfg.stream && !cfg.logs) throw invalidParameter('either logs or stream is required');
      const tty = c.record.Config.Tty;
      const conn = cfg.getStream(tty);
      const opts = { stdin: cfg.stdin && c.record.Config.OpenStdin, stdout: cfg.stdout, stderr: cfg.stderr };
      if (cfg.logs) {
        const ac = new AbortController();
        conn.once('close', () => ac.abort());
        await streamLogs(c, conn, { ...opts, follow: false, timestamps: false, tail: -1 }, ac.signal, !tty);
      }
      if (!cfg.stream) {
        conn.end();
        return;
      }
      d.containerEvent(c, 'attach');
      await attachConnection(c.streams, conn, {
        ...opts,
        multiplexed: !tty,
        closeStdinOnEOF: c.record.Config.StdinOnce && !tty,
        detachKeys,
        onDetach: () => d.containerEvent(c, 'detach'),
      });
    },
    containerLogs: async (name, cfg) => {
      const c = await get(name);
      if (!cfg.stdout && !cfg.stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
      if (!supportsReading(c.hostConfig.LogConfig.Type || 'json-file')) throw new ReadLogsNotSupportedError();
      const { since, until, ...opts } = cfg;
      const bounds = parseLogBounds(since, until);
      const tty = c.record.Config.Tty;
      return { tty, write: (out: Writable, signal: AbortSignal) => streamLogs(c, out, { ...opts, ...bounds }, signal, !tty) };
    },
    containerWait: async (name, condition) => {
      const c = await get(name);
      const cond = parseWaitCondition(condition);
      return {
        wait: async (signal: AbortSignal) => {
          const code = await waitContainer(c, cond, signal);
          return { StatusCode: code, Error: c.state.Error };
        },
      };
    },
    containerStats: async (name, opts) => containerStats(d, await get(name), opts),
    containerResize: (name, height, width) => resizeContainerTTY(d, name, height, width),

    containerExecCreate: async (name, opts) => {
      const c = await get(name);
      if (opts.DetachKeys) {
        try {
          parseDetachKeys(opts.DetachKeys);
        } catch {
          throw invalidParameter(`Invalid escape keys (${opts.DetachKeys}) provided`);
        }
      }
      return createExec(d, c, opts);
    },
  };
}
