import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root: the nearest folder above this file that holds package.json (works from src and from dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the XClass package root (no package.json above the code)');
    dir = up;
  }
}

/** $XCLASS_DATA, else ../shared/data beside the checkout (DESIGN.md, "Data"). */
export function defaultDataDir(): string {
  const fromEnv = process.env['XCLASS_DATA'];
  if (fromEnv) return resolve(fromEnv);
  return resolve(packageRoot(), '..', 'shared', 'data');
}
