import { canonicalJson } from '../lib/canonical.js';
import type { StageName } from '../schemas/step.js';
import type { StageContexts, StageInputs, StageParams } from '../activities/contract.js';
import type { Dag, StepSpec } from './dag.js';

/** A declared step: what later steps name as an input. Its stage is part of its type. */
export interface StepHandle<S extends StageName> {
  readonly key: string;
  readonly stage: S;
  /** the ablation whose settings the step was declared with (a step shared with the baseline is the baseline's: none) */
  readonly variant?: string;
}

/** The handles a stage's input roles take: each role's producing stage is checked by the compiler. */
export type InputHandles<S extends StageName> = {
  [R in keyof StageInputs[S]]: StepHandle<StageInputs[S][R] & StageName>;
};

/** A stage that needs machine facts (a file's path, the data folder) must be given them. */
type ContextArg<S extends StageName> = string extends keyof StageContexts[S]
  ? { context?: undefined }
  : { context: StageContexts[S] };

export type StepDeclaration<S extends StageName> = {
  key: string;
  stage: S;
  params: StageParams[S];
  inputs: InputHandles<S>;
  /** the branch (child workflow) the step runs in */
  branch?: string;
  /** the ablation whose settings it uses */
  variant?: string;
} & ContextArg<S>;

/**
 * Declares a pipeline step by step. Params and input roles are checked at compile time
 * against the stage contracts (activities/contract.ts, derived from the stage declarations): a step wired with an input of the wrong
 * stage, a missing or unknown role, or params of another stage does not compile.
 *
 * A step that another step already declares with the same stage, params and inputs is
 * declared once: the second declaration returns the first one's handle. So an ablation
 * that changes only the model reuses the baseline's SED and features in the same run.
 */
export class DagBuilder {
  private readonly steps: StepSpec[] = [];
  private readonly bySignature = new Map<string, { key: string; variant?: string }>();

  constructor(private readonly name: string) {}

  step<S extends StageName>(decl: StepDeclaration<S>): StepHandle<S> {
    const inputs: Record<string, string> = {};
    for (const [role, handle] of Object.entries(decl.inputs as Record<string, StepHandle<StageName> | undefined>))
      if (handle) inputs[role] = handle.key;
    const signature = canonicalJson({ stage: decl.stage, params: decl.params, inputs });
    const existing = this.bySignature.get(signature);
    if (existing !== undefined) return { ...existing, stage: decl.stage };
    const handle = { key: decl.key, stage: decl.stage, ...(decl.variant ? { variant: decl.variant } : {}) };
    this.bySignature.set(signature, handle);
    this.steps.push({
      key: decl.key,
      stage: decl.stage,
      params: decl.params as unknown as Record<string, unknown>,
      inputs,
      ...(decl.context ? { context: decl.context as unknown as Record<string, unknown> } : {}),
      ...(decl.branch ? { branch: decl.branch } : {}),
      ...(decl.variant ? { variant: decl.variant } : {}),
    });
    return handle;
  }

  /** A handle to an artifact made outside this DAG (a trained model), given to the scheduler as `external`. */
  external<S extends StageName>(key: string, stage: S): StepHandle<S> {
    return { key, stage };
  }

  build(): Dag {
    return { name: this.name, steps: [...this.steps] };
  }
}
