// berthd: flags and daemon.json, the API server and the engine, signals and the pid file.
import { Command, Option } from 'commander';
import { pino, destination, type Logger } from 'pino';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Router } from '../../server/router.js';
import { listen } from '../../server/server.js';
import { Daemon } from '../../daemon/daemon.js';
import { BERTH_VERSION } from '../../daemon/info.js';
import { systemRoutes } from '../../server/router/system.js';
import { containerRoutes } from '../../server/router/container.js';
import { execRoutes } from '../../server/router/exec.js';
import { imageRoutes } from '../../server/router/image.js';
import { volumeRoutes } from '../../server/router/volume.js';
import { archiveRoutes } from '../../server/router/archive.js';
import { archiveBackend } from '../../daemon/copybackend.js';
import { containerBackend } from '../../daemon/containerbackend.js';
import { execBackend } from '../../daemon/execbackend.js';
import { imageBackend } from '../../daemon/imagebackend.js';
import { systemBackend } from '../../daemon/systembackend.js';
import { networkRoutes } from '../../server/router/network.js';
import { swarmRoutes } from '../../server/router/swarm.js';
import { validateDaemonLogConfig } from '../../logger/drivers.js';
import { networkBackend } from '../../daemon/networkbackend.js';
import { errnoCode } from '../../pkg/errors.js';
import { loadDaemonConfig, type DaemonConfig } from './config.js';
import { findBinary } from './binaries.js';
import { remappedDataRoot, setupRemappedRoot } from '../../daemon/userns.js';
import { DEFAULT_SOCKET_GROUP, listenOptions } from './listeners.js';
import { distributionRoutes } from '../../server/router/distribution.js';
import { distributionBackend } from '../../daemon/distributionbackend.js';
import { RegistryConfig } from '../../registry/config.js';

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
  .addOption(new Option('-b, --bridge <name>', 'Name of the default bridge interface (default berth0)'))
  .addOption(new Option('--bip <cidr>', "Specify default-bridge IPv4 network"))
  .addOption(new Option('--default-address-pool <pool...>', 'Default address pools for node specific local networks (base=CIDR,size=N)').argParser(collectPool))
  .addOption(new Option('--ip-masq [bool]', 'Enable IP masquerading for the default bridge').argParser(parseBoolFlag))
  .addOption(new Option('--iptables [bool]', "Enable Berth's firewall rules (nftables)").argParser(parseBoolFlag))
  .addOption(new Option('--icc [bool]', 'Enable inter-container communication on the default bridge').argParser(parseBoolFlag))
  .addOption(new Option('--mtu <n>', 'Set the containers network MTU').argParser((v) => Number(v)))
  .addOption(new Option('--ipv6 [bool]', 'Enable IPv6 networking on the default bridge').argParser(parseBoolFlag))
  .addOption(new Option('--fixed-cidr-v6 <cidr>', 'IPv6 subnet for the default bridge network'))
  .addOption(new Option('--dns <ip>', 'DNS server to use').argParser(collect))
  .addOption(new Option('--dns-opt <opt>', 'DNS options to use').argParser(collect))
  .addOption(new Option('--dns-search <domain>', 'DNS search domains to use').argParser(collect))
  .addOption(new Option('--host-gateway-ip <ip>', "IP addresses that the special 'host-gateway' string in --add-host resolves to. Defaults to the IP addresses of the default bridge").argParser(collect))
  .addOption(new Option('--firewall-table <name>', "Name of Berth's nftables table (default berth)"))
  .addOption(new Option('--log-driver <name>', 'Default driver for container logs (default json-file)'))
  .addOption(new Option('--log-opt <opt...>', 'Default log driver options for containers (key=value)').argParser(collectLogOpt))
  .addOption(new Option('--live-restore [bool]', 'Keep containers running while berthd is down (default true)').argParser(parseBoolFlag))
  .addOption(new Option('--shim-group-size <n>', 'Containers sharing one containerd shim (0 or 1: a shim each; default 10)').argParser(Number))
  .addOption(new Option('--tls [bool]', 'Use TLS; implied by --tlsverify').argParser(parseBoolFlag))
  .addOption(new Option('--tlsverify [bool]', 'Use TLS and verify the remote').argParser(parseBoolFlag))
  .addOption(new Option('--tlscacert <file>', 'Trust certs signed only by this CA (default $DOCKER_CERT_PATH/ca.pem)'))
  .addOption(new Option('--tlscert <file>', 'Path to TLS certificate file (default $DOCKER_CERT_PATH/cert.pem)'))
  .addOption(new Option('--tlskey <file>', 'Path to TLS key file (default $DOCKER_CERT_PATH/key.pem)'))
  .addOption(new Option('--registry-mirror <url...>', 'Preferred Docker registry mirror'))
  .addOption(new Option('--insecure-registry <registry...>', 'Enable insecure registry communication'))
  .addOption(new Option('-G, --group <group>', `Group for the unix socket (default "${DEFAULT_SOCKET_GROUP}")`))
  .addOption(new Option('--userns-remap <user>', 'User/Group setting for user namespaces (default, user[:group], uid[:gid])'))
  .parse();

