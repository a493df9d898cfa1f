// `until` for image list and prune: a timestamp or a Go duration before now (dockerd's
// GetTimestamp), as milliseconds since the epoch.
import { invalidParameter } from '../pkg/errors.js';
import { parseTimestamp } from '../pkg/timeutil.js';

export function parseUntil(v: string): number {
  try {
    return parseTimestamp(v).getTime();
  } catch (err) {
    throw invalidParameter((err as Error).message);
  }
}
