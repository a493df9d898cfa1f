// The networking state (networks, sandboxes, endpoints) and its persistence: one JSON file under
// <dataRoot>/network, written atomically after every change, under one mutex, so that a berthd
// restart finds what the last run made.
import { join } from 'node:path';
import { invalidParameter, notFound } from '../pkg/errors.js';
import { Mutex } from '../pkg/mutex.js';
import { readJSON, writeJSONAtomic } from '../pkg/atomicfile.js';
import type { AddressPoolState } from './ipam.js';
import type { Proto } from './portspec.js';
import type { ResolvOverrides } from './resolvconf.js';
import type { IPAMConfig } from '../api/types/network.js';

export interface NetworkRecord {
  id: string;
  name: string;
  created: string;
  driver: 'bridge' | 'host' | 'null';
  predefined: boolean;
  internal: boolean;
  attachable: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipamOptions: Record<string, string> | null;
  /** The user's IPAM config (inspect echoes it, completed). */
  ipamUser: IPAMConfig[];
  bridge?: string;
  mtu?: number;
  icc?: boolean;
  masquerade?: boolean;
  hostBindingIp?: string;
  pool?: AddressPoolState;
  /** IPv6 (EnableIPv6): the network's IPv6 subnet and addresses. */
  pool6?: AddressPoolState;
}

/** Options of a container's sandbox, fixed at createSandbox. */
export interface SandboxOptions extends ResolvOverrides {
  hostname?: string;
  domainname?: string;
}

export interface LinkSpec {
  /** The linked container's ID (it must be on the default bridge). */
  containerId: string;
  /** Its name, without the leading slash. */
  name: string;
  alias: string;
}

export interface PortMapping {
  proto: Proto;
  containerPort: number;
  hostIp: string;
  hostPort: number;
}

export interface EndpointRecord {
  id: string;
  networkId: string;
  containerId: string;
  name: string;
  ifname: string;
  hostVeth: string;
  mac: string;
  ip: string;
  staticIp?: string;
  /** The endpoint's IPv6 address, on networks with IPv6. */
  ip6?: string;
  staticIp6?: string;
  aliases: string[];
  dnsNames: string[];
  exposed: string[];
  ports: PortMapping[];
  links: LinkSpec[];
  hostname: string;
  domainname?: string;
}

export interface SandboxRecord {
  containerId: string;
  netnsPath: string;
  options: SandboxOptions;
  endpoints: EndpointRecord[];
  /** The endpoint that holds the default route. */
  gatewayEndpoint?: string;
  /** Where the embedded DNS forwards: learnt from the host's resolv.conf (or --dns). */
  upstreams?: string[];
}

interface State {
  version: 1;
  networks: NetworkRecord[];
  sandboxes: SandboxRecord[];
}

/** Only bridge networks made by the user get the embedded DNS, aliases and static addresses. */
export const isUserDefined = (n: NetworkRecord): boolean => n.driver === 'bridge' && !n.predefined;

export class NetworkStore {
  state: State = { version: 1, networks: [], sandboxes: [] };
  /** Held by every operation that reads and then changes the state. */
  readonly lock = new Mutex();

  constructor(private readonly dataRoot: string) {}

  private get path(): string { return join(this.dataRoot, 'network', 'state.json'); }

  async load(): Promise<void> {
    const saved = await readJSON<State>(this.path);
    if (saved) this.state = saved;
  }

  async save(): Promise<void> {
    await writeJSONAtomic(this.path, this.state);
  }

  networkById(id: string): NetworkRecord | undefined {
    return this.state.networks.find((n) => n.id === id);
  }

  /** dockerd's FindNetwork: full ID, then exact name, then a unique ID prefix. */
  find(term: string): NetworkRecord {
    const byId = this.state.networks.find((n) => n.id === term);
    if (byId) return byId;
    const byName = this.state.networks.filter((n) => n.name === term);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1) throw invalidParameter(`network ${term} is ambiguous (${byName.length} matches found on name)`);
    const byPrefix = term ? this.state.networks.filter((n) => n.id.startsWith(term)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw invalidParameter(`network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw notFound(`network ${term} not found`);
  }

  sandbox(containerId: string): SandboxRecord | undefined {
    return this.state.sandboxes.find((s) => s.containerId === containerId);
  }

  endpointsOf(networkId: string): EndpointRecord[] {
    return this.state.sandboxes.flatMap((s) => s.endpoints.filter((e) => e.networkId === networkId));
  }

  /** Whether any of the sandbox's networks is user-defined (and so needs the embedded DNS). */
  onUserNetwork(sb: SandboxRecord): boolean {
    return sb.endpoints.some((e) => {
      const n = this.networkById(e.networkId);
      return n !== undefined && isUserDefined(n);
    });
  }
}
