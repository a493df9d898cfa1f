import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, emptyContainerConfig } from './changeinstructions.js';

test('applies --change instructions like dockerd', () => {
  const c = applyChanges(emptyContainerConfig(), [
    'ENV PATH=/usr/bin:/bin A="hello world"',
    'ENV B $A-x',
    'ENV PATH=$PATH:/opt',
    'CMD echo hi',
    'LABEL a=b "c d"=\'e f\'',
    'EXPOSE 80 53/udp 8000-8002',
    'USER nobody',
    'WORKDIR /app',
    'WORKDIR sub',
    'VOLUME ["/data", "/logs"]',
    'VOLUME /more',
    'STOPSIGNAL SIGQUIT',
    'ONBUILD RUN make',
    'HEALTHCHECK --interval=30s --retries=3 CMD ["true"]',
  ]);
  assert.deepEqual(c.Env, ['PATH=/usr/bin:/bin:/opt', 'A=hello world', 'B=hello world-x']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(c.Labels, { a: 'b', 'c d': 'e f' });
  assert.deepEqual(Object.keys(c.ExposedPorts ?? {}), ['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
  assert.equal(c.User, 'nobody');
  assert.equal(c.WorkingDir, '/app/sub');
  assert.deepEqual(Object.keys(c.Volumes ?? {}), ['/data', '/logs', '/more']);
  assert.equal(c.StopSignal, 'SIGQUIT');
  assert.deepEqual(c.OnBuild, ['RUN make']);
  assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'true'], Interval: 30e9, Retries: 3 });
});

test('ENTRYPOINT resets an unset CMD; JSON form kept', () => {
  const c = applyChanges({ ...emptyContainerConfig(), Cmd: ['sh'] }, ['ENTRYPOINT ["/bin/app", "-v"]']);
  assert.deepEqual(c.Entrypoint, ['/bin/app', '-v']);
  assert.equal(c.Cmd, null);
  const d = applyChanges(emptyContainerConfig(), ['CMD ["a"]', 'ENTRYPOINT top -b']);
  assert.deepEqual(d.Cmd, ['a']);
  assert.deepEqual(d.Entrypoint, ['/bin/sh', '-c', 'top -b']);
});

test('--change errors are dockerd\'s', () => {
  const cases: [string, string][] = [
    ['RUN echo', 'RUN is not a valid change command'],
    ['FROM busybox', 'FROM is not a valid change command'],
    ['ENV', 'ENV requires at least one argument'],
    ['ENV =x', 'ENV names can not be blank'],
    ['ENV a=b c', 'Syntax error - can\'t find = in "c". Must be of the form: name=value'],
    ['ENV onlyname', 'ENV must have two arguments'],
    ['LABEL', 'LABEL requires at least one argument'],
    ['EXPOSE', 'EXPOSE requires at least one argument'],
    ['EXPOSE abc', 'invalid containerPort: abc'],
    ['USER', 'USER requires exactly one argument'],
    ['WORKDIR', 'WORKDIR requires exactly one argument'],
    ['STOPSIGNAL SIGFOO', 'Invalid signal: SIGFOO'],
    ['STOPSIGNAL RTMIN+40', 'Invalid signal: RTMIN+40'],
    ['VOLUME [""]', 'VOLUME specified can not be an empty string'],
    ['ONBUILD ONBUILD RUN x', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed'],
    ['ONBUILD FROM x', 'FROM isn\'t allowed as an ONBUILD trigger'],
  ];
  for (const [change, msg] of cases) {
    assert.throws(() => applyChanges(emptyContainerConfig(), [change]), (e: Error) => e.message === msg, `${change} → ${msg}`);
  }
});
