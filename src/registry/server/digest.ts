// Content digests (`algorithm:encoded`): parsing with the OCI grammar, the algorithms the registry
// verifies (sha256, sha512), and hashing of files as streams.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { RegistryError } from './errors.js';

export type Algorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };

export interface Digest {
  algorithm: Algorithm;
  /** Lower-case hex, exactly as long as the algorithm's output. */
  hex: string;
}

// The OCI image spec's digest grammar; only registered algorithms are accepted after it.
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses a digest; a malformed one or an algorithm not supported throws DIGEST_INVALID. */
export function parseDigest(s: string): Digest {
  const m = DIGEST_RE.exec(s);
  if (!m) throw new RegistryError('DIGEST_INVALID', { digest: s }, `invalid digest ${JSON.stringify(s)}`);
  const algorithm = m[1];
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new RegistryError('DIGEST_INVALID', { digest: s }, `unsupported digest algorithm ${JSON.stringify(algorithm)}`);
  }
  const hex = m[2];
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', { digest: s }, `invalid ${algorithm} digest ${JSON.stringify(s)}`);
  }
  return { algorithm, hex };
}

export function isDigest(s: string): boolean {
  return s.includes(':');
}

export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

export function newHash(algorithm: Algorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(algorithm: Algorithm, data: Uint8Array | string): Digest {
  return { algorithm, hex: createHash(algorithm).update(data).digest('hex') };
}

/** Feeds a file (or its first `end` bytes) through `hash` without holding it in memory. */
export async function hashFile(path: string, hash: Hash, end?: number): Promise<void> {
  if (end === 0) return;
  const stream = createReadStream(path, end === undefined ? {} : { end: end - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
}
