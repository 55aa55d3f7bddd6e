/**
 * The step contract, derived from the stage declarations (activities/<stage>.ts through
 * activities/registry.ts): what each stage takes and gives, as the workflows (which wire
 * and call it), the builder and the engines see it. Types only: the Temporal workflow
 * bundle imports this file, and every import here is erased.
 */
import type { z } from 'zod';
import type { STAGES } from './registry.js';
import type { InputRefsOf, InputStagesOf } from './stage.js';
import type { ArtifactRef, StageName, StepOutcome, StepRequest } from '../schemas/step.js';

type Stages = typeof STAGES;
type Declared<S extends StageName> = Stages[S];
type RolesOf<S extends StageName> = Declared<S>['inputs']['roles'];
type PatternOf<S extends StageName> = Exclude<Declared<S>['inputs']['pattern'], undefined>;

/** The params of each stage: part of the artifact's identity (its zod schema in schemas/). */
export type StageParams = { [S in StageName]: z.infer<Declared<S>['params']> };

/** The inputs of each stage: input role -> the stage whose artifact fills it (optional and pattern roles optional). */
export type StageInputs = { [S in StageName]: InputStagesOf<RolesOf<S>, PatternOf<S>> };

/**
 * Facts a stage needs to find things on this machine that do not change its output
 * (where a raw file or the data folder is): never part of the artifact's identity.
 */
export type StageContexts = { [S in StageName]: z.infer<Declared<S>['context']> };

/** The artifacts filling a stage's input roles. */
export type StageInputRefs<S extends StageName> = InputRefsOf<RolesOf<S>, PatternOf<S>>;

/** What a stage activity is told about the step it runs (not part of the output's identity). */
export interface StepInfo<S extends StageName = StageName> {
  /** the step's key in the DAG, e.g. `cv/fold-1/train` */
  key: string;
  context: StageContexts[S];
}

/** One stage as an activity: typed params and input artifacts in, the output artifact out. */
export type StageActivity<S extends StageName> = (
  params: StageParams[S],
  inputs: StageInputRefs<S>,
  step: StepInfo<S>,
) => Promise<StepOutcome>;

/** The activities a worker registers, one per stage, each under the stage's name. */
export type StageActivities = { [S in StageName]: StageActivity<S> };

export type { ArtifactRef, StepRequest };
