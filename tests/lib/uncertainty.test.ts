import { describe, expect, it } from 'vitest';
import {
  calibrateMondrian,
  conformalQuantile,
  coverageByClass,
  nestedConformalSets,
  predictionSet,
  setLabel,
} from '../../lib/uncertainty/conformal.js';
import { describeRule, uncertainVerdict } from '../../lib/uncertainty/rule.js';
import { fitNeighbourReference, neighbourScores, oodThreshold } from '../../lib/uncertainty/neighbours.js';
import { applyClassBiases, classMixWithInterval, emClassMix, fitClassBiases } from '../../lib/uncertainty/class-mix.js';
import { drawFlux, drawMagnitude, standardNormal, summariseDraws } from '../../lib/uncertainty/montecarlo.js';
import { Rng } from '../../lib/rng.js';
import { createTreePool } from '../../engine/tree-pool.js';

describe('conformal quantile and set rule (hand-checked)', () => {
  const tenth = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];
  it('takes the ceil((n+1) level)-th smallest score', () => {
    // n = 10: level 0.8 -> k = ceil(8.8) = 9 -> 0.9; level 0.5 -> k = ceil(5.5) = 6 -> 0.6
    expect(conformalQuantile(tenth, 0.8)).toBe(0.9);
    expect(conformalQuantile(tenth, 0.5)).toBe(0.6);
    // level 0.9 -> k = ceil(9.9) = 10 -> the largest score
    expect(conformalQuantile([...tenth].reverse(), 0.9)).toBe(1.0);
  });
  it('keeps ties inside the set', () => {
    // k = ceil(5 * 0.5) = 3 -> 0.2; a source with 1 - p = 0.2 exactly is in the set
    const q = conformalQuantile([0.2, 0.5, 0.2, 0.2], 0.5);
    expect(q).toBe(0.2);
    expect(predictionSet([0.8, 0.2], ['a', 'b'], [{ class: 'a', n: 4, threshold: q }])).toEqual(['a']);
    expect(predictionSet([0.79, 0.21], ['a', 'b'], [{ class: 'a', n: 4, threshold: q }])).toEqual([]);
  });
  it('puts a class with very few calibration rows in every set, and a class with none in no set', () => {
    // 5 rows at level 0.9: k = ceil(5.4) = 6 > 5, nothing can be ruled out
    expect(conformalQuantile([0.1, 0.1, 0.1, 0.1, 0.1], 0.9)).toBe(Infinity);
    const proba = [0.9, 0.1, 0.0, 0.8, 0.2, 0.0, 0.3, 0.7, 0.0, 0.95, 0.05, 0.0, 0.85, 0.15, 0.0, 0.9, 0.1, 0.0];
    const truth = ['a', 'a', 'b', 'a', 'a', 'a'];
    const t = calibrateMondrian(proba, ['a', 'b', 'c'], truth, 0.6);
    // class a: scores 0.1, 0.2, 0.05, 0.15, 0.1 -> k = ceil(6 * 0.6) = 4 -> 0.15; class b: one row, k = ceil(2 * 0.6) = 2 > 1 -> Infinity; c: none
    expect(t.map((x) => [x.class, x.n])).toEqual([
      ['a', 5],
      ['b', 1],
    ]);
    expect(t[0]!.threshold).toBeCloseTo(0.15, 12);
    expect(t[1]!.threshold).toBe(Infinity);
    expect(predictionSet([0.95, 0.05, 0], ['a', 'b', 'c'], t)).toEqual(['a', 'b']);
    expect(predictionSet([0.5, 0.0, 0.5], ['a', 'b', 'c'], t)).toEqual(['b']);
    expect(setLabel(['a', 'b'])).toBe('{a,b}');
  });
  it('reaches its coverage for every class on exchangeable data', () => {
    // two classes with overlapping probabilities; calibrate on one half, test on the other, many times
    const rng = new Rng(7);
    const classes = ['x', 'y'];
    const make = (n: number) => {
      const proba: number[] = [];
      const truth: string[] = [];
      for (let i = 0; i < n; i++) {
        const isY = rng.nextFloat() < 0.2;
        const p = Math.min(1, Math.max(0, (isY ? 0.35 : 0.75) + 0.25 * standardNormal(rng)));
        proba.push(p, 1 - p);
        truth.push(isY ? 'y' : 'x');
      }
      return { proba, truth };
    };
    const covered = { x: 0, y: 0 };
    const seen = { x: 0, y: 0 };
    for (let trial = 0; trial < 40; trial++) {
      const cal = make(500);
      const test = make(500);
      const t = calibrateMondrian(cal.proba, classes, cal.truth, 0.9);
      const sets = test.truth.map((_, i) => predictionSet(test.proba.slice(2 * i, 2 * i + 2), classes, t));
      for (const r of coverageByClass(sets, test.truth)) {
        covered[r.class as 'x' | 'y'] += r.coverage * r.n;
        seen[r.class as 'x' | 'y'] += r.n;
      }
    }
    // the guarantee is coverage >= 0.9 in expectation, and at most 0.9 + 1/(n_c + 1) without ties
    expect(covered.x / seen.x).toBeGreaterThan(0.89);
    expect(covered.x / seen.x).toBeLessThan(0.92);
    expect(covered.y / seen.y).toBeGreaterThan(0.885);
    expect(covered.y / seen.y).toBeLessThan(0.93);
  });
});

