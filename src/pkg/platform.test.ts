import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostArchitecture, hostPlatform, normalizeArchitecture } from './platform.js';

test("node's arch names become Go's, with the variant images use", () => {
  assert.deepEqual(hostPlatform('x64'), { architecture: 'amd64' });
  assert.deepEqual(hostPlatform('arm64'), { architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(hostPlatform('arm'), { architecture: 'arm', variant: 'v7' });
  assert.deepEqual(hostPlatform('ppc64'), { architecture: 'ppc64le' });
  assert.deepEqual(hostPlatform('s390x'), { architecture: 's390x' });
  assert.deepEqual(hostPlatform('ia32'), { architecture: '386' });
  assert.deepEqual(hostPlatform('riscv64'), { architecture: 'riscv64' });
  assert.deepEqual(hostPlatform('mips64el'), { architecture: 'mips64le' });
  assert.equal(hostArchitecture(), hostPlatform(process.arch).architecture);
});

test('other spellings normalise to OCI names', () => {
  assert.equal(normalizeArchitecture('x86_64'), 'amd64');
  assert.equal(normalizeArchitecture('X86-64'), 'amd64');
  assert.equal(normalizeArchitecture('aarch64'), 'arm64');
  assert.equal(normalizeArchitecture('arm64'), 'arm64');
  assert.equal(normalizeArchitecture('ppc64le'), 'ppc64le');
});
