import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { frame } from '../pkg/stdcopy.js';
import { ApiError, Client, timeParam, MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM } from './client.js';

let dir: string;
let server: http.Server;
let client: Client;
const seen: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];

async function body(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
  const url = new URL(req.url!, 'http://x');
  const p = url.pathname;
  const json = (status: number, v: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  if (p === '/_ping') {
    res.writeHead(200, { 'Api-Version': '1.47', Ostype: 'linux' });
    return void res.end('OK');
  }
  if (p === '/v1.47/containers/create') return json(201, { Id: 'abc', Warnings: [] });
  if (p === '/v1.47/containers/missing/json') return json(404, { message: 'No such container: missing' });
  if (p === '/v1.47/containers/abc/start') {
    res.writeHead(304);
    return void res.end();
  }
  if (p === '/v1.47/containers/abc/logs') {
    res.writeHead(200, { 'Content-Type': MEDIA_MULTIPLEXED_STREAM });
    const all = Buffer.concat([frame(1, Buffer.from('out\n')), frame(2, Buffer.from('err\n')), frame(1, Buffer.from('more\n'))]);
    // Split mid-header to exercise the demuxer through the client.
    res.write(all.subarray(0, 5));
    setTimeout(() => res.end(all.subarray(5)), 10);
    return;
  }
  if (p === '/v1.47/containers/tty/logs') {
    res.writeHead(200, { 'Content-Type': MEDIA_RAW_STREAM });
    return void res.end('raw\r\n');
  }
  if (p === '/v1.47/events') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const lines = [
      JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'a', Attributes: { name: 'é' } }, scope: 'local', time: 1, timeNano: 1 }),
      JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'a', Attributes: {} }, scope: 'local', time: 2, timeNano: 2 }),
    ];
    const all = Buffer.from(lines.join('\n') + '\n');
    const cut = all.indexOf(Buffer.from('é')) + 1; // inside the two-byte character
    res.write(all.subarray(0, cut));
    setTimeout(() => res.write(all.subarray(cut)), 10);
    // Keeps the stream open like a live `docker events`: the client aborts.
    return;
  }
  if (p === '/v1.47/images/create') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (url.searchParams.get('repo') === 'bad') return void res.end('{"errorDetail":{"message":"bad tar"},"error":"bad tar"}\n');
    return void res.end(JSON.stringify({ status: `sha256:${text.length}` }) + '\n');
  }
  if (p === '/v1.47/images/docker.io/library/busybox:latest/json') return json(200, { Id: 'sha256:1' });
  json(404, { message: `page not found: ${p}` });
}

// A hijack endpoint as dockerd answers it: 101, then stdcopy frames. The first frame goes
// out in the same write as the headers, so the client receives it as `head`.
function upgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
  const url = new URL(req.url!, 'http://x');
  const tty = url.pathname.startsWith('/v1.47/exec/');
  const headers = Buffer.from(
    'HTTP/1.1 101 UPGRADED\r\n' +
      `Content-Type: ${tty ? MEDIA_RAW_STREAM : MEDIA_MULTIPLEXED_STREAM}\r\n` +
      'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
  );
  const len = Number(req.headers['content-length'] ?? 0);
  const reqBody = head.subarray(0, len).toString();
  let stdin = head.subarray(len);
  if (tty) {
    socket.write(Buffer.concat([headers, Buffer.from(`started ${reqBody}\n`)]));
    socket.on('data', (c: Buffer) => socket.write(c));
    socket.on('end', () => socket.end());
    return;
  }
  socket.write(Buffer.concat([headers, frame(1, Buffer.from('hello '))]));
  socket.on('data', (c: Buffer) => (stdin = Buffer.concat([stdin, c])));
  socket.on('end', () => {
    socket.write(frame(1, stdin));
    socket.end(frame(2, Buffer.from('bye')));
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-client-'));
  server = http.createServer((req, res) => {
    void body(req).then((text) => {
      seen.push({ method: req.method!, url: req.url!, body: text, headers: req.headers });
      handle(req, res, text);
    });
  });
  server.on('upgrade', upgrade);
  await new Promise<void>((r) => server.listen(join(dir, 's.sock'), r));
  client = new Client({ socketPath: join(dir, 's.sock') });
});

