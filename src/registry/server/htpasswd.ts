// Basic auth against an htpasswd file, as distribution's htpasswd access controller: only bcrypt
// entries (`htpasswd -B`) are accepted; other hashes are refused with a warning naming the user.
// The file is read again when it changes, so users can be added without a restart.

import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import bcrypt from 'bcryptjs';

export interface HtpasswdEntries {
  users: Map<string, string>;
  /** One line per entry that was refused. */
  warnings: string[];
}

const BCRYPT_RE = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

export function parseHtpasswd(text: string): HtpasswdEntries {
  const users = new Map<string, string>();
  const warnings: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      warnings.push(`htpasswd line ${i + 1}: not user:hash, ignored`);
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT_RE.test(hash)) {
      warnings.push(`htpasswd: the entry of user ${JSON.stringify(user)} is not a bcrypt hash (create it with htpasswd -B); only bcrypt is supported, ignored`);
      return;
    }
    users.set(user, hash);
  });
  return { users, warnings };
}

/** Parses an `Authorization: Basic …` header. */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Checks credentials; a successful check is remembered (bcrypt costs ~100 ms) until the file changes. */
export class Htpasswd {
  private entries: HtpasswdEntries = { users: new Map(), warnings: [] };
  private mtimeMs = -1;
  private readonly verified = new Set<string>();

  constructor(
    readonly path: string,
    private readonly warn: (msg: string) => void,
  ) {}

  /** Reads the file again if it changed since the last read. */
  async load(): Promise<void> {
    const st = await stat(this.path);
    if (st.mtimeMs === this.mtimeMs) return;
    this.entries = parseHtpasswd(await readFile(this.path, 'utf8'));
    this.mtimeMs = st.mtimeMs;
    this.verified.clear();
    for (const w of this.entries.warnings) this.warn(w);
  }

  async check(user: string, password: string): Promise<boolean> {
    await this.load();
    const hash = this.entries.users.get(user);
    if (!hash) return false;
    const key = createHash('sha256').update(`${user}\0${password}\0${hash}`).digest('hex');
    if (this.verified.has(key)) return true;
    if (!(await bcrypt.compare(password, hash))) return false;
    if (this.verified.size > 1000) this.verified.clear();
    this.verified.add(key);
    return true;
  }
}
