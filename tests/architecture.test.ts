import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from './helpers.js';

/**
 * The layer rules of README "Layout", as code: imports go one way through the folders,
 * `lib/` and `workflows/` import nothing from Node, `lib/` takes only types from
 * `schemas/`, and no file imports itself back through others.
 */

/** Folders from the bottom up: a file may import from its own folder and those below it. */
const LAYERS = ['schemas', 'lib', 'config', 'artifacts', 'activities', 'workflows', 'engine', 'report', 'cli'] as const;
type Layer = (typeof LAYERS)[number];

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    return statSync(join(ROOT, rel)).isDirectory() ? sourceFiles(rel) : rel.endsWith('.ts') ? [rel] : [];
  });
}

const FILES = LAYERS.flatMap((l) => sourceFiles(l));

/** Every relative import and re-export of a file (static `import`/`export ... from`, and `import('...')`). */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: Import[] = [];
  const target = (spec: string) => relative(ROOT, resolve(dirname(join(ROOT, file)), spec)).replace(/\.js$/, '.ts');
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?'(\.[^']+)'/gm))
    out.push({ from: file, to: target(m[2]!), typeOnly: m[1] !== undefined });
  for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g))
    out.push({ from: file, to: target(m[1]!), typeOnly: false });
  return out;
}

const IMPORTS = FILES.flatMap(importsOf);
const layerOf = (file: string) => file.split('/')[0] as Layer;
const rank = (file: string) => LAYERS.indexOf(layerOf(file));

describe('architecture', () => {
  test('the import scan sees the tree (a rule over nothing proves nothing)', () => {
    expect(FILES.length).toBeGreaterThan(100);
    expect(IMPORTS.length).toBeGreaterThan(500);
    for (const i of IMPORTS) expect(FILES, `${i.from} imports ${i.to}, which is not a source file`).toContain(i.to);
  });

  test('imports go down the layers: schemas < lib < config < artifacts < activities < workflows < engine < report < cli', () => {
    const upward = IMPORTS.filter((i) => rank(i.to) > rank(i.from)).map(
      (i) => `${i.from} -> ${i.to}${i.typeOnly ? ' (type)' : ''}`,
    );
    expect(upward).toEqual([]);
  });

  test('lib/ is the science: only types from schemas/, nothing else of the project, no Node', () => {
    const bad = IMPORTS.filter(
      (i) => layerOf(i.from) === 'lib' && layerOf(i.to) !== 'lib' && !(layerOf(i.to) === 'schemas' && i.typeOnly),
    );
    expect(bad.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  test('lib/ and workflows/ import nothing from Node (the workflow bundle runs in a sandbox)', () => {
    const node = FILES.filter(
      (f) =>
        /^(lib|workflows)\//.test(f) &&
        /(from\s+|import\()\s*'node:|require\(/.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(node).toEqual([]);
  });

  test('workflows/ takes at run time only workflows, schemas and lib (types from activities at most)', () => {
    const bad = IMPORTS.filter(
      (i) => layerOf(i.from) === 'workflows' && !i.typeOnly && !['workflows', 'schemas', 'lib'].includes(layerOf(i.to)),
    );
    expect(bad.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  test('step keys and input roles are not re-parsed from strings (a step handle knows its variant; roles go through schemas/protocols.ts)', () => {
    const parse =
      /\.(?:key|role)\.(?:startsWith|endsWith|split|slice|match)\(|(?:startsWith|endsWith)\(\s*['`](?:deployment|blind|paper|cv\/|ablation\/|xray\/|final\/)/;
    const found = FILES.filter((f) => !f.startsWith('schemas/')).flatMap((f) =>
      readFileSync(join(ROOT, f), 'utf8')
        .split('\n')
        .flatMap((line, k) => (parse.test(line) ? [`${f}:${k + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });

  test('the table registry, built from what the stages declare, holds every table schemas/ defines', async () => {
    const { TABLES } = await import('../activities/registry.js');
    const defined = FILES.filter((f) => f.startsWith('schemas/')).flatMap((f) =>
      [...readFileSync(join(ROOT, f), 'utf8').matchAll(/defineTable\(\s*'([a-z_]+)'/g)].map((m) => m[1]!),
    );
    expect(defined.length).toBeGreaterThan(30);
    expect(defined.filter((t) => !(t in TABLES))).toEqual([]);
  });

  test('no stage file imports another (the helpers they share live outside the stage files)', async () => {
    const { STAGE_NAMES } = await import('../schemas/step.js');
    // classify_zone is declared in activities/classify.ts, beside the classify step that merges its zones
    const stageFiles = new Set(STAGE_NAMES.map((n) => `activities/${n === 'classify_zone' ? 'classify' : n}.ts`));
    const bad = IMPORTS.filter((i) => stageFiles.has(i.from) && stageFiles.has(i.to));
    expect(STAGE_NAMES).toHaveLength(13);
    expect(stageFiles.size).toBe(12);
    expect(bad.map((i) => `${i.from} -> ${i.to}`)).toEqual([]);
  });

  test('no import circles (Tarjan: every strongly connected component is one file)', () => {
    const next = new Map<string, string[]>(FILES.map((f) => [f, []]));
    for (const i of IMPORTS) next.get(i.from)!.push(i.to);
    let counter = 0;
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Set<string>();
    const circles: string[][] = [];
    const visit = (v: string): void => {
      index.set(v, counter);
      low.set(v, counter++);
      stack.push(v);
      onStack.add(v);
      for (const w of next.get(v)!) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        if (component.length > 1) circles.push(component.sort());
      }
    };
    for (const f of FILES) if (!index.has(f)) visit(f);
    expect(circles).toEqual([]);
  });
});
