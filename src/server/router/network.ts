// /networks: list, inspect, create, remove, prune, connect, disconnect — dockerd's shapes and errors.
import type { Router } from '../router.js';
import { boolValue, expectObject, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { parseFilters } from '../../api/types/filters.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { NetworkController } from '../../network/controller.js';
import type { EndpointSettings, NetworkCreateRequest } from '../../network/types.js';

/**
 * What connect/disconnect need from the daemon: the container lookup and the container-side
 * bookkeeping (a stopped container only records the network in its config; a running one is
 * attached at once through NetworkController.connect and gets its hosts/resolv.conf rewritten).
 */
export interface ContainerNetworkAttacher {
  connectContainer(containerIdOrName: string, network: { id: string; name: string }, config: Partial<EndpointSettings>): Promise<void>;
  disconnectContainer(containerIdOrName: string, network: { id: string; name: string }, force: boolean): Promise<void>;
}

export interface NetworkRouteDeps {
  networks: NetworkController;
  containers: ContainerNetworkAttacher;
}

export function networkRoutes(r: Router, d: NetworkRouteDeps): void {
  r.get('/networks', async ({ res, query }) => {
    writeJSON(res, 200, d.networks.list(parseFilters(query.get('filters'))));
  });

  r.get('/networks/{id}', async ({ res, params, query }) => {
    writeJSON(res, 200, d.networks.inspect(params.id, { verbose: boolValue(query, 'verbose'), scope: query.get('scope') ?? undefined }));
  });

  r.post('/networks/create', async ({ req, res }) => {
    const body = expectObject(await readJSONBody<unknown>(req), 'network.CreateRequest') as unknown as NetworkCreateRequest;
    if (body.Name !== undefined && typeof body.Name !== 'string') {
      throw invalidParameter('json: cannot unmarshal number into Go struct field CreateRequest.Name of type string');
    }
    writeJSON(res, 201, await d.networks.create({ ...body, Name: body.Name ?? '' }));
  });

  r.delete('/networks/{id}', async ({ res, params }) => {
    await d.networks.remove(params.id);
    writeNoContent(res);
  });

  r.post('/networks/prune', async ({ res, query }) => {
    writeJSON(res, 200, await d.networks.prune(parseFilters(query.get('filters'))));
  });

  r.post('/networks/{id}/connect', async ({ req, res, params }) => {
    const body = expectObject(await readJSONBody<unknown>(req), 'network.ConnectOptions');
    const container = typeof body.Container === 'string' ? body.Container : '';
    if (!container) throw invalidParameter('no container specified');
    const net = d.networks.resolve(params.id);
    const cfg = (body.EndpointConfig ?? {}) as Partial<EndpointSettings>;
    await d.containers.connectContainer(container, net, cfg);
    writeNoContent(res, 200);
  });

  r.post('/networks/{id}/disconnect', async ({ req, res, params }) => {
    const body = expectObject(await readJSONBody<unknown>(req), 'network.DisconnectOptions');
    const container = typeof body.Container === 'string' ? body.Container : '';
    if (!container) throw invalidParameter('no container specified');
    const net = d.networks.resolve(params.id);
    await d.containers.disconnectContainer(container, net, body.Force === true);
    writeNoContent(res, 200);
  });
}
