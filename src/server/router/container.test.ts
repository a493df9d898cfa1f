// The container router against a fake backend: status codes, answers, and what each route
// hands the backend from the request (query, body, API version).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { containerRoutes, streamContentType, type ContainerBackend } from './container.js';
import { conflict, notFound } from '../../pkg/errors.js';
import { CallLog, json, serveRoutes, type TestServer } from './testutil.js';
import type { ContainerInspect, ContainerSummary } from '../../api/types/container.js';

let srv: TestServer;
const log = new CallLog();
const call: TestServer['call'] = (...args) => srv.call(...args);
/** What the fake's containerWait resolves to. */
let waitResult: { StatusCode: number; Error?: string } | Error = { StatusCode: 0 };
let statsIdle = false;

/** "ghost" is unknown, "busy" refuses every change: the errors every route maps. */
function known(name: string): void {
  if (name === 'ghost') throw notFound(`No such container: ${name}`);
  if (name === 'busy') throw conflict(`Container ${name} is busy`);
}

const fake: ContainerBackend = {
  containerCreate: async (req) => {
    log.add('create', req);
    return { Id: 'c1', Warnings: [] };
  },
  containerStart: async (name) => { known(name); log.add('start', name); },
  containerStop: async (name, opts) => { known(name); log.add('stop', name, opts); },
  containerRestart: async (name, opts) => { known(name); log.add('restart', name, opts); },
  containerKill: async (name, signal) => { known(name); log.add('kill', name, signal ?? null); },
  containerRemove: async (name, opts) => { known(name); log.add('remove', name, opts); },
  containerRename: async (name, newName) => { known(name); log.add('rename', name, newName); },
  containerPause: async (name) => { known(name); log.add('pause', name); },
  containerUnpause: async (name) => { known(name); log.add('unpause', name); },
  containerUpdate: async (name, body, version) => {
    known(name);
    log.add('update', name, body ?? null, version);
    return ['a warning'];
  },
  containersPrune: async (filters) => {
    log.add('prune', [...filters]);
    return { ContainersDeleted: ['c1'], SpaceReclaimed: 12 };
  },
  containers: async (opts) => {
    log.add('list', { ...opts, filters: [...opts.filters] });
    return [{ Id: 'c1' } as ContainerSummary];
  },
  containerInspect: async (name, opts) => {
    known(name);
    log.add('inspect', name, opts);
    return { Id: name } as ContainerInspect;
  },
  containerTop: async (name, psArgs) => {
    known(name);
    log.add('top', name, psArgs);
    return { Titles: ['PID'], Processes: [['1']] };
  },
  containerChanges: async (name) => {
    known(name);
    return name === 'pristine' ? [] : [{ Path: '/etc', Kind: 0 }];
  },
  containerExport: async (name) => {
    known(name);
    return Readable.from([Buffer.from('tar bytes')]);
  },
  containerAttach: async (name, cfg) => {
    known(name);
    const { getStream, ...rest } = cfg;
    log.add('attach', name, rest);
    const conn = getStream(name === 'tty');
    conn.end('attached');
  },
  containerLogs: async (name, cfg) => {
    known(name);
    log.add('logs', name, cfg);
    return { tty: name === 'tty', write: async (out, signal) => void out.write(signal.aborted ? 'aborted' : 'lines') };
  },
  containerWait: async (name, condition) => {
    known(name);
    log.add('wait', name, condition);
    const r = waitResult;
    return {
      wait: async () => {
        if (r instanceof Error) throw r;
        return r;
      },
    };
  },
  containerStats: async (name, opts) => {
    known(name);
    log.add('stats', name, opts);
    if (statsIdle) return { idle: '{"idle":true}\n' };
    return { frames: () => Readable.from(['{"n":1}\n', '{"n":2}\n']) };
  },
  containerResize: async (name, height, width) => { known(name); log.add('resize', name, height, width); },
  containerExecCreate: async (name, opts) => {
    known(name);
    log.add('exec', name, opts);
    return 'e1';
  },
};

before(async () => {
  srv = await serveRoutes((r) => containerRoutes(r, fake));
});

after(async () => {
  await srv?.close();
});

test('streamContentType: multiplexed without a TTY from API 1.42, raw otherwise', () => {
  assert.equal(streamContentType(false, '1.47'), 'application/vnd.docker.multiplexed-stream');
  assert.equal(streamContentType(false, '1.42'), 'application/vnd.docker.multiplexed-stream');
  assert.equal(streamContentType(false, '1.41'), 'application/vnd.docker.raw-stream');
  assert.equal(streamContentType(true, '1.47'), 'application/vnd.docker.raw-stream');
});

