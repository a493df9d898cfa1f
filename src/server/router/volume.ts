// /volumes…: list, inspect, create, remove, prune (dockerd's router/volume).
import type { Router } from '../router.js';
import { boolValue, expectObject, jsonTypeName, readJSONBody, writeJSON, writeNoContent } from '../httputils.js';
import { versionLessThan } from '../version.js';
import { parseFilters } from '../../api/types/filters.js';
import { invalidParameter } from '../../pkg/errors.js';
import type { VolumeService } from '../../volume/service.js';
import type { VolumeCreateRequest } from '../../api/types/volume.js';

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw invalidParameter(`json: cannot unmarshal ${jsonTypeName(v)} into Go struct field CreateOptions.${key} of type string`);
  }
  return v;
}

function mapField(body: Record<string, unknown>, key: string): Record<string, string> | null | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw invalidParameter(`json: cannot unmarshal ${jsonTypeName(v)} into Go struct field CreateOptions.${key} of type map[string]string`);
  }
  return v as Record<string, string>;
}

export function volumeRoutes(r: Router, d: { volumes: VolumeService }): void {
  r.get('/volumes', async ({ res, query }) => {
    writeJSON(res, 200, await d.volumes.list(parseFilters(query.get('filters'))));
  });

  r.get('/volumes/{name}', async ({ res, params }) => {
    writeJSON(res, 200, await d.volumes.inspect(params.name));
  });

  r.post('/volumes/create', async ({ req, res }) => {
    const body = expectObject(await readJSONBody(req), 'volume.CreateOptions');
    const create: VolumeCreateRequest = {
      Name: stringField(body, 'Name'),
      Driver: stringField(body, 'Driver'),
      DriverOpts: mapField(body, 'DriverOpts'),
      Labels: mapField(body, 'Labels'),
    };
    writeJSON(res, 201, await d.volumes.create(create));
  });

  r.delete('/volumes/{name}', async ({ res, params, query }) => {
    await d.volumes.remove(params.name, { force: boolValue(query, 'force') });
    writeNoContent(res);
  });

  r.post('/volumes/prune', async ({ res, query, version }) => {
    const filters = parseFilters(query.get('filters'));
    // Before API 1.42 prune removed every unused volume, not only anonymous ones.
    if (versionLessThan(version, '1.42')) filters.set('all', [...(filters.get('all') ?? []), 'true']);
    writeJSON(res, 200, await d.volumes.prune(filters));
  });
}
