import { afterAll, describe, expect, it } from 'vitest';
import { createTreePool } from '../../engine/tree-pool.js';
import {
  deserializeForest,
  featureImportances,
  fitForest,
  predict,
  predictProba,
  serializeForest,
} from '../../lib/forest/forest.js';
import type { Matrix } from '../../lib/forest/types.js';
import { DEFAULT_FOREST, type ForestParams } from '../../schemas/forest.js';
import { resolveMaxFeatures } from '../../lib/forest/grow.js';
import { Rng, treeSeeds } from '../../lib/rng.js';
import { binFeatures } from '../../lib/forest/binning.js';
import { bootstrapCounts, samplingOf } from '../../lib/forest/grow.js';
import { fitTemperature, sharpen } from '../../lib/forest/two-stage.js';
import { KEY, keysByBin } from '../../lib/forest/splitter.js';

/** Column-major matrix from rows. */
function m(rows: number[][]): Matrix {
  const n = rows.length;
  const nF = rows[0]?.length ?? 0;
  const x = new Float64Array(n * nF);
  rows.forEach((r, i) => r.forEach((v, f) => (x[f * n + i] = v)));
  return { x, nSamples: n, nFeatures: nF };
}

const single: ForestParams = { ...DEFAULT_FOREST, n_estimators: 1, bootstrap: false, max_features: null };

