// Small file-system questions.
import { stat } from 'node:fs/promises';
import { errnoCode } from './errors.js';

/**
 * Whether something exists at `path` (symlinks followed, so a dangling one does not count).
 * Only "no such file" answers no; any other failure (EACCES, EIO…) is an error the caller sees.
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}
