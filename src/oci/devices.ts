// Device nodes for the spec: the host's devices for privileged containers (containerd's
// HostDevices), `--device` mappings and `--device-cgroup-rule` parsing (dockerd's oci package).

import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidParameter, systemError } from '../pkg/errors.js';
import type { LinuxDevice, LinuxDeviceCgroup } from './types.js';

const S_IFMT = 0o170000n;
const S_IFBLK = 0o060000n;
const S_IFCHR = 0o020000n;
const S_IFIFO = 0o010000n;

/** major/minor of a Linux dev_t (glibc's gnu_dev_major/minor encoding). */
export function splitDev(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** The device at `path` (not following symlinks), or undefined if it isn't a device node. */
export async function deviceFromPath(path: string): Promise<LinuxDevice | undefined> {
  const st = await lstat(path, { bigint: true });
  const fmt = st.mode & S_IFMT;
  let type: LinuxDevice['type'];
  if (fmt === S_IFBLK) type = 'b';
  else if (fmt === S_IFCHR) type = 'c';
  else if (fmt === S_IFIFO) type = 'p';
  else return undefined;
  const { major, minor } = splitDev(st.rdev);
  return { path, type, major, minor, fileMode: Number(st.mode & ~S_IFMT), uid: Number(st.uid), gid: Number(st.gid) };
}

// Directories under /dev that are per-container mounts or tooling state, not devices.
const skipDirs = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);

/** Every char/block device under /dev, as a privileged container sees them. */
export async function hostDevices(dir = '/dev'): Promise<LinuxDevice[]> {
  const out: LinuxDevice[] = [];
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    if (ent.isDirectory()) {
      if (!skipDirs.has(ent.name)) out.push(...(await hostDevices(p)));
      continue;
    }
    // The container gets its own console (the pty runc allocates).
    if (ent.name === 'console') continue;
    let dev: LinuxDevice | undefined;
    try {
      dev = await deviceFromPath(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // vanished meanwhile
      throw err;
    }
    if (dev && dev.type !== 'p') out.push(dev);
  }
  return out;
}

const cgroupRule = (d: LinuxDevice, access: string): LinuxDeviceCgroup => ({
  allow: true,
  type: d.type === 'b' ? 'b' : 'c',
  major: d.major,
  minor: d.minor,
  access,
});

/**
 * A `--device host[:container[:perms]]` mapping: a device node, or a directory whose device
 * nodes are all mapped beneath `pathInContainer`. Symlinks on the host are resolved first.
 */
export async function devicesFromPath(
  pathOnHost: string,
  pathInContainer: string,
  permissions: string,
): Promise<{ devices: LinuxDevice[]; rules: LinuxDeviceCgroup[] }> {
  let resolved = pathOnHost;
  try {
    if ((await lstat(pathOnHost)).isSymbolicLink()) resolved = await realpath(pathOnHost);
  } catch {
    // reported below, from the device lookup itself
  }
  let reason: string;
  try {
    const dev = await deviceFromPath(resolved);
    if (dev) {
      dev.path = pathInContainer;
      return { devices: [dev], rules: [cgroupRule(dev, permissions)] };
    }
    reason = 'not a device node';
  } catch (err) {
    reason = (err as Error).message;
  }
  const devices: LinuxDevice[] = [];
  try {
    if ((await stat(resolved)).isDirectory()) {
      const walk = async (dir: string): Promise<void> => {
        for (const ent of await readdir(dir, { withFileTypes: true })) {
          const p = join(dir, ent.name);
          if (ent.isDirectory()) {
            await walk(p);
            continue;
          }
          const dev = await deviceFromPath(p).catch(() => undefined);
          if (!dev) continue;
          dev.path = pathInContainer + p.slice(resolved.length);
          devices.push(dev);
        }
      };
      await walk(resolved);
    }
  } catch {
    // fall through to the error below
  }
  if (devices.length) return { devices, rules: devices.map((d) => cgroupRule(d, permissions)) };
  throw systemError(`error gathering device information while adding custom device ${JSON.stringify(pathOnHost)}: ${reason}`);
}

const ruleRe = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** `--device-cgroup-rule` entries such as "c 1:3 mr" or "a *:* rwm" (* = any, encoded as -1). */
export function parseDeviceCgroupRules(rules: readonly string[] | null | undefined): LinuxDeviceCgroup[] {
  return (rules ?? []).map((rule) => {
    const m = ruleRe.exec(rule);
    if (!m) throw invalidParameter(`invalid device cgroup rule format: '${rule}'`);
    const num = (s: string): number => (s === '*' ? -1 : Number(s));
    return { allow: true, type: m[1] as LinuxDeviceCgroup['type'], major: num(m[2]!), minor: num(m[3]!), access: m[4]! };
  });
}