describe('CART trees', () => {
  it('finds the pure split, at the midpoint between the classes', async () => {
    const f = await fitForest(m([[1], [2], [3], [4]]), ['a', 'a', 'b', 'b'], { params: single });
    const t = f.trees[0]!;
    expect(t.nNodes).toBe(3);
    expect(t.feature[0]).toBe(0);
    expect(t.threshold[0]).toBe(2.5);
    expect(Array.from(predictProba(f, m([[0], [2.4], [2.6], [9]])))).toEqual([1, 0, 1, 0, 0, 1, 0, 1]);
  });

  it('honours min_samples_leaf', async () => {
    const rows = [[1], [2], [3], [4], [5], [6]];
    const y = ['a', 'b', 'b', 'b', 'b', 'b'];
    const free = await fitForest(m(rows), y, { params: single });
    expect(free.trees[0]!.threshold[0]).toBe(1.5); // isolates the lone 'a'
    const held = await fitForest(m(rows), y, { params: { ...single, min_samples_leaf: 2 } });
    const t = held.trees[0]!;
    expect(t.threshold[0]).toBe(2.5);
    // every leaf holds at least two samples
    const leafCounts = new Map<number, number>();
    for (let i = 0; i < rows.length; i++) {
      let node = 0;
      while (t.feature[node]! >= 0) node = rows[i]![0]! <= t.threshold[node]! ? t.left[node]! : t.right[node]!;
      leafCounts.set(node, (leafCounts.get(node) ?? 0) + 1);
    }
    expect(Math.min(...leafCounts.values())).toBeGreaterThanOrEqual(2);
  });

  it('lets class weights change the chosen split (worked by hand in the comment)', async () => {
    // 10 a, 2 b. f0 <= 0.5 splits {5a} | {5a,2b}; f1 <= 0.5 splits {9a,1b} | {1a,1b}.
    // Unweighted Gini proxy sum_k w_k^2/W: f0 25/5 + 29/7 = 9.143, f1 82/10 + 2/2 = 9.2 -> f1.
    // Balanced (a 0.6, b 3): f0 3.0 + 45/9 = 8.0, f1 38.16/8.4 + 9.36/3.6 = 7.143 -> f0.
    const a = (f0: number, f1: number) => [f0, f1];
    const rows = [
      a(0, 0),
      a(0, 0),
      a(0, 0),
      a(0, 0),
      a(0, 0),
      a(1, 0),
      a(1, 0),
      a(1, 0),
      a(1, 0),
      a(1, 1),
      a(1, 0),
      a(1, 1),
    ];
    const y = ['a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'b', 'b'];
    const stump = { ...single, max_depth: 1 };
    expect((await fitForest(m(rows), y, { params: stump })).trees[0]!.feature[0]).toBe(1);
    expect((await fitForest(m(rows), y, { params: { ...stump, class_weight: 'balanced' } })).trees[0]!.feature[0]).toBe(
      0,
    );
    // sample weights do the same as class weights
    const w = Float64Array.from(y, (c) => (c === 'a' ? 0.6 : 3));
    expect((await fitForest(m(rows), y, { params: stump, sampleWeight: w })).trees[0]!.feature[0]).toBe(0);
  });

  it('never splits on a constant feature, and does not count it toward max_features', async () => {
    const rng = new Rng(7);
    const rows = Array.from({ length: 60 }, (_, i) => [5, i % 2 === 0 ? rng.nextFloat() : 1 + rng.nextFloat(), 5]);
    const y = rows.map((_, i) => (i % 2 === 0 ? 'a' : 'b'));
    const f = await fitForest(m(rows), y, { params: { ...DEFAULT_FOREST, n_estimators: 20, max_features: 1 } });
    for (const t of f.trees) for (const feat of t.feature) expect([-1, 1]).toContain(feat);
    // with the one varying feature always found, every tree separates the classes
    expect(predict(f, m(rows))).toEqual(y);
  });

  it('weighs leaves and impurity by sample weight', async () => {
    // one feature with no signal: the leaf distribution is the weighted class share
    const f = await fitForest(m([[1], [1], [1]]), ['a', 'b', 'b'], {
      params: single,
      sampleWeight: Float64Array.from([2, 1, 1]),
    });
    expect(Array.from(predictProba(f, m([[1]])))).toEqual([0.5, 0.5]);
  });
});

describe('random forest', () => {
  // two threads, as the engine hands them over; serial fits run in this thread
  const pool = createTreePool(2);
  afterAll(() => pool.destroy());
  const rng = new Rng(3);
  const rows = Array.from({ length: 400 }, (_, i) => [
    (i % 3) + rng.nextFloat() * 1.5,
    rng.nextFloat(),
    rng.nextFloat() * 2 + (i % 3 === 2 ? 1 : 0),
  ]);
  const y = rows.map((_, i) => ['AGN', 'LMXB', 'HMXB'][i % 3]!);
  const params: ForestParams = {
    ...DEFAULT_FOREST,
    n_estimators: 24,
    min_samples_leaf: 2,
    class_weight: 'balanced_subsample',
    random_state: 11,
  };

  it('is bit-identical whatever the number of threads', async () => {
    const one = serializeForest(await fitForest(m(rows), y, { params }));
    const two = serializeForest(await fitForest(m(rows), y, { params, grower: pool }));
    expect(Buffer.from(two).equals(Buffer.from(one))).toBe(true);
    const other = serializeForest(
      await fitForest(m(rows), y, { params: { ...params, random_state: 12 }, grower: pool }),
    );
    expect(Buffer.from(other).equals(Buffer.from(one))).toBe(false);
  });

  it('predicts the same numbers with the rows split over threads', async () => {
    const f = await fitForest(m(rows), y, { params });
    const serial = predictProba(f, m(rows));
    expect(Array.from(await pool.predict(f, m(rows)))).toEqual(Array.from(serial));
    // the forest stays with the threads: a second call, and another matrix, with the same forest
    expect(Array.from(await pool.predict(f, m(rows.slice(0, 7))))).toEqual(Array.from(serial.slice(0, 7 * 3)));
    await expect(pool.predict(f, m(rows.map((r) => [r[0]!, r[1]!])))).rejects.toThrow(
      /model has 3 features, input has 2/,
    );
  });

  it('round-trips through its binary form and predicts identically', async () => {
    const f = await fitForest(m(rows), y, { params, grower: pool, featureNames: ['hr_sm', 'noise', 'log_fb'] });
    const back = deserializeForest(serializeForest(f));
    expect(back.classes).toEqual(['AGN', 'HMXB', 'LMXB']);
    expect(back.featureNames).toEqual(['hr_sm', 'noise', 'log_fb']);
    expect(back.params).toEqual(f.params);
    expect(Array.from(predictProba(back, m(rows)))).toEqual(Array.from(predictProba(f, m(rows))));
  });

  it('gives probabilities that sum to 1 and predicts the most probable class', async () => {
    const f = await fitForest(m(rows), y, { params });
    const p = predictProba(f, m(rows));
    for (let i = 0; i < rows.length; i++) expect(p[i * 3]! + p[i * 3 + 1]! + p[i * 3 + 2]!).toBeCloseTo(1, 12);
    const pred = predict(f, m(rows));
    const acc = pred.filter((c, i) => c === y[i]).length / y.length;
    expect(acc).toBeGreaterThan(0.9);
  });

  it('ranks the informative features above the noise in Gini importance, normalised to 1', async () => {
    const f = await fitForest(m(rows), y, { params });
    const { mean, std } = featureImportances(f);
    expect(mean.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(mean[0]!).toBeGreaterThan(mean[1]!);
    expect(mean[2]!).toBeGreaterThan(mean[1]!);
    expect(std.every((s) => s >= 0)).toBe(true);
    // a single stump puts all importance on its split feature
    const stump = await fitForest(
      m([
        [1, 0],
        [2, 0],
        [3, 1],
        [4, 1],
      ]),
      ['a', 'a', 'b', 'b'],
      { params: { ...single, max_depth: 1 } },
    );
    expect(Array.from(featureImportances(stump).mean)).toEqual([1, 0]);
  });

  it('refuses bad input with a clear message', async () => {
    await expect(fitForest(m([[1], [Number.NaN]]), ['a', 'b'], { params: single })).rejects.toThrow(
      /NaN at sample 1, feature 0 \(impute missing values before fitting\)/,
    );
    await expect(fitForest(m([[1], [2]]), ['a', 'a'], { params: single })).rejects.toThrow(
      /need at least 2 classes, got 1 \(a\)/,
    );
    await expect(
      fitForest({ x: new Float64Array(0), nSamples: 0, nFeatures: 2 }, [], { params: single }),
    ).rejects.toThrow(/no training samples/);
    await expect(fitForest(m([[1], [2]]), ['a'], { params: single })).rejects.toThrow(/1 labels for 2 samples/);
    const f = await fitForest(m([[1], [2]]), ['a', 'b'], { params: single });
    expect(() => predictProba(f, m([[1, 2]]))).toThrow(/model has 1 features, input has 2/);
    expect(() => predictProba(f, m([[Number.NaN]]))).toThrow(/NaN at sample 0, feature x0/);
  });
});

describe('pieces', () => {
  it('resolves max_features as scikit-learn does', () => {
    expect(resolveMaxFeatures('sqrt', 26)).toBe(5);
    expect(resolveMaxFeatures('log2', 26)).toBe(4);
    expect(resolveMaxFeatures(0.5, 26)).toBe(13);
    expect(resolveMaxFeatures(7, 26)).toBe(7);
    expect(resolveMaxFeatures(null, 26)).toBe(26);
  });

  it('draws reproducible, unbiased integers', () => {
    expect(Array.from(treeSeeds(42, 4))).toEqual(Array.from(treeSeeds(42, 4)));
    const r = new Rng(1);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 50_000; i++) counts[r.nextInt(5)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
  });

  it('draws the textbook xoshiro128** stream, and integers as rejection then modulo does', () => {
    // the generator written the plain way: unsigned state, % for the modulo
    const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    const reference = (seed: number) => {
      let x = seed >>> 0;
      const next = () => {
        x = (x + 0x9e3779b9) >>> 0;
        let z = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      const s = [next(), next(), next(), next()];
      const u32 = () => {
        const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
        const t = (s[1]! << 9) >>> 0;
        s[2] = (s[2]! ^ s[0]!) >>> 0;
        s[3] = (s[3]! ^ s[1]!) >>> 0;
        s[1] = (s[1]! ^ s[2]!) >>> 0;
        s[0] = (s[0]! ^ s[3]!) >>> 0;
        s[2] = (s[2]! ^ t) >>> 0;
        s[3] = rotl(s[3]!, 11);
        return result;
      };
      const int = (n: number) => {
        const limit = 2 ** 32 - (2 ** 32 % n);
        for (;;) {
          const r = u32();
          if (r < limit) return r % n;
        }
      };
      return { u32, int };
    };
    for (const seed of [0, 1, 42, 0xffffffff]) {
      const ours = new Rng(seed);
      const ref = reference(seed);
      for (let i = 0; i < 2_000; i++) expect(ours.nextUint32()).toBe(ref.u32());
      // small, odd, just above 2^31 (half the draws rejected), 2^32 - 1 and 2^32
      for (const n of [1, 3, 5, 1000, 2 ** 31 + 1, 2 ** 32 - 1, 2 ** 32])
        for (let i = 0; i < 500; i++) expect(ours.nextInt(n)).toBe(ref.int(n));
    }
  });

  it("orders a node's samples by (bin, index) as a sort of the keys does", () => {
    const rng = new Rng(3);
    const nSamples = 300;
    const bins = Uint8Array.from({ length: 2 * nSamples }, () => rng.nextInt(256));
    const keys = new Float64Array(128);
    const binStart = new Int32Array(257);
    for (let trial = 0; trial < 200; trial++) {
      const col = trial % 2 === 0 ? 0 : nSamples;
      const idx = Int32Array.from(rng.shuffle(Array.from({ length: nSamples }, (_, i) => i)));
      const start = rng.nextInt(100);
      const end = start + 1 + rng.nextInt(127);
      let lo = 255;
      let hi = 0;
      for (let p = start; p < end; p++) {
        lo = Math.min(lo, bins[col + idx[p]!]!);
        hi = Math.max(hi, bins[col + idx[p]!]!);
      }
      const expected = Float64Array.from(idx.subarray(start, end), (i) => bins[col + i]! * KEY + i).sort();
      const got = keysByBin(bins, col, idx, start, end, lo, hi, keys, binStart);
      expect(Array.from(got.subarray(0, end - start))).toEqual(Array.from(expected));
    }
    // a hand-checked case: bins 7, 2, 7, 2 of samples 3, 0, 1, 2 -> (2,0) (2,2) (7,1) (7,3)
    const small = Uint8Array.from([2, 7, 2, 7]);
    const got = keysByBin(small, 0, Int32Array.from([3, 0, 1, 2]), 0, 4, 2, 7, keys, binStart);
    expect(Array.from(got.subarray(0, 4))).toEqual([2 * KEY + 0, 2 * KEY + 2, 7 * KEY + 1, 7 * KEY + 3]);
  });

  it('bins exactly when a feature has at most 256 distinct values, and by quantile otherwise', () => {
    const b = binFeatures(Float64Array.from([3, 1, 2, 1]), 4, 1);
    expect(Array.from(b.bins)).toEqual([2, 0, 1, 0]);
    expect(Array.from(b.binMin[0]!)).toEqual([1, 2, 3]);
    const many = Float64Array.from({ length: 10_000 }, (_, i) => i);
    const q = binFeatures(many, 10_000, 1);
    expect(q.nBins[0]).toBe(256);
    expect(q.binMax[0]![255]).toBe(9999);
  });
});

describe('bootstrap sampling', () => {
  it('keeps a group in or out of a bootstrap as a whole, and draws as many units as there are groups', () => {
    const groups = Int32Array.from([0, 0, 0, 1, 1, 2, 3, 3, 3, 3]);
    for (let seed = 1; seed <= 20; seed++) {
      const c = bootstrapCounts(seed, groups.length, samplingOf(DEFAULT_FOREST, new Int32Array(groups.length), groups));
      groups.forEach((g, i) => expect(c[i]).toBe(c[groups.indexOf(g)]));
      // the four group draws: the first member of each group counts its group's draws
      expect([0, 3, 5, 6].reduce((s, i) => s + c[i]!, 0)).toBe(4);
    }
    // without groups the stream is scikit-learn-like: n draws from n samples
    expect(bootstrapCounts(3, 10).reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('draws a balanced bootstrap: the smallest class size from every class', () => {
    const y = Int32Array.from([...Array(90).fill(0), ...Array(7).fill(1), ...Array(3).fill(2)]);
    const s = samplingOf({ ...DEFAULT_FOREST, bootstrap_sampling: 'balanced' }, y);
    for (let seed = 1; seed <= 10; seed++) {
      const c = bootstrapCounts(seed, y.length, s);
      const perClass = [0, 0, 0];
      y.forEach((k, i) => (perClass[k]! += c[i]!));
      expect(perClass).toEqual([3, 3, 3]);
    }
    // grouped: units are groups, each group one class
    const groups = Int32Array.from(y, (_, i) => Math.floor(i / 2));
    expect(() =>
      samplingOf(
        { ...DEFAULT_FOREST, bootstrap_sampling: 'balanced' },
        Int32Array.from([0, 1]),
        Int32Array.from([0, 0]),
      ),
    ).toThrow(/group 0 holds samples of two classes/);
    const sg = samplingOf(
      { ...DEFAULT_FOREST, bootstrap_sampling: 'balanced' },
      Int32Array.from(y, (_, i) => y[Math.floor(i / 2) * 2]!),
      groups,
    );
    expect(sg.classUnits!.reduce((n, units) => n + units.length, 0)).toBe(50);
  });

  it('sharpens as p^(1/T) renormalised, element by element, to the bit (repeated values, 0 and -0 among them)', () => {
    const K = 3;
    const proba = Float64Array.from([0, 0.25, 0.75, 0, -0, 1, -0, 0.5, 0.5, 0.5, 0.5, 0, 1e-3, 1e-3, 0.998]);
    for (const T of [1 / 3, 0.5, 2, 7]) {
      const plain = new Float64Array(proba.length);
      for (let i = 0; i < proba.length; i += K) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += plain[i + k] = proba[i + k]! ** (1 / T);
        for (let k = 0; k < K; k++) plain[i + k]! /= sum > 0 ? sum : 1;
      }
      expect(Array.from(sharpen(proba, K, T)).map((v) => Object.is(v, -0))).toEqual(
        Array.from(plain).map((v) => Object.is(v, -0)),
      );
      expect(Array.from(sharpen(proba, K, T))).toEqual(Array.from(plain));
    }
  });

  it('fits a temperature that undoes a known sharpening, and never moves the argmax', () => {
    const rng = new Rng(11);
    const K = 3;
    const n = 6000;
    const calibrated = new Float64Array(n * K);
    const truth: number[] = [];
    for (let i = 0; i < n; i++) {
      const raw = [
        rng.nextUint32() / 2 ** 32 + 0.05,
        rng.nextUint32() / 2 ** 32 + 0.05,
        rng.nextUint32() / 2 ** 32 + 0.05,
      ];
      const sum = raw[0]! + raw[1]! + raw[2]!;
      raw.forEach((v, k) => (calibrated[i * K + k] = v / sum));
      // the truth drawn from the calibrated probabilities
      const u = rng.nextUint32() / 2 ** 32;
      truth.push(u < calibrated[i * K]! ? 0 : u < calibrated[i * K]! + calibrated[i * K + 1]! ? 1 : 2);
    }
    // an under-confident model: p^(1/2), so the fitted T should be about 1/2
    const soft = sharpen(calibrated, K, 2);
    const t = fitTemperature(soft, K, truth);
    expect(t).toBeGreaterThan(0.4);
    expect(t).toBeLessThan(0.6);
    const back = sharpen(soft, K, t);
    for (let i = 0; i < n; i += 97) {
      const arg = (p: Float64Array) => [0, 1, 2].reduce((b, k) => (p[i * K + k]! > p[i * K + b]! ? k : b), 0);
      expect(arg(back)).toBe(arg(soft));
      expect(back[i * K]! + back[i * K + 1]! + back[i * K + 2]!).toBeCloseTo(1, 12);
    }
  });
});
