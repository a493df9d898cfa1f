// The distribution router's backend: docker login (and, with images, pushes) against registries.
import type { DistributionBackend } from '../server/router/distribution.js';
import { normalizeAuth } from '../registry/auth.js';
import { login } from '../registry/login.js';
import type { Daemon } from './daemon.js';

export function distributionBackend(d: Daemon): DistributionBackend {
  return {
    auth: (body) => login(d.distribution.registries, normalizeAuth(body), d.logger),
  };
}
