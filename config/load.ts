import { readFileSync } from 'node:fs';
import { firstIssue } from '../schemas/issues.js';
import { join, resolve } from 'node:path';
import { ConfigSchema, type XClassConfig } from './schema.js';
import { packageRoot } from './paths.js';

/** A configuration problem: one line naming the key and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export type Tree = { [key: string]: unknown };

function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.json');
}

/**
 * Default config, then a --config FILE deep-merged over it, then each --set key=value
 * (value read as JSON when it parses, else as a string). Unknown keys are errors, so a
 * typo never silently does nothing.
 */
export function loadConfig(opts: { file?: string; sets?: readonly string[] } = {}): XClassConfig {
  const base = readJson(defaultConfigPath()) as Tree;
  let merged: Tree = base;
  if (opts.file) {
    const overlay = readJson(resolve(opts.file));
    if (!isTree(overlay)) throw new ConfigError(`config ${opts.file}: expected a JSON object at the top level`);
    merged = deepMerge(base, overlay, '', opts.file);
  }
  for (const assignment of opts.sets ?? []) merged = applySet(merged, assignment);
  return validateConfig(merged, opts.file ?? 'config');
}

function validateConfig(raw: unknown, source: string): XClassConfig {
  const parsed = ConfigSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = firstIssue(parsed.error);
  throw new ConfigError(
    `${source}: key '${issue.key}': ${issue.message}, got ${JSON.stringify(valueAt(raw, issue.path))}`,
  );
}

function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = tree;
  for (const k of path) cur = isTree(cur) ? cur[String(k)] : undefined;
  return cur;
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config ${path}: not valid JSON (${(err as Error).message})`);
  }
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps whose keys are data (e.g. the label map) accept new keys; everything else is closed. */
const OPEN_MAPS = new Set(['labels.map', 'model.stage1_groups', 'ablations', 'fetch.services']);

export function deepMerge(base: Tree, overlay: Tree, prefix: string, source: string): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    const key = prefix ? `${prefix}.${k}` : k;
    // inside an ablation's overlay any key of the config may be added (its keys are checked when the branch is planned)
    if (!(k in base) && !OPEN_MAPS.has(prefix) && !prefix.startsWith('ablations.'))
      throw new ConfigError(`${source}: unknown key '${key}'`);
    const b = base[k];
    out[k] = isTree(b) && isTree(v) ? deepMerge(b, v, key, source) : v;
  }
  return out;
}

function applySet(tree: Tree, assignment: string): Tree {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set ${assignment}: expected key=value`);
  const key = assignment.slice(0, eq).trim();
  const text = assignment.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = text;
  }
  const path = key.split('.');
  let overlay: Tree = {};
  const root = overlay;
  for (let i = 0; i < path.length - 1; i++) {
    const next: Tree = {};
    overlay[path[i]!] = next;
    overlay = next;
  }
  overlay[path[path.length - 1]!] = value;
  return deepMerge(tree, root, '', `--set ${key}`);
}
