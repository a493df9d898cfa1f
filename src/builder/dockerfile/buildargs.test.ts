import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildArgs, expansionEnv, platformArgs } from './buildargs.js';

test('meta args are visible to FROM only; a stage sees an argument after its own ARG', () => {
  const global = new BuildArgs(new Map([['VERSION', '2.0']]));
  global.addArg('VERSION', '1.0');
  global.addMetaArg('VERSION', '1.0');
  global.addArg('BASE', 'alpine');
  global.addMetaArg('BASE', 'alpine');
  assert.deepEqual([...global.allMeta()].sort(), [['BASE', 'alpine'], ['VERSION', '2.0']]);

  const stage = global.forStage();
  assert.equal(stage.allAllowed().has('VERSION'), false);
  assert.equal(expansionEnv([], stage).get('BASE'), undefined);
  // Redeclared without a default: the meta arg's value (the --build-arg one here).
  stage.addArg('VERSION', undefined);
  stage.addArg('BASE', undefined);
  assert.equal(stage.allAllowed().get('VERSION'), '2.0');
  assert.equal(stage.allAllowed().get('BASE'), 'alpine');
  // A new default in the stage wins over the meta arg, --build-arg over both.
  stage.addArg('BASE', 'debian');
  assert.equal(stage.allAllowed().get('BASE'), 'debian');
  stage.addArg('VERSION', '3.0');
  assert.equal(stage.allAllowed().get('VERSION'), '2.0');
});

test('an ARG without a default and no value anywhere stays unset', () => {
  const b = new BuildArgs(new Map([['NOVAL', undefined]]));
  b.addArg('X', undefined);
  b.addArg('NOVAL', undefined);
  assert.deepEqual([...b.allAllowed()], []);
  assert.equal(expansionEnv([], b).get('X'), undefined);
});

test('ENV hides an argument of the same name in expansion and in RUN’s environment', () => {
  const b = new BuildArgs(new Map([['A', 'from-arg']]));
  b.addArg('A', 'default');
  b.addArg('B', 'b');
  assert.deepEqual(b.filterAllowed(['A=env', 'PATH=/bin']), ['B=b']);
  const env = expansionEnv(['A=env', 'PATH=/bin'], b);
  assert.equal(env.get('A'), 'env');
  assert.equal(env.get('B'), 'b');
  assert.equal(env.get('PATH'), '/bin');
});

test('proxy variables are allowed without an ARG and kept out of history unless declared', () => {
  const b = new BuildArgs(new Map([['http_proxy', 'http://proxy:3128'], ['UNUSED', 'x'], ['ALSO', 'y']]));
  assert.equal(b.allAllowed().get('http_proxy'), 'http://proxy:3128');
  assert.equal(b.allMeta().get('http_proxy'), 'http://proxy:3128');
  assert.equal(b.isReferencedOrNotBuiltin('http_proxy'), false);
  assert.equal(b.isReferencedOrNotBuiltin('OTHER'), true);
  b.addArg('http_proxy', undefined);
  assert.equal(b.isReferencedOrNotBuiltin('http_proxy'), true);
  // Unused --build-args are reported sorted, proxy variables never.
  const stage = b.forStage();
  stage.addArg('ALSO', undefined);
  b.mergeReferenced(stage);
  assert.deepEqual(b.unused(), ['UNUSED']);
});

test('platform arguments as BuildKit defines them', () => {
  const m = platformArgs({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(Object.fromEntries(m), {
    BUILDPLATFORM: 'linux/amd64', BUILDOS: 'linux', BUILDARCH: 'amd64', BUILDVARIANT: '',
    TARGETPLATFORM: 'linux/arm/v7', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7',
  });
});