describe('nearest-neighbour OOD score', () => {
  // 200 training rows in 3 features, the third constant (no spread: left out of the distance)
  const rng = new Rng(3);
  const n = 200;
  const x = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    x[i] = standardNormal(rng);
    x[n + i] = 10 + 2 * standardNormal(rng);
    x[2 * n + i] = 5;
  }
  const ref = fitNeighbourReference({ x, nSamples: n, nFeatures: 3 }, 5);
  const score = (rows: number[][]) =>
    Array.from(
      neighbourScores(ref, {
        x: Float64Array.from([0, 1, 2].flatMap((f) => rows.map((r) => r[f]!))),
        nSamples: rows.length,
        nFeatures: 3,
      }),
    );
  it('scores an ordinary source near 1 and a source far outside the training range far above the threshold', () => {
    const inside = [];
    for (let i = 0; i < 300; i++) inside.push([standardNormal(rng), 10 + 2 * standardNormal(rng), 5]);
    const s = score(inside);
    const threshold = oodThreshold(s, 0.01);
    expect(s.filter((v) => v > threshold).length).toBeLessThanOrEqual(3);
    const sorted = [...s].sort((a, b) => a - b);
    expect(sorted[150]!).toBeGreaterThan(0.7);
    expect(sorted[150]!).toBeLessThan(1.4);
    // far out in one feature only
    const [far] = score([[0, 60, 5]]);
    expect(far!).toBeGreaterThan(5 * threshold);
  });
  it('ignores a feature with no spread among the training sources', () => {
    expect(ref.invScale[2]).toBe(0);
    expect(score([[0.1, 10, 5]])[0]).toBe(score([[0.1, 10, 500]])[0]);
  });
  it("scores with the same bits on the engine's threads, whatever the split of the rows", async () => {
    const rows = 2000;
    const m = { x: new Float64Array(rows * 3), nSamples: rows, nFeatures: 3 };
    for (let i = 0; i < rows; i++) {
      m.x[i] = 3 * standardNormal(rng);
      m.x[rows + i] = 10 + 5 * standardNormal(rng);
      m.x[2 * rows + i] = 5;
    }
    const pool = createTreePool(2);
    try {
      expect(Array.from(await pool.neighbourScores(ref, m))).toEqual(Array.from(neighbourScores(ref, m)));
    } finally {
      await pool.destroy();
    }
  });
  it('is the hand-computed distance on a tiny reference', () => {
    // 1-D reference 0, 1, 2, 3, 4: median 2, IQR 2 -> scale 2/1.349; k = 1
    const r = fitNeighbourReference({ x: Float64Array.from([0, 1, 2, 3, 4]), nSamples: 5, nFeatures: 1 }, 1);
    const unit = 1.349 / 2; // one data unit, scaled
    expect(r.typical).toBeCloseTo(unit, 12);
    // a source at 10 is 6 units from 4: score 6
    expect(neighbourScores(r, { x: Float64Array.from([10]), nSamples: 1, nFeatures: 1 })[0]).toBeCloseTo(6, 12);
  });
});

