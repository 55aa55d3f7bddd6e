import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runDag } from '../../workflows/scheduler.js';
import { validateDag, type Dag } from '../../workflows/dag.js';
import type { StageName, StepOutcome, StepRequest } from '../../schemas/step.js';
import { runEmbedded } from '../../engine/embedded.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { InputError } from '../../lib/errors.js';
import { retryDelayMs } from '../../engine/retry.js';
import { tempDir } from '../helpers.js';

const step = (key: string, inputs: Record<string, string> = {}) => ({ key, stage: 'test', params: { key }, inputs });
const ok = (req: StepRequest): StepOutcome => ({ artifactId: `id-${req.key}`, cacheHit: false, wallMs: 0 });
const fastRetry = { initial_interval_ms: 1, backoff_coefficient: 2, maximum_interval_ms: 4, maximum_attempts: 3 };

/** A runner that records start/end order and the most steps seen running at once. */
function tracer(delayMs: Record<string, number> = {}, fail = new Set<string>()) {
  const log: string[] = [];
  let running = 0;
  let peak = 0;
  const run = async (req: StepRequest): Promise<StepOutcome> => {
    log.push(`start ${req.key}`);
    running++;
    peak = Math.max(peak, running);
    await sleep(delayMs[req.key] ?? 5);
    running--;
    log.push(`end ${req.key}`);
    if (fail.has(req.key)) throw new Error(`boom in ${req.key}`);
    return ok(req);
  };
  return { run, log, peak: () => peak };
}

describe('DAG scheduler', () => {
  it('runs a step only after all its inputs, and passes their artifact refs', async () => {
    const dag: Dag = { name: 't', steps: [step('c', { x: 'a', y: 'b' }), step('a'), step('b', { x: 'a' })] };
    const seen: Record<string, StepRequest['inputs']> = {};
    const t = tracer();
    const res = await runDag(dag, async (req) => ((seen[req.key] = req.inputs), t.run(req)), { concurrency: 4 });
    expect(res.ok).toBe(true);
    const idx = (s: string) => t.log.indexOf(s);
    expect(idx('end a')).toBeLessThan(idx('start b'));
    expect(idx('end b')).toBeLessThan(idx('start c'));
    expect(seen['c']).toEqual({ x: { stage: 'test', id: 'id-a' }, y: { stage: 'test', id: 'id-b' } });
    expect(res.steps.map((s) => s.key)).toEqual(['c', 'a', 'b']);
  });

  it('runs independent branches at the same time', async () => {
    const dag: Dag = {
      name: 't',
      steps: [
        step('root'),
        step('fold1', { d: 'root' }),
        step('fold2', { d: 'root' }),
        step('join', { a: 'fold1', b: 'fold2' }),
      ],
    };
    const t = tracer({ fold1: 60, fold2: 60 });
    await runDag(dag, t.run, { concurrency: 2 });
    expect(t.peak()).toBe(2);
    const idx = (s: string) => t.log.indexOf(s);
    expect(idx('start fold2')).toBeLessThan(idx('end fold1')); // real overlap, not interleaving
  });

  it('never runs more steps at once than the concurrency limit', async () => {
    const dag: Dag = { name: 't', steps: ['a', 'b', 'c', 'd', 'e'].map((k) => step(k)) };
    const t = tracer();
    await runDag(dag, t.run, { concurrency: 2 });
    expect(t.peak()).toBe(2);
    const t1 = tracer();
    await runDag(dag, t1.run, { concurrency: 1 });
    expect(t1.peak()).toBe(1);
    expect(t1.log).toEqual(['a', 'b', 'c', 'd', 'e'].flatMap((k) => [`start ${k}`, `end ${k}`]));
  });

  it('stops the dependants of a failed step, finishes unrelated branches, and reports every failure', async () => {
    const dag: Dag = {
      name: 't',
      steps: [step('a'), step('b', { x: 'a' }), step('c', { x: 'b' }), step('u'), step('v', { x: 'u' }), step('w')],
    };
    const t = tracer({}, new Set(['a', 'w']));
    const events: string[] = [];
    const res = await runDag(dag, t.run, { concurrency: 2, onEvent: (e) => events.push(`${e.type} ${e.step.key}`) });
    expect(res.ok).toBe(false);
    const status = Object.fromEntries(res.steps.map((s) => [s.key, s.status]));
    expect(status).toEqual({ a: 'failed', b: 'skipped', c: 'skipped', u: 'done', v: 'done', w: 'failed' });
    expect(res.steps.find((s) => s.key === 'a')!.error).toBe('boom in a');
    expect(res.steps.find((s) => s.key === 'c')!.error).toBe("not run: input step 'b' skipped");
    expect(t.log).not.toContain('start b');
    expect(events.filter((e) => e.startsWith('skipped'))).toEqual(['skipped b', 'skipped c']);
  });

  it('rejects cycles, duplicate keys and unknown inputs', () => {
    expect(() => validateDag({ name: 't', steps: [step('a', { x: 'b' }), step('b', { x: 'a' })] })).toThrow(
      /cycle a -> b -> a/,
    );
    expect(() => validateDag({ name: 't', steps: [step('a'), step('a')] })).toThrow(/used twice/);
    expect(() => validateDag({ name: 't', steps: [step('a', { x: 'nope' })] })).toThrow(/unknown step 'nope'/);
  });

  it('finishes an empty DAG at once', async () => {
    expect(await runDag({ name: 'empty', steps: [] }, async (r) => ok(r), { concurrency: 1 })).toEqual({
      dag: 'empty',
      ok: true,
      steps: [],
    });
  });
});

