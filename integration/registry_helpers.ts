// Helpers for the tests of Berth's registry server: start bin/berth-registry on a free loopback
// port over a temp root, build an OCI image layout of the busybox fixture, run external tools.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { busyboxRootfsTar } from './fixtures.js';

export const REGISTRY_MAIN = fileURLToPath(new URL('../src/cmd/berth-registry/main.js', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output (never rejects on a non-zero exit). */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout!.on('data', (c: Buffer) => out.push(c));
    p.stderr!.on('data', (c: Buffer) => err.push(c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    if (opts.input !== undefined) {
      // A command that exits without reading all of its input is not an error of the test.
      p.stdin!.on('error', () => undefined);
      p.stdin!.end(opts.input);
    }
  });
}

/** Runs a command and fails with its output when it exits non-zero. */
export async function mustRun(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

export interface RegistryProcess {
  /** host:port */
  readonly host: string;
  readonly port: number;
  readonly root: string;
  readonly url: string;
  readonly child: ChildProcess;
  logs(): string;
  /** Resolves once the log (stderr) matches `re`. */
  waitForLog(re: RegExp): Promise<void>;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts bin/berth-registry on 127.0.0.1 with a port the kernel picks, on `root` (a temp dir if not given). */
export async function startRegistryProcess(opts: { root?: string; args?: string[]; tls?: boolean } = {}): Promise<RegistryProcess> {
  const root = opts.root ?? (await mkdtemp(join(tmpdir(), 'berth-registry-')));
  const child = spawn(process.execPath, [REGISTRY_MAIN, 'serve', '--listen', '127.0.0.1:0', '--root', root, ...(opts.args ?? [])], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (c: Buffer) => {
    log += c.toString();
    for (const w of waiters.splice(0)) {
      if (w.re.test(log)) w.resolve();
      else waiters.push(w);
    }
  });
  const waitForLog = (re: RegExp): Promise<void> =>
    re.test(log) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ re, resolve }));
  await Promise.race([
    waitForLog(/"msg":"listening"/),
    exited.then((code) => Promise.reject(new Error(`berth-registry exited with ${code} before listening:\n${log}`))),
  ]);
  const port = Number(/"msg":"listening","address":"127\.0\.0\.1:(\d+)"/.exec(log)![1]);
  const host = `127.0.0.1:${port}`;
  return {
    host,
    port,
    root,
    url: `${opts.tls ? 'https' : 'http'}://${host}`,
    child,
    logs: () => log,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface OciImage {
  /** The OCI layout directory (use as `oci:<dir>:<tag>`). */
  dir: string;
  tag: string;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
}

function sha256(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function writeBlob(dir: string, data: string | Buffer): Promise<string> {
  const digest = sha256(data);
  await writeFile(join(dir, 'blobs', 'sha256', digest.slice(7)), data);
  return digest;
}

/** Writes an OCI image layout holding the busybox fixture as a one-layer image tagged `tag`. */
export async function writeBusyboxOciLayout(dir: string, tag = 'latest'): Promise<OciImage> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const rootfs = await busyboxRootfsTar();
  const diffHash = createHash('sha256');
  const gzHash = createHash('sha256');
  let gzSize = 0;
  const tmp = join(dir, 'layer.tmp');
  await pipeline(
    createReadStream(rootfs),
    new Transform({ transform: (c: Buffer, _e, cb) => (diffHash.update(c), cb(null, c)) }),
    createGzip(),
    new Transform({ transform: (c: Buffer, _e, cb) => (gzHash.update(c), (gzSize += c.length), cb(null, c)) }),
    createWriteStream(tmp),
  );
  const layerDigest = `sha256:${gzHash.digest('hex')}`;
  await rename(tmp, join(dir, 'blobs', 'sha256', layerDigest.slice(7)));
  const config = JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'], Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diffHash.digest('hex')}`] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'busybox fixture' }],
    created: '2024-01-01T00:00:00Z',
  });
  const configDigest = await writeBlob(dir, config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: Buffer.byteLength(config) },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: gzSize }],
  });
  const manifestDigest = await writeBlob(dir, manifest);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: Buffer.byteLength(manifest),
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { dir, tag, manifestDigest, configDigest, layerDigest };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** The parsed body when it is JSON. */
  json?: any;
}

/** One HTTP request to the registry, with the path sent exactly as given (no normalisation). */
export function request(
  reg: { port: number },
  method: string,
  path: string,
  opts: { headers?: Record<string, string | number>; body?: string | Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: reg.port, method, path, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString();
        let json: unknown;
        try {
          json = /json/.test(String(res.headers['content-type'] ?? '')) ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function sha256Of(data: string | Buffer): string {
  return sha256(data);
}

/**
 * Turns the layout's tag into an OCI image index of two platforms (linux/amd64, the image as it
 * is, and linux/arm64, the same layer under another config), for `skopeo copy --all`.
 */
export async function makeMultiPlatform(image: OciImage): Promise<{ indexDigest: string; arm64Digest: string }> {
  const blobs = join(image.dir, 'blobs', 'sha256');
  const manifest = JSON.parse(await readFile(join(blobs, image.manifestDigest.slice(7)), 'utf8'));
  const config = JSON.parse(await readFile(join(blobs, image.configDigest.slice(7)), 'utf8'));
  const armConfig = JSON.stringify({ ...config, architecture: 'arm64', variant: 'v8' });
  const armConfigDigest = await writeBlob(image.dir, armConfig);
  const armManifest = JSON.stringify({ ...manifest, config: { ...manifest.config, digest: armConfigDigest, size: Buffer.byteLength(armConfig) } });
  const arm64Digest = await writeBlob(image.dir, armManifest);
  const amdSize = (await readFile(join(blobs, image.manifestDigest.slice(7)))).length;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: image.manifestDigest, size: amdSize, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: arm64Digest, size: Buffer.byteLength(armManifest), platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
  });
  const indexDigest = await writeBlob(image.dir, index);
  await writeFile(
    join(image.dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: Buffer.byteLength(index), annotations: { 'org.opencontainers.image.ref.name': image.tag } }],
    }),
  );
  return { indexDigest, arm64Digest };
}

/** A self-signed certificate for 127.0.0.1 made with openssl: cert.pem, key.pem, and ca.crt (the same cert) in `dir`. */
export async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await mustRun('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  await copyFile(cert, join(dir, 'ca.crt'));
  return { cert, key };
}