test('create: 201 with the backend answer; name, platform, body and version passed on', async () => {
  const r = await call('POST', '/v1.44/containers/create?name=web&platform=linux/amd64', { Image: 'busybox', HostConfig: { NetworkMode: 'default' } });
  assert.equal(r.status, 201);
  assert.deepEqual(json(r), { Id: 'c1', Warnings: [] });
  assert.deepEqual(log.take(), [
    'create {"name":"web","body":{"Image":"busybox","HostConfig":{"NetworkMode":"default"}},"platform":"linux/amd64","version":"1.44"}',
  ]);
  const none = await call('POST', '/containers/create');
  assert.equal(none.status, 201);
  assert.deepEqual(log.take(), ['create {"name":"","body":{},"platform":null,"version":"1.47"}']);
  const bad = await call('POST', '/containers/create', Buffer.from('[1]'));
  assert.equal(bad.status, 400);
  assert.equal(json(bad).message, 'json: cannot unmarshal array into Go value of type container.CreateRequest');
  assert.equal((await call('POST', '/containers/create', Buffer.from('{'))).status, 400);
  assert.deepEqual(log.take(), []);
});

test('list: all, limit, size and filters', async () => {
  const filters = encodeURIComponent(JSON.stringify({ status: ['running'] }));
  const r = await call('GET', `/containers/json?all=1&limit=3&size=true&filters=${filters}`);
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), [{ Id: 'c1' }]);
  await call('GET', '/containers/json');
  assert.deepEqual(log.take(), [
    'list {"all":true,"limit":3,"size":true,"filters":[["status",["running"]]]}',
    'list {"all":false,"limit":-1,"size":false,"filters":[]}',
  ]);
  const bad = await call('GET', '/containers/json?limit=x');
  assert.equal(bad.status, 400);
  assert.equal(json(bad).message, 'strconv.ParseInt: parsing "x": invalid syntax');
  assert.equal((await call('GET', '/containers/json?filters=nope')).status, 400);
});

test('inspect: size and the API version; 404 for an unknown container', async () => {
  const r = await call('GET', '/v1.41/containers/web/json?size=1');
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { Id: 'web' });
  assert.deepEqual(log.take(), ['inspect "web" {"size":true,"version":"1.41"}']);
  const nf = await call('GET', '/containers/ghost/json');
  assert.equal(nf.status, 404);
  assert.deepEqual(json(nf), { message: 'No such container: ghost' });
});

test('start: 204; checkpoints refused; errors mapped', async () => {
  assert.equal((await call('POST', '/containers/web/start')).status, 204);
  const cp = await call('POST', '/containers/web/start?checkpoint=c');
  assert.equal(cp.status, 400);
  assert.equal(json(cp).message, 'checkpoints are not supported');
  assert.equal((await call('POST', '/containers/ghost/start')).status, 404);
  const busy = await call('POST', '/containers/busy/start');
  assert.equal(busy.status, 409);
  assert.equal(json(busy).message, 'Container busy is busy');
  assert.deepEqual(log.take(), ['start "web"']);
});

test('stop and restart: ?t= and ?signal=', async () => {
  assert.equal((await call('POST', '/containers/web/stop?t=5&signal=SIGINT')).status, 204);
  assert.equal((await call('POST', '/containers/web/stop?t=')).status, 204);
  assert.equal((await call('POST', '/containers/web/restart?t=-1')).status, 204);
  assert.equal((await call('POST', '/containers/web/restart')).status, 204);
  assert.deepEqual(log.take(), [
    'stop "web" {"timeout":5,"signal":"SIGINT"}',
    'stop "web" {}',
    'restart "web" {"timeout":-1}',
    'restart "web" {}',
  ]);
  assert.equal((await call('POST', '/containers/web/stop?t=soon')).status, 400);
  assert.equal((await call('POST', '/containers/web/restart?t=1.5')).status, 400);
  assert.equal((await call('POST', '/containers/ghost/stop')).status, 404);
  assert.deepEqual(log.take(), []);
});

test('kill: the signal, or none for the default', async () => {
  assert.equal((await call('POST', '/containers/web/kill?signal=HUP')).status, 204);
  assert.equal((await call('POST', '/containers/web/kill?signal=')).status, 204);
  assert.equal((await call('POST', '/containers/web/kill')).status, 204);
  assert.deepEqual(log.take(), ['kill "web" "HUP"', 'kill "web" null', 'kill "web" null']);
  assert.equal((await call('POST', '/containers/busy/kill')).status, 409);
});

