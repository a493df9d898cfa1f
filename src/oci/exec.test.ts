import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allCapabilities, DEFAULT_CAPABILITIES } from './caps.js';
import { createExecProcess } from './exec.js';
import { createSpec } from './spec.js';
import { testHostConfig, testSpecOptions } from './testutil.js';

describe('createExecProcess', () => {
  it('inherits the container’s security settings and user, overriding the command', async () => {
    const base = await createSpec(testSpecOptions({
      user: { uid: 1000, gid: 1000, additionalGids: [1000] },
      hostConfig: testHostConfig({ SecurityOpt: ['no-new-privileges'], Ulimits: [{ Name: 'nproc', Soft: 100, Hard: 100 }], OomScoreAdj: 10 }),
    }));
    const p = createExecProcess(base, { args: ['ls', '-l'], env: ['A=b'], cwd: '', tty: false, privileged: false });
    assert.deepEqual(p.args, ['ls', '-l']);
    assert.deepEqual(p.env, ['A=b']);
    assert.equal(p.cwd, '/');
    assert.equal(p.terminal, false);
    assert.deepEqual(p.user, { uid: 1000, gid: 1000, additionalGids: [1000] });
    assert.deepEqual(p.capabilities?.effective, [...DEFAULT_CAPABILITIES]);
    assert.equal(p.noNewPrivileges, true);
    assert.equal(p.oomScoreAdj, 10);
    assert.deepEqual(p.rlimits, base.process.rlimits);
    // The base spec is untouched.
    assert.deepEqual(base.process.args, ['sh']);
  });

  it('uses the exec user, console size with a tty, and all caps when privileged', async () => {
    const base = await createSpec(testSpecOptions({ config: { ...testSpecOptions().config, Tty: true }, hostConfig: testHostConfig({ ConsoleSize: [10, 20] }) }));
    const p = createExecProcess(base, {
      args: ['sh'], env: [], cwd: '/tmp', tty: true, privileged: true, consoleSize: [30, 100],
      user: { uid: 5, gid: 6, additionalGids: [6, 7] },
    });
    assert.deepEqual(p.user, { uid: 5, gid: 6, additionalGids: [6, 7] });
    assert.deepEqual(p.consoleSize, { height: 30, width: 100 });
    assert.deepEqual(p.capabilities?.bounding, allCapabilities());
    const q = createExecProcess(base, { args: ['sh'], env: [], cwd: '/', tty: false, privileged: false });
    assert.equal(q.consoleSize, undefined);
  });
});
