// The image router against a fake backend.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { imageRoutes, type ImageBackend } from './image.js';
import type { ImageInspect, ImageSummary } from '../../api/types/image.js';
import { conflict, invalidParameter, notFound } from '../../pkg/errors.js';
import { CallLog, json, serveRoutes, type TestServer } from './testutil.js';

let srv: TestServer;
const log = new CallLog();
const call: TestServer['call'] = (...args) => srv.call(...args);

const summary: ImageSummary = { Id: 'sha256:1', ParentId: '', RepoTags: ['a:1'], RepoDigests: [], Created: 1, Size: 5, SharedSize: -1, Labels: null, Containers: -1 };
const inspect = { Id: 'sha256:1', Size: 5, Os: 'linux' } as ImageInspect;

/** "ghost" is unknown, "used" is used by a container. */
function known(name: string): void {
  if (name === 'ghost') throw notFound(`No such image: ${name}`);
  if (name === 'used') throw conflict(`conflict: unable to delete ${name} (must be forced)`);
}

const fake: ImageBackend = {
  images: async (opts) => {
    log.add('list', { ...opts, filters: [...(opts.filters ?? [])] });
    return [summary];
  },
  imageInspect: async (name) => {
    known(name);
    return inspect;
  },
  imageHistory: async (name) => {
    known(name);
    return [];
  },
  imageTag: async (name, repo, tag) => {
    known(name);
    log.add('tag', name, repo, tag ?? null);
  },
  imageRemove: async (name, opts) => {
    known(name);
    log.add('remove', name, opts);
    return [{ Untagged: name }];
  },
  imagesPrune: async (filters) => {
    log.add('prune', [...filters]);
    return { ImagesDeleted: null, SpaceReclaimed: 0 };
  },
  imageImport: async (src, opts) => {
    let body = '';
    for await (const chunk of src) body += String(chunk);
    log.add('import', body, opts);
    return 'sha256:new';
  },
  imagePull: async (req, out) => {
    log.add('pull', req);
    if (req.fromImage === 'ghost') throw notFound(`pull access denied for ${req.fromImage}`);
    out({ status: 'Pulling from library/busybox', id: req.tag });
    if (req.tag === 'broken') throw invalidParameter('filesystem layer verification failed');
    out({ status: 'Status: Downloaded newer image for busybox:latest' });
  },
  imagePush: async (req, out) => {
    log.add('push', req);
    out({ status: 'The push refers to repository [docker.io/library/busybox]' });
  },
  imagesSave: async (names) => {
    names.forEach(known);
    log.add('save', names);
    return Readable.from([Buffer.from('tar')]);
  },
  imagesLoad: async (src, out, quiet) => {
    let body = '';
    for await (const chunk of src) body += String(chunk);
    log.add('load', body, quiet);
    if (body === 'bad') throw invalidParameter('not a tar');
    out({ stream: 'Loaded image: a:1\n' });
  },
  commit: async (req) => {
    if (req.container === 'ghost') throw notFound('No such container: ghost');
    log.add('commit', req);
    return 'sha256:c';
  },
};

before(async () => {
  srv = await serveRoutes((r) => imageRoutes(r, fake));
});

after(async () => {
  await srv?.close();
});

test('list: all, filters, digests; VirtualSize before API 1.44', async () => {
  const r = await call('GET', `/images/json?all=1&digests=1&filters=${encodeURIComponent('{"dangling":["true"]}')}`);
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), [summary]);
  assert.deepEqual(json(await call('GET', '/v1.43/images/json')), [{ ...summary, VirtualSize: 5 }]);
  assert.deepEqual(log.take(), [
    'list {"all":true,"filters":[["dangling",["true"]]],"digests":true}',
    'list {"all":false,"filters":[],"digests":false}',
  ]);
});

test('inspect: names with slashes; VirtualSize before API 1.44; 404', async () => {
  assert.deepEqual(json(await call('GET', '/images/library/busybox:latest/json')), inspect);
  assert.deepEqual(json(await call('GET', '/v1.43/images/busybox/json')), { ...inspect, VirtualSize: 5 });
  const nf = await call('GET', '/images/ghost/json');
  assert.equal(nf.status, 404);
  assert.equal(json(nf).message, 'No such image: ghost');
  assert.deepEqual(json(await call('GET', '/images/a/b/history')), []);
});

test('tag: 201; a repository is required', async () => {
  const r = await call('POST', '/images/busybox/tag?repo=me/box&tag=v1');
  assert.equal(r.status, 201);
  assert.equal(r.body.length, 0);
  await call('POST', '/images/busybox/tag?repo=me/box');
  assert.deepEqual(log.take(), ['tag "busybox" "me/box" "v1"', 'tag "busybox" "me/box" null']);
  const bad = await call('POST', '/images/busybox/tag');
  assert.equal(bad.status, 400);
  assert.equal(json(bad).message, 'repository name must have at least one component');
  assert.equal((await call('POST', '/images/ghost/tag?repo=x')).status, 404);
});

