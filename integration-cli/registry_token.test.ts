// The bearer-token flow against the real docker-registry configured with `auth: token`: a small
// token issuer written here signs JWTs with a certificate the registry trusts. docker login gets
// a token with the password; pushes and pulls get tokens per scope (`token` and `access_token`
// answers both); anonymous access is refused; tokens never reach berthd's log.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { useDaemon } from '../integration/harness.js';
import { busyboxRootfsTar } from '../integration/fixtures.js';
import { startRegistry } from '../integration/registry.js';
import { dockerFails, dockerOk, dockerOut } from './helpers.js';

const USER = 'tokenuser';
const PASSWORD = 'tok-pass-' + randomBytes(4).toString('hex');
const SERVICE = 'berth-test-registry';
const ISSUER = 'berth-test-issuer';

const dir = await mkdtemp(join(tmpdir(), 'berth-token-'));
await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=berth-token-issuer', '-days', '2',
  '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
const key = await readFile(join(dir, 'key.pem'), 'utf8');
const certDER = new X509Certificate(await readFile(join(dir, 'cert.pem'))).raw.toString('base64');

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');
const issued: { scopes: string[]; user: string; form: string }[] = [];
const tokens: string[] = [];

function sign(access: { type: string; name: string; actions: string[] }[], sub: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDER] }));
  const claims = b64url(JSON.stringify({ iss: ISSUER, sub, aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access }));
  const signer = createSign('RSA-SHA256');
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${b64url(signer.sign(key))}`;
}

const issuer = http.createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : '';
  const authed = basic === `${USER}:${PASSWORD}`;
  if (basic && !authed) return res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"details":"incorrect username or password"}');
  const scopes = url.searchParams.getAll('scope');
  // Only a logged-in user gets access; anonymous callers get a token that grants nothing.
  const access = authed
    ? scopes.map((s) => {
        const [type, name, actions] = s.split(':');
        return { type: type!, name: name!, actions: actions!.split(',') };
      })
    : [];
  const token = sign(access, authed ? USER : '');
  tokens.push(token);
  // Both answers of the spec: `token`, and OAuth2's `access_token`.
  const form = issued.length % 2 === 0 ? 'token' : 'access_token';
  issued.push({ scopes, user: authed ? USER : '', form });
  res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ [form]: token, expires_in: 300 }));
});
await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
const realm = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}/token`;
const reg = await startRegistry({ token: { realm, service: SERVICE, issuer: ISSUER, rootCertBundle: join(dir, 'cert.pem') } });
after(async () => {
  await reg.stop();
  issuer.closeAllConnections();
  issuer.close();
  await rm(dir, { recursive: true, force: true });
});

const env = useDaemon();

test('token auth: anonymous refused, login by token, push and pull with per-scope tokens', async () => {
  const d = env.daemon;
  const name = `${reg.host}/tok/app:v1`;
  await dockerOk(d, ['import', '-c', 'CMD ["sh"]', await busyboxRootfsTar(), name]);
  await dockerFails(d, ['pull', `${reg.host}/tok/app:v1`], 1, /pull access denied for .*tok\/app, repository does not exist or may require 'docker login'/);
  await dockerFails(d, ['login', reg.host, '-u', USER, '-p', 'wrong'], 1, /unauthorized/);
  assert.match((await dockerOk(d, ['login', reg.host, '-u', USER, '--password-stdin'], { input: PASSWORD + '\n' })).stdout, /Login Succeeded/);
  const pushed = await dockerOk(d, ['push', name]);
  const digest = /v1: digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)![1]!;
  const id = await dockerOut(d, ['inspect', '-f', '{{.Id}}', name]);
  await dockerOk(d, ['rmi', name]);
  const pulled = await dockerOk(d, ['pull', name]);
  assert.match(pulled.stdout, new RegExp(`Digest: ${digest}`));
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', name]), id);

  assert.ok(issued.some((i) => i.user === USER && i.scopes.includes('repository:tok/app:pull,push')), JSON.stringify(issued));
  assert.ok(issued.some((i) => i.user === USER && i.scopes.length === 1 && i.scopes[0] === 'repository:tok/app:pull'), JSON.stringify(issued));
  assert.ok(issued.some((i) => i.form === 'token') && issued.some((i) => i.form === 'access_token'));
  // Tokens are cached per scope: far fewer token requests than registry requests.
  assert.ok(issued.length < 12, `${issued.length} token requests`);
  const log = await d.logs();
  for (const t of tokens) assert.ok(!log.includes(t.split('.')[2]!), 'a token reached the log');
  assert.ok(!log.includes(PASSWORD), 'the password reached the log');
});
