// The JSON message stream of pulls and pushes, shaped as dockerd's streamformatter writes it
// (pkg/jsonmessage), so the docker CLI draws its per-layer progress bars from it.
import type { JSONMessage } from '../api/types/jsonstream.js';

export type ProgressOutput = (m: JSONMessage) => void;

/** go-units HumanSize: four significant digits, decimal units. */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** jsonmessage.JSONProgress.String() as the daemon renders it (no terminal: 200 columns, no ETA). */
export function progressString(current: number, total: number): string {
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(pct)}>${' '.repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/** A per-ID status line: `{"status":"Waiting","progressDetail":{},"id":"…"}`. */
export function update(out: ProgressOutput, id: string, status: string): void {
  out({ status, progressDetail: {}, id });
}

/** A message line without progress: `{"status":"Pulling from library/busybox","id":"latest"}`. */
export function message(out: ProgressOutput, id: string, status: string): void {
  out(id ? { status, id } : { status });
}

/** How often byte progress is reported (dockerd's progress reader: every 512 KiB, and at the end). */
const UPDATE_EVERY = 512 << 10;

/** Counts bytes for one layer's `Downloading`/`Extracting`/`Pushing` line. */
export class ByteProgress {
  private current = 0;
  private last = 0;

  constructor(
    private readonly out: ProgressOutput,
    private readonly id: string,
    private readonly action: string,
    private readonly total: number,
  ) {}

  add(n: number): void {
    this.current += n;
    if (this.current - this.last >= UPDATE_EVERY || this.current === this.total) this.emit();
  }

  /** Reports the final count unless it was just reported. */
  finish(): void {
    if (this.current !== this.last || this.current === 0) this.emit();
  }

  reset(): void {
    this.current = 0;
    this.last = 0;
  }

  private emit(): void {
    this.last = this.current;
    this.out({ status: this.action, progressDetail: { current: this.current, total: this.total }, progress: progressString(this.current, this.total), id: this.id });
  }
}
