// The JSON views of containers: inspect, list (docker ps) and top, in dockerd's shapes.
import type { ContainerInspect, ContainerState, ContainerSummary, TopResponse } from '../api/types/container.js';
import type { Container } from '../container/container.js';
import { simpleStatus, stateString } from '../container/state.js';
import { invalidParameter, systemError, conflict } from '../pkg/errors.js';
import { runCommand } from '../pkg/command.js';
import { versionLessThan } from '../server/version.js';
import { matchLabelFilters } from '../pkg/labels.js';
import type { Daemon } from './daemon.js';
import { listPorts, networkSettingsView, onNetwork } from './network.js';
import { containerMounts, matchesVolumeFilter } from './mounts.js';

export async function inspectContainer(d: Daemon, c: Container, opts: { size: boolean; version: string }): Promise<ContainerInspect> {
  const r = c.record;
  // The stored state keeps Health opaque; the health monitor writes it in the API's shape.
  const state = { ...r.State, Status: simpleStatus(r.State, c.removing) } as ContainerState;
  const out: ContainerInspect = {
    Id: r.ID,
    Created: r.Created,
    Path: r.Path,
    Args: r.Args,
    State: state,
    Image: r.Image,
    ResolvConfPath: r.ResolvConfPath,
    HostnamePath: r.HostnamePath,
    HostsPath: r.HostsPath,
    LogPath: r.LogPath,
    Name: r.Name,
    RestartCount: r.RestartCount,
    Driver: r.Driver,
    Platform: r.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: c.execIds.size > 0 ? [...c.execIds] : null,
    HostConfig: c.hostConfig,
    GraphDriver: await d.images.graphDriver(c.id),
    Mounts: containerMounts(c),
    Config: r.Config,
    NetworkSettings: networkSettingsView(d, c, false),
  };
  if (opts.size) {
    const s = await d.images.containerSize(c.id);
    out.SizeRw = s.SizeRw;
    out.SizeRootFs = s.SizeRootFs;
  }
  if (versionLessThan(opts.version, '1.44')) {
    // Before API 1.44 the MAC address also appeared at the top of Config.
    out.Config.MacAddress = r.Config.MacAddress ?? '';
  }
  return out;
}

