// Container create and inspect: the full inspect shape, the image config merged into the
// container's, the config actually in effect inside the container, TTY vs multiplexed
// streams, AutoRemove.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useDaemon } from './harness.js';
import { importBusybox } from './fixtures.js';
import { raw, rejectsApi, runToExit, waitFor, waitRegistered, within } from './helpers.js';
import { ApiError, MEDIA_MULTIPLEXED_STREAM, MEDIA_RAW_STREAM } from '../src/client/client.js';

const IMAGE_CHANGES = [
  'CMD ["sh", "-c", "echo from-image-cmd"]',
  'ENV PATH=/usr/sbin:/bin IMGVAR=image-value SHARED=from-image',
  'WORKDIR /home/user',
  'LABEL org.test.from=image org.test.shared=image',
];

const env = useDaemon({
  setup: async (d) => {
    await importBusybox(d);
    await importBusybox(d, 'configured:latest', { changes: IMAGE_CHANGES });
  },
});

const TOP_LEVEL_KEYS = [
  'Id',
  'Created',
  'Path',
  'Args',
  'State',
  'Image',
  'ResolvConfPath',
  'HostnamePath',
  'HostsPath',
  'LogPath',
  'Name',
  'RestartCount',
  'Driver',
  'Platform',
  'MountLabel',
  'ProcessLabel',
  'AppArmorProfile',
  'ExecIDs',
  'HostConfig',
  'GraphDriver',
  'Mounts',
  'Config',
  'NetworkSettings',
];

const STATE_KEYS = ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'Pid', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt'];

const ZERO_TIME = '0001-01-01T00:00:00Z';
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

