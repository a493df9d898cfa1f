// The API over TLS and the unix socket's group, as dockerd: the real docker CLI with
// --tlsverify and with DOCKER_CERT_PATH, clients without a CA-signed certificate refused, TLS
// without client verification, unauthenticated tcp refused unless forced, and -G/--group.
// Certificates are made here with openssl; every connection goes to 127.0.0.1.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startDaemon, type Daemon } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerOk, dockerOut, show } from './helpers.js';

const run = promisify(execFile);

let certs = '';
const pem = (name: string): string => join(certs, name);

/** A CA, a server certificate for 127.0.0.1/localhost and a client one it signed, and a self-signed client. */
async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const key = ['-newkey', 'rsa:2048', '-nodes'];
  await openssl('req', '-x509', ...key, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=berth test CA');
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, cn] of [
    ['server', 'localhost'],
    ['client', 'berth test client'],
  ] as const) {
    await openssl('req', '-new', ...key, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-out', `${name}-cert.pem`, '-extfile', `${name}.ext`);
  }
  await openssl('req', '-x509', ...key, '-keyout', 'wrong-key.pem', '-out', 'wrong-cert.pem', '-days', '2', '-subj', '/CN=intruder', '-addext', 'extendedKeyUsage=clientAuth');
  // The layout the CLI reads from DOCKER_CERT_PATH.
  await mkdir(join(dir, 'client'));
  await copyFile(join(dir, 'ca.pem'), join(dir, 'client', 'ca.pem'));
  await copyFile(join(dir, 'client-cert.pem'), join(dir, 'client', 'cert.pem'));
  await copyFile(join(dir, 'client-key.pem'), join(dir, 'client', 'key.pem'));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts berthd, expecting it to fail; resolves with the error (its message carries berthd's log). */
async function startFails(args: string[]): Promise<string> {
  let daemon: Daemon | undefined;
  try {
    daemon = await startDaemon({ args });
  } catch (err) {
    return (err as Error).message;
  }
  await daemon.cleanup();
  assert.fail(`berthd started with ${args.join(' ')}`);
}

before(async () => {
  certs = await mkdtemp('/tmp/berth-tls-');
  await makeCertificates(certs);
});
after(async () => {
  if (certs) await rm(certs, { recursive: true, force: true });
});

const serverTls = (): string[] => ['--tlscert', pem('server-cert.pem'), '--tlskey', pem('server-key.pem')];

describe('--tlsverify', () => {
  let d: Daemon;
  let host = '';
  before(async () => {
    host = `tcp://127.0.0.1:${await freePort()}`;
    d = await startDaemon({ args: ['-H', host, '--tlsverify', '--tlscacert', pem('ca.pem'), ...serverTls()] });
    await importBusybox(d);
  });
  after(async () => {
    await d?.cleanup();
  });
  const withFlags = (args: string[]): string[] => [
    '-H', host, '--tlsverify', '--tlscacert', pem('ca.pem'), '--tlscert', pem('client-cert.pem'), '--tlskey', pem('client-key.pem'), ...args,
  ];

  test('the docker CLI with --tlsverify: version, run (attach), exec', async () => {
    assert.match(await dockerOut(d, withFlags(['version', '--format', '{{.Server.Version}}'])), /\S/);
    assert.equal(await dockerOut(d, withFlags(['run', '--rm', 'busybox', 'echo', 'hi'])), 'hi');
    await dockerOk(d, withFlags(['run', '-d', '--name', 'tlsexec', 'busybox', 'sleep', '300']));
    assert.equal(await dockerOut(d, withFlags(['exec', 'tlsexec', 'echo', 'from exec'])), 'from exec');
    assert.equal(await dockerOut(d, withFlags(['exec', '-i', 'tlsexec', 'cat']), { input: 'piped in\n' }), 'piped in');
    await dockerOk(d, withFlags(['rm', '-f', 'tlsexec']));
  });

  test('the docker CLI with DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', async () => {
    const env = { DOCKER_HOST: host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(certs, 'client') };
    const version = ['version', '--format', '{{.Server.Os}}'];
    const r = await d.docker(version, { env });
    assert.equal(r.code, 0, show(version, r));
    assert.equal(r.stdout.trim(), 'linux');
    const echo = ['run', '--rm', 'busybox', 'echo', 'hi'];
    const e = await d.docker(echo, { env });
    assert.equal(e.code, 0, show(echo, e));
    assert.equal(e.stdout.trim(), 'hi');
  });

  test('a client without a certificate is refused', async () => {
    const args = ['-H', host, '--tlsverify', '--tlscacert', pem('ca.pem'), 'version', '--format', '{{.Server.Version}}'];
    const r = await d.docker(args);
    assert.notEqual(r.code, 0, show(args, r));
    assert.equal(r.stdout.trim(), '', show(args, r));
    assert.match(r.stderr, /certificate|tls/i, show(args, r));
  });

  test('a client whose certificate the CA did not sign is refused', async () => {
    const args = ['-H', host, '--tlsverify', '--tlscacert', pem('ca.pem'), '--tlscert', pem('wrong-cert.pem'), '--tlskey', pem('wrong-key.pem'), 'version', '--format', '{{.Server.Version}}'];
    const r = await d.docker(args);
    assert.notEqual(r.code, 0, show(args, r));
    assert.equal(r.stdout.trim(), '', show(args, r));
    assert.match(r.stderr, /certificate|tls/i, show(args, r));
  });

  test('plain HTTP on the TLS port gets no answer from the API', async () => {
    const args = ['-H', host, 'version', '--format', '{{.Server.Version}}'];
    const r = await d.docker(args);
    assert.notEqual(r.code, 0, show(args, r));
    assert.equal(r.stdout.trim(), '', show(args, r));
  });

  test('the unix socket is still served, 0660, root:root when no "berth" group exists', async () => {
    assert.equal(await dockerOut(d, ['version', '--format', '{{.Server.Os}}']), 'linux');
    const st = await stat(d.socket);
    assert.equal(st.mode & 0o777, 0o660);
    const berth = await run('getent', ['group', 'berth']).then(
      (r) => Number(r.stdout.split(':')[2]),
      () => 0,
    );
    assert.equal(st.gid, berth);
  });
});

describe('TLS without client verification (--tls --tlsverify=false)', () => {
  let d: Daemon;
  let host = '';
  before(async () => {
    host = `tcp://127.0.0.1:${await freePort()}`;
    d = await startDaemon({ args: ['-H', host, '--tls', '--tlsverify=false', ...serverTls()] });
  });
  after(async () => {
    await d?.cleanup();
  });

  test('a client without a certificate is served over TLS', async () => {
    // The CLI's --tls (no --tlsverify) still reads a CA file but does not check the server with it.
    assert.equal(await dockerOut(d, ['-H', host, '--tls', '--tlscacert', pem('ca.pem'), 'version', '--format', '{{.Server.Os}}']), 'linux');
    assert.equal(await dockerOut(d, ['-H', host, '--tlsverify', '--tlscacert', pem('ca.pem'), 'version', '--format', '{{.Server.Os}}']), 'linux');
    assert.match(await d.logs(), /Binding to IP address without --tlsverify is insecure/);
  });
});

describe('tcp without TLS', () => {
  test('refused on a non-loopback address unless forced, with dockerd\'s warnings', async () => {
    // Refused before it binds anything: no listener on 0.0.0.0 ever exists.
    const msg = await startFails(['-H', `tcp://0.0.0.0:${await freePort()}`]);
    assert.match(msg, /refusing to listen on tcp:\/\/0\.0\.0\.0:\d+ without --tlsverify/);
    assert.match(msg, /You can override this by explicitly specifying '--tls=false' or '--tlsverify=false'/);
    assert.match(msg, /Binding to IP address without --tlsverify is insecure/);
  });

  test('a missing certificate is an invalid TLS configuration', async () => {
    const msg = await startFails(['-H', `tcp://127.0.0.1:${await freePort()}`, '--tlsverify', '--tlscacert', pem('nope.pem'), ...serverTls()]);
    assert.match(msg, /invalid TLS configuration: Could not read CA certificate/);
  });
});

describe('--tls=false and --group', () => {
  const group = `bt-sock-${randomBytes(3).toString('hex')}`;
  let gid = -1;
  let d: Daemon | undefined;
  let host = '';
  before(async () => {
    await run('groupadd', [group]);
    gid = Number((await run('getent', ['group', group])).stdout.split(':')[2]);
    host = `tcp://127.0.0.1:${await freePort()}`;
    d = await startDaemon({ args: ['-H', host, '--tls=false', '--group', group] });
  });
  after(async () => {
    try {
      await d?.cleanup();
    } finally {
      await run('groupdel', [group]).catch(() => undefined);
    }
  });

  test('plain tcp when explicitly forced, with the warning', async () => {
    assert.equal(await dockerOut(d!, ['-H', host, 'version', '--format', '{{.Server.Os}}']), 'linux');
    assert.match(await d!.logs(), /Binding to IP address without --tlsverify is insecure/);
  });

  test('the unix socket is 0660 and owned by the group', async () => {
    const st = await stat(d!.socket);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, gid);
  });

  test('an explicit group that does not exist stops berthd with dockerd\'s error', async () => {
    const msg = await startFails(['--group', `${group}-none`]);
    assert.match(msg, new RegExp(`group ${group}-none not found`));
  });
});
