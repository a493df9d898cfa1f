// What the API listeners need before the engine starts, resolved as dockerd does: TLS from
// --tls/--tlsverify and the certificate files, the refusal of unauthenticated tcp, and the
// unix socket's group. Every error here stops berthd before containerd is touched.
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseHost, splitHostPort, type ListenOptions, type TlsCredentials } from '../../server/server.js';
import type { DaemonConfig } from './config.js';

/** The socket group berthd uses when none is given (dockerd's is `docker`). */
export const DEFAULT_SOCKET_GROUP = 'berth';

type TlsConfig = Pick<DaemonConfig, 'tls' | 'tlsverify' | 'tlscacert' | 'tlscert' | 'tlskey'>;

/**
 * dockerd's rules: giving --tlsverify at all (true or false) turns TLS on; an unset --tlsverify
 * follows --tls, so `--tls` alone verifies clients and `--tlsverify=false` is TLS for anyone.
 */
export function tlsMode(cfg: TlsConfig): { tls: boolean; verify: boolean; explicit: boolean } {
  const tls = cfg.tlsverify !== undefined ? true : (cfg.tls ?? false);
  return { tls, verify: cfg.tlsverify ?? tls, explicit: cfg.tls !== undefined || cfg.tlsverify !== undefined };
}

/** Where the certificates are by default: $DOCKER_CERT_PATH, else $DOCKER_CONFIG, else ~/.docker. */
function certDir(): string {
  return process.env['DOCKER_CERT_PATH'] || process.env['DOCKER_CONFIG'] || join(homedir(), '.docker');
}

async function loadTls(cfg: TlsConfig, verify: boolean): Promise<TlsCredentials> {
  const dir = certDir();
  const caFile = cfg.tlscacert ?? join(dir, 'ca.pem');
  const certFile = cfg.tlscert ?? join(dir, 'cert.pem');
  const keyFile = cfg.tlskey ?? join(dir, 'key.pem');
  const invalid = (msg: string, err: unknown) => new Error(`invalid TLS configuration: ${msg}: ${(err as Error).message}`);
  let cert: Buffer, key: Buffer;
  try {
    [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  } catch (err) {
    throw invalid(`Could not load X509 key pair (cert: "${certFile}", key: "${keyFile}")`, err);
  }
  if (!verify) return { cert, key };
  try {
    return { cert, key, ca: await readFile(caFile) };
  } catch (err) {
    throw invalid(`Could not read CA certificate "${caFile}"`, err);
  }
}

async function isLoopback(host: string): Promise<boolean> {
  if (host === 'localhost') return true;
  let ip = host;
  if (!isIPv4(ip) && !isIPv6(ip)) {
    try {
      ip = (await lookup(host)).address;
    } catch {
      return false;
    }
  }
  return isIPv4(ip) ? ip.startsWith('127.') : ip === '::1';
}

/**
 * Tcp without client verification: dockerd's warnings, and where dockerd stalls start-up for a
 * non-loopback address that nobody explicitly opted out of verification for, berthd refuses.
 */
export async function checkTcpAuth(hosts: string[], mode: ReturnType<typeof tlsMode>, logger: Logger): Promise<void> {
  if (mode.tls && mode.verify) return;
  for (const host of hosts) {
    const url = parseHost(host);
    if (url.proto !== 'tcp') continue;
    logger.warn({ host }, 'Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network.');
    logger.warn({ host }, 'Binding to an IP address, even on localhost, can also give access to scripts run in a browser. Be safe out there!');
    if (mode.explicit || (await isLoopback(splitHostPort(url.addr)[0]))) continue;
    throw new Error(
      `refusing to listen on ${host} without --tlsverify: ` +
        'Please consider generating tls certificates with client validation to prevent exposing unauthenticated root access to your network. ' +
        "You can override this by explicitly specifying '--tls=false' or '--tlsverify=false'",
    );
  }
}

/** A group by name from /etc/group, else a number; undefined when neither. */
async function lookupGid(group: string): Promise<number | undefined> {
  const lines = (await readFile('/etc/group', 'utf8').catch(() => '')).split('\n');
  for (const line of lines) {
    const [name, , gid] = line.split(':');
    if (name === group && gid && /^\d+$/.test(gid)) return Number(gid);
  }
  return /^\d+$/.test(group) ? Number(group) : undefined;
}

/** dockerd's -G: an explicit group must exist; the default one may not, then berthd's own group. */
async function socketGid(cfg: Pick<DaemonConfig, 'group' | 'hosts'>, logger: Logger): Promise<number> {
  const group = cfg.group ?? DEFAULT_SOCKET_GROUP;
  const own = process.getgid?.() ?? 0;
  if (group === '') return own;
  const gid = await lookupGid(group);
  if (gid !== undefined) return gid;
  if (group !== DEFAULT_SOCKET_GROUP) throw new Error(`group ${group} not found`);
  for (const host of cfg.hosts) {
    const url = parseHost(host);
    if (url.proto === 'unix') logger.warn(`could not change group ${url.addr} to ${group}: group ${group} not found`);
  }
  return own;
}

export async function listenOptions(cfg: DaemonConfig, logger: Logger): Promise<ListenOptions> {
  const mode = tlsMode(cfg);
  const tls = mode.tls ? await loadTls(cfg, mode.verify) : undefined;
  await checkTcpAuth(cfg.hosts, mode, logger);
  return { tls, socketGid: await socketGid(cfg, logger) };
}
