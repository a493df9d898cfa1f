// Registries that lie or fail: a manifest that is not JSON, a blob with the wrong digest, a
// truncated blob, an endless body, a redirect loop, a 401 without a usable challenge. Each pull
// fails with a clear error and stores nothing. And a berthd SIGKILLed in the middle of a pull
// leaves no half layer; the next pull completes. The registry is a small node server (the faults
// cannot be had from a real one).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { useDaemon } from '../integration/harness.js';
import { buildImage, busyboxTar, fileLayer, sha256, type BuiltImage } from '../integration/registry.js';
import { dockerBackground, dockerFails, dockerOk, dockerOut, waitUntil } from './helpers.js';

type Fault = 'none' | 'not-json' | 'wrong-digest' | 'truncated' | 'endless' | 'redirect-loop' | 'no-challenge' | 'stall';

interface Served {
  img: BuiltImage;
  fault: Fault;
}

const repos = new Map<string, Served>();
let releaseStall: (() => void) | undefined;
let stalled: (() => void) | undefined;

const server = http.createServer((req, res) => {
  const url = new URL(req.url!, 'http://x');
  if (url.pathname === '/v2/') return res.writeHead(200).end('{}');
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
  const served = m ? repos.get(m[1]!) : undefined;
  if (!m || !served) return res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}');
  const { img, fault } = served;
  if (fault === 'no-challenge') return res.writeHead(401).end();
  if (m[2] === 'manifests') {
    const mt = (JSON.parse(img.manifest.toString()) as { mediaType: string }).mediaType;
    const body = fault === 'not-json' ? Buffer.from('<html>this is not a manifest</html>') : img.manifest;
    return res.writeHead(200, { 'Content-Type': mt, 'Content-Length': body.length }).end(req.method === 'HEAD' ? undefined : body);
  }
  const digest = m[3]!;
  if (digest === JSON.parse(img.manifest.toString()).config.digest) return res.writeHead(200, { 'Content-Length': img.config.length }).end(img.config);
  const layer = img.layers.find((l) => sha256(l.gz) === digest);
  if (!layer) return res.writeHead(404).end();
  switch (fault) {
    case 'wrong-digest': {
      const bad = Buffer.from(layer.gz);
      bad[bad.length - 10] ^= 0xff;
      return res.writeHead(200, { 'Content-Length': bad.length }).end(bad);
    }
    case 'truncated':
      res.writeHead(200, { 'Content-Length': layer.gz.length });
      res.write(layer.gz.subarray(0, layer.gz.length >> 1));
      return void setImmediate(() => res.socket?.destroy());
    case 'endless': {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 << 10, 7);
      const pump = (): void => {
        while (res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => res.off('drain', pump));
      return pump();
    }
    case 'redirect-loop':
      return res.writeHead(302, { Location: url.pathname }).end();
    case 'stall':
      res.writeHead(200, { 'Content-Length': layer.gz.length });
      res.write(layer.gz.subarray(0, layer.gz.length >> 1));
      stalled?.();
      releaseStall = () => res.socket?.destroy();
      return;
    default:
      return res.writeHead(200, { 'Content-Length': layer.gz.length }).end(layer.gz);
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
after(() => {
  releaseStall?.();
  server.closeAllConnections();
  server.close();
});


const env = useDaemon();

/** What the store holds: images, layers, and anything left in its scratch space. */
async function storeState(dataRoot: string): Promise<string> {
  const layers = (await readdir(join(dataRoot, 'image/overlay2/layerdb/sha256'))).sort();
  const images = (await readdir(join(dataRoot, 'image/overlay2/imagedb/content/sha256'))).sort();
  const tmp = (await readdir(join(dataRoot, 'image/overlay2/tmp'))).sort();
  const layerTmp = (await readdir(join(dataRoot, 'image/overlay2/layerdb/tmp'))).sort();
  return JSON.stringify({ layers, images, tmp, layerTmp });
}

async function serve(repo: string, fault: Fault, base: Buffer[] = []): Promise<BuiltImage> {
  const img = buildImage([...base, await fileLayer('small', 'small\n'), await fileLayer('big', randomBytes(2 << 20))]);
  repos.set(repo, { img, fault });
  return img;
}

for (const [fault, message] of [
  ['not-json', /error parsing manifest: Unexpected token/],
  ['wrong-digest', /filesystem layer verification failed for digest sha256:[0-9a-f]{64}/],
  ['truncated', /unexpected EOF/],
  ['endless', /is larger than the \d+ bytes its manifest gives/],
  ['redirect-loop', /stopped after 10 redirects/],
  ['no-challenge', /401 Unauthorized without a usable authentication challenge/],
] as const) {
  test(`a registry that serves ${fault} gets a clear error and nothing is stored`, async () => {
    const d = env.daemon;
    const before = await storeState(d.dataRoot);
    await serve(fault, fault);
    const r = await dockerFails(d, ['pull', `${host}/${fault}`], 1, message);
    if (process.env.BERTH_TEST_LOG) console.error(r.stderr);
    assert.equal(await storeState(d.dataRoot), before);
    assert.equal(await dockerOut(d, ['images', '-q', `${host}/${fault}`]), '');
  });
}

test('a client that goes away mid-pull cancels it: the download stops and nothing is kept', async () => {
  const d = env.daemon;
  const before = await storeState(d.dataRoot);
  await serve('abandoned', 'stall');
  const reached = new Promise<void>((resolve) => (stalled = resolve));
  const pull = dockerBackground(d, ['pull', `${host}/abandoned`]);
  await reached;
  await waitUntil('the download to begin', async () => (await readdir(join(d.dataRoot, 'image/overlay2/tmp'))).length > 0);
  pull.kill('SIGKILL');
  await pull.exited;
  await waitUntil('the pull to be cancelled', async () => (await storeState(d.dataRoot)) === before, 20_000);
  releaseStall!();
});

test('SIGKILL in the middle of a pull leaves no half layer; the next pull completes', async () => {
  const d = env.daemon;
  const before = await storeState(d.dataRoot);
  const img = await serve('killed', 'stall', [await busyboxTar()]);
  const reached = new Promise<void>((resolve) => (stalled = resolve));
  const pull = dockerBackground(d, ['pull', `${host}/killed`]);
  await reached;
  // The small layer may have been stored already: it is whole. The big one is half sent.
  await waitUntil('the download to begin', async () => (await readdir(join(d.dataRoot, 'image/overlay2/tmp'))).length > 0);
  await d.restart({ kill: true });
  releaseStall!();
  await pull.exited;
  const afterKill = JSON.parse(await storeState(d.dataRoot)) as { layers: string[]; images: string[]; tmp: string[]; layerTmp: string[] };
  assert.deepEqual(afterKill.tmp, []);
  assert.deepEqual(afterKill.layerTmp, []);
  assert.deepEqual(afterKill.images, JSON.parse(before).images);
  repos.set('killed', { img, fault: 'none' });
  const r = await dockerOk(d, ['pull', `${host}/killed`]);
  assert.match(r.stdout, /Status: Downloaded newer image for/);
  assert.equal(await dockerOut(d, ['inspect', '-f', '{{.Id}}', `${host}/killed`]), img.id);
  assert.equal(await dockerOut(d, ['run', '--rm', `${host}/killed`, 'cat', '/small']), 'small');
});
