// HTTP to one registry endpoint: keep-alive connections, redirects, retries with backoff for
// transient failures, and the registry auth flow (anonymous, basic, bearer tokens cached per
// scope). Tokens and passwords never reach the log.
import * as http from 'node:http';
import * as https from 'node:https';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { BerthError, invalidParameter } from '../pkg/errors.js';
import type { AuthConfig, Challenge } from './auth.js';
import { parseChallenges } from './auth.js';
import type { Endpoint } from './config.js';

const MAX_REDIRECTS = 10;
const MAX_RETRIES = 4;
const IDLE_TIMEOUT_MS = 60_000;
const MAX_TOKEN_BODY = 1 << 20;
export const USER_AGENT = 'berth/0.1 (+docker-compatible)';

/** A request body that can be produced again for a retry. */
export type Body = Buffer | (() => Readable);

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Body;
  /** Token scopes the request needs, e.g. repository:library/busybox:pull. */
  scopes?: string[];
  /** Retry 5xx/429 and connection failures (idempotent requests only). */
  retry?: boolean;
  /** Do not follow redirects (upload locations). */
  noRedirect?: boolean;
}

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  url: URL;
}

/** An error from the registry or the network, worded as dockerd's Go errors are. */
export class RegistryError extends BerthError {
  constructor(
    message: string,
    readonly status?: number,
    /** OCI error codes from the body (MANIFEST_UNKNOWN, DENIED…). */
    readonly codes: string[] = [],
    /** A connection-level failure: another endpoint may do better. */
    readonly network = false,
  ) {
    super(status === 404 ? 'not-found' : status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : network ? 'unavailable' : 'system', message);
  }
}

const goMethod = (m: string): string => m[0]! + m.slice(1).toLowerCase();
const TRANSIENT = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

