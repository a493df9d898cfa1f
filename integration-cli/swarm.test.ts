// The swarm commands through the real docker CLI: Berth has no swarm mode, and answers as a
// dockerd outside a swarm does, so scripts that clean up swarm objects get dockerd's errors.
import { test, before, after } from 'node:test';
import { startDaemon, type Daemon } from '../integration/harness.js';
import { dockerFails } from './helpers.js';

let daemon: Daemon | undefined;
const d = (): Daemon => {
  if (!daemon) throw new Error('daemon not started');
  return daemon;
};

before(async () => {
  daemon = await startDaemon();
});

after(async () => {
  await daemon?.cleanup();
});

const notManager = 'Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

test('swarm init says there is no swarm mode; node, service and secret commands get dockerd\'s errors', async () => {
  await dockerFails(d(), ['swarm', 'init'], 1, 'Error response from daemon: Berth has no swarm mode');
  await dockerFails(d(), ['swarm', 'leave', '--force'], 1, 'Error response from daemon: This node is not part of a swarm');
  await dockerFails(d(), ['node', 'ls'], 1, notManager);
  await dockerFails(d(), ['service', 'ls'], 1, notManager);
  await dockerFails(d(), ['secret', 'ls'], 1, notManager);
  await dockerFails(d(), ['config', 'rm', 'c1'], 1, notManager);
});
