// Signal names and numbers on Linux, parsed the way dockerd's signal.ParseSignal does. The
// table is Linux's whatever the host, so a STOPSIGNAL means the same everywhere.
import { invalidParameter } from './errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

const SIGNALS: ReadonlyMap<string, number> = new Map([
  ...Object.entries({
    ABRT: 6, ALRM: 14, BUS: 7, CHLD: 17, CLD: 17, CONT: 18, FPE: 8, HUP: 1, ILL: 4, INT: 2, IO: 29, IOT: 6,
    KILL: 9, PIPE: 13, POLL: 29, PROF: 27, PWR: 30, QUIT: 3, SEGV: 11, STKFLT: 16, STOP: 19, SYS: 31,
    TERM: 15, TRAP: 5, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, USR1: 10, USR2: 12, VTALRM: 26, WINCH: 28,
    XCPU: 24, XFSZ: 25,
  }),
  // dockerd names RTMIN..RTMIN+15 and RTMAX-14..RTMAX, which together cover 34..64.
  ['RTMIN', SIGRTMIN],
  ...Array.from({ length: 15 }, (_, i): [string, number] => [`RTMIN+${i + 1}`, SIGRTMIN + i + 1]),
  ...Array.from({ length: 14 }, (_, i): [string, number] => [`RTMAX-${i + 1}`, SIGRTMAX - i - 1]),
  ['RTMAX', SIGRTMAX],
]);

/** Accepts "9", "KILL", "SIGKILL", "sigkill", and real-time names such as "RTMIN+3"; returns the number. */
export function parseSignal(raw: string): number {
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0 || n > SIGRTMAX) throw invalidParameter(`Invalid signal: ${raw}`);
    return n;
  }
  const n = SIGNALS.get(raw.toUpperCase().replace(/^SIG/, ''));
  if (n === undefined) throw invalidParameter(`Invalid signal: ${raw}`);
  return n;
}

export const SIGKILL = 9;
export const SIGTERM = 15;