export async function readAll(body: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) {
      body.destroy();
      throw invalidParameter(`${what} exceeds the ${limit} byte limit`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** The `errors` of a registry error body as "code: message" text, dockerd's errcode wording. */
async function errorText(res: Response): Promise<{ text: string; codes: string[] }> {
  let raw: Buffer;
  try {
    raw = await readAll(res.body, 64 << 10, 'error body');
  } catch {
    return { text: '', codes: [] };
  }
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    // As dockerd: the first error speaks for the answer (errcode.Error's "code: message").
    const errs = (parsed.errors ?? []).filter((e) => e && typeof e.code === 'string');
    if (errs.length) {
      const first = errs[0]!;
      return { text: `${first.code!.toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`, codes: errs.map((e) => e.code!) };
    }
  } catch {
    /* not JSON */
  }
  return { text: raw.toString('utf8').trim().slice(0, 200), codes: [] };
}

/** Turns an unexpected answer into an error naming the request, as Go's registry client does. */
export async function unexpected(method: string, res: Response): Promise<RegistryError> {
  const { text, codes } = await errorText(res);
  const statusText = http.STATUS_CODES[res.status] ?? '';
  const msg = text || `unexpected status from ${method} request to ${res.url.href}: ${res.status} ${statusText}`;
  return new RegistryError(msg, res.status, codes);
}

interface CachedToken {
  token: string;
  expires: number;
}

export class Session {
  private readonly agent: http.Agent;
  private challenge: Challenge | undefined;
  private challenged = false;
  private readonly tokens = new Map<string, CachedToken>();

  constructor(
    readonly endpoint: Endpoint,
    private readonly auth: AuthConfig | undefined,
    private readonly logger?: Logger,
  ) {
    this.agent =
      endpoint.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, maxSockets: 16, rejectUnauthorized: !endpoint.insecureTLS })
        : new http.Agent({ keepAlive: true, maxSockets: 16 });
  }

  close(): void {
    this.agent.destroy();
  }

  url(path: string): URL {
    return new URL(this.endpoint.url.pathname.replace(/\/$/, '') + path, this.endpoint.url);
  }

  /** A request with auth: answers 401 by authenticating once for the scopes, then asks again. */
  async request(method: string, target: string | URL, opts: RequestOptions = {}): Promise<Response> {
    const url = typeof target === 'string' ? this.url(target) : target;
    const scopes = opts.scopes ?? [];
    let authz = this.challenged ? await this.authorization(scopes, false) : undefined;
    let res = await this.send(method, url, opts, authz);
    if (res.status === 401) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      const usable = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
      if (!usable) {
        res.body.resume();
        throw new RegistryError(`${goMethod(method)} "${url.href}": 401 Unauthorized without a usable authentication challenge`, 401);
      }
      this.challenge = usable;
      this.challenged = true;
      const fresh = await this.authorization(scopes, true);
      if (fresh === undefined || fresh === authz) return res;
      res.body.resume();
      authz = fresh;
      res = await this.send(method, url, opts, authz);
    }
    return res;
  }

  /** Pings /v2/ to learn the registry's challenge (login, and a first contact). */
  async ping(): Promise<Response> {
    const res = await this.send('GET', this.url('/v2/'), { retry: true }, undefined);
    if (res.status === 401) {
      const challenges = parseChallenges(res.headers['www-authenticate']);
      this.challenge = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
      this.challenged = true;
    }
    return res;
  }

  /** The Authorization header for these scopes under the registry's challenge, if any. */
  async authorization(scopes: string[], refresh: boolean): Promise<string | undefined> {
    const c = this.challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') {
      if (!this.auth?.username) throw new RegistryError('no basic auth credentials', 401, ['UNAUTHORIZED']);
      return 'Basic ' + Buffer.from(`${this.auth.username}:${this.auth.password ?? ''}`).toString('base64');
    }
    if (this.auth?.registrytoken) return `Bearer ${this.auth.registrytoken}`;
    const key = [...scopes].sort().join(' ');
    const cached = this.tokens.get(key);
    if (cached && !refresh && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.fetchToken(c, scopes);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  private async fetchToken(c: Challenge, scopes: string[]): Promise<CachedToken> {
    const realm = c.params.realm;
    if (!realm) throw new RegistryError('bearer auth challenge without a realm', 401);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`invalid token auth challenge realm: ${realm}`, 401);
    }
    if (c.params.service) url.searchParams.set('service', c.params.service);
    for (const s of scopes) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (this.auth?.username) {
      headers.Authorization = 'Basic ' + Buffer.from(`${this.auth.username}:${this.auth.password ?? ''}`).toString('base64');
      url.searchParams.set('account', this.auth.username);
    }
    if (!scopes.length) {
      url.searchParams.set('client_id', 'docker');
      if (this.auth?.username) url.searchParams.set('offline_token', 'true');
    }
    const res = await this.send('GET', url, { headers, retry: true }, undefined, true);
    if (res.status !== 200) {
      const { text } = await errorText(res);
      const msg = res.status === 401 ? `unauthorized: ${text || 'authentication required'}` : `getting a token from ${url.origin}${url.pathname}: ${res.status} ${http.STATUS_CODES[res.status] ?? ''}${text ? `: ${text}` : ''}`;
      throw new RegistryError(msg, res.status === 401 ? 401 : 502, res.status === 401 ? ['UNAUTHORIZED'] : []);
    }
    let parsed: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      parsed = JSON.parse((await readAll(res.body, MAX_TOKEN_BODY, 'token response')).toString('utf8')) as typeof parsed;
    } catch (err) {
      throw new RegistryError(`unable to decode token response: ${(err as Error).message}`);
    }
    const token = parsed.token || parsed.access_token;
    if (!token) throw new RegistryError('authorization server did not include a token in the response');
    // As the distribution client: at least 60 s; refresh a little early.
    const lifetime = Math.max(60, typeof parsed.expires_in === 'number' ? parsed.expires_in : 60);
    return { token, expires: Date.now() + (lifetime - 5) * 1000 };
  }

  /** One request (with redirects and retries); no auth negotiation. */
  private async send(method: string, start: URL, opts: RequestOptions, authz: string | undefined, quiet = false): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.follow(method, start, opts, authz);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (opts.retry && attempt < MAX_RETRIES && TRANSIENT.has(code)) {
          await this.backoff(attempt, method, start, code, quiet);
          continue;
        }
        if (err instanceof RegistryError) throw err;
        throw new RegistryError(`${goMethod(method)} "${start.href}": ${(err as Error).message}`, undefined, [], true);
      }
      if (opts.retry && attempt < MAX_RETRIES && (res.status >= 500 || res.status === 429)) {
        res.body.resume();
        await this.backoff(attempt, method, start, String(res.status), quiet);
        continue;
      }
      return res;
    }
  }

  private async backoff(attempt: number, method: string, url: URL, why: string, quiet: boolean): Promise<void> {
    const ms = 200 * 2 ** attempt;
    if (!quiet) this.logger?.info({ method, url: url.origin + url.pathname, why, attempt: attempt + 1 }, 'registry request failed; retrying');
    await delay(ms);
  }

  private async follow(method: string, start: URL, opts: RequestOptions, authz: string | undefined): Promise<Response> {
    let url = start;
    for (let hops = 0; ; hops++) {
      // Credentials go only to the registry itself, not to the storage a blob redirects to.
      const sameHost = url.host === this.endpoint.url.host || url.host === start.host;
      const res = await this.once(method, url, opts, sameHost ? authz : undefined);
      if (opts.noRedirect || ![301, 302, 303, 307, 308].includes(res.status) || !res.headers.location) return { ...res, url };
      res.body.resume();
      if (hops >= MAX_REDIRECTS) throw new RegistryError(`${goMethod(method)} "${start.href}": stopped after ${MAX_REDIRECTS} redirects`);
      url = new URL(res.headers.location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RegistryError(`${goMethod(method)} "${start.href}": redirect to unsupported URL ${url.protocol}`);
    }
  }

  private once(method: string, url: URL, opts: RequestOptions, authz: string | undefined): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: http.IncomingMessage }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...opts.headers };
      if (authz) headers.Authorization = authz;
      const body = opts.body;
      if (Buffer.isBuffer(body)) headers['Content-Length'] = String(body.length);
      const mod = url.protocol === 'https:' ? https : http;
      const sameEndpoint = url.protocol === this.endpoint.url.protocol && url.host === this.endpoint.url.host;
      const agent = sameEndpoint ? this.agent : undefined;
      const req = mod.request(url, { method, headers, agent, ...(url.protocol === 'https:' && !agent ? { rejectUnauthorized: true } : {}) }, (res) => {
        res.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(Object.assign(new Error('read timeout: no data for 60s'), { code: 'ETIMEDOUT' })));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout awaiting response headers'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        const src = body();
        src.on('error', (err) => req.destroy(err));
        src.pipe(req);
      }
    });
  }
}
