// Bad input and wrong states: status codes and messages as dockerd (27.x, API 1.47) answers them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, rejectsApi, runDetached, runToExit } from './helpers.js';

const env = useDaemon({ setup: (d) => importBusybox(d).then(() => undefined) });

const create = (body: string) =>
  raw(env.daemon.socket, 'POST', '/v1.47/containers/create', { body, headers: { 'Content-Type': 'application/json' } });

test('malformed JSON on create is 400 with a message', async () => {
  for (const body of ['{"Image": "busybox"', '{not json}', '[1,2', '{"Image":"busybox"} trailing']) {
    const res = await create(body);
    assert.equal(res.status, 400, body);
    const msg = (res.json as { message?: string }).message;
    assert.equal(typeof msg, 'string', body);
    assert.ok(msg!.length > 0);
  }
  const res = await create('{"Image": "busybox"');
  assert.match((res.json as { message: string }).message, /^invalid JSON/);
});

test('wrong JSON types on create are 400', async () => {
  for (const body of [
    '{"Image":"busybox","Cmd":5}',
    '{"Image":"busybox","Tty":"yes"}',
    '{"Image":"busybox","Env":{"A":"b"}}',
    '{"Image":"busybox","Labels":["a=b"]}',
    '{"Image":5}',
    '{"Image":"busybox","HostConfig":{"Memory":"lots"}}',
    '{"Image":"busybox","HostConfig":{"Privileged":"true"}}',
  ]) {
    const res = await create(body);
    assert.equal(res.status, 400, `${body}: ${res.text}`);
    assert.equal(typeof (res.json as { message?: string }).message, 'string');
  }
  // A JSON array as the whole body is a type error too.
  const arr = await create('[]');
  assert.equal(arr.status, 400, arr.text);
});