test('wait: the condition; StatusCode, and Error from API 1.30 on a failure', async () => {
  waitResult = { StatusCode: 0 };
  const ok = await call('POST', '/containers/web/wait?condition=next-exit');
  assert.equal(ok.status, 200);
  assert.equal(ok.headers['content-type'], 'application/json');
  assert.equal(ok.body.toString(), '{"StatusCode":0}\n');
  await call('POST', '/containers/web/wait');
  assert.deepEqual(log.take(), ['wait "web" "next-exit"', 'wait "web" null']);

  waitResult = { StatusCode: 1, Error: 'boom' };
  assert.equal((await call('POST', '/v1.30/containers/web/wait')).body.toString(), '{"StatusCode":1,"Error":{"Message":"boom"}}\n');
  assert.equal((await call('POST', '/v1.29/containers/web/wait')).body.toString(), '{"StatusCode":1}\n');
  // An error with exit code 0 is not reported.
  waitResult = { StatusCode: 0, Error: 'boom' };
  assert.equal((await call('POST', '/containers/web/wait')).body.toString(), '{"StatusCode":0}\n');
  // A failed wait (the client left) ends the response without a body.
  waitResult = new Error('aborted');
  await assert.rejects(call('POST', '/containers/web/wait'));
  waitResult = { StatusCode: 0 };
  assert.equal((await call('POST', '/containers/ghost/wait')).status, 404);
  log.take();
});

test('remove: force, v and link', async () => {
  assert.equal((await call('DELETE', '/containers/web?force=1&v=true')).status, 204);
  assert.equal((await call('DELETE', '/containers/web?link=1')).status, 204);
  assert.deepEqual(log.take(), [
    'remove "web" {"force":true,"removeVolumes":true,"removeLink":false}',
    'remove "web" {"force":false,"removeVolumes":false,"removeLink":true}',
  ]);
  assert.equal((await call('DELETE', '/containers/ghost')).status, 404);
});

test('rename, top, changes, prune', async () => {
  assert.equal((await call('POST', '/containers/web/rename?name=new')).status, 204);
  assert.equal((await call('POST', '/containers/web/rename')).status, 204);
  const top = await call('GET', '/containers/web/top?ps_args=aux');
  assert.deepEqual(json(top), { Titles: ['PID'], Processes: [['1']] });
  await call('GET', '/containers/web/top');
  assert.deepEqual(log.take(), ['rename "web" "new"', 'rename "web" ""', 'top "web" "aux"', 'top "web" ""']);

  assert.deepEqual(json(await call('GET', '/containers/web/changes')), [{ Path: '/etc', Kind: 0 }]);
  // No change at all is null, as dockerd answers.
  assert.equal((await call('GET', '/containers/pristine/changes')).body.toString(), 'null\n');

  const p = await call('POST', `/containers/prune?filters=${encodeURIComponent('{"until":["1h"]}')}`);
  assert.equal(p.status, 200);
  assert.deepEqual(json(p), { ContainersDeleted: ['c1'], SpaceReclaimed: 12 });
  assert.deepEqual(log.take(), ['prune [["until",["1h"]]]']);
});

test('resize: h and w; 200; invalid numbers refused', async () => {
  const r = await call('POST', '/containers/web/resize?h=24&w=80');
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0);
  await call('POST', '/containers/web/resize');
  assert.deepEqual(log.take(), ['resize "web" 24 80', 'resize "web" 0 0']);
  assert.equal((await call('POST', '/containers/web/resize?h=tall')).status, 400);
  assert.equal((await call('POST', '/containers/busy/resize?h=1&w=1')).status, 409);
});

