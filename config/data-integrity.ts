import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { DataIntegrity } from '../schemas/run.js';

/** The data folder's list of digests (`sha256sum` format: `<hex>  ./path`), shipped with the bundle. */
export const SUMS_FILE = 'SHA256SUMS';

/**
 * Checks the data folder against its SHA256SUMS: every listed file hashed and compared
 * (49 MB, about 0.2 s). Returns the digest of SHA256SUMS itself (it names the whole
 * set) and each file that is missing or differs; a folder without SHA256SUMS (a user's
 * own) is recorded as unchecked. A line of SHA256SUMS that is not `<64 hex>  <path>`,
 * or a path leaving the folder, counts as a differing entry, never read.
 */
export async function checkDataFolder(dir: string): Promise<DataIntegrity> {
  let sums: Buffer;
  try {
    sums = await fs.readFile(join(dir, SUMS_FILE));
  } catch {
    return { dir, sha256sums: null, files: 0, differing: [] };
  }
  const differing: DataIntegrity['differing'] = [];
  let files = 0;
  for (const line of sums.toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const name = m ? m[2]!.replace(/^\.\//, '') : line.slice(0, 80);
    if (!m || name.split('/').includes('..') || name.startsWith('/')) {
      differing.push({ name, sha256: null, listed: m?.[1] ?? '' });
      continue;
    }
    files++;
    const actual = await sha256Of(join(dir, name));
    if (actual !== m[1]) differing.push({ name, sha256: actual, listed: m[1]! });
  }
  return { dir, sha256sums: createHash('sha256').update(sums).digest('hex'), files, differing };
}

async function sha256Of(path: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch {
    return null;
  }
  return hash.digest('hex');
}

/** One warning line per differing data file. */
export function dataIntegrityWarnings(d: DataIntegrity): string[] {
  return d.differing.map((f) =>
    f.sha256 === null
      ? `xclass: warning: data file ${join(d.dir, f.name)} is missing or unreadable (listed in ${join(d.dir, SUMS_FILE)})`
      : `xclass: warning: data file ${join(d.dir, f.name)} differs from ${join(d.dir, SUMS_FILE)} (sha256 ${f.sha256.slice(0, 12)}, listed ${f.listed.slice(0, 12)})`,
  );
}
