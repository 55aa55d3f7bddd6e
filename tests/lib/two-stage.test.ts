import { afterAll, describe, expect, it } from 'vitest';
import { fitForest, oobProba, predict } from '../../lib/forest/forest.js';
import type { Matrix } from '../../lib/forest/types.js';
import { DEFAULT_FOREST } from '../../schemas/forest.js';
import { Rng } from '../../lib/rng.js';
import { smote } from '../../lib/forest/smote.js';
import { deserializeTwoStage, fitTwoStage, predictTwoStage, serializeTwoStage } from '../../lib/forest/two-stage.js';
import type { TwoStageParams } from '../../schemas/forest.js';
import { createTreePool } from '../../engine/tree-pool.js';

function m(rows: number[][]): Matrix {
  const n = rows.length;
  const nF = rows[0]!.length;
  const x = new Float64Array(n * nF);
  rows.forEach((r, i) => r.forEach((v, f) => (x[f * n + i] = v)));
  return { x, nSamples: n, nFeatures: nF };
}

const METHOD: Omit<TwoStageParams, 'forest'> = {
  stage1_groups: {
    AGN: 'AGN',
    LMXB: 'OTHER',
    HMXB: 'OTHER',
    CV: 'OTHER',
    SNR: 'SNR',
    'LM-STAR': 'STAR',
    'HM-STAR': 'STAR',
  },
  other_group: 'OTHER',
  stage2_classes: ['LMXB', 'HMXB'],
  uncertain_below: 0.5,
  smote: { enabled: false, k: 5 },
  calibration: 'none',
};

/** Six classes (no SNR) in three features, the binaries overlapping each other. */
function data(seed: number) {
  const rng = new Rng(seed);
  const centre: Record<string, number[]> = {
    AGN: [0, 0, 0],
    'LM-STAR': [4, 0, 0],
    'HM-STAR': [4, 1, 0],
    LMXB: [0, 4, 0],
    HMXB: [0, 4, 1.5],
    CV: [0, 4, 0.5],
  };
  const count: Record<string, number> = { AGN: 120, 'LM-STAR': 100, 'HM-STAR': 40, LMXB: 40, HMXB: 30, CV: 20 };
  const rowsOut: number[][] = [];
  const labels: string[] = [];
  for (const [cls, c] of Object.entries(centre))
    for (let i = 0; i < count[cls]!; i++) {
      rowsOut.push(c.map((v) => v + (rng.nextFloat() - 0.5) * 1.2));
      labels.push(cls);
    }
  return { matrix: m(rowsOut), labels };
}

