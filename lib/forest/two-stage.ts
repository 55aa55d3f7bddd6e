import { deserializeForest, fitForest, matrixRows, oobProba, predictProba, serializeForest } from './forest.js';
import type { Forest, Matrix } from './types.js';
import type { TwoStageParams } from '../../schemas/forest.js';
import { smote } from './smote.js';
import type { TreeGrower } from './grow-batch.js';

export interface TwoStageModel {
  params: TwoStageParams;
  featureNames: string[];
  /** Stage-1 groups in column order */
  groups: string[];
  /** final classes in probability-vector order: the groups other than OTHER, then Stage 2's classes */
  finalClasses: string[];
  /** final classes with no training rows (always predicted with probability 0) */
  absentClasses: string[];
  stage1: Forest;
  /** null when fewer than two Stage-2 classes had training rows */
  stage2: Forest | null;
  /** the single Stage-2 class present when stage2 is null */
  stage2Only: string | null;
  /** fitted temperatures of Stage 1 and Stage 2 (1 = uncalibrated) */
  temperature?: { stage1: number; stage2: number };
  notes: Record<string, number | string>;
}

export interface TwoStagePrediction {
  finalClass: string;
  /** over finalClasses; sums to 1 */
  proba: Float64Array;
  /** the maximum probability of the stage that decided */
  confidence: number;
  decidedBy: 1 | 2;
  uncertain: boolean;
  stage1Proba: Float64Array;
}

function groupsOf(p: TwoStageParams): string[] {
  return [...new Set(Object.values(p.stage1_groups))].sort();
}

function finalClassesOf(p: TwoStageParams): string[] {
  return [...groupsOf(p).filter((g) => g !== p.other_group), ...p.stage2_classes];
}

/** Reorders a forest's probability columns into `groups` order (a group the forest never saw gets 0). */
function toColumns(
  proba: Float64Array,
  forestClasses: readonly string[],
  columns: readonly string[],
  n: number,
): Float64Array {
  const out = new Float64Array(n * columns.length);
  const K = forestClasses.length;
  forestClasses.forEach((c, k) => {
    const j = columns.indexOf(c);
    if (j < 0) throw new Error(`two-stage: forest class ${c} is not one of ${columns.join(', ')}`);
    for (let i = 0; i < n; i++) out[i * columns.length + j] = proba[i * K + k]!;
  });
  return out;
}

/** X with extra columns appended (column-major). */
function withColumns(m: Matrix, extra: Float64Array, nExtra: number): Matrix {
  const n = m.nSamples;
  const x = new Float64Array(n * (m.nFeatures + nExtra));
  x.set(m.x);
  for (let c = 0; c < nExtra; c++) for (let i = 0; i < n; i++) x[(m.nFeatures + c) * n + i] = extra[i * nExtra + c]!;
  return { x, nSamples: n, nFeatures: m.nFeatures + nExtra };
}

/**
 * `sampleGroups` (optional): rows that are copies of one source (posterior draws) share a
 * group and are bootstrapped together, so Stage 1's out-of-bag probabilities never come
 * from trees that saw a sibling draw.
 */
