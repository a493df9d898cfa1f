// --userns-remap, as dockerd's setupRemappedRoot and setupDaemonRoot: the remapped user (and
// group) from the host's passwd/group databases, its subordinate ranges from /etc/subuid and
// /etc/subgid, and the data-root subdirectory <root>/<uid>.<gid> that keeps remapped images,
// containers and volumes apart from the ones stored without remapping. `default` stands for
// the `dockremap` user, created with its ranges (useradd, usermod) when missing.
import { chmod, chown, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { runCommand } from '../pkg/command.js';
import { errnoCode, invalidParameter } from '../pkg/errors.js';
import type { HostConfig } from '../api/types/container.js';
import { IdentityMapping, parseSubIDFile, rangesToMaps, type SubIDRange } from '../pkg/idmap.js';

export const DEFAULT_REMAP_SPEC = 'default';
export const DEFAULT_REMAP_USER = 'dockremap';
const DEFAULT_RANGE_START = 100000;
const DEFAULT_RANGE_LEN = 65536;

export interface RemappedRoot {
  /** user:group as resolved (what dockerd keeps in its config). */
  spec: string;
  mapping: IdentityMapping;
}

interface Entry {
  name: string;
  id: number;
}

/** One passwd or group entry through getent (files and any other NSS source), as dockerd's usergroup. */
async function getent(db: 'passwd' | 'group', key: string): Promise<Entry> {
  const r = await runCommand('getent', [db, key]).catch((err: Error) => {
    throw new Error(`unable to find getent command: ${err.message}`);
  });
  if (r.code === 2) throw new Error(`getent unable to find entry ${JSON.stringify(key)} in ${db} database`);
  if (r.code !== 0) throw new Error(`getent ${db} ${key}: exit status ${r.code}`);
  const f = r.stdout.split('\n')[0]!.split(':');
  if (f.length < 3 || !/^\d+$/.test(f[2]!)) throw new Error(`getent failed to find ${db} entry for ${JSON.stringify(key)}`);
  return { name: f[0]!, id: Number(f[2]) };
}

const isID = (s: string): boolean => /^\d+$/.test(s) && Number(s) <= 2 ** 31 - 1;

/** dockerd's parseRemappedRoot: user, user:group, uid, uid:gid; names must exist. */
async function parseRemappedRoot(usergrp: string): Promise<{ user: string; group: string }> {
  const parts = usergrp.split(':');
  if (parts.length > 2) throw new Error(`Invalid user/group specification in --userns-remap: ${JSON.stringify(usergrp)}`);
  const [userPart, groupPart] = parts as [string, string | undefined];
  let user: string;
  let group = '';
  if (isID(userPart)) {
    user = (await getent('passwd', userPart).catch((e: Error) => {
      throw new Error(`Uid ${userPart} has no entry in /etc/passwd: ${e.message}`);
    })).name;
    if (groupPart === undefined) {
      group = (await getent('group', userPart).catch((e: Error) => {
        throw new Error(`Gid ${userPart} has no entry in /etc/group: ${e.message}`);
      })).name;
    }
  } else {
    const lookupName = userPart === DEFAULT_REMAP_SPEC ? DEFAULT_REMAP_USER : userPart;
    let found: Entry | undefined;
    try {
      found = await getent('passwd', lookupName);
    } catch (err) {
      if (userPart !== DEFAULT_REMAP_SPEC) throw new Error(`Error during uid lookup for ${JSON.stringify(lookupName)}: ${(err as Error).message}`);
      await addNamespaceRangesUser(DEFAULT_REMAP_USER).catch((e: Error) => {
        throw new Error(`Error during ${JSON.stringify(DEFAULT_REMAP_USER)} user creation: ${e.message}`);
      });
      return { user: DEFAULT_REMAP_USER, group: DEFAULT_REMAP_USER };
    }
    user = found.name;
    if (groupPart === undefined) {
      group = (await getent('group', lookupName).catch((e: Error) => {
        throw new Error(`Error during gid lookup for ${JSON.stringify(lookupName)}: ${e.message}`);
      })).name;
    }
  }
  if (groupPart !== undefined) {
    if (isID(groupPart)) {
      group = (await getent('group', groupPart).catch((e: Error) => {
        throw new Error(`Gid ${groupPart} has no entry in /etc/passwd: ${e.message}`);
      })).name;
    } else {
      await getent('group', groupPart).catch((e: Error) => {
        throw new Error(`Error during groupname lookup for ${JSON.stringify(groupPart)}: ${e.message}`);
      });
      group = groupPart;
    }
  }
  return { user, group };
}

async function readSubIDs(path: string): Promise<SubIDRange[]> {
  try {
    return parseSubIDFile(await readFile(path, 'utf8'), path);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw err;
  }
}

/** The first DEFAULT_RANGE_LEN IDs from 100000 up that no range in the file overlaps. */
export function nextFreeRange(ranges: SubIDRange[]): number {
  let start = DEFAULT_RANGE_START;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (r.start < start + DEFAULT_RANGE_LEN && start < r.start + r.count) start = r.start + r.count;
  }
  return start;
}

