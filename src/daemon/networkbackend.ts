// What the /networks routes ask of the daemon (the router's NetworkBackend), answered with the
// network controller, the API views and the container-side connect/disconnect.
import type { Filters } from '../api/types/filters.js';
import type {
  EndpointSettings, NetworkCreateRequest, NetworkCreateResponse, NetworkPruneReport, NetworkResource,
} from '../api/types/network.js';
import { connectContainer, disconnectContainer } from './network.js';
import { inspectNetwork, listNetworks, pruneNetworks } from './networkviews.js';
import type { Daemon } from './daemon.js';

export function networkBackend(d: Daemon) {
  return {
    async list(filters: Filters): Promise<NetworkResource[]> {
      return listNetworks(d.networks, filters);
    },
    async inspect(idOrName: string, opts: { verbose: boolean; scope?: string }): Promise<NetworkResource> {
      return inspectNetwork(d.networks, idOrName, opts);
    },
    create(req: NetworkCreateRequest): Promise<NetworkCreateResponse> {
      return d.networks.create(req);
    },
    remove(idOrName: string): Promise<void> {
      return d.networks.remove(idOrName);
    },
    prune(filters: Filters): Promise<NetworkPruneReport> {
      return pruneNetworks(d.networks, filters);
    },
    async connect(network: string, container: string, config: Partial<EndpointSettings>): Promise<void> {
      await connectContainer(d, container, d.networks.resolve(network), config);
    },
    async disconnect(network: string, container: string, force: boolean): Promise<void> {
      await disconnectContainer(d, container, d.networks.resolve(network), force);
    },
  };
}
