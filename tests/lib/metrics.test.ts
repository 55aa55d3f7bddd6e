import { describe, expect, it } from 'vitest';
import {
  accuracy,
  balancedAccuracyOf,
  brierScore,
  calibration,
  confusionMatrix,
  macroF1,
  mcc,
  meanStd,
  perClassMetrics,
} from '../../lib/metrics/classification.js';
import { aggregateFolds, normalisedRows, summariseConfusion } from '../../lib/metrics/summary.js';

// A hand-worked 3-class case. Truth and prediction:
//   a a a a b b b c c c
//   a a b c b b a c c b
// Confusion (rows true a,b,c; cols predicted a,b,c): [[2,1,1],[1,2,0],[0,1,2]]
const yTrue = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'c'];
const yPred = ['a', 'a', 'b', 'c', 'b', 'b', 'a', 'c', 'c', 'b'];
const cm = confusionMatrix(yTrue, yPred);

describe('classification metrics on a hand-worked case', () => {
  it('builds the confusion matrix', () => {
    expect(cm.classes).toEqual(['a', 'b', 'c']);
    expect(Array.from(cm.counts)).toEqual([2, 1, 1, 1, 2, 0, 0, 1, 2]);
  });

  it('computes accuracy, per-class precision/recall/F1, balanced accuracy and macro F1', () => {
    expect(accuracy(cm)).toBe(0.6);
    // precision: a 2/3, b 2/4, c 2/3; recall: a 2/4, b 2/3, c 2/3
    const pc = perClassMetrics(cm);
    expect(pc.map((m) => m.precision)).toEqual([2 / 3, 0.5, 2 / 3]);
    expect(pc.map((m) => m.recall)).toEqual([0.5, 2 / 3, 2 / 3]);
    // F1 a = 2*(2/3*1/2)/(2/3+1/2) = 4/7; b = 4/7; c = 2/3
    expect(pc[0]!.f1).toBeCloseTo(4 / 7, 12);
    expect(pc[1]!.f1).toBeCloseTo(4 / 7, 12);
    expect(pc[2]!.f1).toBeCloseTo(2 / 3, 12);
    expect(balancedAccuracyOf(cm)).toBeCloseTo((0.5 + 2 / 3 + 2 / 3) / 3, 12);
    expect(macroF1(cm)).toBeCloseTo((4 / 7 + 4 / 7 + 2 / 3) / 3, 12);
  });

  it('computes the multiclass MCC (Gorodkin): 0.4 by hand', () => {
    // c = 6, s = 10; t = (4,3,3), p = (3,4,3); sum p t = 12+12+9 = 33
    // (6*10 - 33) / sqrt((100 - 34)(100 - 34)) = 27/66
    expect(mcc(cm)).toBeCloseTo(27 / 66, 12);
    expect(mcc(confusionMatrix(['a', 'b'], ['a', 'b']))).toBe(1);
    expect(mcc(confusionMatrix(['a', 'a'], ['a', 'a']))).toBe(0); // denominator 0
  });

  it('counts a class never predicted with recall 0, and one never true in macro F1 but not in balanced accuracy', () => {
    const c = confusionMatrix(['CV', 'CV', 'LMXB', 'LMXB'], ['LMXB', 'LMXB', 'LMXB', 'HMXB']);
    // recall CV 0, LMXB 1/2 -> balanced accuracy 0.25; F1: CV 0, LMXB 2*(1/3*1/2)/(5/6) = 0.4, HMXB 0
    expect(balancedAccuracyOf(c)).toBe(0.25);
    expect(macroF1(c)).toBeCloseTo(0.4 / 3, 12);
  });

  it('computes ECE, MCE and the Brier score', () => {
    // bin [0.6,0.7): conf 0.65 x2, 1 correct -> gap 0.15; bin [0.9,1]: conf 0.95 x2, 2 correct -> gap 0.05
    const cal = calibration([0.65, 0.65, 0.95, 0.95], [true, false, true, true]);
    expect(cal.ece).toBeCloseTo(0.5 * 0.15 + 0.5 * 0.05, 12);
    expect(cal.mce).toBeCloseTo(0.15, 12);
    expect(cal.bins[9]).toMatchObject({ count: 2, accuracy: 1 });
    expect(calibration([1], [true]).bins[9]!.count).toBe(1); // 1.0 falls in the last bin
    // Brier: (0.8-1)^2 + 0.2^2 = 0.08; (0.5)^2 + (0.5-1)^2 = 0.5 -> mean 0.29
    expect(
      brierScore(
        [
          [0.8, 0.2],
          [0.5, 0.5],
        ],
        ['a', 'b'],
        ['a', 'b'],
      ),
    ).toBeCloseTo(0.29, 12);
  });

  it('gives the mean and the population standard deviation over folds', () => {
    expect(meanStd([1, 2, 3, 4])).toEqual({ mean: 2.5, std: Math.sqrt(1.25) });
  });
});

describe('metric summaries (lib/metrics/summary.ts)', () => {
  // true a: 2 right, 1 called b; true b: 3 right
  const c = confusionMatrix(['a', 'a', 'a', 'b', 'b', 'b'], ['a', 'a', 'b', 'b', 'b', 'b']);

  it('summarises a confusion matrix as the method reports it', () => {
    const s = summariseConfusion(c);
    const get = (metric: string, cls: string | null = null) => s.find((m) => m.metric === metric && m.class === cls)!;
    expect(get('accuracy')).toEqual({ metric: 'accuracy', class: null, value: 5 / 6, n: 6 });
    expect(get('balanced_accuracy').value).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(get('recall', 'a')).toEqual({ metric: 'recall', class: 'a', value: 2 / 3, n: 3 });
    expect(get('precision', 'b').value).toBeCloseTo(3 / 4, 12);
    expect(s.map((m) => m.metric)).toEqual([
      'accuracy',
      'balanced_accuracy',
      'macro_f1',
      'mcc',
      'precision',
      'recall',
      'f1',
      'precision',
      'recall',
      'f1',
    ]);
  });

  it('normalises each true-class row', () => {
    expect(normalisedRows(c)).toEqual([
      { trueClass: 'a', predictedClass: 'a', count: 2, fraction: 2 / 3 },
      { trueClass: 'a', predictedClass: 'b', count: 1, fraction: 1 / 3 },
      { trueClass: 'b', predictedClass: 'a', count: 0, fraction: 0 },
      { trueClass: 'b', predictedClass: 'b', count: 3, fraction: 1 },
    ]);
    expect(normalisedRows(confusionMatrix([], [], ['a']))).toEqual([
      { trueClass: 'a', predictedClass: 'a', count: 0, fraction: null },
    ]);
  });

  it('aggregates folds: mean and population std per metric, undefined values left out', () => {
    const fold = (f1: number | null, acc: number) => [
      { metric: 'accuracy', class: null, value: acc, n: 4 },
      { metric: 'f1', class: 'a', value: f1, n: 2 },
    ];
    const [acc, f1] = aggregateFolds([fold(0.5, 0.5), fold(1, 1), fold(null, 0.75)]);
    expect(acc).toMatchObject({ metric: 'accuracy', class: null, mean: 0.75, n: 3 });
    expect(acc!.std).toBeCloseTo(Math.sqrt(1 / 24), 12);
    expect(f1).toEqual({ metric: 'f1', class: 'a', mean: 0.75, std: 0.25, n: 2 });
  });
});
