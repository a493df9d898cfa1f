// POST /containers/create: validate, merge the image's config, reserve the name, make the RW layer,
// then commit config.v2.json — the last step, so a crash never leaves a half-made container visible.
import { mkdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ContainerConfig, HostConfig } from '../api/types/container.js';
import { Container } from '../container/container.js';
import { normalizeName } from '../container/store.js';
import { conflict, invalidParameter } from '../pkg/errors.js';
import { generateID } from '../pkg/stringid.js';
import { randomName } from '../pkg/namesgenerator.js';
import { parseSignal } from '../pkg/signal.js';
import { rfc3339Nano } from '../pkg/timeutil.js';
import { validateCapabilities } from '../oci/caps.js';
import { parseSecurityOpt } from '../oci/security.js';
import { defaultMaskedPaths, defaultReadonlyPaths } from '../oci/spec.js';
import { mergeImageConfig } from './config.js';
import { validateExtraHost, writeNetworkFiles } from './netfiles.js';
import type { Daemon } from './daemon.js';
import { containerLogPath } from './logdriver.js';
import { validateHealthConfig } from './health.js';
import { adaptResources, normalizeCreateResources, verifyHostConfigResources } from './resources.js';
import { mergeLogConfig } from '../logger/drivers.js';
import { configureNetworks, containerDns, hostGatewayIps } from './network.js';
import type { EndpointSettings } from '../api/types/network.js';
import { abandonMountPoints, createMountPoints } from './mounts.js';
import { mountPointsRecord } from '../volume/mounts.js';
import type { MountPoint } from '../volume/types.js';
import { chownToRemappedGroup } from '../pkg/idmap.js';
import { verifyUsernsSettings } from './userns.js';

const restartPolicies = ['no', 'always', 'unless-stopped', 'on-failure'];

export function validateHostConfig(h: HostConfig): void {
  const rp = h.RestartPolicy;
  if (!restartPolicies.includes(rp.Name)) {
    throw invalidParameter(`invalid restart policy: unknown policy '${rp.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (rp.MaximumRetryCount < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
  if (rp.Name !== 'on-failure' && rp.MaximumRetryCount > 0) {
    throw invalidParameter(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (h.AutoRemove && rp.Name !== 'no') {
    throw invalidParameter(`can't create 'AutoRemove' container with restart policy`);
  }
  validateCapabilities(h.CapAdd ?? [], h.CapDrop ?? []);
  for (const extra of h.ExtraHosts ?? []) validateExtraHost(extra);
  // An unknown network is not an error at create: dockerd creates the container and fails its
  // start with "network X not found" (a 404 here would make the CLI try to pull the image).
  if (h.ShmSize < 0) throw invalidParameter('SHM size can not be less than 0');
  if (h.OomScoreAdj < -1000 || h.OomScoreAdj > 1000) {
    throw invalidParameter(`Invalid value ${h.OomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }
}

/**
 * The runtime part of dockerd's create validation and adaptation: health check, resources
 * (returns their warnings), log config merged with the daemon's defaults. Mutates the configs.
 */
async function prepareCreate(d: Daemon, config: ContainerConfig, hostConfig: HostConfig): Promise<string[]> {
  validateHealthConfig(config.Healthcheck);
  normalizeCreateResources(hostConfig);
  const warnings = verifyHostConfigResources(hostConfig, await d.sysInfo());
  hostConfig.LogConfig = mergeLogConfig(hostConfig.LogConfig, d.logConfig);
  adaptResources(hostConfig);
  return warnings;
}

export async function createContainer(
  d: Daemon,
  nameParam: string,
  config: ContainerConfig,
  hostConfig: HostConfig,
  opts: { version?: string; endpointsConfig?: Record<string, Partial<EndpointSettings> | null> | null } = {},
): Promise<{ Id: string; Warnings: string[] }> {
  if (!config.Image) throw invalidParameter('no image specified'); // dockerd: "No image specified" via CLI
  validateHostConfig(hostConfig);
  verifyUsernsSettings(hostConfig, d.opts.idMap);
  // Health check, resources (their warnings go into the response), log config with the daemon's defaults.
  const warnings = await prepareCreate(d, config, hostConfig);
  parseSecurityOpt(hostConfig.SecurityOpt);
  // dockerd stores the default masked and read-only paths with the container.
  if (!hostConfig.Privileged) {
    hostConfig.MaskedPaths ??= defaultMaskedPaths();
    hostConfig.ReadonlyPaths ??= defaultReadonlyPaths();
  }
  if (config.StopSignal) parseSignal(config.StopSignal);
  if (hostConfig.NetworkMode.startsWith('container:')) {
    const peer = d.containers.get(hostConfig.NetworkMode.slice('container:'.length));
    hostConfig.NetworkMode = `container:${peer.id}`;
  }
  const image = await d.images.resolve(config.Image);
  mergeImageConfig(config, image.config.config ?? {});
  const argv = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  if (argv.length === 0) throw invalidParameter('no command specified');

  const id = generateID();
  const name = nameParam ? normalizeName(nameParam) : reserveRandomName(d, id);
  if (nameParam) d.containers.reserveName(name, id);
  const dir = join(d.containersDir, id);
  let points: MountPoint[] | undefined;
  try {
    if (!config.Hostname) {
      config.Hostname = hostConfig.NetworkMode === 'host' ? hostname() : id.slice(0, 12);
    }
    const c = new Container(
      dir,
      Container.newRecord({ ID: id, Created: rfc3339Nano(), Path: argv[0], Args: argv.slice(1), Config: config, Image: image.id, Name: name, dir }),
      hostConfig,
    );
    c.record.LogPath = containerLogPath(c);
    configureNetworks(d, c, opts.endpointsConfig);
    await mkdir(dir, { recursive: true, mode: 0o710 });
    if (d.opts.idMap) await chownToRemappedGroup(dir, d.opts.idMap);
    await d.images.createRWLayer(id, image.id);
    points = await createMountPoints(d, id, config, hostConfig, opts.version);
    c.record.MountPoints = mountPointsRecord(points);
    await writeNetworkFiles(c, containerDns(d, c), hostGatewayIps(d));
    await c.save();
    d.containers.add(c);
    d.containerEvent(c, 'create');
    return { Id: id, Warnings: warnings };
  } catch (err) {
    d.containers.releaseName(name, id);
    if (points) await abandonMountPoints(d, id, points);
    await d.images.removeRWLayer(id).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function reserveRandomName(d: Daemon, id: string): string {
  for (let retry = 0; retry < 10; retry++) {
    const name = `/${randomName(retry)}`;
    if (!d.containers.hasName(name)) {
      d.containers.reserveName(name, id);
      return name;
    }
  }
  throw conflict('could not generate a unique container name');
}