after(async () => {
  client.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test('ping, JSON bodies and query encoding', async () => {
  const p = await client.ping();
  assert.equal(p.body, 'OK');
  assert.equal(p.apiVersion, '1.47');
  assert.equal(seen.at(-1)!.url, '/_ping');
  const r = await client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'web' });
  assert.equal(r.Id, 'abc');
  const last = seen.at(-1)!;
  assert.equal(last.url, '/v1.47/containers/create?name=web');
  assert.equal(last.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(last.body), { Image: 'busybox', Cmd: ['true'] });
  await client.containerStart('abc'); // 304 is not an error
  await assert.rejects(client.containerRemove('x', { force: true, volumes: true }), (e: unknown) => e instanceof ApiError && e.status === 404);
  assert.equal(seen.at(-1)!.url, '/v1.47/containers/x?force=1&v=1');
  await client.imageInspect('docker.io/library/busybox:latest');
});

test('errors carry status and dockerd message', async () => {
  await assert.rejects(
    client.containerInspect('missing'),
    (e: unknown) => e instanceof ApiError && e.status === 404 && e.message === 'No such container: missing',
  );
});

test('logs are demultiplexed, or raw with a TTY', async () => {
  const l = await client.containerLogs('abc', { tail: 10, since: new Date(1500) });
  assert.equal(l.stdout.toString(), 'out\nmore\n');
  assert.equal(l.stderr.toString(), 'err\n');
  assert.equal(l.tty, false);
  assert.match(seen.at(-1)!.url, /tail=10/);
  assert.match(seen.at(-1)!.url, /since=1\.500000000/);
  const t = await client.containerLogs('tty');
  assert.equal(t.stdout.toString(), 'raw\r\n');
  assert.equal(t.tty, true);
});

test('events stream parses JSON lines across chunk (and character) boundaries', async () => {
  const ac = new AbortController();
  const got: string[] = [];
  for await (const e of client.events({ filters: { type: ['container'] }, signal: ac.signal })) {
    got.push(`${e.Action}:${e.Actor.Attributes['name'] ?? ''}`);
    if (got.length === 2) ac.abort();
  }
  assert.deepEqual(got, ['start:é', 'die:']);
  assert.match(seen.at(-1)!.url, /filters=%7B%22type%22/);
});

test('attach hijacks: 101, early bytes kept, stdin half-close, framed output', async () => {
  const h = await client.containerAttach('abc', { stdin: true });
  assert.equal(h.multiplexed, true);
  h.conn.write('stdin data');
  h.closeWrite();
  const out = await h.collect();
  assert.equal(out.stdout.toString(), 'hello stdin data');
  assert.equal(out.stderr.toString(), 'bye');
});

test('exec start attached sends its JSON body and gets the raw stream', async () => {
  const h = await client.execStartAttached('e1', { tty: true });
  assert.equal(h.multiplexed, false);
  h.conn.write('ping\n');
  h.closeWrite();
  const out = await h.collect();
  assert.equal(out.stdout.toString(), 'started {"Detach":false,"Tty":true}\nping\n');
});

test('hijack of an unknown path rejects with the API error', async () => {
  // Node's server sends non-upgrade answers for unknown routes only via the request
  // handler; a 404 arriving instead of 101 must surface as ApiError.
  const s = http.createServer((_req, res) => {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"message":"No such exec instance: nope"}');
  });
  const sock = join(dir, 'plain.sock');
  await new Promise<void>((r) => s.listen(sock, r));
  const c = new Client({ socketPath: sock });
  try {
    await assert.rejects(c.execStartAttached('nope'), (e: unknown) => e instanceof ApiError && e.status === 404 && /No such exec/.test(e.message));
  } finally {
    c.close();
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

test('image import streams the body and surfaces stream errors', async () => {
  const msgs = await client.imageImport(Readable.from([Buffer.from('tar'), Buffer.from('ball')]), {
    repo: 'busybox',
    tag: 'latest',
    changes: ['CMD ["sh"]', 'ENV A=b'],
  });
  assert.deepEqual(msgs, [{ status: 'sha256:7' }]);
  const u = new URL(seen.at(-1)!.url, 'http://x');
  assert.deepEqual(u.searchParams.getAll('changes'), ['CMD ["sh"]', 'ENV A=b']);
  assert.equal(u.searchParams.get('fromSrc'), '-');
  await assert.rejects(client.imageImport(Readable.from([Buffer.from('x')]), { repo: 'bad' }), /bad tar/);
});

test('timeParam', () => {
  assert.equal(timeParam(new Date(1_700_000_000_123)), '1700000000.123000000');
  assert.equal(timeParam(42), '42');
  assert.equal(timeParam('10m'), '10m');
});
