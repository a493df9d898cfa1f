// Copies the non-TypeScript files the daemon loads at run time (protobuf definitions, JSON) into dist/.
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const assetExt = ['.proto'];

async function copyAssets(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await copyAssets(path);
    else if (assetExt.some((ext) => entry.name.endsWith(ext))) await cp(path, join('dist', path));
  }
}

await copyAssets('src');
