/**
 * The pipeline as data: a DAG of steps. Imported by Temporal workflow code, so this
 * file (like everything under workflows/) imports nothing from Node.
 */

import type { ArtifactRef, StepRecord } from '../schemas/step.js';

/** One step: run `stage` with `params` on the outputs of other steps. */
export interface StepSpec {
  /** unique within the DAG, e.g. `ingest` or `cv/fold-1/train` (workflows/keys.ts makes them) */
  key: string;
  stage: string;
  /** part of the artifact's identity */
  params: Record<string, unknown>;
  /** input role -> key of the step that produces it */
  inputs: Record<string, string>;
  /** facts that help the step find things but do not change its output (file locations) */
  context?: Record<string, unknown>;
  /** the branch (a Temporal child workflow) the step runs in; absent: the parent workflow */
  branch?: string;
  /** the ablation whose settings the step uses; absent: the baseline or a shared step */
  variant?: string;
}

export interface Dag {
  name: string;
  steps: StepSpec[];
}

export interface DagResult {
  dag: string;
  ok: boolean;
  steps: StepRecord[];
}

export type DagEvent = { type: 'start' | 'done' | 'failed' | 'skipped'; step: StepRecord; done: number; total: number };

/** `branch#step` names an output of a step inside a branch; a plain key names a step. */
export function depStep(dep: string): string {
  const hash = dep.indexOf('#');
  return hash < 0 ? dep : dep.slice(0, hash);
}

/**
 * Checks keys are unique, every input names a step (or an `external` artifact), and
 * there is no cycle. Returns a topological order.
 */
export function validateDag(dag: Dag, external: Record<string, ArtifactRef> = {}): string[] {
  const byKey = new Map<string, StepSpec>();
  for (const s of dag.steps) {
    if (byKey.has(s.key)) throw new Error(`DAG ${dag.name}: step key '${s.key}' is used twice`);
    byKey.set(s.key, s);
  }
  for (const s of dag.steps) {
    for (const [role, dep] of Object.entries(s.inputs)) {
      if (!byKey.has(depStep(dep)) && !(dep in external))
        throw new Error(`DAG ${dag.name}: step '${s.key}' input '${role}' names unknown step '${dep}'`);
    }
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (key: string, trail: string[]): void => {
    const st = state.get(key);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`DAG ${dag.name}: cycle ${[...trail, key].join(' -> ')}`);
    state.set(key, 'visiting');
    for (const dep of Object.values(byKey.get(key)!.inputs))
      if (byKey.has(depStep(dep))) visit(depStep(dep), [...trail, key]);
    state.set(key, 'done');
    order.push(key);
  };
  for (const s of dag.steps) visit(s.key, []);
  return order;
}

/** The innermost message of an error chain (Temporal wraps activity errors in ActivityFailure). */
export function errorMessage(err: unknown): string {
  let cur: unknown = err;
  let msg = String(err);
  for (let depth = 0; depth < 10 && cur instanceof Error; depth++) {
    if (cur.message) msg = cur.message;
    cur = (cur as Error & { cause?: unknown }).cause;
  }
  return msg;
}

/** The stage name of a branch node: the step runs a whole sub-DAG (a Temporal child workflow). */
export const BRANCH_STAGE = '@branch';

/**
 * Splits a DAG into a parent whose branches (CV folds, ablations) are single nodes, and
 * each branch's own DAG. A branch node's inputs are the steps outside it that its steps
 * read; a parent step that reads a step inside a branch names it `branch#step`.
 */
export function splitBranches(dag: Dag): { parent: Dag; branches: Record<string, Dag> } {
  const branches: Record<string, StepSpec[]> = {};
  const branchOfKey = new Map<string, string>();
  for (const s of dag.steps) {
    if (!s.branch) continue;
    (branches[s.branch] ??= []).push(s);
    branchOfKey.set(s.key, s.branch);
  }
  const branchOf = (key: string) => branchOfKey.get(key) ?? null;
  const parentSteps: StepSpec[] = [];
  const emitted = new Set<string>();
  for (const s of dag.steps) {
    const b = s.branch ?? null;
    const rewrite = (inputs: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(inputs).map(([role, dep]) => {
          const db = branchOf(dep);
          return [role, db && db !== b ? `${db}#${dep}` : dep];
        }),
      );
    if (!b) {
      parentSteps.push({ ...s, inputs: rewrite(s.inputs) });
      continue;
    }
    if (emitted.has(b)) continue;
    emitted.add(b);
    const inner = new Set(branches[b]!.map((x) => x.key));
    const external: Record<string, string> = {};
    for (const x of branches[b]!)
      for (const dep of Object.values(x.inputs))
        if (!inner.has(dep)) external[dep] = branchOf(dep) ? `${branchOf(dep)}#${dep}` : dep;
    parentSteps.push({ key: b, stage: BRANCH_STAGE, params: { branch: b }, inputs: external });
  }
  return {
    parent: { name: dag.name, steps: parentSteps },
    branches: Object.fromEntries(
      Object.entries(branches).map(([b, steps]) => [b, { name: `${dag.name}/${b}`, steps }]),
    ),
  };
}
