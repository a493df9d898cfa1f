// Signal names and numbers on Linux, parsed the way dockerd's signal.ParseSignal does.
import { constants } from 'node:os';
import { invalidParameter } from './errors.js';

const byName = constants.signals as Record<string, number>;

/** Accepts "9", "KILL", "SIGKILL", "sigkill", and real-time forms such as "RTMIN+3". */
export function parseSignal(raw: string): number {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n === 0 || n > 64) throw invalidParameter(`Invalid signal: ${raw}`);
    return n;
  }
  const name = s.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('RTMIN') ? 34 + off : 64 - off;
    if (n >= 34 && n <= 64) return n;
  }
  const n = byName[`SIG${name}`];
  if (n === undefined) throw invalidParameter(`Invalid signal: ${raw}`);
  return n;
}

export const SIGKILL = 9;
export const SIGTERM = 15;
