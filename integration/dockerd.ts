// A real dockerd (Debian's docker.io) beside berthd, for tests that interoperate with it: its own
// data root, exec root, socket and config, no bridge and no firewall rules of its own; stop()
// ends it and removes everything it made or mounted, also after a failed test.

import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { DOCKER_BIN, killProcessesMentioning, unmountUnder } from './harness.js';
import { run, type RunResult } from './registry_helpers.js';

export const DOCKERD = '/usr/sbin/dockerd';
export const haveDockerd = await access(DOCKERD).then(() => true, () => false);

export interface Dockerd {
  /** Its scratch directory (socket, config, data root, log). */
  readonly dir: string;
  /** The docker CLI against this dockerd; `config` is another DOCKER_CONFIG directory. */
  docker(args: string[], opts?: { input?: string; config?: string }): Promise<RunResult>;
  stop(): Promise<void>;
}

/** Starts dockerd and resolves once it answers; `prefix` names its directories under /tmp. */
export async function startDockerd(prefix: string): Promise<Dockerd> {
  const dir = await mkdtemp(`/tmp/${prefix}-`);
  const execRoot = await mkdtemp(`/tmp/${prefix.slice(0, 6)}x-`);
  let child: ChildProcess | undefined;
  const docker = (args: string[], opts: { input?: string; config?: string } = {}): Promise<RunResult> =>
    run(DOCKER_BIN, args, {
      env: { ...process.env, DOCKER_HOST: `unix://${dir}/docker.sock`, DOCKER_CONFIG: opts.config ?? join(dir, 'cfg') },
      input: opts.input,
    });
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      if ((await Promise.race([exited.then(() => true), delay(15_000).then(() => false)])) === false) child.kill('SIGKILL');
    }
    await killProcessesMentioning([dir, execRoot]).catch(() => undefined);
    await unmountUnder([dir, execRoot]).catch(() => undefined);
    for (const d of [dir, execRoot]) await rm(d, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  };
  try {
    await mkdir(join(dir, 'cfg'));
    await writeFile(join(dir, 'daemon.json'), '{}');
    const log = await open(join(dir, 'dockerd.log'), 'a');
    child = spawn(
      DOCKERD,
      [
        '--data-root', join(dir, 'data'),
        '--exec-root', execRoot,
        '-H', `unix://${dir}/docker.sock`,
        '--pidfile', join(dir, 'docker.pid'),
        '--config-file', join(dir, 'daemon.json'),
        '--bridge=none', '--iptables=false', '--ip6tables=false',
      ],
      { stdio: ['ignore', log.fd, log.fd] },
    );
    await log.close();
    // Polled: dockerd has no readiness signal but answering on its socket.
    const deadline = Date.now() + 40_000;
    while ((await docker(['version', '--format', '{{.Server.Version}}'])).code !== 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`dockerd did not start:\n${await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '')}`);
      await delay(200);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, docker, stop };
}