describe('embedded engine retries', () => {
  /** one step on the embedded engine under the fast retry policy, its attempts run by `attempt` */
  const runOne = (
    key: string,
    attempt: (req: StepRequest) => Promise<StepOutcome>,
    onRetry?: (key: string, attempt: number) => void,
  ) =>
    runEmbedded(
      { name: 't', steps: [step(key)] },
      {
        store: new ArtifactStore(tempDir()),
        concurrency: 1,
        retry: fastRetry,
        threads: false,
        stepRunner: attempt,
        ...(onRetry ? { onRetry } : {}),
      },
    );

  it('retries a transient failure and then succeeds', async () => {
    let calls = 0;
    const retries: number[] = [];
    const res = await runOne(
      'flaky',
      async (req) => {
        calls++;
        if (calls < 3) throw new Error('transient: connection reset');
        return ok(req);
      },
      (_k, attempt) => retries.push(attempt),
    );
    expect(res.ok).toBe(true);
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('gives up after maximum_attempts and reports the last error', async () => {
    let calls = 0;
    const res = await runOne('down', async () => {
      calls++;
      throw new Error(`still down (${calls})`);
    });
    expect(calls).toBe(3);
    expect(res.steps[0]!.error).toBe('still down (3)');
  });

  it('never retries bad input', async () => {
    let calls = 0;
    const res = await runOne('bad', async () => {
      calls++;
      throw new InputError({ file: 'x.csv', row: 3, column: 'Fs', value: 'abc' }, 'expected a number');
    });
    expect(calls).toBe(1);
    expect(res.steps[0]!.error).toBe(`x.csv, row 3, column 'Fs': expected a number, got "abc"`);
  });

  it('backs off exponentially up to the maximum interval, as Temporal does', () => {
    const p = { initial_interval_ms: 1000, backoff_coefficient: 2, maximum_interval_ms: 30000, maximum_attempts: 10 };
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelayMs(p, a))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe('branches (child workflows on Temporal)', () => {
  it('splits CV folds into branches and runs them as sub-DAGs with the same result as the flat DAG', async () => {
    const { splitBranches, BRANCH_STAGE } = await import('../../workflows/dag.js');
    const dag: Dag = {
      name: 'p',
      steps: [
        step('features'),
        { ...step('cv/fold-0/train', { features: 'features' }), branch: 'cv/fold-0' },
        { ...step('cv/fold-0/predict', { model: 'cv/fold-0/train', features: 'features' }), branch: 'cv/fold-0' },
        { ...step('cv/fold-1/train', { features: 'features' }), branch: 'cv/fold-1' },
        { ...step('cv/fold-1/predict', { model: 'cv/fold-1/train', features: 'features' }), branch: 'cv/fold-1' },
        step('cv/evaluate', { fold_0: 'cv/fold-0/predict', fold_1: 'cv/fold-1/predict' }),
      ],
    };
    const { parent, branches } = splitBranches(dag);
    expect(parent.steps.map((s) => `${s.key}:${s.stage}`)).toEqual([
      'features:test',
      `cv/fold-0:${BRANCH_STAGE}`,
      `cv/fold-1:${BRANCH_STAGE}`,
      'cv/evaluate:test',
    ]);
    expect(parent.steps[1]!.inputs).toEqual({ features: 'features' });
    expect(parent.steps[3]!.inputs).toEqual({
      fold_0: 'cv/fold-0#cv/fold-0/predict',
      fold_1: 'cv/fold-1#cv/fold-1/predict',
    });
    expect(Object.keys(branches)).toEqual(['cv/fold-0', 'cv/fold-1']);

    const seen: Record<string, StepRequest['inputs']> = {};
    const leaf = async (req: StepRequest) => ((seen[req.key] = req.inputs), ok(req));
    const viaBranches = await runDag(
      parent,
      async (req) => {
        if (req.stage !== BRANCH_STAGE) return leaf(req);
        const r = await runDag(branches[req.params['branch'] as string]!, leaf, {
          concurrency: 2,
          external: req.inputs,
        });
        return {
          artifactId: 'x',
          cacheHit: false,
          wallMs: 0,
          outputs: Object.fromEntries(r.steps.map((s) => [s.key, { stage: s.stage as StageName, id: s.artifactId! }])),
          inner: r.steps,
        };
      },
      { concurrency: 2 },
    );
    const flat = await runDag(dag, async (req) => ok(req), { concurrency: 2 });
    expect(viaBranches.steps.map((s) => [s.key, s.artifactId, s.status]).sort()).toEqual(
      flat.steps.map((s) => [s.key, s.artifactId, s.status]).sort(),
    );
    expect(seen['cv/evaluate']).toEqual({
      fold_0: { stage: 'test', id: 'id-cv/fold-0/predict' },
      fold_1: { stage: 'test', id: 'id-cv/fold-1/predict' },
    });
    expect(seen['cv/fold-1/predict']!['features']).toEqual({ stage: 'test', id: 'id-features' });
  });
});