test('attach: flags passed on; the stream type follows the TTY and the API version', async () => {
  const r = await call('POST', '/containers/web/attach?stream=1&stdin=1&stdout=1&stderr=0&detachKeys=ctrl-x');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.equal(r.body.toString(), 'attached');
  assert.deepEqual(log.take(), ['attach "web" {"stdin":true,"stdout":true,"stderr":false,"logs":false,"stream":true,"detachKeys":"ctrl-x"}']);
  assert.equal((await call('POST', '/v1.41/containers/web/attach?stream=1')).headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal((await call('POST', '/containers/tty/attach?logs=1')).headers['content-type'], 'application/vnd.docker.raw-stream');
  log.take();
  // Refused before the connection is taken over: a normal error answer.
  const nf = await call('POST', '/containers/ghost/attach?stream=1');
  assert.equal(nf.status, 404);
  assert.equal(json(nf).message, 'No such container: ghost');
});

test('logs: options passed on; tail "all" or garbage is -1; the stream type follows the TTY', async () => {
  const r = await call('GET', '/containers/web/logs?stdout=1&follow=1&timestamps=1&tail=10&since=5&until=7&details=1');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
  assert.equal(r.body.toString(), 'lines');
  await call('GET', '/containers/web/logs?stderr=1&tail=all');
  await call('GET', '/containers/web/logs?stderr=1&tail=ten');
  assert.deepEqual(log.take(), [
    'logs "web" {"stdout":true,"stderr":false,"follow":true,"timestamps":true,"details":true,"tail":10,"since":"5","until":"7"}',
    'logs "web" {"stdout":false,"stderr":true,"follow":false,"timestamps":false,"details":false,"tail":-1}',
    'logs "web" {"stdout":false,"stderr":true,"follow":false,"timestamps":false,"details":false,"tail":-1}',
  ]);
  assert.equal((await call('GET', '/containers/tty/logs?stdout=1')).headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal((await call('GET', '/v1.41/containers/web/logs?stdout=1')).headers['content-type'], 'application/vnd.docker.raw-stream');
  assert.equal((await call('GET', '/containers/ghost/logs?stdout=1')).status, 404);
  log.take();
});

test('exec create: the body decoded into exec options; 201 with the ID', async () => {
  const r = await call('POST', '/containers/web/exec', {
    Cmd: ['sh', '-c', 'true'], AttachStdout: true, Tty: true, Env: ['A=1'], User: 'nobody', WorkingDir: '/tmp',
    DetachKeys: 'ctrl-a', Privileged: true, ConsoleSize: [24, 80], AttachStdin: 'yes',
  });
  assert.equal(r.status, 201);
  assert.deepEqual(json(r), { Id: 'e1' });
  await call('POST', '/containers/web/exec', { Cmd: 'ls' });
  assert.deepEqual(log.take(), [
    'exec "web" {"AttachStdin":false,"AttachStdout":true,"AttachStderr":false,"DetachKeys":"ctrl-a","Tty":true,"Env":["A=1"],' +
      '"Cmd":["sh","-c","true"],"Privileged":true,"User":"nobody","WorkingDir":"/tmp","ConsoleSize":[24,80]}',
    'exec "web" {"AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"DetachKeys":"","Tty":false,"Env":[],' +
      '"Cmd":["ls"],"Privileged":false,"User":"","WorkingDir":""}',
  ]);
  assert.equal((await call('POST', '/containers/web/exec', Buffer.from('"x"'))).status, 400);
  assert.equal((await call('POST', '/containers/ghost/exec', { Cmd: ['ls'] })).status, 404);
});

test('update: the body and version passed on; the warnings answered', async () => {
  const r = await call('POST', '/v1.45/containers/web/update', { Memory: 1 });
  assert.equal(r.status, 200);
  assert.deepEqual(json(r), { Warnings: ['a warning'] });
  await call('POST', '/containers/web/update');
  assert.deepEqual(log.take(), ['update "web" {"Memory":1} "1.45"', 'update "web" null "1.47"']);
  assert.equal((await call('POST', '/containers/busy/update', {})).status, 409);
});

test('pause and unpause: 204', async () => {
  assert.equal((await call('POST', '/containers/web/pause')).status, 204);
  assert.equal((await call('POST', '/containers/web/unpause')).status, 204);
  assert.deepEqual(log.take(), ['pause "web"', 'unpause "web"']);
  assert.equal((await call('POST', '/containers/busy/pause')).status, 409);
  assert.equal((await call('POST', '/containers/ghost/unpause')).status, 404);
});

test('stats: stream defaults to true; one frame for an idle container, every frame otherwise', async () => {
  statsIdle = false;
  const r = await call('GET', '/containers/web/stats');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.toString(), '{"n":1}\n{"n":2}\n');
  statsIdle = true;
  assert.equal((await call('GET', '/containers/web/stats?stream=0&one-shot=1')).body.toString(), '{"idle":true}\n');
  assert.deepEqual(log.take(), ['stats "web" {"stream":true,"oneShot":false}', 'stats "web" {"stream":false,"oneShot":true}']);
  assert.equal((await call('GET', '/containers/ghost/stats')).status, 404);
});

test('export: a tar', async () => {
  const r = await call('GET', '/containers/web/export');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/x-tar');
  assert.equal(r.body.toString(), 'tar bytes');
  assert.equal((await call('GET', '/containers/ghost/export')).status, 404);
});
