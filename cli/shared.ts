import type { ArtifactStore } from '../artifacts/store.js';
import { loadConfig } from '../config/load.js';
import type { XClassConfig } from '../config/schema.js';
import { InputError } from '../lib/errors.js';
import { SUMS_FILE } from '../config/data-integrity.js';
import { writeDurably, writeFileOnceWith } from '../artifacts/store.js';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { defaultDataDir, packageRoot } from '../config/paths.js';
import { sha256Hex } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';

export interface GlobalOpts {
  config?: string;
  set: string[];
  json?: boolean;
}

export const collect = (v: string, acc: string[]) => [...acc, v];

export function configFrom(opts: GlobalOpts, extra: string[] = []): XClassConfig {
  return loadConfig({ ...(opts.config ? { file: opts.config } : {}), sets: [...opts.set, ...extra] });
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A damaged artifact or run record met by a reader: named in one line, and the reader goes on. */
export function warnSkipped(d: { path: string; reason: string }): void {
  process.stderr.write(`xclass: warning: skipped ${d.path}: ${d.reason}\n`);
}

const outExists = (outPath: string) =>
  new InputError({ file: outPath }, 'file exists; pass --force to replace it, or choose another --out');

/**
 * `--out` never replaces a file unless --force, and never a file it was made from: each
 * input (table, catalogs, mapping files) is compared by real path (a symlinked folder
 * or file reaches the same place) and, when both exist, by device and inode (a hard
 * link).
 */
export async function checkOutPath(outPath: string, force: boolean, inputs: readonly string[] = []): Promise<void> {
  const outReal = await realPathOf(outPath);
  const outStat = await stat(outPath).catch(() => null);
  for (const input of inputs) {
    const inStat = await stat(input).catch(() => null);
    const same =
      (await realPathOf(input)) === outReal ||
      (outStat !== null && inStat !== null && outStat.dev === inStat.dev && outStat.ino === inStat.ino);
    if (same)
      throw new InputError({ file: outPath }, `refusing to write over an input (${input}); choose another --out`);
  }
  if (existsSync(outPath) && !force) throw outExists(outPath);
}

/** A path's real path; for a file not yet there, its folder's real path and its name. */
async function realPathOf(path: string): Promise<string> {
  const full = resolve(path);
  const real = await realpath(full).catch(() => undefined);
  if (real !== undefined) return real;
  return join(await realpath(dirname(full)).catch(() => dirname(full)), basename(full));
}

export async function writeOut(outPath: string, content: string | Uint8Array, force: boolean): Promise<void> {
  await writeOutWith(outPath, (tmp) => writeDurably(tmp, content), force);
}

/** writeOut for a file written by `write` (into a new temporary path beside it, which it creates and syncs). */
export async function writeOutWith(
  outPath: string,
  write: (tmp: string) => Promise<void>,
  force: boolean,
): Promise<void> {
  await mkdir(dirname(outPath), { recursive: true });
  try {
    await writeFileOnceWith(outPath, write, { overwrite: force });
  } catch (err) {
    // a file that appeared after checkOutPath is still never replaced
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw outExists(outPath);
    throw err;
  }
}

/**
 * `xclass --version`: the package version, the code's git commit (what artifacts record
 * as code_version) and the data folder with the SHA-256 of its SHA256SUMS file, the
 * digest of every reference file a result can depend on.
 */
export function versionLine(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
  const dir = defaultDataDir();
  let sums: string;
  try {
    sums = `${SUMS_FILE} sha256 ${sha256Hex(readFileSync(join(dir, SUMS_FILE)))}`;
  } catch {
    sums = `no ${SUMS_FILE}`;
  }
  return `xclass ${pkg.version} (code ${codeVersion() ?? 'unknown: not a git checkout'}); data ${dir} (${sums})`;
}

/** The `xclass` command. Returns the exit code. */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** What a command gets besides the program: the store of the global options, and where it sets the exit code. */
export interface CliContext {
  storeOfOpts(): { g: GlobalOpts; config: XClassConfig; store: ArtifactStore };
  exitCode: number;
}