export async function fitTwoStage(
  m: Matrix,
  labels: readonly string[],
  featureNames: readonly string[],
  p: TwoStageParams,
  grower?: TreeGrower,
  sampleGroups?: Int32Array,
): Promise<TwoStageModel> {
  if (labels.length !== m.nSamples) throw new Error(`two-stage: ${labels.length} labels for ${m.nSamples} samples`);
  const groups = groupsOf(p);
  const y1 = labels.map((l, i) => {
    const g = p.stage1_groups[l];
    if (g === undefined)
      throw new Error(
        `two-stage: training row ${i} has label ${l}, which no Stage-1 group holds (${Object.keys(p.stage1_groups).join(', ')})`,
      );
    return g;
  });
  const jobs = grower ? { grower } : {};
  let m1 = m;
  let y1fit = y1;
  if (p.smote.enabled) ({ matrix: m1, labels: y1fit } = smote(m, y1, { k: p.smote.k, seed: p.forest.random_state }));
  // synthetic SMOTE rows (after the original ones) each form a group of their own
  const withSynthetic = (g: Int32Array, total: number): Int32Array => {
    let next = 0;
    for (const v of g) next = Math.max(next, v + 1);
    const out = new Int32Array(total);
    out.set(g);
    for (let i = g.length; i < total; i++) out[i] = next++;
    return out;
  };
  const groups1 = sampleGroups ? withSynthetic(sampleGroups, m1.nSamples) : undefined;
  const stage1 = await fitForest(m1, y1fit, {
    params: p.forest,
    featureNames: [...featureNames],
    ...jobs,
    ...(groups1 ? { groups: groups1 } : {}),
  });
  // out-of-bag Stage-1 probabilities of the original rows (SMOTE rows come after them)
  const oob = oobProba(stage1, m1, { labels: y1fit, ...(groups1 ? { groups: groups1 } : {}) });
  const p1 = toColumns(oob.proba.subarray(0, m.nSamples * stage1.classes.length), stage1.classes, groups, m.nSamples);

  const t1 =
    p.calibration === 'temperature'
      ? fitTemperature(
          oob.proba,
          stage1.classes.length,
          y1fit.map((l) => stage1.classes.indexOf(l)),
        )
      : 1;
  let t2 = 1;
  const keep = labels.flatMap((l, i) => (p.stage2_classes.includes(l) ? [i] : []));
  const present = [...new Set(keep.map((i) => labels[i]!))].sort();
  let stage2: Forest | null = null;
  let stage2Only: string | null = null;
  const names2 = [...featureNames, ...groups.map((g) => `p_stage1_${g}`)];
  if (present.length >= 2) {
    let m2 = matrixRows(withColumns(m, p1, groups.length), keep);
    let y2 = keep.map((i) => labels[i]!);
    if (p.smote.enabled)
      ({ matrix: m2, labels: y2 } = smote(m2, y2, { k: p.smote.k, seed: p.forest.random_state + 1 }));
    let groups2: Int32Array | undefined;
    if (sampleGroups) {
      // renumber the kept rows' groups densely (0..G2-1)
      const dense = new Map<number, number>();
      const kept = Int32Array.from(keep, (i) => {
        const g = sampleGroups[i]!;
        if (!dense.has(g)) dense.set(g, dense.size);
        return dense.get(g)!;
      });
      groups2 = withSynthetic(kept, m2.nSamples);
    }
    stage2 = await fitForest(m2, y2, {
      params: { ...p.forest, random_state: p.forest.random_state + 1 },
      featureNames: names2,
      ...jobs,
      ...(groups2 ? { groups: groups2 } : {}),
    });
    if (p.calibration === 'temperature') {
      const oob2 = oobProba(stage2, m2, { labels: y2, ...(groups2 ? { groups: groups2 } : {}) });
      t2 = fitTemperature(
        oob2.proba,
        stage2.classes.length,
        y2.map((l) => stage2!.classes.indexOf(l)),
      );
    }
  } else stage2Only = present[0] ?? null;

  const finalClasses = finalClassesOf(p);
  const seen = new Set(labels.map((l) => (p.stage2_classes.includes(l) ? l : p.stage1_groups[l]!)));
  return {
    params: p,
    featureNames: [...featureNames],
    groups,
    finalClasses,
    absentClasses: finalClasses.filter((c) => !seen.has(c)),
    stage1,
    stage2,
    stage2Only,
    temperature: { stage1: t1, stage2: t2 },
    notes: {
      stage1_rows: m1.nSamples,
      stage2_rows: keep.length,
      never_out_of_bag: oob.neverOutOfBag,
      temperature_stage1: t1,
      temperature_stage2: t2,
    },
  };
}

/**
 * Row-major probabilities (K per row) raised to 1/T and renormalised; T = 1 returns them as
 * they are. A value equal to the last one raised reuses its power (the same bits): a
 * forest's probabilities are mostly 0, or the floor fitTemperature sets, and the power was
 * most of the temperature fit's cost.
 */
