// berthd: flags and daemon.json, the API server and the engine, signals and the pid file.
import { Command, Option } from 'commander';
import { pino, destination, type Logger } from 'pino';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Router } from '../../api/server/router.js';
import { listen } from '../../api/server/server.js';
import { Daemon } from '../../daemon/daemon.js';
import { BERTH_VERSION } from '../../daemon/info.js';
import { systemRoutes } from '../../api/server/router/system.js';
import { containerRoutes } from '../../api/server/router/container.js';
import { execRoutes } from '../../api/server/router/exec.js';
import { imageRoutes } from '../../api/server/router/image.js';
import { commitRoutes } from '../../api/server/router/commit.js';
import { errnoCode } from '../../pkg/errors.js';
import { loadDaemonConfig, type DaemonConfig } from './config.js';
import { findBinary } from './binaries.js';

const program = new Command('berthd')
  .description('A Docker Engine written in TypeScript')
  .version(BERTH_VERSION, '-v, --version')
  .addOption(new Option('-H, --host <host...>', 'Daemon socket(s) to connect to (default unix:///var/run/berth.sock)'))
  .addOption(new Option('--data-root <dir>', 'Root directory of persistent Berth state (default /var/lib/berth)'))
  .addOption(new Option('--exec-root <dir>', 'Root directory for execution state files (default /run/berth)'))
  .addOption(new Option('--containerd <addr>', 'containerd grpc address (default: berthd runs its own)'))
  .addOption(new Option('-p, --pidfile <file>', 'Path to use for daemon PID file (default /var/run/berthd.pid)'))
  .addOption(new Option('-D, --debug', 'Enable debug mode'))
  .addOption(new Option('-l, --log-level <level>', 'Set the logging level').choices(['debug', 'info', 'warn', 'error', 'fatal']))
  .addOption(new Option('--config-file <file>', 'Daemon configuration file').default('/etc/berth/daemon.json'))
  .parse();

const flags = program.opts<Partial<DaemonConfig> & { configFile: string }>();

async function writePidFile(path: string): Promise<void> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new Error(`pid file found, ensure berthd is not running or delete ${path}`);
      } catch (err) {
        if (errnoCode(err) !== 'ESRCH') throw err;
      }
    }
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, String(process.pid));
}

async function engineId(dataRoot: string): Promise<string> {
  const path = join(dataRoot, 'engine-id');
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const id = randomUUID();
    await mkdir(dataRoot, { recursive: true });
    await writeFile(path, id);
    return id;
  }
}

async function main(): Promise<void> {
  const cfg = await loadDaemonConfig(flags.configFile, flags, program.getOptionValueSource('configFile') === 'cli');
  const logger: Logger = pino(
    { level: cfg.debug ? 'debug' : cfg['log-level'], base: { pid: process.pid } },
    destination({ dest: 2, sync: false }),
  );
  await writePidFile(cfg.pidfile);
  const daemon = await Daemon.start({
    dataRoot: cfg['data-root'],
    execRoot: cfg['exec-root'],
    containerd: cfg.containerd,
    logger,
    debug: cfg.debug,
    runtimePath: await findBinary('runc'),
    initPath: await findBinary('tini-static', 'tini'),
    engineId: await engineId(cfg['data-root']),
  });
  const router = new Router(logger);
  systemRoutes(router, daemon);
  containerRoutes(router, daemon);
  execRoutes(router, daemon);
  imageRoutes(router, daemon);
  commitRoutes(router, daemon);
  const server = await listen(cfg.hosts, router, logger);
  logger.info({ version: BERTH_VERSION, dataRoot: cfg['data-root'], execRoot: cfg['exec-root'] }, 'berthd ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down; running containers keep running');
    await server.close();
    await daemon.shutdown();
    await rm(cfg.pidfile, { force: true });
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`berthd: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
