// The transport against a local HTTP server that misbehaves on purpose: retries of 5xx, 429 and
// reset connections; bearer tokens fetched once per scope and refreshed when refused; redirects
// that leave the registry lose the credentials.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session, RegistryError } from './transport.js';

let server: http.Server;
let other: http.Server;
let base: URL;
let otherBase: URL;
const seen: { path: string; auth?: string }[] = [];
let failures = 0;
let tokensIssued = 0;
let acceptedToken = 'tok-1';

before(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, base);
    seen.push({ path: url.pathname + url.search, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
    if (url.pathname === '/flaky') {
      if (failures-- > 0) return res.writeHead(failures % 2 ? 503 : 429).end();
      return res.writeHead(200).end('ok');
    }
    if (url.pathname === '/reset') {
      if (failures-- > 0) return req.socket.destroy();
      return res.writeHead(200).end('ok');
    }
    if (url.pathname === '/token') {
      tokensIssued++;
      return res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: `tok-${tokensIssued}`, expires_in: 300 }));
    }
    if (url.pathname === '/v2/protected') {
      if (req.headers.authorization === `Bearer ${acceptedToken}`) return res.writeHead(200).end('secret');
      return res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="${base.origin}/token",service="test"` }).end();
    }
    if (url.pathname === '/v2/away') return res.writeHead(307, { Location: `${otherBase.origin}/blob` }).end();
    res.writeHead(404).end();
  });
  other = http.createServer((req, res) => {
    seen.push({ path: `other:${req.url}`, ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
    res.writeHead(200).end('blob');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  otherBase = new URL(`http://127.0.0.1:${(other.address() as AddressInfo).port}`);
});

after(() => {
  server.closeAllConnections();
  server.close();
  other.closeAllConnections();
  other.close();
});

const body = async (r: { body: AsyncIterable<Buffer> }): Promise<string> => {
  let s = '';
  for await (const c of r.body) s += c.toString();
  return s;
};

test('5xx, 429 and reset connections are retried with backoff; not without retry', async () => {
  const s = new Session({ url: base, insecureTLS: true, mirror: false }, undefined);
  failures = 3;
  const r = await s.request('GET', '/flaky', { retry: true });
  assert.equal(r.status, 200);
  assert.equal(await body(r), 'ok');
  failures = 2;
  const reset = await s.request('GET', '/reset', { retry: true });
  assert.equal(await body(reset), 'ok');
  failures = 1;
  const once = await s.request('GET', '/flaky');
  assert.equal(once.status, 429);
  once.body.resume();
  failures = 1;
  await assert.rejects(s.request('GET', '/reset'), (err: unknown) => err instanceof RegistryError && err.network);
  s.close();
});

test('bearer tokens: one per scope set, reused, refreshed when the registry refuses it', async () => {
  const s = new Session({ url: base, insecureTLS: true, mirror: false }, { username: 'u', password: 'p' });
  tokensIssued = 0;
  acceptedToken = 'tok-1';
  const scopes = ['repository:a:pull'];
  assert.equal(await body(await s.request('GET', '/v2/protected', { scopes })), 'secret');
  assert.equal(await body(await s.request('GET', '/v2/protected', { scopes })), 'secret');
  assert.equal(tokensIssued, 1);
  const tokenReq = seen.find((x) => x.path.startsWith('/token'))!;
  assert.match(tokenReq.path, /service=test&scope=repository%3Aa%3Apull&account=u/);
  assert.equal(tokenReq.auth, 'Basic ' + Buffer.from('u:p').toString('base64'));
  // The registry stops taking the cached token: a fresh one is fetched and the request repeated.
  acceptedToken = 'tok-2';
  assert.equal(await body(await s.request('GET', '/v2/protected', { scopes })), 'secret');
  assert.equal(tokensIssued, 2);
  s.close();
});

test('a redirect to another host does not carry the credentials', async () => {
  const s = new Session({ url: base, insecureTLS: true, mirror: false }, { username: 'u', password: 'p' });
  acceptedToken = 'tok-3';
  tokensIssued = 2;
  await (await s.request('GET', '/v2/protected', { scopes: ['repository:b:pull'] })).body.resume();
  seen.length = 0;
  const r = await s.request('GET', '/v2/away', { scopes: ['repository:b:pull'] });
  assert.equal(await body(r), 'blob');
  assert.equal(seen[0]!.auth, 'Bearer tok-3');
  assert.equal(seen[1]!.path, 'other:/blob');
  assert.equal(seen[1]!.auth, undefined);
  s.close();
});
