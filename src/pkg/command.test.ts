import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mustRun, runCommand } from './command.js';

test('runCommand collects output and the exit status', async () => {
  assert.deepEqual(await runCommand('sh', ['-c', 'echo out; echo err >&2; exit 3']), { stdout: 'out\n', stderr: 'err\n', code: 3 });
  assert.equal((await runCommand('cat', [], 'in')).stdout, 'in');
});

test('a tool that exits without reading its input is not an error', async () => {
  assert.equal((await runCommand('true', [], 'x'.repeat(1 << 20))).code, 0);
});

test('a missing tool rejects; mustRun refuses a failure with its message', async () => {
  await assert.rejects(runCommand('/nonexistent/tool', []), { code: 'ENOENT' });
  await assert.rejects(mustRun('sh', ['-c', 'echo bad >&2; exit 1']), { message: 'sh -c echo bad >&2; exit 1: exit status 1: bad' });
});
