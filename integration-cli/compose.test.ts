// Debian's docker-compose (1.29, Python, docker-py) against berthd: a service with a named
// volume and a read-only bind mount comes up, sees both, and `down -v` removes it all.
// Skipped when /usr/bin/docker-compose is not installed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useDaemon, type DockerResult } from '../integration/harness.js';
import { importBusybox } from '../integration/fixtures.js';
import { dockerOut, waitUntil } from './helpers.js';

const COMPOSE = '/usr/bin/docker-compose';
const skip = existsSync(COMPOSE) ? false : `${COMPOSE} is not installed`;

const ctx = useDaemon({ setup: async (d) => void (await importBusybox(d)) });

let dir = '';
const project = `berth${process.pid}`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-compose-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function compose(args: string[]): Promise<DockerResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(COMPOSE, ['-p', project, '-f', join(dir, 'docker-compose.yml'), ...args], {
      cwd: dir,
      env: { ...ctx.daemon.dockerEnv, COMPOSE_INTERACTIVE_NO_CLI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('docker-compose up with a named volume and a bind mount, then down -v', { skip }, async () => {
  const d = ctx.daemon;
  await writeFile(join(dir, 'greeting'), 'hello from the host\n');
  await writeFile(
    join(dir, 'docker-compose.yml'),
    [
      'version: "3.8"',
      'services:',
      '  app:',
      '    image: busybox',
      '    command: ["sh", "-c", "cat /host/greeting > /data/copied; sleep 300"]',
      '    volumes:',
      '      - data:/data',
      `      - ${dir}:/host:ro`,
      'volumes:',
      '  data:',
      '    labels:',
      '      berth.test: compose',
      '',
    ].join('\n'),
  );
  try {
    const up = await compose(['up', '-d']);
    assert.equal(up.code, 0, `docker-compose up -d → ${up.code}\n${up.stdout}\n${up.stderr}`);
    const vol = `${project}_data`;
    assert.equal(await dockerOut(d, ['volume', 'ls', '-q', '--filter', 'label=berth.test=compose']), vol);
    assert.equal(await dockerOut(d, ['volume', 'inspect', '-f', '{{index .Labels "com.docker.compose.project"}}', vol]), project);
    const name = await waitUntil('the service container', async () => dockerOut(d, ['ps', '-q', '--filter', `label=com.docker.compose.project=${project}`]));
    await waitUntil('the copied file', async () => (await d.docker(['exec', name, 'cat', '/data/copied'])).stdout.includes('hello from the host'));
    const mounts = JSON.parse(await dockerOut(d, ['inspect', '-f', '{{json .Mounts}}', name])) as { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
    assert.deepEqual(
      mounts.map((m) => `${m.Type} ${m.Name ?? m.Source} ${m.Destination} ${m.RW}`).sort(),
      [`bind ${dir} /host false`, `volume ${vol} /data true`],
    );
    const down = await compose(['down', '-v', '-t', '1']);
    assert.equal(down.code, 0, `docker-compose down -v → ${down.code}\n${down.stdout}\n${down.stderr}`);
    assert.equal(await dockerOut(d, ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]), '');
    assert.equal(await dockerOut(d, ['volume', 'ls', '-q', '--filter', 'label=berth.test=compose']), '');
  } finally {
    await compose(['down', '-v', '-t', '0']).catch(() => undefined);
  }
});
