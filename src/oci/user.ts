// Resolves `--user` / `--group-add` against the container's /etc/passwd and /etc/group, with the
// semantics of moby/sys/user (GetExecUser, GetAdditionalGroups) that dockerd uses.

import { systemError } from '../pkg/errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups; like dockerd, the primary gid comes first. */
  additionalGids: number[];
}

/** Reads a file inside the container's root filesystem; undefined when it doesn't exist. */
export type ContainerFileReader = (path: string) => Promise<Buffer | undefined>;

const MAX_ID = 2 ** 31 - 1; // ids are kept within int32, as runc/containerd require
const ERR_RANGE = `uids and gids must be in range 0-${MAX_ID}`;
const NO_PASSWD = 'no matching entries in passwd file';
const NO_GROUP = 'no matching entries in group file';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A user or group argument: numeric ones match by id only, others by name. */
interface IdArg {
  name: string;
  id: number;
  numeric: boolean;
}

function parseIdArg(s: string): IdArg | undefined {
  if (s === '') return undefined;
  if (!/^[+-]?\d+$/.test(s)) return { name: s, id: 0, numeric: false };
  const id = Number(s);
  if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) throw systemError(ERR_RANGE);
  return { name: s, id, numeric: true };
}

// Unparseable numeric fields count as 0, as in the Go parser (misbehaving files are tolerated).
const toInt = (s: string | undefined): number => {
  const n = Number.parseInt(s ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
};

function lines(buf: Buffer): string[] {
  return buf
    .toString('utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export function parsePasswd(buf: Buffer): PasswdEntry[] {
  return lines(buf).map((l) => {
    const f = l.split(':');
    return { name: f[0] ?? '', uid: toInt(f[2]), gid: toInt(f[3]) };
  });
}

export function parseGroup(buf: Buffer): GroupEntry[] {
  return lines(buf)
    .filter((l) => !l.startsWith('#'))
    .map((l) => {
      const f = l.split(':');
      return { name: f[0] ?? '', gid: toInt(f[2]), members: f[3] ? f[3].split(',') : [] };
    });
}

async function read(readFile: ContainerFileReader, path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    throw systemError(`unable to read ${path}: ${(err as Error).message}`, err);
  }
}

const matches = (arg: IdArg, name: string, id: number): boolean => (arg.numeric ? id === arg.id : name === arg.name);

/**
 * Resolves a user spec ('' | user | uid | user:group | uid:gid | user:gid | uid:group) plus
 * HostConfig.GroupAdd. An empty user is uid 0 with its passwd entry's gid and groups; a numeric
 * uid/gid absent from the files is used as is (gid 0 if no entry); names must exist.
 * Errors are system errors: dockerd reports spec-generation failures at start/exec as 500s.
 */
export async function resolveUser(user: string, groupAdd: readonly string[] | null | undefined, readFile: ContainerFileReader): Promise<ResolvedUser> {
  const passwdBuf = await read(readFile, '/etc/passwd');
  const groupBuf = await read(readFile, '/etc/group');
  const passwd = passwdBuf ? parsePasswd(passwdBuf) : [];
  const groups = groupBuf ? parseGroup(groupBuf) : undefined;

  const sep = user.indexOf(':');
  const userPart = sep < 0 ? user : user.slice(0, sep);
  const groupPart = sep < 0 ? '' : user.slice(sep + 1);
  const userArg = parseIdArg(userPart);
  const groupArg = parseIdArg(groupPart);

  let uid = 0;
  let gid = 0;
  let sgids: number[] = [];

  // First matching entry wins; no user given means the entry for uid 0.
  const entry = passwd.find((u) => (userArg ? matches(userArg, u.name, u.uid) : u.uid === 0));
  let matchedName = '';
  if (entry) {
    matchedName = entry.name;
    uid = entry.uid;
    gid = entry.gid;
  } else if (userArg) {
    if (!userArg.numeric) throw systemError(`unable to find user ${userArg.name}: ${NO_PASSWD}`);
    uid = userArg.id;
  }

  if (groupArg) {
    // An explicit group sets the primary gid and disables supplementary groups from membership.
    const g = groups?.find((e) => matches(groupArg, e.name, e.gid));
    if (g) gid = g.gid;
    else if (groupArg.numeric) gid = groupArg.id;
    else throw systemError(`unable to find group ${groupArg.name}: ${NO_GROUP}`);
  } else if (matchedName !== '' && groups) {
    sgids = groups.filter((g) => g.members.includes(matchedName)).map((g) => g.gid);
  }

  const added = groupAdd?.length ? additionalGroups(groupAdd, groups) : [];
  return { uid, gid, additionalGids: [gid, ...sgids, ...added] };
}

/** GroupAdd entries by name or number; numbers need not exist in /etc/group, names must. */
function additionalGroups(groupAdd: readonly string[], groups: GroupEntry[] | undefined): number[] {
  const out: number[] = [];
  for (const raw of groupAdd) {
    const arg = parseIdArg(raw);
    if (!arg) throw systemError(`unable to find group : ${NO_GROUP}`);
    const g = groups?.find((e) => matches(arg, e.name, e.gid));
    let gid: number;
    if (g) {
      if (g.gid < 0 || g.gid > MAX_ID) throw systemError(ERR_RANGE);
      gid = g.gid;
    } else if (arg.numeric) gid = arg.id;
    else throw systemError(`unable to find group ${arg.name}: ${NO_GROUP}`);
    if (!out.includes(gid)) out.push(gid);
  }
  return out;
}