test('remove: force and noprune; conflicts are 409', async () => {
  const r = await call('DELETE', '/images/a/b:1?force=1&noprune=true');
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), [{ Untagged: 'a/b:1' }]);
  assert.deepEqual(log.take(), ['remove "a/b:1" {"force":true,"noprune":true}']);
  assert.equal((await call('DELETE', '/images/used')).status, 409);
  assert.equal((await call('DELETE', '/images/ghost')).status, 404);
});

test('prune: filters', async () => {
  const r = await call('POST', `/images/prune?filters=${encodeURIComponent('{"dangling":["false"]}')}`);
  assert.deepEqual(json(r), { ImagesDeleted: null, SpaceReclaimed: 0 });
  assert.deepEqual(log.take(), ['prune [["dangling",["false"]]]']);
});

test('create: import from the body; URLs refused; pulls stream, or fail before the stream', async () => {
  const r = await call('POST', '/images/create?fromSrc=-&repo=me/img&tag=v1&changes=CMD%20sh&changes=ENV%20A=1&message=hi', Buffer.from('rootfs'));
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { status: 'sha256:new' });
  assert.deepEqual(log.take(), ['import "rootfs" {"repo":"me/img","tag":"v1","changes":["CMD sh","ENV A=1"],"message":"hi"}']);
  const url = await call('POST', '/images/create?fromSrc=http://x/y.tar');
  assert.equal(url.status, 400);
  assert.equal(json(url).message, 'importing from a URL is not supported: use - and send the archive in the request body');
  // An error before the first message is the HTTP answer; after it, the stream's last line.
  const pull = await call('POST', '/images/create?fromImage=ghost');
  assert.equal(pull.status, 404);
  assert.equal(json(pull).message, 'pull access denied for ghost');
  const ok = await call('POST', '/images/create?fromImage=busybox&tag=latest&platform=linux/arm64', undefined, { 'X-Registry-Auth': 'e30=' });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.toString(), '{"status":"Pulling from library/busybox","id":"latest"}\r\n{"status":"Status: Downloaded newer image for busybox:latest"}\r\n');
  const broken = await call('POST', '/images/create?fromImage=busybox&tag=broken');
  assert.equal(broken.status, 200);
  assert.equal(broken.body.toString().split('\r\n')[1], '{"errorDetail":{"message":"filesystem layer verification failed"},"error":"filesystem layer verification failed"}');
  assert.deepEqual(log.take(), [
    'pull {"fromImage":"ghost","tag":"","platform":""}',
    'pull {"fromImage":"busybox","tag":"latest","platform":"linux/arm64","registryAuth":"e30="}',
    'pull {"fromImage":"busybox","tag":"broken","platform":""}',
  ]);
  const push = await call('POST', '/images/a/b/push?tag=v1');
  assert.equal(push.status, 200);
  assert.deepEqual(log.take(), ['push {"name":"a/b","tag":"v1"}']);
  assert.equal((await call('POST', '/images/create')).status, 400);
});

test('save: one image or several, as a tar', async () => {
  const one = await call('GET', '/images/a/b/get');
  assert.equal(one.status, 200);
  assert.equal(one.headers['content-type'], 'application/x-tar');
  assert.equal(one.body.toString(), 'tar');
  await call('GET', '/images/get?names=a&names=b');
  assert.deepEqual(log.take(), ['save ["a/b"]', 'save ["a","b"]']);
  assert.equal((await call('GET', '/images/get?names=ghost')).status, 404);
});

test('load: progress lines; quiet by default; an error is reported in the stream', async () => {
  const r = await call('POST', '/images/load', Buffer.from('tar'));
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), '{"stream":"Loaded image: a:1\\n"}\r\n');
  await call('POST', '/images/load?quiet=0', Buffer.from('tar'));
  const bad = await call('POST', '/images/load', Buffer.from('bad'));
  assert.equal(bad.status, 200);
  assert.equal(bad.body.toString(), '{"errorDetail":{"message":"not a tar"},"error":"not a tar"}\r\n');
  assert.deepEqual(log.take(), ['load "tar" true', 'load "tar" false', 'load "bad" true']);
});

test('commit: query options and the config body; pause defaults to true from API 1.13', async () => {
  const r = await call('POST', '/commit?container=web&repo=me/snap&tag=v1&comment=c&author=a&changes=CMD%20sh', { Cmd: ['sh'] });
  assert.equal(r.status, 201);
  assert.deepEqual(json(r), { Id: 'sha256:c' });
  await call('POST', '/commit?container=web&pause=0');
  assert.deepEqual(log.take(), [
    'commit {"container":"web","repo":"me/snap","tag":"v1","comment":"c","author":"a","pause":true,"changes":["CMD sh"],"config":{"Cmd":["sh"]}}',
    'commit {"container":"web","pause":false,"changes":[]}',
  ]);
  assert.equal((await call('POST', '/commit?container=web', Buffer.from('"x"'))).status, 400);
  assert.equal((await call('POST', '/commit?container=ghost')).status, 404);
});