export function sharpen(proba: Float64Array, K: number, temperature: number): Float64Array {
  if (temperature === 1) return proba;
  const out = new Float64Array(proba.length);
  const e = 1 / temperature;
  let last = Number.NaN;
  let lastPow = Number.NaN;
  for (let i = 0; i < proba.length; i += K) {
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const v = proba[i + k]!;
      // (0 and -0 are equal but may give powers of either sign)
      if (v !== last || (v === 0 && 1 / v !== 1 / last)) {
        last = v;
        lastPow = v ** e;
      }
      sum += out[i + k] = lastPow;
    }
    for (let k = 0; k < K; k++) out[i + k]! /= sum > 0 ? sum : 1;
  }
  return out;
}

/**
 * The temperature maximising the likelihood of the true classes under p^(1/T):
 * golden-section search on log T over [0.05, 20]. Probabilities are floored at 1e-3
 * first, since a forest gives exact zeros and one zero would make the likelihood 0 at
 * every T.
 */
export function fitTemperature(proba: Float64Array, K: number, truth: readonly number[]): number {
  const floored = proba.map((v) => Math.max(v, 1e-3));
  const nll = (logT: number) => {
    const q = sharpen(floored, K, Math.exp(logT));
    let s = 0;
    truth.forEach((k, i) => (s -= Math.log(q[i * K + k]!)));
    return s;
  };
  let a = Math.log(0.05);
  let b = Math.log(20);
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = nll(c);
  let fd = nll(d);
  for (let it = 0; it < 60; it++) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = nll(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = nll(d);
    }
  }
  return Number(Math.exp((a + b) / 2).toPrecision(6));
}

export function predictTwoStage(model: TwoStageModel, m: Matrix): TwoStagePrediction[] {
  const raw1 = predictProba(model.stage1, m);
  const stage2In = stage2Input(model, m, raw1);
  return combineStages(model, m, raw1, model.stage2 && stage2In ? predictProba(model.stage2, stage2In) : null);
}

/**
 * The same predictions with each forest's predict_proba done by `proba` (the engine's
 * tree threads: TreePool.predict gives lib's numbers, split over rows).
 */
export async function predictTwoStageWith(
  model: TwoStageModel,
  m: Matrix,
  proba: (forest: Forest, m: Matrix) => Promise<Float64Array>,
): Promise<TwoStagePrediction[]> {
  const raw1 = await proba(model.stage1, m);
  const stage2In = stage2Input(model, m, raw1);
  return combineStages(model, m, raw1, model.stage2 && stage2In ? await proba(model.stage2, stage2In) : null);
}

/** Stage 2's input: the features with Stage 1's probabilities as it was trained on them (uncalibrated); null without Stage 2. */
function stage2Input(model: TwoStageModel, m: Matrix, raw1: Float64Array): Matrix | null {
  if (!model.stage2) return null;
  return withColumns(m, toColumns(raw1, model.stage1.classes, model.groups, m.nSamples), model.groups.length);
}

function combineStages(
  model: TwoStageModel,
  m: Matrix,
  raw1: Float64Array,
  raw2: Float64Array | null,
): TwoStagePrediction[] {
  const n = m.nSamples;
  const G = model.groups.length;
  const t = model.temperature ?? { stage1: 1, stage2: 1 };
  const p1 = toColumns(sharpen(raw1, model.stage1.classes.length, t.stage1), model.stage1.classes, model.groups, n);
  const s2 = model.params.stage2_classes;
  const p2 =
    raw2 && model.stage2
      ? toColumns(sharpen(raw2, model.stage2.classes.length, t.stage2), model.stage2.classes, s2, n)
      : null;
  const other = model.groups.indexOf(model.params.other_group);
  const out: TwoStagePrediction[] = [];
  for (let i = 0; i < n; i++) {
    const row1 = p1.subarray(i * G, (i + 1) * G);
    let g = 0;
    for (let j = 1; j < G; j++) if (row1[j]! > row1[g]!) g = j;
    const row2 = new Float64Array(s2.length);
    if (p2) row2.set(p2.subarray(i * s2.length, (i + 1) * s2.length));
    else if (model.stage2Only) row2[s2.indexOf(model.stage2Only)] = 1;
    const proba = new Float64Array(model.finalClasses.length);
    model.finalClasses.forEach((c, k) => {
      const gi = model.groups.indexOf(c);
      proba[k] = gi >= 0 ? row1[gi]! : (other >= 0 ? row1[other]! : 0) * row2[s2.indexOf(c)]!;
    });
    let finalClass: string;
    let confidence: number;
    let decidedBy: 1 | 2;
    if (g === other) {
      let b = 0;
      for (let j = 1; j < s2.length; j++) if (row2[j]! > row2[b]!) b = j;
      finalClass = s2[b]!;
      confidence = row2[b]!;
      decidedBy = 2;
    } else {
      finalClass = model.groups[g]!;
      confidence = row1[g]!;
      decidedBy = 1;
    }
    out.push({
      finalClass,
      proba,
      confidence,
      decidedBy,
      uncertain: confidence < model.params.uncertain_below,
      stage1Proba: Float64Array.from(row1),
    });
  }
  return out;
}

