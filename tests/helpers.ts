import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultDataDir, packageRoot } from '../config/paths.js';

export const ROOT = packageRoot();
export const DATA = defaultDataDir();
export const MUWCLASS = join(DATA, 'catalogs', 'muwclass_TD_2022.csv');
export const CLI = resolve(ROOT, 'bin', 'xclass.js');

/** The folders tempDir made in this test file (each file runs in its own module graph). */
const madeDirs: string[] = [];

/** A fresh folder in the temporary directory (`root`), removed after the test file (tests/setup.ts). */
export function tempDir(prefix = 'xclass-test-', root = tmpdir()): string {
  const dir = mkdtempSync(join(root, prefix));
  madeDirs.push(dir);
  return dir;
}

/**
 * Removes every folder tempDir made, after the file's own afterAll hooks have stopped its
 * servers and children (tests/setup.ts registers this first, and vitest runs after-hooks
 * in reverse order). XCLASS_KEEP_TEST_DIRS=1 keeps them for a look.
 */
export function removeTempDirs(): void {
  if (process.env['XCLASS_KEEP_TEST_DIRS'] === '1') return;
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (dist/ must exist: `make test` builds first). */
export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ not built: run `npm run build` (make test does)');
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The last line of a `--json` command's output (after its progress events): the result object. */
export function lastJsonLine(out: string): unknown {
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

export function spawnCli(args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Artifact directories in a store: `<stage>/<id>` for every stage folder. */
export function artifactDirs(store: string): string[] {
  if (!existsSync(store)) return [];
  return readdirSync(store)
    .filter((d) => !d.startsWith('_'))
    .flatMap((stage) => readdirSync(join(store, stage)).map((id) => `${stage}/${id}`));
}
