import { execFileSync } from 'node:child_process';
import { packageRoot } from '../config/paths.js';

let cached: string | null | undefined;

/** The git commit of the code that produced an artifact, with `-dirty` for uncommitted changes; null outside git. */
export function codeVersion(): string | null {
  if (cached !== undefined) return cached;
  const fromEnv = process.env['XCLASS_CODE_VERSION'];
  if (fromEnv) return (cached = fromEnv);
  try {
    const opts = {
      cwd: packageRoot(),
      encoding: 'utf8' as const,
      stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'],
    };
    const head = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    cached = dirty ? `${head}-dirty` : head;
  } catch {
    cached = null;
  }
  return cached;
}
