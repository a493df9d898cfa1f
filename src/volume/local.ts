// The `local` volume driver's options and mounting, as dockerd's volume/local: a volume created
// with `type`/`device`/`o` options is mounted onto its _data directory on first use (mount(8)
// with those arguments, e.g. type=tmpfs device=tmpfs o=size=64m, or type=none o=bind
// device=/src) and unmounted when its last user lets go.

import { runCommand } from '../pkg/command.js';
import { readFile } from 'node:fs/promises';
import { invalidParameter, systemError } from '../pkg/errors.js';

export interface LocalOpts {
  MountType: string;
  MountOpts: string;
  MountDevice: string;
  /** Quota size in bytes (always 0: no quota support). */
  Quota?: { Size: number };
}

const validOpts = new Set(['type', 'o', 'device', 'size']);
const mandatoryOpts: [string, string[]][] = [
  ['device', ['type']],
  ['type', ['device']],
  ['o', ['device', 'type']],
];

/** go-units RAMInBytes: "64m", "1.5GiB", "512" (binary multiples). */
export function ramInBytes(s: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(s);
  if (!m) throw invalidParameter(`invalid size: '${s}'`);
  const n = Number.parseFloat(m[1]!);
  const mult: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };
  return Math.floor(n * (m[2] ? mult[m[2].toLowerCase()]! : 1));
}

/** Validates DriverOpts for the local driver, with dockerd's messages. */
export function validateLocalOpts(opts: Record<string, string> | null | undefined): void {
  if (!opts || Object.keys(opts).length === 0) return;
  for (const k of Object.keys(opts)) {
    if (!validOpts.has(k)) throw invalidParameter(`invalid option: ${JSON.stringify(k)}`);
  }
  if (opts.type === 'cifs' && opts.device) {
    let url: URL | undefined;
    try {
      url = new URL(opts.device);
    } catch {
      url = undefined; // not a URL: nothing to check
    }
    if (url?.port) throw invalidParameter(`port not allowed in CIFS device URL, include 'port' in 'o='`);
  }
  if (opts.size !== undefined && ramInBytes(opts.size) > 0) {
    throw invalidParameter('quota size requested but no quota support');
  }
  for (const [opt, reqs] of mandatoryOpts) {
    if (opt in opts) {
      for (const r of reqs) if (!(r in opts)) throw invalidParameter(`missing required option: ${JSON.stringify(r)}`);
    }
  }
}

export function localOptsFrom(opts: Record<string, string> | null | undefined): LocalOpts | undefined {
  if (!opts || Object.keys(opts).length === 0) return undefined;
  return { MountType: opts.type ?? '', MountOpts: opts.o ?? '', MountDevice: opts.device ?? '', Quota: { Size: 0 } };
}

export function needsMount(o: LocalOpts | undefined): boolean {
  return !!o && (o.MountDevice !== '' || o.MountType !== '');
}

/** Runs a tool that must succeed; its error is what it printed, as dockerd's local driver shows it. */
async function run(cmd: string, args: string[]): Promise<void> {
  const r = await runCommand(cmd, args);
  if (r.code !== 0) throw new Error((r.stderr || r.stdout).trim() || `${cmd} exited with ${r.code}`);
}

function hidePassword(msg: string, opts: string): string {
  const pw = opts.split(',').find((o) => o.startsWith('password='));
  return pw ? msg.split(pw).join('password=********') : msg;
}

/** Mounts the volume's device onto `path`. */
export async function mountLocal(o: LocalOpts, path: string): Promise<void> {
  if (o.MountDevice === '') throw systemError('missing device in volume options');
  const args = ['-t', o.MountType || 'none'];
  if (o.MountOpts) args.push('-o', o.MountOpts);
  args.push('--', o.MountDevice, path);
  try {
    await run('mount', args);
  } catch (err) {
    throw systemError(hidePassword(`failed to mount local volume: ${(err as Error).message}`, o.MountOpts), err);
  }
}

export async function unmountLocal(path: string): Promise<void> {
  try {
    await run('umount', [path]);
  } catch (err) {
    if (await isMounted(path)) throw systemError(`error unmounting volume: ${(err as Error).message}`, err);
  }
}

/** Unescapes mountinfo's octal escapes (\040 for space…). */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** True when `path` is a mount point in this mount namespace. */
export async function isMounted(path: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && unescapeMountinfo(f[4]!) === path) return true;
  }
  return false;
}
