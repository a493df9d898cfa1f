// /networks: list, inspect, create, remove, prune, connect, disconnect — dockerd's shapes and errors.
import type { Router } from '../router.js';
import { boolValue, expectObject, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { parseFilters, type Filters } from '../../api/types/filters.js';
import { invalidParameter } from '../../pkg/errors.js';
import type {
  EndpointSettings, NetworkCreateRequest, NetworkCreateResponse, NetworkPruneReport, NetworkResource,
} from '../../api/types/network.js';

/** What the network routes need from the daemon (moby's router/network Backend). */
export interface NetworkBackend {
  list(filters: Filters): Promise<NetworkResource[]>;
  inspect(idOrName: string, opts: { verbose: boolean; scope?: string }): Promise<NetworkResource>;
  create(req: NetworkCreateRequest): Promise<NetworkCreateResponse>;
  remove(idOrName: string): Promise<void>;
  prune(filters: Filters): Promise<NetworkPruneReport>;
  /**
   * A stopped container only records the network in its config; a running one is attached at
   * once. Unknown networks and containers are 404s.
   */
  connect(network: string, container: string, config: Partial<EndpointSettings>): Promise<void>;
  disconnect(network: string, container: string, force: boolean): Promise<void>;
}

export function networkRoutes(r: Router, b: NetworkBackend): void {
  r.get('/networks', async ({ res, query }) => {
    writeJSON(res, 200, await b.list(parseFilters(query.get('filters'))));
  });

  r.get('/networks/{id}', async ({ res, params, query }) => {
    writeJSON(res, 200, await b.inspect(params.id, { verbose: boolValue(query, 'verbose'), scope: query.get('scope') ?? undefined }));
  });

  r.post('/networks/create', async ({ req, res }) => {
    const body = expectObject(await readJSONBody<unknown>(req), 'network.CreateRequest') as unknown as NetworkCreateRequest;
    if (body.Name !== undefined && typeof body.Name !== 'string') {
      throw invalidParameter('json: cannot unmarshal number into Go struct field CreateRequest.Name of type string');
    }
    writeJSON(res, 201, await b.create({ ...body, Name: body.Name ?? '' }));
  });

  r.delete('/networks/{id}', async ({ res, params }) => {
    await b.remove(params.id);
    writeNoContent(res);
  });

  r.post('/networks/prune', async ({ res, query }) => {
    writeJSON(res, 200, await b.prune(parseFilters(query.get('filters'))));
  });

  r.post('/networks/{id}/connect', async ({ req, res, params }) => {
    const body = expectObject(await readJSONBody<unknown>(req), 'network.ConnectOptions');
    const container = typeof body.Container === 'string' ? body.Container : '';
    if (!container) throw invalidParameter('no container specified');
    await b.connect(params.id, container, (body.EndpointConfig ?? {}) as Partial<EndpointSettings>);
    writeNoContent(res, 200);
  });

  r.post('/networks/{id}/disconnect', async ({ req, res, params }) => {
    const body = expectObject(await readJSONBody<unknown>(req), 'network.DisconnectOptions');
    const container = typeof body.Container === 'string' ? body.Container : '';
    if (!container) throw invalidParameter('no container specified');
    await b.disconnect(params.id, container, body.Force === true);
    writeNoContent(res, 200);
  });
}