/** A system user and group for the ranges, and ranges for it when the distribution gave it none. */
async function addNamespaceRangesUser(name: string): Promise<void> {
  const add = await runCommand('useradd', ['-r', '-s', '/bin/false', name]).catch((err: Error) => {
    throw new Error(`cannot add user; no useradd binary found: ${err.message}`);
  });
  if (add.code !== 0) throw new Error(`error adding user ${JSON.stringify(name)}: failed to add user: ${(add.stderr || add.stdout).trim()}`);
  for (const [file, flag] of [['/etc/subuid', '-v'], ['/etc/subgid', '-w']] as const) {
    const ranges = await readSubIDs(file);
    if (ranges.some((r) => r.name === name)) continue;
    const start = nextFreeRange(ranges);
    const r = await runCommand('usermod', [flag, `${start}-${start + DEFAULT_RANGE_LEN - 1}`, name]);
    if (r.code !== 0) {
      throw new Error(`couldn't create subordinate ID ranges: unable to add ${file} range to user: ${JSON.stringify(name)}; output: ${(r.stderr || r.stdout).trim()}`);
    }
  }
}

/** The user's ranges, by name or by uid (as dockerd's LoadIdentityMapping). */
async function loadIdentityMapping(user: string): Promise<IdentityMapping> {
  const u = await getent('passwd', user).catch((e: Error) => {
    throw new Error(`could not get user for username ${user}: ${e.message}`);
  });
  const mine = (r: SubIDRange): boolean => r.name === u.name || r.name === String(u.id);
  const uids = (await readSubIDs('/etc/subuid')).filter(mine);
  const gids = (await readSubIDs('/etc/subgid')).filter(mine);
  // dockerd says "subuid" for either file.
  if (uids.length === 0 || gids.length === 0) throw new Error(`no subuid ranges found for user ${JSON.stringify(u.name)}`);
  return new IdentityMapping(rangesToMaps(uids), rangesToMaps(gids));
}

/** Resolves --userns-remap; undefined when it is empty or names root (remapping root onto itself is no remapping). */
export async function setupRemappedRoot(usergrp: unknown, logger: Logger): Promise<RemappedRoot | undefined> {
  if (usergrp === undefined || usergrp === '') return undefined;
  // daemon.json may hold anything.
  if (typeof usergrp !== 'string') throw new Error(`Invalid user/group specification in --userns-remap: ${JSON.stringify(usergrp)}`);
  const { user, group } = await parseRemappedRoot(usergrp);
  if (user === 'root') {
    logger.warn('User namespaces: root cannot be remapped with itself; user namespaces are OFF');
    return undefined;
  }
  logger.info(`User namespaces: ID ranges will be mapped to subuid/subgid ranges of: ${user}`);
  try {
    return { spec: `${user}:${group}`, mapping: await loadIdentityMapping(user) };
  } catch (err) {
    throw new Error(`Can't create ID mappings: ${(err as Error).message}`);
  }
}

/** Whether uid/gid may search `dir` (the x bit for them). */
async function canAccess(dir: string, uid: number, gid: number): Promise<boolean> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) return false;
  if (st.mode & 0o001) return true;
  if (st.gid === gid && st.mode & 0o010) return true;
  return st.uid === uid && (st.mode & 0o100) !== 0;
}

/**
 * dockerd's setupDaemonRoot under remapping: the data root searchable by all (0711), and the
 * remapped state in <root>/<uid>.<gid> (0710, group of the remapped root) — the data root berthd
 * then uses. Every directory above it must let the remapped root through.
 */
export async function remappedDataRoot(root: string, mapping: IdentityMapping): Promise<string> {
  const { uid, gid } = mapping.rootPair();
  await mkdir(root, { recursive: true, mode: 0o711 });
  await chmod(root, 0o711);
  const sub = join(root, `${uid}.${gid}`);
  await mkdir(sub, { recursive: true, mode: 0o710 });
  await chown(sub, process.getuid?.() ?? 0, gid);
  await chmod(sub, 0o710);
  for (let dir = dirname(sub); dir !== '/' && dir !== '.'; dir = dirname(dir)) {
    if (!(await canAccess(dir, uid, gid))) {
      throw new Error(`a subdirectory in your graphroot path (${sub}) restricts access to the remapped root uid/gid; please fix by allowing 'o+x' permissions on existing directories`);
    }
  }
  return sub;
}

/** dockerd's refusals for a container in the remapped user namespace (--userns=host opts out). */
export function verifyUsernsSettings(h: Pick<HostConfig, 'UsernsMode' | 'Privileged' | 'NetworkMode' | 'PidMode'>, mapping: IdentityMapping | undefined): void {
  if (!mapping || h.UsernsMode === 'host') return;
  if (h.Privileged) {
    throw invalidParameter('privileged mode is incompatible with user namespaces.  You must run the container in the host namespace when running privileged mode');
  }
  if (h.NetworkMode === 'host') throw invalidParameter("cannot share the host's network namespace when user namespaces are enabled");
  if (h.PidMode === 'host') throw invalidParameter('cannot share the host PID namespace when user namespaces are enabled');
}
