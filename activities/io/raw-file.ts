import { promises as fs } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { sha256File } from '../../artifacts/hash.js';
import { InputError } from '../../lib/errors.js';
import type { RawFileRef } from '../../schemas/artifact.js';
import type { ResolvedFile } from '../../schemas/pipeline.js';

/**
 * Resolves a raw input file (relative to the data folder unless absolute) and hashes
 * it. The hash enters the ingest params, so a changed catalog changes every artifact
 * id downstream.
 */
export async function resolveRawFile(dataDir: string, name: string): Promise<ResolvedFile> {
  const path = isAbsolute(name) ? name : resolve(dataDir, name);
  let bytes: number;
  try {
    const st = await fs.stat(path);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
    bytes = st.size;
    await fs.access(path, fs.constants.R_OK);
  } catch (err) {
    throw new InputError(
      { file: name },
      `cannot read input file ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  return { name: displayName(dataDir, path), path, bytes, sha256: await sha256File(path) };
}

/** How a file is named in params: relative to the folder it was resolved against when inside it, else its absolute path. */
export function displayName(dir: string, path: string): string {
  const rel = relative(dir, path);
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/**
 * The files this process has hashed, by path: their stat when hashed and the digest. A
 * field's zone steps each check the same catalogs, which may be gigabytes; a file whose
 * size, modification and change times (the last set by the kernel on any write) and inode
 * are those it was hashed with is not hashed again.
 */
const hashed = new Map<string, { stamp: string; sha256: string }>();

/** Checks a file still has the content the run was planned with. */
export async function verifyRawFile(ref: RawFileRef, path: string): Promise<void> {
  const cannot = (err: NodeJS.ErrnoException) => {
    throw new InputError({ file: ref.name }, `cannot read input file ${path} (${err.code ?? String(err)})`);
  };
  const key = resolve(path);
  const st = await fs.stat(key).catch(cannot);
  const stamp = `${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.ino}`;
  const known = hashed.get(key);
  const actual = known?.stamp === stamp ? known.sha256 : await sha256File(path).catch(cannot);
  hashed.set(key, { stamp, sha256: actual });
  if (actual !== ref.sha256) {
    throw new InputError(
      { file: ref.name },
      `file changed since the run was planned: sha256 ${actual.slice(0, 12)}, expected ${ref.sha256.slice(0, 12)}`,
    );
  }
}