describe('EM class mix (Saerens et al. 2002)', () => {
  // two classes, 1-D Gaussian feature N(0,1) and N(2,1); posteriors exact under training priors 0.5/0.5
  const posterior = (v: number, prior: [number, number]) => {
    const a = prior[0] * Math.exp(-0.5 * v * v);
    const b = prior[1] * Math.exp(-0.5 * (v - 2) ** 2);
    return [a / (a + b), b / (a + b)];
  };
  it('recovers known class proportions within its bootstrap interval', () => {
    const rng = new Rng(11);
    const proba: number[] = [];
    const n = 2000;
    let nB = 0;
    for (let i = 0; i < n; i++) {
      const isB = rng.nextFloat() < 0.2;
      if (isB) nB++;
      const v = (isB ? 2 : 0) + standardNormal(rng);
      proba.push(...posterior(v, [0.5, 0.5]));
    }
    const truthB = nB / n;
    const { estimate, lo, hi } = classMixWithInterval(proba, [0.5, 0.5], { replicates: 100, seed: 1 });
    expect(estimate.converged).toBe(true);
    expect(Math.abs(estimate.priors[1]! - truthB)).toBeLessThan(0.03);
    expect(lo[1]!).toBeLessThan(truthB);
    expect(hi[1]!).toBeGreaterThan(truthB);
    // the raw census (mean posterior) is pulled toward the training mix: EM corrects it
    const raw = proba.filter((_, j) => j % 2 === 1).reduce((s, v) => s + v, 0) / n;
    expect(Math.abs(raw - truthB)).toBeGreaterThan(Math.abs(estimate.priors[1]! - truthB));
  });
  it('leaves a population with the training mix where it is', () => {
    const e = emClassMix([0.7, 0.3, 0.3, 0.7], [0.5, 0.5]);
    expect(e.priors[0]).toBeCloseTo(0.5, 9);
  });
});

describe('Monte-Carlo draws', () => {
  it('are reproducible from the seed and positive for fluxes', () => {
    const a = new Rng(99);
    const b = new Rng(99);
    const da = Array.from({ length: 50 }, () => drawFlux(1e-15, 1.5e-15, a));
    const db = Array.from({ length: 50 }, () => drawFlux(1e-15, 1.5e-15, b));
    expect(da).toEqual(db);
    expect(da.every((v) => v !== null && v > 0)).toBe(true);
    expect(drawFlux(null, 1, a)).toBeNull();
    expect(drawFlux(2e-15, null, a)).toBe(2e-15);
  });
  it('have the measurement spread: magnitude sigma sqrt(err^2 + floor^2), log-normal flux median at the value', () => {
    const rng = new Rng(5);
    const m = Array.from({ length: 20000 }, () => drawMagnitude(18, 0.04, rng, 0.03, 0.1)!);
    const mean = m.reduce((s, v) => s + v, 0) / m.length;
    const sd = Math.sqrt(m.reduce((s, v) => s + (v - mean) ** 2, 0) / (m.length - 1));
    expect(mean).toBeCloseTo(18, 2);
    expect(sd).toBeCloseTo(0.05, 2);
    const f = Array.from({ length: 20001 }, () => drawFlux(1, 0.5, rng)!).sort((a, b) => a - b);
    expect(f[10000]!).toBeCloseTo(1, 1);
  });
  it('summarise to mean, interval and significance (hand-checked)', () => {
    // two draws: [0.6, 0.4] and [0.8, 0.2] -> mean [0.7, 0.3], sd sqrt(0.02) each, significance 0.4 / (2 sqrt(0.02))
    const s = summariseDraws([0.6, 0.4, 0.8, 0.2], 2, 2);
    expect(Array.from(s.mean)).toEqual([0.7, 0.30000000000000004]);
    expect(s.top).toBe(0);
    expect(s.sd[0]).toBeCloseTo(Math.sqrt(0.02), 12);
    expect(s.significance).toBeCloseTo(0.4 / (2 * Math.sqrt(0.02)), 12);
    expect(s.lo[0]).toBeCloseTo(0.6 + 0.2 * 0.16, 12);
    expect(summariseDraws([0.5, 0.5, 0.5, 0.5], 2, 2).significance).toBeNull();
  });
});