const listFilters = ['id', 'name', 'label', 'status', 'exited', 'ancestor', 'before', 'since', 'network', 'health', 'isolation', 'is-task', 'volume', 'expose', 'publish'];
// In dockerd's order (api/types/container.validStates), which its error message lists.
const statuses = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export async function listContainers(
  d: Daemon,
  opts: { all: boolean; limit: number; size: boolean; filters: Map<string, string[]> },
): Promise<ContainerSummary[]> {
  const f = opts.filters;
  for (const key of f.keys()) {
    if (!listFilters.includes(key.replace(/!$/, ''))) throw invalidParameter(`invalid filter '${key}'`);
  }
  for (const s of f.get('status') ?? []) {
    if (!statuses.includes(s)) {
      throw invalidParameter(`invalid filter 'status=${s}': invalid value for state (${s}): must be one of ${statuses.join(', ')}`);
    }
  }
  const exited = (f.get('exited') ?? []).map((v) => {
    // dockerd: errors.Wrapf(strconv.Atoi error, "invalid filter 'exited=%s'").
    if (!/^[-+]?\d+$/.test(v)) throw invalidParameter(`invalid filter 'exited=${v}': strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  });
  for (const v of f.get('health') ?? []) {
    if (!['starting', 'healthy', 'unhealthy', 'none'].includes(v)) throw invalidParameter(`Unrecognised filter value for health: ${v}`);
  }
  const ancestors = await resolveAncestors(d, f.get('ancestor') ?? []);
  // States restored at start-up are listed once they are true (Container.settled).
  await Promise.all(d.containers.all().map((c) => c.settled));
  const bound = (key: string) => {
    const refs = f.get(key) ?? [];
    return refs.length ? Date.parse(d.containers.get(refs[0]).record.Created) : undefined;
  };
  const before = bound('before');
  const since = bound('since');

  // Newest first, as dockerd lists them.
  let list = d.containers.all().sort((a, b) => Date.parse(b.record.Created) - Date.parse(a.record.Created) || (a.id < b.id ? -1 : 1));
  const all = opts.all || opts.limit > 0 || f.has('status') || f.has('exited') || before !== undefined || since !== undefined;
  list = list.filter((c) => {
    const status = simpleStatus(c.state, c.removing);
    if (!all && status !== 'running' && status !== 'paused' && status !== 'restarting') return false;
    const created = Date.parse(c.record.Created);
    if (before !== undefined && created >= before) return false;
    if (since !== undefined && created <= since) return false;
    if (f.has('id') && !f.get('id')!.some((v) => c.id.startsWith(v))) return false;
    if (f.has('name') && !f.get('name')!.some((v) => nameMatches(v, c.name))) return false;
    if (f.has('status') && !f.get('status')!.includes(status)) return false;
    if (exited.length && (status !== 'exited' || !exited.includes(c.state.ExitCode))) return false;
    // dockerd's snapshot Health: the monitor's status, "none" without a health check.
    if (f.has('health') && !f.get('health')!.includes((c.state.Health as { Status?: string } | undefined)?.Status ?? 'none')) return false;
    if (!matchLabelFilters(c.record.Config.Labels, f)) return false;
    if (ancestors && !ancestors.has(c.record.Image)) return false;
    if (f.has('network') && !onNetwork(d, c, f.get('network')!)) return false;
    if (f.has('volume') && !matchesVolumeFilter(c, f.get('volume')!)) return false;
    return true;
  });
  if (opts.limit > 0) list = list.slice(0, opts.limit);
  return Promise.all(list.map((c) => summary(d, c, opts.size)));
}

async function resolveAncestors(d: Daemon, refs: string[]): Promise<Set<string> | undefined> {
  if (refs.length === 0) return undefined;
  const ids = new Set<string>();
  for (const ref of refs) {
    try {
      ids.add((await d.images.resolve(ref)).id);
    } catch {
      // dockerd ignores ancestors that do not resolve
    }
  }
  return ids;
}

async function summary(d: Daemon, c: Container, size: boolean): Promise<ContainerSummary> {
  const r = c.record;
  const out: ContainerSummary = {
    Id: r.ID,
    Names: [r.Name],
    Image: r.Config.Image,
    ImageID: r.Image,
    Command: [r.Path, ...r.Args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' '),
    Created: Math.floor(Date.parse(r.Created) / 1000),
    Ports: listPorts(d, c),
    Labels: r.Config.Labels ?? {},
    State: simpleStatus(r.State, c.removing),
    Status: stateString(r.State, c.removing),
    HostConfig: { NetworkMode: c.hostConfig.NetworkMode },
    NetworkSettings: networkSettingsView(d, c, true),
    Mounts: containerMounts(c),
  };
  if (size) {
    const s = await d.images.containerSize(c.id);
    out.SizeRw = s.SizeRw;
    out.SizeRootFs = s.SizeRootFs;
  }
  return out;
}

/** docker top: `ps` on the host, narrowed to the container's processes, as dockerd does. */
export async function topContainer(d: Daemon, c: Container, psArgs: string): Promise<TopResponse> {
  if (!c.running) throw conflict(`container ${c.id} is not running`);
  if (c.state.Restarting) throw conflict(`Container ${c.id} is restarting, wait until the container is running`);
  const pids = new Set(await d.ctd.pids(c.id));
  const args = psArgs ? psArgs.split(/\s+/).filter(Boolean) : ['-ef'];
  const ps = await runCommand('ps', args);
  // ps refusing its arguments (ps_args) is the client's mistake.
  if (ps.code !== 0) throw invalidParameter(`Error running ps: exit status ${ps.code}: ${ps.stderr.trim()}`);
  const lines = ps.stdout.split('\n').filter((l) => l.trim() !== '');
  const titles = lines[0].trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw systemError(`Couldn't find PID field in ps output`);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (!pids.has(Number(fields[pidIndex]))) continue;
    // The last column (the command) keeps its spaces.
    processes.push([...fields.slice(0, titles.length - 1), fields.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}

/**
 * The `name` filter: a regular expression matched against the name with and without its
 * leading slash, as dockerd does (so `^/web$` and `^web$` both work); an invalid one matches nothing.
 */
function nameMatches(pattern: string, name: string): boolean {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    return false;
  }
  return re.test(name) || re.test(name.slice(1));
}
