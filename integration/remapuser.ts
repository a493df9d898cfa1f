// A host user with subordinate ID ranges of its own, for tests of berthd --userns-remap: created
// (useradd -r, no ranges of the distribution's) when missing, its ranges appended to /etc/subuid
// and /etc/subgid, and everything the test added taken away again afterwards. The files are
// rewritten atomically (temp file, rename), keeping their mode and owner.

import { execFile } from 'node:child_process';
import { chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REMAP_USER = 'berthtest-remap';
const RANGE_LEN = 65536;
const FILES = ['/etc/subuid', '/etc/subgid'] as const;

export interface RemapUser {
  name: string;
  /** First host uid / gid of the ranges (the container's root). */
  uid: number;
  gid: number;
  /** Removes the ranges the test added and the user if the test created it. Never throws. */
  remove(): Promise<void>;
}

async function readLines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l !== '');
}

async function rewrite(path: string, lines: string[]): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  const tmp = `${path}.berthtest-${process.pid}`;
  await writeFile(tmp, lines.map((l) => `${l}\n`).join(''), { mode: st ? st.mode & 0o7777 : 0o644 });
  if (st) await chown(tmp, st.uid, st.gid);
  await rename(tmp, path);
}

/** The first RANGE_LEN-aligned start at or above 1,000,000 that no range in either file reaches. */
async function freeStart(): Promise<number> {
  let end = 1_000_000;
  for (const f of FILES) {
    for (const l of await readLines(f)) {
      const [, start, count] = l.split(':');
      end = Math.max(end, Number(start) + Number(count));
    }
  }
  return Math.ceil(end / RANGE_LEN) * RANGE_LEN;
}

export async function addRemapUser(): Promise<RemapUser> {
  let created = false;
  if ((await run('getent', ['passwd', REMAP_USER]).catch(() => undefined)) === undefined) {
    await run('useradd', ['-r', '-M', '-s', '/bin/false', REMAP_USER]);
    created = true;
  }
  const added: { file: string; line: string }[] = [];
  const remove = async (): Promise<void> => {
    for (const { file, line } of added) {
      await rewrite(file, (await readLines(file)).filter((l) => l !== line)).catch((err: Error) => console.error(`${file}: ${err.message}`));
    }
    if (created) await run('userdel', [REMAP_USER]).catch((err: Error) => console.error(`userdel: ${err.message}`));
  };
  try {
    const starts: number[] = [];
    for (const file of FILES) {
      const mine = (await readLines(file)).find((l) => l.startsWith(`${REMAP_USER}:`));
      if (mine) {
        starts.push(Number(mine.split(':')[1]));
        continue;
      }
      const start = await freeStart();
      const line = `${REMAP_USER}:${start}:${RANGE_LEN}`;
      await rewrite(file, [...(await readLines(file)), line]);
      added.push({ file, line });
      starts.push(start);
    }
    return { name: REMAP_USER, uid: starts[0]!, gid: starts[1]!, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

