// Registry credentials and authentication challenges: the X-Registry-Auth header the docker CLI
// sends, and WWW-Authenticate parsing (RFC 7235 auth-params, as distribution's challenge package).
import { invalidParameter } from '../pkg/errors.js';

/** What the client sends for a registry (dockerd's registry.AuthConfig). */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64(username:password), which older clients send instead. */
  auth?: string;
  serveraddress?: string;
  /** A refresh token from an earlier login. */
  identitytoken?: string;
  /** A bearer token to send as is. */
  registrytoken?: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Decodes X-Registry-Auth (base64url JSON; standard base64 accepted too). Empty → anonymous. */
export function decodeAuthHeader(header: string | undefined): AuthConfig | undefined {
  if (!header) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
  } catch {
    throw invalidParameter('invalid X-Registry-Auth header: unable to decode');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidParameter('invalid X-Registry-Auth header: not a JSON object');
  return normalizeAuth(parsed as Record<string, unknown>);
}

/** Takes the fields of an AuthConfig body (either case) and splits `auth` into user and password. */
export function normalizeAuth(o: Record<string, unknown>): AuthConfig {
  const s = (k: string): string | undefined => {
    const v = o[k] ?? o[k[0]!.toUpperCase() + k.slice(1)];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const out: AuthConfig = {};
  for (const k of ['username', 'password', 'auth', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
    const v = s(k) ?? (k === 'serveraddress' ? s('serverAddress') : k === 'identitytoken' ? s('identityToken') : undefined);
    if (v !== undefined) out[k] = v;
  }
  if (out.auth && !out.username) {
    const plain = Buffer.from(out.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) {
      out.username = plain.slice(0, i);
      out.password = plain.slice(i + 1);
    }
  }
  return out;
}

export function hasCredentials(a: AuthConfig | undefined): boolean {
  return !!a && (!!a.username || !!a.registrytoken || !!a.identitytoken);
}

/** Parses every challenge of WWW-Authenticate headers: `Bearer realm="…",service="…"`. */
export function parseChallenges(headers: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of Array.isArray(headers) ? headers : headers ? [headers] : []) {
    let i = 0;
    const skipWS = (): void => {
      while (i < h.length && (h[i] === ' ' || h[i] === '\t')) i++;
    };
    const token = (): string => {
      const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(h.slice(i));
      if (!m) return '';
      i += m[0].length;
      return m[0];
    };
    while (i < h.length) {
      skipWS();
      const scheme = token().toLowerCase();
      if (!scheme) break;
      const params: Record<string, string> = {};
      for (;;) {
        skipWS();
        const save = i;
        const key = token().toLowerCase();
        skipWS();
        if (!key || h[i] !== '=') {
          i = save;
          break;
        }
        i++;
        skipWS();
        let value = '';
        if (h[i] === '"') {
          i++;
          while (i < h.length && h[i] !== '"') {
            if (h[i] === '\\' && i + 1 < h.length) i++;
            value += h[i];
            i++;
          }
          i++;
        } else value = token();
        params[key] = value;
        skipWS();
        if (h[i] === ',') i++;
      }
      out.push({ scheme, params });
    }
  }
  return out;
}
