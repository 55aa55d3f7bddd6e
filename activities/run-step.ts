import { performance } from 'node:perf_hooks';
import { artifactId } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';
import type { ArtifactStore } from '../artifacts/store.js';
import { InputError } from '../lib/errors.js';
import type { StepOutcome, StepRequest } from '../workflows/dag.js';
import { STAGES } from './registry.js';

export type ProgressFn = (done: number, total: number, note?: string) => void;

/**
 * Runs one pipeline step: the activity both engines call. Idempotent: the output id
 * is computed from the stage, its version, the params and the input ids before any
 * work; if that artifact exists the step is a cache hit and nothing is recomputed.
 */
export async function runStep(store: ArtifactStore, req: StepRequest, progress: ProgressFn = () => {}): Promise<StepOutcome> {
  const stage = STAGES[req.stage];
  if (!stage) throw new Error(`step ${req.key}: unknown stage '${req.stage}' (known: ${Object.keys(STAGES).join(', ')})`);
  const parsed = stage.params.safeParse(req.params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError({ file: `params of step ${req.key}`, column: issue.path.join('.') }, issue.message);
  }
  const params = parsed.data;
  const roles = Object.keys(req.inputs).sort();
  const expected = stage.inputs;
  if (expected instanceof RegExp) {
    if (!roles.every((r) => expected.test(r))) throw new Error(`step ${req.key}: stage ${stage.name} takes inputs named ${expected}, got [${roles.join(', ')}]`);
  } else if (roles.join(',') !== [...expected].sort().join(',')) throw new Error(`step ${req.key}: stage ${stage.name} takes inputs [${[...expected].sort().join(', ')}], got [${roles.join(', ')}]`);
  const inputIds = Object.fromEntries(roles.map((r) => [r, req.inputs[r]!.id]));
  const id = artifactId(stage.name, stage.version, params, inputIds);
  // a cache hit is an artifact whose files still match their recorded sizes and checksums;
  // a damaged one is quarantined (never deleted) and recomputed under the same id
  const found = await store.check(stage.name, id);
  if (found.state === 'ok') return { artifactId: id, cacheHit: true, wallMs: 0 };
  if (found.state === 'damaged') await store.quarantineWithWarning(stage.name, id, found);

  const t0 = performance.now();
  const out = await stage.run({ store, inputs: req.inputs, context: req.context, progress }, params);
  const wallMs = performance.now() - t0;
  await store.write(
    {
      id,
      stage: stage.name,
      stage_version: stage.version,
      schema: out.table.name,
      params: JSON.parse(JSON.stringify(params)) as Record<string, unknown>,
      inputs: inputIds,
      raw_files: out.rawFiles ?? [],
      code_version: codeVersion(),
      wall_ms: Math.round(wallMs),
      notes: JSON.parse(JSON.stringify({ ...(out.notes ?? {}), context: req.context })) as Record<string, unknown>,
    },
    { table: out.table, rows: out.rows, ...(out.extraTables ? { extraTables: out.extraTables } : {}), ...(out.extraFiles ? { extraFiles: out.extraFiles } : {}) },
  );
  return { artifactId: id, cacheHit: false, wallMs };
}
