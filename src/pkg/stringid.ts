import { randomBytes } from 'node:crypto';

/** A 64-hex-digit ID that is never all digits, as dockerd's stringid.GenerateRandomID. */
export function generateID(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d+$/.test(id.slice(0, 12))) return id;
  }
}

export const truncateID = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);