function collectLogOpt(v: string, prev: Record<string, string> | undefined): Record<string, string> {
  const i = v.indexOf('=');
  if (i <= 0) throw new Error(`invalid log opt "${v}": want key=value`);
  return { ...(prev ?? {}), [v.slice(0, i)]: v.slice(i + 1) };
}

function collect(v: string, prev: string[] | undefined): string[] {
  return [...(prev ?? []), v];
}

function parseBoolFlag(v: string | undefined): boolean {
  if (v === undefined || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`invalid boolean value "${v}"`);
}

function collectPool(v: string, prev: { base: string; size: number }[] | undefined): { base: string; size: number }[] {
  const kv = Object.fromEntries(v.split(',').map((p) => p.split('=') as [string, string]));
  if (!kv['base'] || !kv['size']) throw new Error(`invalid default address pool "${v}": want base=CIDR,size=N`);
  return [...(prev ?? []), { base: kv['base'], size: Number(kv['size']) }];
}

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
  validateDaemonLogConfig({ 'log-driver': cfg['log-driver'], 'log-opts': cfg['log-opts'] });
  const logger: Logger = pino(
    { level: cfg.debug ? 'debug' : cfg['log-level'], base: { pid: process.pid } },
    destination({ dest: 2, sync: false }),
  );
  // Listener settings fail fast, before containerd or any state is touched (as dockerd's).
  const listening = await listenOptions(cfg, logger);
  const registry = { mirrors: cfg['registry-mirrors'], insecureRegistries: cfg['insecure-registries'] };
  new RegistryConfig(registry); // bad mirrors or registries fail here, before any state is touched
  await writePidFile(cfg.pidfile);
  // Under --userns-remap, everything berthd stores lives in <data-root>/<uid>.<gid> (dockerd's layout).
  const remap = await setupRemappedRoot(cfg['userns-remap'], logger);
  const dataRoot = remap ? await remappedDataRoot(cfg['data-root'], remap.mapping) : cfg['data-root'];
  const liveRestore = cfg['live-restore'] ?? true;
  const daemon = await Daemon.start({
    dataRoot,
    execRoot: cfg['exec-root'],
    containerd: cfg.containerd,
    logger,
    debug: cfg.debug,
    runtimePath: await findBinary('runc'),
    initPath: await findBinary('tini-static', 'tini'),
    engineId: await engineId(dataRoot),
    idMap: remap?.mapping,
    logConfig: { 'log-driver': cfg['log-driver'], 'log-opts': cfg['log-opts'] },
    liveRestore,
    shimGroupSize: cfg['shim-group-size'],
    registry,
    network: {
      bridgeName: cfg.bridge,
      bip: cfg.bip,
      defaultAddressPools: cfg['default-address-pools'],
      ipMasq: cfg['ip-masq'],
      iptables: cfg.iptables,
      icc: cfg.icc,
      mtu: cfg.mtu,
      ipv6: cfg.ipv6,
      fixedCidrV6: cfg['fixed-cidr-v6'],
      dns: { dns: cfg.dns ?? [], dnsSearch: cfg['dns-search'] ?? [], dnsOptions: cfg['dns-opts'] ?? [] },
      hostGatewayIps: cfg['host-gateway-ips'] ?? [],
      firewallTable: cfg['firewall-table'],
    },
  });
  const router = new Router(logger);
  systemRoutes(router, systemBackend(daemon));
  containerRoutes(router, containerBackend(daemon));
  execRoutes(router, execBackend(daemon));
  imageRoutes(router, imageBackend(daemon));
  distributionRoutes(router, distributionBackend(daemon));
  networkRoutes(router, networkBackend(daemon));
  swarmRoutes(router);
  volumeRoutes(router, daemon);
  archiveRoutes(router, archiveBackend(daemon));
  const server = await listen(cfg.hosts, router, logger, listening);
  logger.info({ version: BERTH_VERSION, dataRoot, execRoot: cfg['exec-root'] }, 'berthd ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, liveRestore }, liveRestore ? 'shutting down; running containers keep running' : 'shutting down; stopping containers');
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
