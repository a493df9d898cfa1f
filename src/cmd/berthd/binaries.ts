import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';

const extraDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Finds the first of `names` on PATH (and the sbin directories a root shell may lack). */
export async function findBinary(...names: string[]): Promise<string> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...extraDirs];
  for (const name of names) {
    for (const dir of dirs) {
      const p = join(dir, name);
      try {
        await access(p, constants.X_OK);
        return p;
      } catch {
        // keep looking
      }
    }
  }
  throw new Error(`${names[0]} not found in PATH`);
}
