// docker login (dockerd's registry.Service.Auth): checks the credentials against the registry's
// /v2/ endpoint, through whichever challenge it makes (basic, or a token from its realm).
import { STATUS_CODES } from 'node:http';
import type { Logger } from 'pino';
import { invalidParameter, unauthorized } from '../pkg/errors.js';
import type { AuthConfig } from './auth.js';
import { INDEX_SERVER, normalizeRegistryHost, type RegistryConfig } from './config.js';
import { RegistryError, Session, unexpected } from './transport.js';

export interface AuthenticateOKBody {
  IdentityToken: string;
  Status: string;
}

export async function login(registries: RegistryConfig, auth: AuthConfig, logger: Logger): Promise<AuthenticateOKBody> {
  if (!auth.username && !auth.identitytoken) throw invalidParameter('username is empty');
  const host = normalizeRegistryHost(auth.serveraddress || INDEX_SERVER);
  let lastErr: unknown;
  for (const ep of await registries.endpoints(host, true)) {
    const session = new Session(ep, auth, logger);
    try {
      const res = await session.request('GET', '/v2/', { retry: true });
      res.body.resume();
      if (res.status === 200) return { IdentityToken: '', Status: 'Login Succeeded' };
      if (res.status === 401) throw unauthorized(`login attempt to ${session.url('/v2/').href} failed with status: 401 ${STATUS_CODES[401]}`);
      throw await unexpected('GET', res);
    } catch (err) {
      lastErr = err instanceof RegistryError && err.status === 401 ? unauthorized(err.message) : err;
      // Only a registry that cannot be reached this way is tried the next way (HTTPS, then HTTP).
      if (!(err instanceof RegistryError && err.network)) break;
      logger.debug({ endpoint: ep.url.origin, err: (err as Error).message }, 'login endpoint unreachable');
    } finally {
      session.close();
    }
  }
  throw lastErr;
}