test('inspect of a created container has every key dockerd returns', async () => {
  const before = Date.now();
  const { Id, Warnings } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['echo', 'hi'] }, { name: 'shape' });
  assert.match(Id, /^[0-9a-f]{64}$/);
  assert.deepEqual(Warnings ?? [], []);
  try {
    const raw1 = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${Id}/json`);
    assert.equal(raw1.status, 200);
    const c = raw1.json as Record<string, unknown>;
    for (const k of TOP_LEVEL_KEYS) assert.ok(k in c, `inspect has ${k}`);
    assert.equal(c['Id'], Id);
    assert.equal(c['Name'], '/shape');
    assert.equal(c['Path'], 'echo');
    assert.deepEqual(c['Args'], ['hi']);
    assert.match(String(c['Created']), RFC3339_NANO);
    assert.ok(Math.abs(Date.parse(String(c['Created'])) - before) < 60_000);
    assert.match(String(c['Image']), /^sha256:[0-9a-f]{64}$/);
    assert.equal(c['Driver'], 'overlay2');
    assert.equal(c['Platform'], 'linux');
    assert.equal(c['RestartCount'], 0);
    assert.equal(c['ExecIDs'], null);
    assert.deepEqual(c['Mounts'], []);
    for (const k of ['ResolvConfPath', 'HostnamePath', 'HostsPath']) {
      assert.ok(String(c[k]).startsWith(`${env.daemon.dataRoot}/containers/${Id}/`), `${k}: ${String(c[k])}`);
    }
    // dockerd fills LogPath at start, for json-file: <root>/containers/<id>/<id>-json.log
    assert.equal(typeof c['LogPath'], 'string');

    const state = c['State'] as Record<string, unknown>;
    for (const k of STATE_KEYS) assert.ok(k in state, `State has ${k}`);
    assert.deepEqual(
      { ...state },
      {
        ...state,
        Status: 'created',
        Running: false,
        Paused: false,
        Restarting: false,
        OOMKilled: false,
        Dead: false,
        Pid: 0,
        ExitCode: 0,
        Error: '',
        StartedAt: ZERO_TIME,
        FinishedAt: ZERO_TIME,
      },
    );

    const gd = c['GraphDriver'] as { Name: string; Data: Record<string, string> };
    assert.equal(gd.Name, 'overlay2');
    for (const k of ['LowerDir', 'MergedDir', 'UpperDir', 'WorkDir']) assert.equal(typeof gd.Data[k], 'string', `GraphDriver.Data.${k}`);

    const hc = c['HostConfig'] as Record<string, unknown>;
    for (const k of ['Binds', 'NetworkMode', 'RestartPolicy', 'AutoRemove', 'LogConfig', 'Privileged', 'ShmSize', 'Runtime', 'PortBindings']) {
      assert.ok(k in hc, `HostConfig has ${k}`);
    }
    assert.equal(hc['NetworkMode'], 'bridge');
    assert.deepEqual(hc['RestartPolicy'], { Name: 'no', MaximumRetryCount: 0 });
    assert.deepEqual(hc['LogConfig'], { Type: 'json-file', Config: {} });
    assert.equal(hc['ShmSize'], 67108864);

    const cfg = c['Config'] as Record<string, unknown>;
    for (const k of [
      'Hostname',
      'Domainname',
      'User',
      'AttachStdin',
      'AttachStdout',
      'AttachStderr',
      'Tty',
      'OpenStdin',
      'StdinOnce',
      'Env',
      'Cmd',
      'Image',
      'Volumes',
      'WorkingDir',
      'Entrypoint',
      'OnBuild',
      'Labels',
    ]) {
      assert.ok(k in cfg, `Config has ${k}`);
    }
    assert.equal(cfg['Image'], 'busybox');
    assert.deepEqual(cfg['Cmd'], ['echo', 'hi']);

    const ns = c['NetworkSettings'] as Record<string, unknown>;
    for (const k of ['Bridge', 'SandboxID', 'SandboxKey', 'Ports', 'Networks', 'IPAddress', 'MacAddress', 'Gateway']) {
      assert.ok(k in ns, `NetworkSettings has ${k}`);
    }

    // After a run: state filled in.
    const waited = env.client.containerWait(Id, 'next-exit');
    await env.client.containerStart(Id);
    assert.equal((await within(15_000, waited)).StatusCode, 0);
    const after = await env.client.containerInspect(Id);
    assert.equal(after.State.Status, 'exited');
    assert.equal(after.State.Running, false);
    assert.equal(after.State.Pid, 0);
    assert.equal(after.State.ExitCode, 0);
    assert.match(after.State.StartedAt, RFC3339_NANO);
    assert.match(after.State.FinishedAt, RFC3339_NANO);
    assert.notEqual(after.State.StartedAt, ZERO_TIME);
    assert.equal(after['LogPath'], `${env.daemon.dataRoot}/containers/${Id}/${Id}-json.log`);
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('inspect with size=1 adds SizeRw and SizeRootFs', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'dd if=/dev/zero of=/tmp/blob bs=1024 count=64 2>/dev/null'] });
  try {
    const c = await env.client.containerInspect(r.id, { size: true });
    assert.ok((c['SizeRw'] as number) >= 64 * 1024, `SizeRw ${String(c['SizeRw'])}`);
    assert.ok((c['SizeRootFs'] as number) > (c['SizeRw'] as number));
    const plain = await env.client.containerInspect(r.id);
    assert.ok(!('SizeRw' in plain));
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('null fields of a Healthcheck are unset, as Go decodes them (SDKs send them)', async () => {
  const body = JSON.stringify({
    Image: 'busybox',
    Cmd: ['true'],
    Healthcheck: { Test: ['CMD', 'true'], Interval: null, Timeout: null, StartPeriod: null, Retries: null },
  });
  const res = await raw(env.daemon.socket, 'POST', '/v1.47/containers/create', { body });
  assert.equal(res.status, 201, res.text);
  const id = (res.json as { Id: string }).Id;
  try {
    const c = await env.client.containerInspect(id);
    assert.deepEqual(c.Config.Healthcheck, { Test: ['CMD', 'true'] });
  } finally {
    await env.client.containerRemove(id);
  }
  // A non-zero duration below 1 ms is still refused.
  const bad = await raw(env.daemon.socket, 'POST', '/v1.47/containers/create', {
    body: JSON.stringify({ Image: 'busybox', Healthcheck: { Test: ['CMD', 'true'], Interval: 5 } }),
  });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /Interval in Healthcheck cannot be less than 1ms/);
});

test('the container-wide MacAddress (deprecated in 1.44) sets the MAC of the main endpoint', async () => {
  const run = async (version: string, mac: string) => {
    const res = await raw(env.daemon.socket, 'POST', `/v${version}/containers/create`, {
      body: JSON.stringify({ Image: 'busybox', Cmd: ['cat', '/sys/class/net/eth0/address'], MacAddress: mac }),
    });
    assert.equal(res.status, 201, res.text);
    const { Id, Warnings } = res.json as { Id: string; Warnings: string[] };
    const { exited } = await waitRegistered(env.client, Id);
    await env.client.containerStart(Id);
    assert.equal((await within(20_000, exited)).StatusCode, 0);
    return { Id, Warnings, seen: (await env.client.containerLogs(Id)).stdout.toString().trim() };
  };
  const old = await run('1.43', '02:42:ac:11:fe:01');
  assert.equal(old.seen, '02:42:ac:11:fe:01');
  assert.deepEqual(old.Warnings, []);
  const oldView = (await raw(env.daemon.socket, 'GET', `/v1.43/containers/${old.Id}/json`)).json as { Config: { MacAddress: string } };
  assert.equal(oldView.Config.MacAddress, '02:42:ac:11:fe:01');
  const current = await run('1.47', '02:42:ac:11:fe:02');
  assert.equal(current.seen, '02:42:ac:11:fe:02');
  assert.deepEqual(current.Warnings, ['The container-wide MacAddress field is now deprecated. It should be specified in EndpointsConfig instead.']);
  const view = await env.client.containerInspect(current.Id);
  assert.equal(view.Config.MacAddress, undefined);
  const networks = view.NetworkSettings.Networks as Record<string, { MacAddress: string }>;
  assert.equal(networks['bridge']?.MacAddress, '02:42:ac:11:fe:02');
  await env.client.containerRemove(old.Id);
  await env.client.containerRemove(current.Id);
  // The old API refuses it without a network of the container's own.
  const none = await raw(env.daemon.socket, 'POST', '/v1.43/containers/create', {
    body: JSON.stringify({ Image: 'busybox', MacAddress: '02:42:ac:11:fe:03', HostConfig: { NetworkMode: 'none' } }),
  });
  assert.equal(none.status, 400);
  assert.match(none.text, /conflicting options: mac-address and the network mode/);
});

test('the image config is merged into the container config', async () => {
  const img = await env.client.imageInspect('configured');
  const { Id } = await env.client.containerCreate({
    Image: 'configured',
    Env: ['USERVAR=user-value', 'SHARED=from-user'],
    Labels: { 'org.test.user': 'user', 'org.test.shared': 'user' },
  });
  try {
    const c = await env.client.containerInspect(Id);
    assert.equal(c.Image, img.Id);
    assert.equal(c.Config.Image, 'configured');
    assert.deepEqual(c.Config.Cmd, ['sh', '-c', 'echo from-image-cmd']);
    assert.equal(c.Path, 'sh');
    assert.deepEqual(c.Args, ['-c', 'echo from-image-cmd']);
    assert.equal(c.Config.WorkingDir, '/home/user');
    const envList = c.Config.Env ?? [];
    assert.ok(envList.includes('USERVAR=user-value'), envList.join(' '));
    assert.ok(envList.includes('SHARED=from-user'), 'the user value wins');
    assert.ok(!envList.includes('SHARED=from-image'));
    assert.ok(envList.includes('IMGVAR=image-value'));
    assert.ok(envList.includes('PATH=/usr/sbin:/bin'));
    assert.deepEqual(c.Config.Labels, { 'org.test.from': 'image', 'org.test.shared': 'user', 'org.test.user': 'user' });
    assert.equal(c.Config.Hostname, Id.slice(0, 12), 'Hostname defaults to the short ID');

    // A Cmd in the request replaces the image's.
    const r = await runToExit(env.client, { Image: 'configured', Cmd: ['pwd'] });
    assert.equal(r.stdout.toString(), '/home/user\n');
    await env.client.containerRemove(r.id);
    // The image's Cmd runs when none is given.
    const r2 = await runToExit(env.client, { Image: 'configured' });
    assert.equal(r2.stdout.toString(), 'from-image-cmd\n');
    await env.client.containerRemove(r2.id);
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('Entrypoint and Cmd: the image Cmd is dropped when the request sets an Entrypoint', async () => {
  const r = await runToExit(env.client, { Image: 'configured', Entrypoint: ['echo', 'ep'] });
  try {
    const c = await env.client.containerInspect(r.id);
    assert.deepEqual(c.Config.Entrypoint, ['echo', 'ep']);
    assert.equal(c.Config.Cmd, null);
    assert.equal(r.stdout.toString(), 'ep\n');
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('User, WorkingDir, Env, Hostname and Domainname are in effect inside the container', async () => {
  const script = [
    'id',
    'pwd',
    'echo "MYVAR=$MYVAR"',
    'echo "PATH=$PATH"',
    'echo "HOME=$HOME"',
    'echo "HOSTNAME=$HOSTNAME"',
    'hostname',
    'cat /proc/sys/kernel/domainname',
  ].join('; ');
  const r = await runToExit(env.client, {
    Cmd: ['sh', '-c', script],
    User: 'user',
    WorkingDir: '/tmp/made/by/daemon',
    Env: ['MYVAR=hello world'],
    Hostname: 'myhost',
    Domainname: 'example.test',
    Labels: { 'com.example.k': 'v' },
  });
  try {
    assert.equal(r.exitCode, 0, r.stderr.toString());
    const lines = r.stdout.toString().split('\n');
    assert.match(lines[0], /^uid=1000\(user\) gid=1000\(user\)/);
    assert.equal(lines[1], '/tmp/made/by/daemon', 'WorkingDir is created when missing');
    assert.equal(lines[2], 'MYVAR=hello world');
    // No PATH in the image: the daemon's default.
    assert.equal(lines[3], 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.equal(lines[4], 'HOME=/home/user');
    assert.equal(lines[5], 'HOSTNAME=myhost');
    assert.equal(lines[6], 'myhost');
    assert.equal(lines[7], 'example.test');
    const c = await env.client.containerInspect(r.id);
    assert.deepEqual(c.Config.Labels, { 'com.example.k': 'v' });
    assert.equal(c.Config.User, 'user');
    const list = await env.client.containerList({ all: true, filters: { id: [r.id] } });
    assert.deepEqual(list[0]?.Labels, { 'com.example.k': 'v' });
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('default hostname is the short ID, and numeric users work', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'hostname; id -u; id -g; cat /etc/hostname'], User: '1234:5678' });
  try {
    assert.equal(r.stdout.toString(), `${r.id.slice(0, 12)}\n1234\n5678\n${r.id.slice(0, 12)}\n`);
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('exit codes are the process exit status', async () => {
  const r = await runToExit(env.client, { Cmd: ['sh', '-c', 'exit 42'] });
  try {
    assert.equal(r.exitCode, 42);
    const c = await env.client.containerInspect(r.id);
    assert.equal(c.State.ExitCode, 42);
    assert.equal(c.State.Status, 'exited');
  } finally {
    await env.client.containerRemove(r.id);
  }
});

test('a command that does not exist fails start with dockerd-like status and leaves the container', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['/no/such/binary'] });
  try {
    const err = await env.client.containerStart(Id).then(
      () => assert.fail('start succeeded'),
      (e: ApiError) => e,
    );
    assert.match(err.message, /no such file or directory/);
    const c = await env.client.containerInspect(Id);
    assert.equal(c.State.Running, false);
    assert.equal(c.State.ExitCode, 127);
    assert.match(c.State.Error, /no such file or directory/);
    // dockerd: startInvalidConfigError, an invalid-parameter error.
    assert.equal(err.status, 400);
  } finally {
    await env.client.containerRemove(Id, { force: true });
  }
});

test('without a TTY, logs and attach are multiplexed; with one, raw', async () => {
  const plain = await runToExit(env.client, { Cmd: ['sh', '-c', 'echo out; echo err >&2'] });
  const tty = await runToExit(env.client, { Cmd: ['sh', '-c', 'echo out; echo err >&2'], Tty: true });
  try {
    const l1 = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${plain.id}/logs?stdout=1&stderr=1`);
    assert.equal(l1.status, 200);
    assert.equal(l1.headers['content-type'], MEDIA_MULTIPLEXED_STREAM);
    // Frames: stream (1 stdout, 2 stderr), three zero bytes, big-endian length, payload.
    // (The two streams are separate pipes: their relative order is not guaranteed.)
    const frames: [number, string][] = [];
    for (let off = 0; off < l1.body.length; ) {
      assert.deepEqual([...l1.body.subarray(off + 1, off + 4)], [0, 0, 0]);
      const len = l1.body.readUInt32BE(off + 4);
      frames.push([l1.body[off], l1.body.subarray(off + 8, off + 8 + len).toString()]);
      off += 8 + len;
    }
    assert.deepEqual(frames.sort(), [
      [1, 'out\n'],
      [2, 'err\n'],
    ]);
    assert.equal(plain.stdout.toString(), 'out\n');
    assert.equal(plain.stderr.toString(), 'err\n');

    const l2 = await raw(env.daemon.socket, 'GET', `/v1.47/containers/${tty.id}/logs?stdout=1&stderr=1`);
    assert.equal(l2.headers['content-type'], MEDIA_RAW_STREAM);
    // A TTY turns \n into \r\n, and stderr is the same terminal (so the order is kept).
    assert.equal(l2.text, 'out\r\nerr\r\n');
    assert.equal((await env.client.containerInspect(tty.id)).Config.Tty, true);

    // Before API 1.42 dockerd called both raw-stream.
    const old = await raw(env.daemon.socket, 'GET', `/v1.41/containers/${plain.id}/logs?stdout=1`);
    assert.equal(old.headers['content-type'], MEDIA_RAW_STREAM);
    assert.deepEqual([...old.body.subarray(0, 4)], [1, 0, 0, 0], 'still framed');

    const a1 = await env.client.containerAttach(plain.id, { stream: false, logs: true });
    assert.equal(a1.headers['content-type'], MEDIA_MULTIPLEXED_STREAM);
    const o1 = await within(10_000, a1.collect(), 'attach logs');
    assert.deepEqual([o1.stdout.toString(), o1.stderr.toString()], ['out\n', 'err\n']);
    const a2 = await env.client.containerAttach(tty.id, { stream: false, logs: true, tty: true });
    assert.equal(a2.headers['content-type'], MEDIA_RAW_STREAM);
    const o2 = await within(10_000, a2.collect(), 'attach logs');
    assert.equal(o2.stdout.toString(), 'out\r\nerr\r\n');
  } finally {
    await env.client.containerRemove(plain.id);
    await env.client.containerRemove(tty.id);
  }
});

test('AutoRemove removes the container when it exits, and wait removed returns', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sh', '-c', 'exit 3'], HostConfig: { AutoRemove: true } });
  const c = await env.client.containerInspect(Id);
  assert.equal(c.HostConfig.AutoRemove, true);
  const waited = env.client.containerWait(Id, 'removed');
  await env.client.containerStart(Id);
  const res = await within(15_000, waited, 'wait removed');
  assert.equal(res.StatusCode, 3);
  await waitFor('the container to be gone', async () =>
    env.client.containerInspect(Id).then(
      () => false,
      () => true,
    ),
  );
  await rejectsApi(env.client.containerInspect(Id), 404, `No such container: ${Id}`);
  const list = await env.client.containerList({ all: true });
  assert.ok(!list.some((x) => x.Id === Id));
});

test('AutoRemove also removes a container that is stopped', async () => {
  const { Id } = await env.client.containerCreate({ Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { AutoRemove: true } });
  await env.client.containerStart(Id);
  await env.client.containerStop(Id, { t: 0 });
  await waitFor('the container to be gone', async () =>
    env.client.containerInspect(Id).then(
      () => false,
      () => true,
    ),
  );
});
