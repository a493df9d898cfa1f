// The image filters dockerd's list and prune share: labels and `until`.
import { invalidParameter } from '../pkg/errors.js';

/** dockerd's label / label! filter match on image labels. */
export function matchLabels(filters: Map<string, string[]>, labels: Record<string, string>): boolean {
  const test = (f: string): boolean => {
    const eq = f.indexOf('=');
    if (eq === -1) return f in labels;
    return labels[f.slice(0, eq)] === f.slice(eq + 1);
  };
  if (!(filters.get('label') ?? []).every(test)) return false;
  const neg = filters.get('label!') ?? [];
  if (neg.length && neg.some(test)) return false;
  return true;
}

/** An `until` value: Unix seconds, a date, or a Go duration before now. */
export function parseUntil(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return t;
  const m = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (m) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
    return Date.now() - Number(m[1]) * unit[m[2]!]!;
  }
  throw invalidParameter(`failed to parse value ${v} as a time`);
}
