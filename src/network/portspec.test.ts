import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortSpec, parsePortSpecs, portRequests, validatePortBindings } from './portspec.js';

test('parsePortSpec: the -p forms', () => {
  assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  assert.deepEqual(parsePortSpec('8080:80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } }]);
  assert.deepEqual(parsePortSpec('127.0.0.1:5353:53/udp'), [{ port: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '5353' } }]);
  assert.deepEqual(parsePortSpec('127.0.0.1::80'), [{ port: '80/tcp', binding: { HostIp: '127.0.0.1', HostPort: '' } }]);
  assert.deepEqual(parsePortSpec('8000-8001:80-81/udp').map((m) => [m.port, m.binding.HostPort]), [['80/udp', '8000'], ['81/udp', '8001']]);
  assert.deepEqual(parsePortSpec('8000-8010:80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '8000-8010' } }]);
  assert.deepEqual(parsePortSpec('[::1]:8080:80'), [{ port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } }]);
});

test('parsePortSpec: go-connections error messages', () => {
  const cases: [string, string][] = [
    ['abc', 'invalid containerPort: abc'],
    ['8080:abc', 'invalid containerPort: abc'],
    ['x:80', 'invalid hostPort: x'],
    ['1.2.3.400:80:80', 'invalid IP address: 1.2.3.400'],
    ['8080:', 'no port specified: 8080:<empty>'],
    ['80/foo', 'invalid proto: foo'],
    ['8000-8002:80-81', 'invalid ranges specified for container and host Ports: 80-81 and 8000-8002'],
    ['70000', 'invalid containerPort: 70000'],
  ];
  for (const [spec, msg] of cases) {
    assert.throws(() => parsePortSpec(spec), (e: Error) => e.message === msg, spec);
  }
});

test('parsePortSpecs merges into ExposedPorts and PortBindings', () => {
  const { exposed, bindings } = parsePortSpecs(['80', '8080:80', '53/udp']);
  assert.deepEqual(Object.keys(exposed).sort(), ['53/udp', '80/tcp']);
  assert.equal(bindings['80/tcp']!.length, 2);
});

test('validatePortBindings: dockerd create-time errors', () => {
  validatePortBindings({ '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
  assert.throws(() => validatePortBindings({ 'abc/tcp': [] }), (e: Error) => e.message === 'invalid port specification: "abc"');
  assert.throws(() => validatePortBindings({ '80/tcp': [{ HostIp: '', HostPort: 'x' }] }), (e: Error) => e.message === 'invalid port specification: "x"');
});

test('portRequests: bindings, ranges and -P', () => {
  const reqs = portRequests(
    { '80/tcp': {}, '443/tcp': {}, '53/udp': {} },
    { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }], '53/udp': [{ HostIp: '', HostPort: '9000-9005' }] },
    true,
  );
  assert.deepEqual(reqs, [
    { proto: 'tcp', containerPort: 80, hostIp: '127.0.0.1', hostPortStart: 8080, hostPortEnd: 8080 },
    { proto: 'udp', containerPort: 53, hostIp: '', hostPortStart: 9000, hostPortEnd: 9005 },
    { proto: 'tcp', containerPort: 443, hostIp: '', hostPortStart: 0, hostPortEnd: 0 },
  ]);
  assert.deepEqual(portRequests({ '80/tcp': {} }, {}, false), []);
  assert.throws(() => portRequests({}, { '80/tcp': [{ HostIp: 'nope', HostPort: '' }] }, false), /invalid IP address: nope/);
});
