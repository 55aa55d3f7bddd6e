import type { z } from 'zod';
import type { ArtifactStore, SelectPayload, TablePayload } from '../artifacts/store.js';
import type { TableSchema } from '../schemas/table.js';
import type { RawFileRef } from '../schemas/artifact.js';
import type { TreeGrower } from '../lib/forest/grow-batch.js';
import type { DrawPredictMany } from '../lib/classify/targets.js';
import type { StageName } from '../schemas/step.js';

/**
 * Lets timers run between chunks of synchronous work on the main thread: Temporal's
 * heartbeat is a timer, and a step that computes for seconds without yielding is taken
 * for a dead worker once the heartbeat timeout passes.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The engine's worker threads as a stage sees them: lib's tree growing (with predictions,
 * translations and OOD scores), and classify's Monte-Carlo draws through its model,
 * summarised per target (engine/tree-pool.ts).
 */
export interface EngineThreads extends TreeGrower {
  drawPredictTargets?: DrawPredictMany;
}

/** Progress of one step: the Temporal worker turns it into a heartbeat. */
export type ProgressFn = (done: number, total: number, note?: string) => void;

/** What a stage sees while it runs: its input artifacts by role, typed by its declaration. */
export interface StageContext<Refs, Context> {
  store: ArtifactStore;
  inputs: Refs;
  /** non-identity facts from the DAG, e.g. where a raw file is on this machine */
  context: Context;
  progress: ProgressFn;
  /** worker threads that grow a forest's trees, handed over by the engine; absent: this thread */
  trees?: EngineThreads;
  /** a folder of the store's temporary area for this step's own files (made on the first call), removed once its artifact is written */
  scratch: () => Promise<string>;
}

/** The main table (`data.parquet`) and side tables (`<name>.parquet`): rows, or a SELECT over Parquet files (artifacts/store.ts SelectPayload). */
export type StageOutput = (TablePayload | SelectPayload) & {
  extraTables?: Record<string, TablePayload | SelectPayload>;
  extraFiles?: Record<string, Uint8Array>;
  rawFiles?: RawFileRef[];
  /** counts and details for audits (meta.json `notes`) */
  notes?: Record<string, unknown>;
  /** what later stages rely on (meta.json `facts`), checked against the stage's `facts` schema */
  facts?: Record<string, unknown>;
};

/** One input role: the stages whose artifacts may fill it. */
export interface RoleSpec {
  readonly from: readonly StageName[];
  readonly optional?: true;
}

/**
 * Roles named by a pattern (one per catalog, one per protocol and held-out part): the
 * run-time pattern, the stage that fills them, and (`role`, a type only) the template type
 * of their names, which `rolePattern` sets.
 */
export interface PatternSpec<Role extends string = string, From extends StageName = StageName> {
  readonly re: RegExp;
  readonly from: From;
  readonly role?: Role;
}

/** A pattern of roles whose names have the template type `Role` (`catalog_${number}`). */
export function rolePattern<Role extends string>(re: RegExp): { re: RegExp; role?: Role } {
  return { re };
}

/**
 * The input roles a stage accepts: each named role with the stages that may fill it, and
 * for stages that take one input per catalog or fold, the pattern of those roles. It is
 * both the compile-time contract (StageInputs in contract.ts is derived from it) and the
 * run-time guard of a step that arrives as data (a Temporal history, a worker thread).
 */
export interface InputSpec<
  Roles extends Record<string, RoleSpec> = Record<string, RoleSpec>,
  Pattern = PatternSpec | undefined,
> {
  roles: Roles;
  pattern?: Pattern;
}

/** A stored artifact of one of the given stages. */
type RefOf<S extends string> = { stage: S; id: string };

/** The artifacts filling a stage's roles: a required role always, an optional or a pattern role maybe. */
export type InputRefsOf<Roles extends Record<string, RoleSpec>, Pattern> = {
  [R in keyof Roles as Roles[R]['optional'] extends true ? never : R]: RefOf<Roles[R]['from'][number]>;
} & {
  [R in keyof Roles as Roles[R]['optional'] extends true ? R : never]?: RefOf<Roles[R]['from'][number]>;
} & PatternRoles<Pattern, 'ref'>;

