// Prepares a berthd for the fuzzer: the objects its routes can find (an image, running
// containers, a volume, a network) and a sentinel tree outside every root of the daemon.
import { mkdtemp } from 'node:fs/promises';
import type { Daemon } from '../../integration/harness.js';
import { importBusybox } from '../../integration/fixtures.js';
import { makeSentinel, type FuzzTarget } from './fuzz.js';

export async function prepareTarget(d: Daemon): Promise<FuzzTarget> {
  if (d.pid === undefined) throw new Error('berthd is not running');
  const sentinel = await mkdtemp('/tmp/berth-fuzz-sentinel-');
  await makeSentinel(sentinel);
  await importBusybox(d, 'fuzzimg:latest');
  const must = async (args: string[]) => {
    const r = await d.docker(args, { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  };
  const loop = ['sh', '-c', 'while true; do echo out; echo err >&2; sleep 0.5; done'];
  await must(['run', '-d', '--name', 'fuzz-target', '--network', 'none', 'fuzzimg', ...loop]);
  await must(['run', '-d', '--name', 'fuzz-stream', '--network', 'none', 'fuzzimg', ...loop]);
  await must(['volume', 'create', 'fuzz-vol']);
  await must(['network', 'create', 'fuzz-net']);
  return {
    socket: d.socket,
    pid: d.pid,
    container: 'fuzz-target',
    streamContainer: 'fuzz-stream',
    image: 'fuzzimg',
    volume: 'fuzz-vol',
    network: 'fuzz-net',
    sentinel,
  };
}
