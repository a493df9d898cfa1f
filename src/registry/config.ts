// The daemon's registry settings (dockerd's registry.ServiceConfig): mirrors for Docker Hub,
// insecure registries (by name or CIDR; loopback is insecure by default), and the endpoints a
// registry host is reached at, in the order dockerd tries them.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { RegistryServiceConfig } from '../api/types/system.js';
import { invalidParameter } from '../pkg/errors.js';

/** Docker Hub's reference domain and where its registry API really lives. */
export const INDEX_NAME = 'docker.io';
export const INDEX_SERVER = 'https://index.docker.io/v1/';
const HUB_REGISTRY = 'https://registry-1.docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
const DEFAULT_INSECURE_CIDRS = ['::1/128', '127.0.0.0/8'];

export interface RegistryOptions {
  mirrors?: string[];
  insecureRegistries?: string[];
}

/** One place a repository can be reached: a base URL, and whether TLS may go unverified. */
export interface Endpoint {
  url: URL;
  /** Certificates are not verified (insecure registries only). */
  insecureTLS: boolean;
  mirror: boolean;
}

/** The registry host behind an image domain or a login's server address (dockerd's ConvertToHostname + normalizeIndexName). */
export function normalizeRegistryHost(addr: string): string {
  let h = addr.replace(/^https?:\/\//, '');
  h = h.split('/')[0]!;
  return HUB_ALIASES.has(h) ? INDEX_NAME : h;
}

/** `--registry-mirror` as dockerd validates it: http(s) URL with no path, stored with a trailing slash. */
export function validateMirror(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw invalidParameter(`invalid mirror: "${raw}" is not a valid URI`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalidParameter(`invalid mirror: unsupported scheme "${u.protocol.slice(0, -1)}" in "${raw}"`);
  if (u.search || u.hash) throw invalidParameter(`invalid mirror: query or fragment at end of the URI "${raw}"`);
  if (u.username || u.password) throw invalidParameter(`invalid mirror: username/password not allowed in URI "${raw}"`);
  return raw.replace(/\/+$/, '') + '/';
}

function cidrParts(s: string): { net: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^(.+)\/(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const fam = isIP(m[1]!);
  const prefix = Number(m[2]);
  if (fam === 0 || prefix > (fam === 4 ? 32 : 128)) return undefined;
  return { net: m[1]!, prefix, family: fam === 4 ? 'ipv4' : 'ipv6' };
}

export class RegistryConfig {
  readonly mirrors: string[];
  /** Registry hosts marked insecure by name. */
  private readonly insecureHosts = new Set<string>();
  readonly insecureCIDRs: string[] = [];
  private readonly blocks = new BlockList();

  constructor(opts: RegistryOptions = {}) {
    this.mirrors = (opts.mirrors ?? []).map(validateMirror);
    const cidrs = [...DEFAULT_INSECURE_CIDRS];
    for (const raw of opts.insecureRegistries ?? []) {
      const r = raw.replace(/^https?:\/\//, '').replace(/\/+$/, '');
      if (r.includes('://')) throw invalidParameter(`insecure registry ${raw} should not contain '://'`);
      if (cidrParts(r)) {
        if (!cidrs.includes(r)) cidrs.push(r);
      } else {
        if (!r || r.includes('/')) throw invalidParameter(`invalid index name (${raw})`);
        this.insecureHosts.add(normalizeRegistryHost(r));
      }
    }
    for (const c of cidrs) {
      const p = cidrParts(c)!;
      this.blocks.addSubnet(p.net, p.prefix, p.family);
      this.insecureCIDRs.push(c);
    }
  }

  /** `GET /info`'s RegistryConfig, shaped as dockerd's. */
  info(): RegistryServiceConfig {
    const indexConfigs: RegistryServiceConfig['IndexConfigs'] = {};
    for (const h of this.insecureHosts) {
      if (h !== INDEX_NAME) indexConfigs[h] = { Name: h, Mirrors: [], Secure: false, Official: false };
    }
    indexConfigs[INDEX_NAME] = { Name: INDEX_NAME, Mirrors: [...this.mirrors], Secure: !this.insecureHosts.has(INDEX_NAME), Official: true };
    return {
      AllowNondistributableArtifactsCIDRs: null,
      AllowNondistributableArtifactsHostnames: null,
      InsecureRegistryCIDRs: [...this.insecureCIDRs],
      IndexConfigs: indexConfigs,
      Mirrors: this.mirrors.length ? [...this.mirrors] : null,
    };
  }

  /** dockerd's isSecureIndex: named insecure, or any address of the host in an insecure CIDR. */
  async isSecure(host: string): Promise<boolean> {
    if (host === INDEX_NAME) return !this.insecureHosts.has(INDEX_NAME);
    if (this.insecureHosts.has(host)) return false;
    const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
    let addrs: { address: string; family: number }[];
    if (isIP(name)) addrs = [{ address: name, family: isIP(name) }];
    else {
      try {
        addrs = await lookup(name, { all: true });
      } catch {
        return true; // unresolvable: dockerd treats it as secure (and the request fails later)
      }
    }
    return !addrs.some((a) => this.blocks.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4'));
  }

  /**
   * Where to reach `host`, in order: Docker Hub's mirrors, then the Hub; any other registry over
   * HTTPS, and when it is insecure also over plain HTTP (HTTPS first, certificates unverified).
   */
  async endpoints(host: string, forPush = false): Promise<Endpoint[]> {
    if (host === INDEX_NAME) {
      const out: Endpoint[] = [];
      if (!forPush) {
        for (const m of this.mirrors) {
          const u = new URL(m);
          out.push({ url: new URL(u.origin + u.pathname.replace(/\/$/, '')), insecureTLS: !(await this.isSecure(u.host)), mirror: true });
        }
      }
      out.push({ url: new URL(HUB_REGISTRY), insecureTLS: false, mirror: false });
      return out;
    }
    if (await this.isSecure(host)) return [{ url: new URL(`https://${host}`), insecureTLS: false, mirror: false }];
    return [
      { url: new URL(`https://${host}`), insecureTLS: true, mirror: false },
      { url: new URL(`http://${host}`), insecureTLS: true, mirror: false },
    ];
  }
}