/** One blob: magic, JSON header, then the Stage-1 and Stage-2 forests (forest.ts format). */
export function serializeTwoStage(model: TwoStageModel): Uint8Array {
  const f1 = serializeForest(model.stage1);
  const f2 = model.stage2 ? serializeForest(model.stage2) : new Uint8Array(0);
  const { stage1: _s1, stage2: _s2, ...rest } = model;
  const header = new TextEncoder().encode(JSON.stringify({ ...rest, stage1Bytes: f1.length, stage2Bytes: f2.length }));
  const out = new Uint8Array(8 + header.length + f1.length + f2.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x32534358, true); // "XCS2"
  dv.setUint32(4, header.length, true);
  out.set(header, 8);
  out.set(f1, 8 + header.length);
  out.set(f2, 8 + header.length + f1.length);
  return out;
}

export function deserializeTwoStage(bytes: Uint8Array): TwoStageModel {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== 0x32534358)
    throw new Error('not a serialized XClass two-stage model (bad magic number)');
  const hlen = dv.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen))) as Omit<
    TwoStageModel,
    'stage1' | 'stage2'
  > & {
    stage1Bytes: number;
    stage2Bytes: number;
  };
  const { stage1Bytes, stage2Bytes, ...rest } = header;
  const s1 = bytes.slice(8 + hlen, 8 + hlen + stage1Bytes);
  const s2 =
    stage2Bytes > 0
      ? deserializeForest(bytes.slice(8 + hlen + stage1Bytes, 8 + hlen + stage1Bytes + stage2Bytes))
      : null;
  // the header's params are as serialized; activities/io/model.ts validates them against the schema
  return { ...rest, stage1: deserializeForest(s1), stage2: s2 };
}

/**
 * The two-stage decision on given mean vectors (Monte-Carlo means over draws): the
 * Stage-1 group with the largest probability; for OTHER, the Stage-2 class with the
 * largest final probability, its confidence the Stage-2 share P(class) / P(OTHER), as
 * for a single prediction.
 */
export function decideOnMeans(model: TwoStageModel, stage1: Float64Array, final: Float64Array): TwoStagePrediction {
  let g = 0;
  for (let j = 1; j < model.groups.length; j++) if (stage1[j]! > stage1[g]!) g = j;
  const other = model.groups.indexOf(model.params.other_group);
  let finalClass = model.groups[g]!;
  let confidence = stage1[g]!;
  let decidedBy: 1 | 2 = 1;
  if (g === other) {
    let best = -1;
    for (const c of model.params.stage2_classes) {
      const k = model.finalClasses.indexOf(c);
      if (best < 0 || final[k]! > final[best]!) best = k;
    }
    finalClass = model.finalClasses[best]!;
    confidence = stage1[other]! > 0 ? final[best]! / stage1[other]! : 0;
    decidedBy = 2;
  }
  return {
    finalClass,
    proba: final,
    confidence,
    decidedBy,
    uncertain: confidence < model.params.uncertain_below,
    stage1Proba: stage1,
  };
}

/** The Stage-1 group vector a final vector implies: each group its class's probability, OTHER the sum of the Stage-2 classes. */
export function groupVector(model: TwoStageModel, final: Float64Array): Float64Array {
  return Float64Array.from(model.groups, (g) =>
    g === model.params.other_group
      ? model.params.stage2_classes.reduce((s, c) => s + final[model.finalClasses.indexOf(c)]!, 0)
      : final[model.finalClasses.indexOf(g)]!,
  );
}
