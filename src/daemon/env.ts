// The environment of a container's processes (its init process and its execs).
import type { Container } from '../container/container.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The container's environment as dockerd builds it: PATH, HOSTNAME, TERM, then the config's. */
export function containerEnv(c: Container, links: string[] = []): string[] {
  const cfg = c.record.Config;
  // Link variables come first, so the container's own Env overrides them, as in dockerd.
  const env = [...links.filter((l) => !(cfg.Env ?? []).some((e) => e.split('=')[0] === l.split('=')[0])), ...(cfg.Env ?? [])];
  const base = [`HOSTNAME=${cfg.Hostname}`];
  if (!env.some((e) => e.startsWith('PATH='))) base.unshift(`PATH=${DEFAULT_PATH}`);
  if (cfg.Tty) base.push('TERM=xterm');
  const keys = new Set(env.map((e) => e.split('=')[0]));
  return [...base.filter((e) => !keys.has(e.split('=')[0])), ...env];
}