test('unknown container is 404 No such container on every container endpoint', async () => {
  const c = env.client;
  await rejectsApi(c.containerInspect('x'), 404, 'No such container: x');
  await rejectsApi(c.containerStart('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerStop('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerRestart('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerKill('nosuch'), 404, /No such container: nosuch/);
  await rejectsApi(c.containerRemove('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerWait('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerRename('nosuch', 'other'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerTop('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerLogs('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.containerChanges('nosuch'), 404, 'No such container: nosuch');
  await rejectsApi(c.execCreate('nosuch', { Cmd: ['true'] }), 404, 'No such container: nosuch');
  await rejectsApi(c.containerAttach('nosuch'), 404, 'No such container: nosuch');
});

test('name conflict is 409', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'taken' });
  try {
    await rejectsApi(
      env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'taken' }),
      409,
      `Conflict. The container name "/taken" is already in use by container "${Id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    // The leading slash form is the same name.
    await rejectsApi(env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: '/taken' }), 409);
    // Renaming another container to it conflicts as well.
    const other = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
    try {
      await rejectsApi(env.client.containerRename(other.Id, 'taken'), 409, /already in use/);
    } finally {
      await env.client.containerRemove(other.Id, { force: true });
    }
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
  // Released with the container.
  const again = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'taken' });
  await env.client.containerRemove(again.Id);
});

test('invalid container name is 400', async () => {
  for (const name of ['a b', '-lead', 'x/y', 'é']) {
    await rejectsApi(
      env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name }),
      400,
      `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`,
    );
  }
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
  try {
    await rejectsApi(env.client.containerRename(Id, 'bad name'), 400, /Invalid container name \(bad name\)/);
    await rejectsApi(env.client.containerRename(Id, ''), 400);
  } finally {
    await env.client.containerRemove(Id);
  }
});

test('removing a running container without force is 409; with force it goes', async () => {
  const id = await runDetached(env.client, {}, 'busy');
  await rejectsApi(
    env.client.containerRemove(id),
    409,
    'cannot remove container "/busy": container is running: stop the container before removing or force remove',
  );
  assert.equal((await env.client.containerInspect(id)).State.Running, true, 'still running after the refused remove');
  await env.client.containerRemove(id, { force: true });
  await rejectsApi(env.client.containerInspect(id), 404);
});

test('starting a removed container is 404', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
  await env.client.containerRemove(Id);
  await rejectsApi(env.client.containerStart(Id), 404, `No such container: ${Id}`);
});

test('killing a stopped container is 409', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] }, { name: 'stopped' });
  try {
    await rejectsApi(env.client.containerKill('stopped'), 409, `cannot kill container: stopped: container ${Id} is not running`);
  } finally {
    await env.client.containerRemove(Id);
  }
});

test('invalid signal is 400', async () => {
  const id = await runDetached(env.client);
  try {
    await rejectsApi(env.client.containerKill(id, 'SIGNOPE'), 400, /invalid signal: SIGNOPE/i);
    await rejectsApi(env.client.containerKill(id, '999'), 400);
    await rejectsApi(env.client.containerStop(id, { signal: 'NOPE' }), 400);
    assert.equal((await env.client.containerInspect(id)).State.Running, true);
  } finally {
    await env.client.containerRemove(id, { force: true });
  }
  // StopSignal in the config is checked at create.
  await rejectsApi(env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], StopSignal: 'SIGNOPE' }), 400);
});

test('invalid restart policy is 400', async () => {
  await rejectsApi(
    env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'sometimes' as 'no', MaximumRetryCount: 0 } } }),
    400,
    "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
  );
  await rejectsApi(
    env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } } }),
    400,
    "invalid restart policy: maximum retry count can only be used with 'on-failure'",
  );
  await rejectsApi(
    env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } } }),
    400,
    'invalid restart policy: maximum retry count cannot be negative',
  );
  await rejectsApi(
    env.client.containerCreate({ Image: 'busybox', Cmd: ['true'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always', MaximumRetryCount: 0 } } }),
    400,
    /AutoRemove/,
  );
});

test('unknown image is 404 No such image', async () => {
  await rejectsApi(env.client.containerCreate({ Image: 'nosuch', Cmd: ['true'] }), 404, 'No such image: nosuch:latest');
  await rejectsApi(env.client.containerCreate({ Image: 'nosuch:v2', Cmd: ['true'] }), 404, 'No such image: nosuch:v2');
  await rejectsApi(env.client.imageInspect('nosuch'), 404, 'No such image: nosuch:latest');
  await rejectsApi(env.client.imageRemove('nosuch'), 404, 'No such image: nosuch:latest');
  // Nothing was left behind by the failed creates.
  assert.deepEqual(await env.client.containerList({ all: true }), []);
});

test('invalid wait condition is 400', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
  try {
    await rejectsApi(env.client.containerWait(Id, 'whenever' as 'removed'), 400, 'invalid condition: "whenever"');
  } finally {
    await env.client.containerRemove(Id);
  }
});

test('invalid query values are 400', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['true'] });
  try {
    // dockerd 27 hands strconv's error back untyped (500); either way it is refused.
    const stop = await raw(env.daemon.socket, 'POST', `/v1.47/containers/${Id}/stop?t=soon`);
    assert.ok([400, 500].includes(stop.status), stop.text);
    assert.match((stop.json as { message: string }).message, /parsing "soon": invalid syntax/);
    const list = await raw(env.daemon.socket, 'GET', '/v1.47/containers/json?filters=notjson');
    assert.equal(list.status, 400, list.text);
    const badFilter = await raw(env.daemon.socket, 'GET', `/v1.47/containers/json?filters=${encodeURIComponent('{"nosuch":["x"]}')}`);
    assert.equal(badFilter.status, 400, badFilter.text);
    assert.deepEqual(badFilter.json, { message: "invalid filter 'nosuch'" });
    const logs = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${Id}/logs`);
    assert.equal(logs.status, 400);
    assert.deepEqual(logs.json, { message: 'Bad parameters: you must choose at least one stream' });
  } finally {
    await env.client.containerRemove(Id);
  }
});

test('exec in a stopped container is 409, unknown exec is 404', async () => {
  const r = await runToExit(env.client, { Cmd: ['true'] });
  try {
    await rejectsApi(env.client.execCreate(r.id, { Cmd: ['true'] }), 409, `container ${r.id} is not running`);
  } finally {
    await env.client.containerRemove(r.id);
  }
  await rejectsApi(env.client.execInspect('nosuchexec'), 404, 'No such exec instance: nosuchexec');
  await rejectsApi(env.client.execStart('nosuchexec'), 404, 'No such exec instance: nosuchexec');
  await rejectsApi(env.client.execResize('nosuchexec', 10, 10), 404, 'No such exec instance: nosuchexec');
});

test('create without a command is 400; without an image is 400', async () => {
  // The busybox fixture has CMD ["sh"]; an image without one needs a command.
  await importBusybox(env.daemon, 'nocmd:latest', { changes: [] });
  await rejectsApi(env.client.containerCreate({ Image: 'nocmd' }), 400, 'no command specified');
  await rejectsApi(env.client.containerCreate({ Cmd: ['true'] }), 400, /image/i);
  await env.client.imageRemove('nocmd:latest');
});
