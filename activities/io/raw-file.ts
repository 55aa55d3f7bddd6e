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

/** Checks a file still has the content the run was planned with. */
export async function verifyRawFile(ref: RawFileRef, path: string): Promise<void> {
  const actual = await sha256File(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError({ file: ref.name }, `cannot read input file ${path} (${err.code ?? String(err)})`);
  });
  if (actual !== ref.sha256) {
    throw new InputError(
      { file: ref.name },
      `file changed since the run was planned: sha256 ${actual.slice(0, 12)}, expected ${ref.sha256.slice(0, 12)}`,
    );
  }
}
