import type { ArtifactRef, StageName, StepOutcome, StepRecord, StepRequest } from '../schemas/step.js';
import { depStep, errorMessage, validateDag, type Dag, type DagEvent, type DagResult } from './dag.js';

export interface SchedulerOptions {
  /** most steps running at once */
  concurrency: number;
  onEvent?: (event: DagEvent) => void;
  /** injectable clock; Temporal's sandbox makes Date.now deterministic */
  now?: () => number;
  /** artifacts produced outside this DAG (a branch's inputs from its parent) */
  external?: Record<string, ArtifactRef>;
}

/**
 * Runs a DAG given a function that runs one step. Deterministic: ready steps start in
 * declaration order, each as soon as all its inputs exist, while fewer than
 * `concurrency` are running. A failed step marks every step that depends on it
 * `skipped`; steps on unrelated branches still run. The result lists every step, so a
 * run reports all its failures, not just the first.
 *
 * The same function drives the embedded engine and the Temporal workflow: only
 * `runStep` differs (a local call with retries, or a proxied activity).
 */
export function runDag(
  dag: Dag,
  runStep: (req: StepRequest) => Promise<StepOutcome>,
  opts: SchedulerOptions,
): Promise<DagResult> {
  const external = opts.external ?? {};
  validateDag(dag, external);
  const now = opts.now ?? (() => Date.now());
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const records = new Map<string, StepRecord>();
  for (const s of dag.steps) {
    records.set(s.key, {
      key: s.key,
      stage: s.stage,
      variant: s.variant ?? null,
      status: 'pending',
      artifactId: null,
      cacheHit: null,
      wallMs: null,
      startedAtMs: null,
      endedAtMs: null,
      error: null,
    });
  }
  const total = dag.steps.length;
  const outputs = new Map<string, Record<string, ArtifactRef>>();
  const inner = new Map<string, StepRecord[]>();
  const statusOf = (dep: string) => (dep in external ? 'done' : records.get(depStep(dep))!.status);
  const refOf = (dep: string): ArtifactRef => {
    if (dep in external) return external[dep]!;
    const hash = dep.indexOf('#');
    if (hash >= 0) return outputs.get(dep.slice(0, hash))![dep.slice(hash + 1)]!;
    const r = records.get(dep)!;
    return { stage: r.stage as StageName, id: r.artifactId! };
  };
  let running = 0;
  let finished = 0;

  const emit = (type: DagEvent['type'], rec: StepRecord) =>
    opts.onEvent?.({ type, step: { ...rec }, done: finished, total });

  return new Promise<DagResult>((resolve) => {
    const pump = (): void => {
      // propagate failures: a step whose input failed or was skipped can never run
      let changed = true;
      while (changed) {
        changed = false;
        for (const s of dag.steps) {
          const rec = records.get(s.key)!;
          if (rec.status !== 'pending') continue;
          const blocker = Object.values(s.inputs).find((dep) => {
            const st = statusOf(dep);
            return st === 'failed' || st === 'skipped';
          });
          if (blocker !== undefined) {
            rec.status = 'skipped';
            rec.error = `not run: input step '${depStep(blocker)}' ${statusOf(blocker)}`;
            finished++;
            emit('skipped', rec);
            changed = true;
          }
        }
      }
      for (const s of dag.steps) {
        if (running >= concurrency) break;
        const rec = records.get(s.key)!;
        if (rec.status !== 'pending') continue;
        const deps = Object.entries(s.inputs);
        if (!deps.every(([, dep]) => statusOf(dep) === 'done')) continue;
        const inputs: StepRequest['inputs'] = {};
        for (const [role, dep] of deps) inputs[role] = refOf(dep);
        rec.status = 'running';
        rec.startedAtMs = now();
        running++;
        emit('start', rec);
        let result: Promise<StepOutcome>;
        try {
          result = runStep({ key: s.key, stage: s.stage, params: s.params, inputs, context: s.context ?? {} });
        } catch (err) {
          result = Promise.reject(err);
        }
        result.then(
          (out) => {
            rec.status = 'done';
            rec.artifactId = out.artifactId;
            rec.cacheHit = out.cacheHit;
            rec.wallMs = out.wallMs;
            if (out.outputs) outputs.set(rec.key, out.outputs);
            if (out.inner) inner.set(rec.key, out.inner);
            settle(rec, 'done');
          },
          (err: unknown) => {
            rec.status = 'failed';
            rec.error = errorMessage(err);
            settle(rec, 'failed');
          },
        );
      }
      if (running === 0) {
        // a branch reports its inner steps in its place
        const steps = dag.steps.flatMap((s) => inner.get(s.key) ?? [{ ...records.get(s.key)! }]);
        resolve({ dag: dag.name, ok: steps.every((r) => r.status === 'done'), steps });
      }
    };
    const settle = (rec: StepRecord, type: 'done' | 'failed'): void => {
      rec.endedAtMs = now();
      running--;
      finished++;
      emit(type, rec);
      pump();
    };
    pump();
  });
}