/**
 * The roles of a pattern: one per catalog (`catalog_${number}`, any number of them, each
 * present when named) or one per member of a finite union (`deployment_fold_0`..., each optional).
 */
type PatternRoles<Pattern, Kind extends 'ref' | 'stage'> = [Pattern] extends [never]
  ? unknown
  : Pattern extends {
        role?: infer Role extends string;
        from: infer From extends StageName;
      }
    ? {} extends Record<Role, unknown>
      ? { [R in Role]: Kind extends 'ref' ? RefOf<From> : From }
      : { [R in Role]?: Kind extends 'ref' ? RefOf<From> : From }
    : unknown;

/** The stages filling each role (the builder's contract): optional roles and pattern roles optional. */
export type InputStagesOf<Roles extends Record<string, RoleSpec>, Pattern> = {
  [R in keyof Roles as Roles[R]['optional'] extends true ? never : R]: Roles[R]['from'][number];
} & {
  [R in keyof Roles as Roles[R]['optional'] extends true ? R : never]?: Roles[R]['from'][number];
} & PatternRoles<Pattern, 'stage'>;

/**
 * A pipeline stage, declared once: its name, its version (bumped by hand whenever the
 * code changes the stage's output, so cached artifacts made by older code are not
 * reused), its params, input roles, context and facts, the tables it writes, and what it
 * does. The types the workflows, the builder and the engines use (StageParams,
 * StageInputs, StageContexts, the activity maps: activities/contract.ts) are derived from
 * these declarations, and the table registry (activities/registry.ts) from their tables.
 */
export interface StageDef<
  N extends StageName = StageName,
  P extends z.ZodType = z.ZodType,
  Roles extends Record<string, RoleSpec> = Record<string, RoleSpec>,
  Pattern = PatternSpec | undefined,
  C extends z.ZodType = z.ZodType,
> {
  name: N;
  version: number;
  params: P;
  inputs: InputSpec<Roles, Pattern>;
  context: C;
  /** the facts every artifact of this stage carries (schemas/facts.ts); absent: none */
  facts?: z.ZodType;
  /** every table it may write: `data` (data.parquet) and the side tables by name */
  tables: { data: TableSchema } & Record<string, TableSchema>;
  run(ctx: StageContext<InputRefsOf<Roles, Pattern>, z.infer<C>>, params: z.infer<P>): Promise<StageOutput>;
}

export function defineStage<
  const N extends StageName,
  P extends z.ZodType,
  const Roles extends Record<string, RoleSpec>,
  const Pattern extends PatternSpec | undefined = undefined,
  C extends z.ZodType = z.ZodType,
>(def: StageDef<N, P, Roles, Pattern, C>): StageDef<N, P, Roles, Pattern, C> {
  return def;
}

/** Any stage's declaration, as the registry and the engines hold them. */
export type AnyStageDef = StageDef<StageName, z.ZodType, Record<string, RoleSpec>, PatternSpec | undefined, z.ZodType>;

/** The wiring errors of a step's inputs against its stage's spec (empty when it fits). */
export function inputProblems(spec: InputSpec, inputs: Record<string, { stage: string }>): string[] {
  const problems: string[] = [];
  for (const [role, r] of Object.entries(spec.roles))
    if (!r.optional && !(role in inputs)) problems.push(`input '${role}' missing`);
  for (const [role, ref] of Object.entries(inputs)) {
    const from = spec.roles[role]?.from ?? (spec.pattern?.re.test(role) ? [spec.pattern.from] : null);
    if (from === null) problems.push(`unexpected input '${role}'`);
    else if (!from.includes(ref.stage as StageName))
      problems.push(`input '${role}' is a ${ref.stage} artifact, expected ${from.join(' or ')}`);
  }
  return problems;
}
