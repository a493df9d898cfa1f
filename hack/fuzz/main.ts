// hack/fuzz/api-fuzz: starts its own berthd (own socket, roots, bridge, firewall table, address
// pool), fuzzes every route for --seconds, prints the report, cleans everything up, and exits 1
// on any finding. See hack/fuzz/README.md.
import { rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDaemon, type Daemon } from '../../integration/harness.js';
import { formatReport, fuzz, mib, rss } from './fuzz.js';
import { queryKeys, recordRoutes, unregisteredRouters } from './routes.js';
import { prepareTarget } from './setup.js';

// dist/hack/fuzz/main.js → the repository root, where the routers' sources are.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const USAGE = `usage: hack/fuzz/api-fuzz [--seconds N] [--seed N] [--workers N] [--rss-headroom-mib N]

  --seconds N            how long to fuzz (default 60)
  --seed N               seed of the request sequence (default: random, printed)
  --workers N            concurrent clients (default 4)
  --rss-headroom-mib N   allowed RSS growth over berthd's RSS before the run (default 256)
`;

function parse(argv: string[]): { seconds: number; seed: number; workers: number; headroom: number } {
  const o = { seconds: 60, seed: Math.floor(Math.random() * 2 ** 31), workers: 4, headroom: 256 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => {
      const v = inline ?? argv[++i];
      const n = Number(v);
      if (v === undefined || !Number.isInteger(n) || n < 0) {
        process.stderr.write(`${flag} needs a non-negative integer\n${USAGE}`);
        process.exit(2);
      }
      return n;
    };
    switch (flag) {
      case '--seconds': o.seconds = value(); break;
      case '--seed': o.seed = value(); break;
      case '--workers': o.workers = Math.max(1, value()); break;
      case '--rss-headroom-mib': o.headroom = value(); break;
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0); break;
      default: process.stderr.write(`unknown argument: ${argv[i]}\n${USAGE}`); process.exit(2);
    }
  }
  return o;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  const log = (s: string) => process.stderr.write(s + '\n');
  log(`api-fuzz: seed ${o.seed}, ${o.seconds} s, ${o.workers} workers`);
  const stale = await unregisteredRouters(REPO);
  if (stale.length) {
    log(`api-fuzz: router modules not registered in hack/fuzz/routes.ts: ${stale.join(', ')}`);
    return 2;
  }
  let daemon: Daemon | undefined;
  let sentinel: string | undefined;
  const cleanup = async () => {
    await daemon?.cleanup();
    if (sentinel) await rm(sentinel, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`api-fuzz: ${sig}, cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    daemon = await startDaemon();
    const target = await prepareTarget(daemon);
    sentinel = target.sentinel;
    const base = (await rss(target.pid)) ?? 0;
    const rssLimit = base + o.headroom * 1048576;
    log(`api-fuzz: berthd pid ${target.pid}, RSS ${mib(base)} before the run, bound ${mib(rssLimit)}`);
    const report = await fuzz(target, {
      seconds: o.seconds,
      seed: o.seed,
      workers: o.workers,
      routes: recordRoutes(),
      queryKeys: await queryKeys(REPO),
      rssLimit,
      log,
    });
    process.stdout.write(formatReport(report) + '\n');
    if (report.findings.length) {
      const kept = `/tmp/api-fuzz-${o.seed}.log`;
      await writeFile(kept, await daemon.logs());
      log(`api-fuzz: berthd's log is kept in ${kept}`);
    }
    return report.findings.length ? 1 : 0;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main().catch((err: unknown) => {
  process.stderr.write(`api-fuzz: ${err instanceof Error ? err.stack : String(err)}\n`);
  return 2;
});
