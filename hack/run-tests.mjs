// Runs every compiled test (unit tests beside the code, then integration/ and integration-cli/)
// with Node's built-in runner. Tests that start daemons run one file at a time. Stress runs
// (integration/stress/: the API fuzzer) run only when asked for by that path: `make stress`.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

async function find(dir) {
  const out = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await find(p)));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const only = process.argv.slice(2);
const groups = only.length ? only : ['src', 'integration', 'integration-cli'];
const stress = join('integration', 'stress');
const files = (await Promise.all(groups.map((g) => find(join('dist', g)))))
  .flat()
  .filter((f) => groups.some((g) => g.startsWith(stress)) || !f.startsWith(join('dist', stress)));
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, UV_THREADPOOL_SIZE: '64' },
});
process.exit(result.status ?? 1);
