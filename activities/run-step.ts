import { promises as fs } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { firstIssue, issueLine } from '../schemas/issues.js';
import { artifactId } from '../artifacts/hash.js';
import { codeVersion } from '../artifacts/code-version.js';
import { mainTable, type ArtifactStore } from '../artifacts/store.js';
import { InputError } from '../lib/errors.js';
import { callStage, STAGE_NAMES, type StepOutcome, type StepRequest } from '../schemas/step.js';
import type { StageActivities } from './contract.js';
import { stageDef } from './registry.js';
import { inputProblems, type AnyStageDef, type EngineThreads, type ProgressFn, type StageOutput } from './stage.js';

/**
 * Runs one stage on one step: the body of every stage activity, on either engine.
 * Idempotent: the output id is computed from the stage, its version, the params and the
 * input ids before any work; if that artifact exists the step is a cache hit and nothing
 * is recomputed. Params, inputs and context arrive as data (a Temporal history, a worker
 * thread), so each is checked against the stage's contract first.
 */
async function runStage(
  store: ArtifactStore,
  stage: AnyStageDef,
  rawParams: unknown,
  rawInputs: Record<string, { stage: string; id: string } | undefined>,
  step: { key: string; context: unknown },
  env: { progress: ProgressFn; trees?: EngineThreads },
): Promise<StepOutcome> {
  const parsed = stage.params.safeParse(rawParams);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    throw new InputError({ file: `params of step ${step.key}`, column: issue.key }, issue.message);
  }
  const params = parsed.data;
  const inputs = rawInputs as Record<string, { stage: string; id: string }>;
  const problems = inputProblems(stage.inputs, inputs);
  if (problems.length > 0) throw new Error(`step ${step.key}: stage ${stage.name}: ${problems.join('; ')}`);
  const context = stage.context.safeParse(step.context);
  if (!context.success) throw new Error(`step ${step.key}: stage ${stage.name} context ${issueLine(context.error)}`);
  const roles = Object.keys(inputs).sort();
  const inputIds = Object.fromEntries(roles.map((r) => [r, inputs[r]!.id]));
  const id = artifactId(stage.name, stage.version, params, inputIds);
  // a cache hit is an artifact whose files still match their recorded sizes and checksums;
  // a damaged one is quarantined (never deleted) and recomputed under the same id
  const found = await store.check(stage.name, id);
  if (found.state === 'ok') return { artifactId: id, cacheHit: true, wallMs: 0 };
  if (found.state === 'damaged') await store.quarantineWithWarning(stage.name, id, found);

  const t0 = performance.now();
  // the roles were checked against the declaration just above (inputProblems)
  const checked = inputs as Parameters<AnyStageDef['run']>[0]['inputs'];
  let scratch: Promise<string> | undefined;
  try {
    const out = await stage.run(
      {
        store,
        inputs: checked,
        context: context.data,
        ...env,
        scratch: () => (scratch ??= store.tempDir(stage.name, id)),
      },
      params,
    );
    const wallMs = performance.now() - t0;
    await writeOutput(store, stage, { id, params, inputIds, context: step.context, wallMs }, out);
    return { artifactId: id, cacheHit: false, wallMs };
  } finally {
    // the step's scratch files, which its artifact may have been written from
    if (scratch)
      await scratch.then(
        (dir) => fs.rm(dir, { recursive: true, force: true }),
        () => {},
      );
  }
}

/** A stage's output checked against its declaration and written as its artifact. */
async function writeOutput(
  store: ArtifactStore,
  stage: AnyStageDef,
  step: { id: string; params: unknown; inputIds: Record<string, string>; context: unknown; wallMs: number },
  out: StageOutput,
): Promise<void> {
  const { id, params, inputIds, wallMs } = step;
  // the tables written are the ones the stage declares (the registry is built from the declarations)
  const written: [string, unknown][] = [
    ['data', out.table],
    ...Object.entries(out.extraTables ?? {}).map(([n, t]) => [n, t.table] as [string, unknown]),
  ];
  for (const [name, table] of written)
    if (stage.tables[name] !== table)
      throw new Error(
        `stage ${stage.name} wrote table '${name}' that its declaration does not list with that schema (a bug in the stage)`,
      );
  if (stage.facts) {
    const facts = stage.facts.safeParse(out.facts);
    if (!facts.success) throw new Error(`stage ${stage.name}: facts ${issueLine(facts.error)} (a bug in the stage)`);
  } else if (out.facts)
    throw new Error(`stage ${stage.name} wrote facts but declares no facts schema (a bug in the stage)`);
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
      notes: JSON.parse(JSON.stringify({ ...(out.notes ?? {}), context: step.context })) as Record<string, unknown>,
      ...(out.facts ? { facts: JSON.parse(JSON.stringify(out.facts)) as Record<string, unknown> } : {}),
    },
    {
      ...mainTable(out),
      ...(out.extraTables ? { extraTables: out.extraTables } : {}),
      ...(out.extraFiles ? { extraFiles: out.extraFiles } : {}),
    },
  );
}

/** What an engine hands the stages besides the store. */
export interface StageEnvironment {
  /** a step's progress callback (a heartbeat on Temporal) */
  progressOf?: (key: string) => ProgressFn;
  /** the engine's tree-growing threads */
  trees?: EngineThreads;
}

/**
 * The stage activities on one store: each stage a function of its own name, as Temporal
 * registers them and the embedded engine calls them.
 */
export function stageActivities(store: ArtifactStore, env: StageEnvironment = {}): StageActivities {
  const activity =
    (stage: AnyStageDef) =>
    (
      params: unknown,
      inputs: Record<string, { stage: string; id: string } | undefined>,
      step: { key: string; context: unknown },
    ) =>
      runStage(store, stage, params, inputs, step, {
        progress: env.progressOf?.(step.key) ?? (() => {}),
        ...(env.trees ? { trees: env.trees } : {}),
      });
  // one activity per declared stage; the map's type (contract.ts) is derived from the same declarations
  return Object.fromEntries(STAGE_NAMES.map((name) => [name, activity(stageDef(name))])) as unknown as StageActivities;
}

/** Runs one step given as data: its stage's activity on this store. */
export function runStep(store: ArtifactStore, req: StepRequest, env: StageEnvironment = {}): Promise<StepOutcome> {
  return callStage(stageActivities(store, env), req);
}
