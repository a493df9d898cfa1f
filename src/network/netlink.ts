// Kernel plumbing through iproute2 and util-linux: links, addresses, routes and named network
// namespaces. Node cannot setns(2), so anything that must happen inside a namespace runs as
// `nsenter --net=<path> <cmd>`; several changes go to one `ip -batch -` process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { systemError } from '../pkg/errors.js';
import { mustRun, runCommand } from '../pkg/command.js';
import { exists } from '../pkg/fsutil.js';
import { canonical, parseCIDR, type Prefix } from './ip.js';
import type { IDMap, IdentityMapping } from '../pkg/idmap.js';

/** `ip -batch -` in the host namespace, or inside the namespace at `netns`. Stops at the first error. */
export async function ipBatch(lines: string[], netns?: string): Promise<void> {
  if (lines.length === 0) return;
  const input = lines.join('\n') + '\n';
  if (netns) await mustRun('nsenter', [`--net=${netns}`, 'ip', '-batch', '-'], input);
  else await mustRun('ip', ['-batch', '-'], input);
}

export async function linkExists(name: string): Promise<boolean> {
  const r = await runCommand('ip', ['-o', 'link', 'show', 'dev', name]);
  return r.code === 0;
}

/** Deletes a link if it exists. */
export async function deleteLink(name: string): Promise<void> {
  const r = await runCommand('ip', ['link', 'del', 'dev', name]);
  if (r.code !== 0 && !/Cannot find device|does not exist/.test(r.stderr)) {
    throw systemError(`ip link del ${name}: ${r.stderr.trim()}`);
  }
}

/**
 * Creates a network namespace bound at `path` (a bind mount of the nsfs inode, as `ip netns add`
 * does), with loopback up. With `idMap` (a container under --userns-remap) the namespace is owned
 * by a new user namespace with those mappings, bound beside it (usernsPathOf): the container
 * joins both, and so may mount its own sysfs and set its network sysctls, as when runc makes
 * the pair itself.
 */
export async function createNetns(path: string, idMap?: IdentityMapping): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o711 });
  await writeFile(path, '', { mode: 0o444 });
  try {
    if (idMap) {
      await writeFile(usernsPathOf(path), '', { mode: 0o444 });
      await unshareMapped(path, idMap);
      await mustRun('nsenter', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
    } else {
      await mustRun('unshare', [`--net=${path}`, 'ip', 'link', 'set', 'lo', 'up']);
    }
  } catch (err) {
    await removeNetns(path).catch(() => undefined);
    throw err;
  }
}

/** Where the user namespace owning a remapped container's network namespace is bound. */
export function usernsPathOf(netnsPath: string): string {
  return `${netnsPath}.userns`;
}

/**
 * unshare(1) makes the user and network namespaces together; its process waits while we write
 * the mappings (as root, without newuidmap, which wants ranges of root's own) and bind both.
 */
async function unshareMapped(path: string, idMap: IdentityMapping): Promise<void> {
  const child = spawn('unshare', ['--user', '--net', '--', 'sh', '-c', 'echo ready; read _; exit 0'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? 1));
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const ready = await Promise.race([once(child.stdout, 'data').then(() => true), exited.then(() => false)]);
    if (!ready) throw systemError(`unshare: ${stderr.trim() || 'exited before the namespaces were made'}`);
    const lines = (maps: IDMap[]): string => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n') + '\n';
    await writeFile(`/proc/${child.pid}/uid_map`, lines(idMap.uidMaps));
    await writeFile(`/proc/${child.pid}/gid_map`, lines(idMap.gidMaps));
    await mustRun('mount', ['--bind', `/proc/${child.pid}/ns/user`, usernsPathOf(path)]);
    await mustRun('mount', ['--bind', `/proc/${child.pid}/ns/net`, path]);
  } finally {
    child.stdin.end();
  }
  const code = await exited;
  if (code !== 0) throw systemError(`unshare: exit status ${code}: ${stderr.trim()}`);
}

export async function netnsMounted(path: string): Promise<boolean> {
  try {
    const mi = await readFile('/proc/self/mountinfo', 'utf8');
    return mi.split('\n').some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

/** Unmounts (lazily: a process may still hold it) and removes a namespace file, and the user namespace's beside it if any. */
export async function removeNetns(path: string): Promise<void> {
  const userns = usernsPathOf(path);
  for (const p of (await exists(userns)) ? [path, userns] : [path]) {
    for (let i = 0; i < 4 && (await netnsMounted(p)); i++) {
      await runCommand('umount', ['-l', p]);
    }
    await rm(p, { force: true });
  }
}

/** The host's IPv4 routes (all tables, without default routes), to keep auto-allocated subnets clear of them. */
export async function hostRoutes(exclude: (dev: string) => boolean): Promise<Prefix[]> {
  const r = await runCommand('ip', ['-4', '-j', 'route', 'show', 'table', 'all']);
  if (r.code !== 0) return [];
  let routes: { dst?: string; dev?: string; type?: string }[];
  try {
    routes = JSON.parse(r.stdout) as typeof routes;
  } catch {
    return [];
  }
  const out: Prefix[] = [];
  for (const rt of routes) {
    if (!rt.dst || rt.dst === 'default' || (rt.dev && exclude(rt.dev))) continue;
    if (rt.type && rt.type !== 'unicast') continue;
    const c = parseCIDR(rt.dst.includes('/') ? rt.dst : `${rt.dst}/32`);
    if (c) out.push(canonical(c));
  }
  return out;
}

export async function readSysctl(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export async function writeSysctl(path: string, value: string): Promise<void> {
  await writeFile(path, value);
}
