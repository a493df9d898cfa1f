// A real registry for tests: Debian's docker-registry (the CNCF distribution registry) on
// 127.0.0.1, in its own temp dir, optionally behind htpasswd or token auth; and a way to put
// images into it over plain HTTP (monolithic blob uploads and manifest PUTs), independent of
// Berth's own client.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { busyboxRootfsTar } from './fixtures.js';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

export const MT_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MT_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MT_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MT_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export interface RegistryOptions {
  /** htpasswd basic auth with this one user. */
  htpasswd?: { user: string; password: string };
  /** Token auth: the realm of a token issuer, and the certificate bundle its tokens are signed under. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface Registry {
  /** 127.0.0.1:PORT */
  readonly host: string;
  readonly url: string;
  readonly dir: string;
  /** Basic credentials for requests the test makes itself (htpasswd registries). */
  authHeader?: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts docker-registry and waits until /v2/ answers; `stop()` kills it and removes its files. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  let authHeader: string | undefined;
  if (opts.htpasswd) {
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
    await writeFile(join(dir, 'htpasswd'), stdout);
    lines.push('auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`);
    authHeader = 'Basic ' + Buffer.from(`${opts.htpasswd.user}:${opts.htpasswd.password}`).toString('base64');
  } else if (opts.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${opts.token.realm}`,
      `    service: ${opts.token.service}`,
      `    issuer: ${opts.token.issuer}`,
      `    rootcertbundle: ${opts.token.rootCertBundle}`,
    );
  }
  await writeFile(join(dir, 'config.yml'), lines.join('\n') + '\n');
  const child: ChildProcess = spawn(REGISTRY_BIN, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
      try {
        const res = await fetch(`${url}/v2/`);
        await res.arrayBuffer();
        if (res.status === 200 || res.status === 401) break;
      } catch {
        /* not listening yet */
      }
      if (i > 200) throw new Error(`docker-registry did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, url, dir, ...(authHeader ? { authHeader } : {}), stop };
}

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function headers(reg: Registry, extra: Record<string, string> = {}): Record<string, string> {
  return reg.authHeader ? { Authorization: reg.authHeader, ...extra } : extra;
}

/** Uploads a blob in one PUT (POST then PUT ?digest=); returns its digest. */
export async function putBlob(reg: Registry, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers: headers(reg) });
  await start.arrayBuffer();
  if (start.status !== 202) throw new Error(`starting upload: ${start.status}`);
  const loc = new URL(start.headers.get('location')!, reg.url);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, { method: 'PUT', body: new Uint8Array(data), headers: headers(reg, { 'Content-Type': 'application/octet-stream' }) });
  await put.arrayBuffer();
  if (put.status !== 201) throw new Error(`uploading blob: ${put.status}`);
  return digest;
}

export async function putManifest(reg: Registry, repo: string, ref: string, mediaType: string, body: Buffer): Promise<string> {
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: new Uint8Array(body), headers: headers(reg, { 'Content-Type': mediaType }) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`putting manifest: ${res.status} ${text}`);
  return sha256(body);
}

export interface BuiltImage {
  config: Buffer;
  manifest: Buffer;
  manifestDigest: string;
  /** Image ID (config digest). */
  id: string;
  layers: { gz: Buffer; tar: Buffer }[];
}

/** An image of the given layer tars (gzip'd in the manifest), for an architecture. */
export function buildImage(layerTars: Buffer[], opts: { architecture?: string; variant?: string; mediaType?: string; cmd?: string[]; labels?: Record<string, string> } = {}): BuiltImage {
  const layers = layerTars.map((tar) => ({ tar, gz: gzipSync(tar) }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.architecture ?? 'amd64',
      ...(opts.variant ? { variant: opts.variant } : {}),
      os: 'linux',
      config: { Cmd: opts.cmd ?? ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...(opts.labels ? { Labels: opts.labels } : {}) },
      created: '2024-01-01T00:00:00Z',
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
    }),
  );
  const oci = opts.mediaType === MT_OCI_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: opts.mediaType ?? MT_DOCKER_MANIFEST,
      config: { mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json', size: config.length, digest: sha256(config) },
      layers: layers.map((l) => ({
        mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: l.gz.length,
        digest: sha256(l.gz),
      })),
    }),
  );
  return { config, manifest, manifestDigest: sha256(manifest), id: sha256(config), layers };
}

/** Uploads an image's blobs and its manifest under `ref` (a tag or the manifest digest). */
export async function pushImage(reg: Registry, repo: string, ref: string, img: BuiltImage): Promise<string> {
  for (const l of img.layers) await putBlob(reg, repo, l.gz);
  await putBlob(reg, repo, img.config);
  const mt = (JSON.parse(img.manifest.toString()) as { mediaType: string }).mediaType;
  return putManifest(reg, repo, ref, mt, img.manifest);
}

/** The busybox rootfs tar of the fixtures. */
export async function busyboxTar(): Promise<Buffer> {
  return readFile(await busyboxRootfsTar());
}

/** A one-file layer tar (ustar, as tar-stream writes it) for extra layers. */
export async function fileLayer(name: string, content: string | Buffer): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name, mode: 0o644, uid: 0, gid: 0, mtime: new Date('2024-01-01T00:00:00Z') }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}
