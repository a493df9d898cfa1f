// Registry operations that are not image routes: POST /auth (docker login).
import type { Router } from '../router.js';
import { expectObject, readJSONBody, writeJSON } from '../httputils.js';

export interface DistributionBackend {
  /** Checks credentials against the registry; resolves with dockerd's AuthenticateOKBody. */
  auth(req: Record<string, unknown>): Promise<{ IdentityToken: string; Status: string }>;
}

export function distributionRoutes(r: Router, b: DistributionBackend): void {
  r.post('/auth', async ({ req, res }) => {
    const body = expectObject((await readJSONBody<unknown>(req)) ?? {}, 'registry.AuthConfig');
    writeJSON(res, 200, await b.auth(body));
  });
}