describe('the uncertain rule', () => {
  const rule = { set_not_single: true, ood: true, significance_below: 1, confidence_below: null };
  const base = {
    predicted: 'AGN',
    set: ['AGN'],
    ood: false,
    ood_score: 1.2,
    ood_threshold: 4.1,
    significance: 3,
    confidence: 0.9,
  };
  it('names every part that fired, and only those that are on', () => {
    expect(uncertainVerdict(rule, base)).toEqual({ uncertain: false, reason: null });
    expect(uncertainVerdict(rule, { ...base, set: ['LMXB', 'CV'], ood: true, ood_score: 5.234 })).toEqual({
      uncertain: true,
      reason: 'set {LMXB,CV}; ood 5.23 > 4.10',
    });
    expect(uncertainVerdict(rule, { ...base, set: [], significance: 0.5 }).reason).toBe(
      'set {}; significance 0.50 < 1',
    );
    // a single-class set of another class rejects the answer itself: certain only when the set is exactly {predicted}
    expect(uncertainVerdict(rule, { ...base, set: ['LMXB'] })).toEqual({
      uncertain: true,
      reason: 'set {LMXB} excludes AGN',
    });
    expect(
      uncertainVerdict({ ...rule, ood: false, significance_below: null }, { ...base, set: ['AGN'], ood: true })
        .uncertain,
    ).toBe(false);
    // a signal not known does not fire; a part that is off does not either
    expect(uncertainVerdict(rule, { ...base, set: null, ood: null, significance: null }).uncertain).toBe(false);
    expect(uncertainVerdict({ ...rule, set_not_single: false }, { ...base, set: ['a', 'b'] }).uncertain).toBe(false);
    expect(uncertainVerdict({ ...rule, confidence_below: 0.5 }, { ...base, confidence: 0.41 }).reason).toBe(
      'confidence 0.410 < 0.5',
    );
    expect(describeRule(rule, 0.9)).toBe(
      'uncertain when the 90% conformal set is not exactly {the predicted class}, or the out-of-distribution flag is raised, or the Monte-Carlo significance is below 1',
    );
  });
});

describe('nested conformal sets', () => {
  it('calibrate each fold on the other folds only', () => {
    // fold 0: two class-a sources with p_a 0.9 and 0.2; fold 1: two with p_a 0.8 and 0.7. Level 0.5:
    // fold 0 calibrated on scores {0.2, 0.3} -> k = ceil(3 * 0.5) = 2 -> 0.3: p_a 0.9 in, 0.2 out;
    // fold 1 calibrated on {0.1, 0.8} -> 0.8: both in
    const proba = [0.9, 0.1, 0.2, 0.8, 0.8, 0.2, 0.7, 0.3];
    const sets = nestedConformalSets(proba, ['a', 'b'], ['a', 'a', 'a', 'a'], [0, 0, 1, 1], 0.5);
    expect(sets).toEqual([['a'], [], ['a'], ['a']]);
  });
});

describe('bias-corrected calibration for the class mix', () => {
  it("makes every class's summed probability its count", () => {
    // three rows, two classes, the model inflates class 1
    const proba = [0.4, 0.6, 0.7, 0.3, 0.3, 0.7];
    const b = fitClassBiases(proba, 2, [0, 0, 1]);
    expect(b[0]).toBe(0);
    const q = applyClassBiases(proba, 2, b);
    expect(q[0]! + q[2]! + q[4]!).toBeCloseTo(2, 8);
    expect(q[1]! + q[3]! + q[5]!).toBeCloseTo(1, 8);
    // a class with no row gets probability 0
    const none = fitClassBiases(proba, 2, [0, 0, 0]);
    expect(none[1]).toBe(-Infinity);
    expect(applyClassBiases(proba, 2, none)[1]).toBe(0);
  });
});
