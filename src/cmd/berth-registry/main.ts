// berth-registry: Berth's registry server (`serve`, the default) and its garbage collector.
import { Command, Option } from 'commander';
import { startRegistry } from '../../registry/server/server.js';
import { garbageCollect, DEFAULT_UPLOAD_MAX_AGE_MS } from '../../registry/server/gc.js';
import { Storage } from '../../registry/server/storage.js';
import { parseDuration, parseListen } from './flags.js';

const program = new Command('berth-registry')
  .description("Berth's registry: the OCI distribution API over a directory")
  .enablePositionalOptions();

program
  .command('serve', { isDefault: true })
  .description('Serve the registry API')
  .addOption(new Option('--listen <addr>', 'address to listen on (host:port; port 0 picks a free one)').default('127.0.0.1:5000'))
  .requiredOption('--root <dir>', 'storage root')
  .option('--htpasswd <file>', 'require basic auth against this htpasswd file (bcrypt entries)')
  .option('--realm <realm>', 'realm of the basic auth challenge', 'Berth Registry')
  .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
  .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
  .action(async (opts: { listen: string; root: string; htpasswd?: string; realm: string; tlsCert?: string; tlsKey?: string }) => {
    const { host, port } = parseListen(opts.listen);
    const log = (line: Record<string, unknown>): void => {
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
    };
    const registry = await startRegistry({ root: opts.root, host, port, htpasswd: opts.htpasswd, realm: opts.realm, tlsCert: opts.tlsCert, tlsKey: opts.tlsKey, log });
    const { address, port: bound } = registry.address;
    const shown = address.includes(':') ? `[${address}]:${bound}` : `${address}:${bound}`;
    log({ msg: 'listening', address: shown, tls: registry.tls });
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log({ msg: 'shutting down', signal });
      registry.close().then(() => process.exit(0), () => process.exit(1));
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('garbage-collect')
  .alias('gc')
  .description('Remove blobs no manifest references, and abandoned uploads (run while no one pushes)')
  .requiredOption('--root <dir>', 'storage root')
  .option('-d, --dry-run', 'only print what would be removed')
  .option('-m, --delete-untagged', 'also remove manifests that no tag reaches')
  .option('--upload-max-age <duration>', 'uploads older than this are abandoned (e.g. 168h, 30m, 0s)', '168h')
  .action(async (opts: { root: string; dryRun?: boolean; deleteUntagged?: boolean; uploadMaxAge: string }) => {
    const uploadMaxAgeMs = opts.uploadMaxAge ? parseDuration(opts.uploadMaxAge) : DEFAULT_UPLOAD_MAX_AGE_MS;
    await garbageCollect(new Storage(opts.root), {
      dryRun: opts.dryRun,
      deleteUntagged: opts.deleteUntagged,
      uploadMaxAgeMs,
      print: (line) => process.stdout.write(`${line}\n`),
    });
  });

program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`berth-registry: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