describe('two-stage classifier', () => {
  const pool = createTreePool(2);
  afterAll(() => pool.destroy());
  const params: TwoStageParams = {
    ...METHOD,
    forest: {
      ...DEFAULT_FOREST,
      n_estimators: 40,
      min_samples_leaf: 2,
      class_weight: 'balanced_subsample',
      random_state: 5,
    },
  };

  it('predicts the final classes with a full probability vector, and reports classes with no training rows', async () => {
    const { matrix, labels } = data(1);
    const model = await fitTwoStage(matrix, labels, ['a', 'b', 'c'], params);
    expect(model.groups).toEqual(['AGN', 'OTHER', 'SNR', 'STAR']);
    expect(model.finalClasses).toEqual(['AGN', 'SNR', 'STAR', 'LMXB', 'HMXB']);
    expect(model.absentClasses).toEqual(['SNR']);
    expect(model.stage2!.featureNames).toEqual([
      'a',
      'b',
      'c',
      'p_stage1_AGN',
      'p_stage1_OTHER',
      'p_stage1_SNR',
      'p_stage1_STAR',
    ]);
    const preds = predictTwoStage(model, matrix);
    for (const p of preds) {
      expect(p.proba.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
      expect(p.proba[1]).toBe(0); // SNR never seen
      expect(model.finalClasses).toContain(p.finalClass);
      // confidence is the deciding stage's top probability
      if (p.decidedBy === 1) expect(p.confidence).toBe(Math.max(...p.stage1Proba));
      else expect(p.confidence).toBeCloseTo(Math.max(p.proba[3]!, p.proba[4]!) / p.stage1Proba[1]!, 12);
      expect(p.uncertain).toBe(p.confidence < 0.5);
    }
    // the method's arrangement cannot predict CV: CVs become LMXB or HMXB
    expect(preds.filter((_, i) => labels[i] === 'CV').every((p) => ['LMXB', 'HMXB'].includes(p.finalClass))).toBe(true);
    const agn = preds.filter((_, i) => labels[i] === 'AGN');
    expect(agn.filter((p) => p.finalClass === 'AGN').length / agn.length).toBeGreaterThan(0.95);
  });

  it('round-trips through its binary form', async () => {
    const { matrix, labels } = data(2);
    const model = await fitTwoStage(matrix, labels, ['a', 'b', 'c'], params, pool);
    const back = deserializeTwoStage(serializeTwoStage(model));
    expect(predictTwoStage(back, matrix)).toEqual(predictTwoStage(model, matrix));
    expect(back.absentClasses).toEqual(['SNR']);
  });

  it('works when only one Stage-2 class has training rows', async () => {
    const { matrix, labels } = data(3);
    const relabelled = labels.map((l) => (l === 'HMXB' ? 'LMXB' : l));
    const model = await fitTwoStage(matrix, relabelled, ['a', 'b', 'c'], params);
    expect(model.stage2).toBeNull();
    expect(model.stage2Only).toBe('LMXB');
    expect(model.absentClasses).toEqual(['SNR', 'HMXB']);
    const preds = predictTwoStage(model, matrix);
    expect(preds.filter((p) => p.decidedBy === 2).every((p) => p.finalClass === 'LMXB' && p.confidence === 1)).toBe(
      true,
    );
  });
});

describe('out-of-bag probabilities', () => {
  it('do not leak: on labels that are pure noise the forest fits its training rows but OOB accuracy is chance', async () => {
    const rng = new Rng(9);
    const rowsOut = Array.from({ length: 400 }, () => [rng.nextFloat(), rng.nextFloat(), rng.nextFloat()]);
    const labels = rowsOut.map(() => (rng.nextFloat() < 0.5 ? 'a' : 'b'));
    const f = await fitForest(m(rowsOut), labels, { params: { ...DEFAULT_FOREST, n_estimators: 100 } });
    const inSample = predict(f, m(rowsOut)).filter((c, i) => c === labels[i]).length / labels.length;
    const { proba, neverOutOfBag } = oobProba(f, m(rowsOut));
    const oob = labels.filter((c, i) => (proba[i * 2]! >= proba[i * 2 + 1]! ? 'a' : 'b') === c).length / labels.length;
    expect(inSample).toBeGreaterThan(0.95);
    expect(Math.abs(oob - 0.5)).toBeLessThan(0.1);
    expect(neverOutOfBag).toBe(0);
  });
});

describe('SMOTE', () => {
  it('balances the classes with points between same-class neighbours, deterministically', () => {
    const rowsOut = [
      [0, 0],
      [1, 0],
      [0, 1],
      [10, 10],
      [11, 10],
      [10, 11],
      [11, 11],
      [10.5, 10.5],
      [20, 20],
      [21, 21],
    ];
    const labels = ['a', 'a', 'a', 'b', 'b', 'b', 'b', 'b', 'c', 'c'];
    const out = smote(m(rowsOut), labels, { k: 2, seed: 1 });
    expect(out.added).toEqual({ a: 2, b: 0, c: 3 });
    expect(out.labels.filter((l) => l === 'a')).toHaveLength(5);
    expect(out.matrix.nSamples).toBe(15);
    const n = out.matrix.nSamples;
    for (let i = 10; i < n; i++) {
      const [x, y] = [out.matrix.x[i]!, out.matrix.x[n + i]!];
      if (out.labels[i] === 'a') expect(x >= 0 && x <= 1 && y >= 0 && y <= 1 && x + y <= 1 + 1e-12).toBe(true); // inside the triangle
      if (out.labels[i] === 'c') expect(x).toBeCloseTo(y, 12); // on the segment between the two c points
    }
    // the original rows come first, unchanged
    expect(Array.from(out.matrix.x.subarray(0, 10))).toEqual(rowsOut.map((r) => r[0]));
    expect(smote(m(rowsOut), labels, { k: 2, seed: 1 })).toEqual(out);
  });
});
