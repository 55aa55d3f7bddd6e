/**
 * Classification metrics, with scikit-learn's definitions (and its zero_division=0):
 * rows of a confusion matrix are true classes, columns predicted ones.
 */

export interface Confusion {
  classes: string[];
  /** counts[t * K + p] */
  counts: Float64Array;
}

/** Confusion matrix over the union of true and predicted labels (sorted) or the given class list. */
export function confusionMatrix(
  yTrue: readonly string[],
  yPred: readonly string[],
  classes?: readonly string[],
): Confusion {
  if (yTrue.length !== yPred.length)
    throw new Error(`metrics: ${yTrue.length} true labels, ${yPred.length} predictions`);
  const cls = classes ? [...classes] : [...new Set([...yTrue, ...yPred])].sort();
  const index = new Map(cls.map((c, i) => [c, i]));
  const K = cls.length;
  const counts = new Float64Array(K * K);
  yTrue.forEach((t, i) => {
    const a = index.get(t);
    const b = index.get(yPred[i]!);
    if (a === undefined || b === undefined)
      throw new Error(`metrics: label ${a === undefined ? t : yPred[i]} not in ${cls.join(', ')}`);
    counts[a * K + b]!++;
  });
  return { classes: cls, counts };
}

function sums(c: Confusion) {
  const K = c.classes.length;
  const t = new Float64Array(K);
  const p = new Float64Array(K);
  let trace = 0;
  let total = 0;
  for (let a = 0; a < K; a++) {
    for (let b = 0; b < K; b++) {
      const v = c.counts[a * K + b]!;
      t[a]! += v;
      p[b]! += v;
      total += v;
      if (a === b) trace += v;
    }
  }
  return { K, t, p, trace, total };
}

export interface PerClass {
  class: string;
  precision: number;
  /** recall, which astronomers call completeness */
  recall: number;
  f1: number;
  support: number;
}

export function perClassMetrics(c: Confusion): PerClass[] {
  const { K, t, p } = sums(c);
  return c.classes.map((cls, k) => {
    const tp = c.counts[k * K + k]!;
    const precision = p[k]! > 0 ? tp / p[k]! : 0;
    const recall = t[k]! > 0 ? tp / t[k]! : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: cls, precision, recall, f1, support: t[k]! };
  });
}

export function accuracy(c: Confusion): number {
  const { trace, total } = sums(c);
  return total > 0 ? trace / total : 0;
}

/** Mean recall over the classes that occur in y_true (scikit-learn's balanced_accuracy_score). */
export function balancedAccuracyOf(c: Confusion): number {
  const pcs = perClassMetrics(c).filter((m) => m.support > 0);
  return pcs.length ? pcs.reduce((s, m) => s + m.recall, 0) / pcs.length : 0;
}

/** Unweighted mean F1 over every class in true or predicted labels (f1_score(average='macro')). */
export function macroF1(c: Confusion): number {
  const { K, t, p } = sums(c);
  const used = perClassMetrics(c).filter((_, k) => t[k]! > 0 || p[k]! > 0);
  return used.length && K ? used.reduce((s, m) => s + m.f1, 0) / used.length : 0;
}

/**
 * Multiclass Matthews correlation coefficient (Gorodkin 2004; scikit-learn's
 * matthews_corrcoef): (c s - sum_k p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)),
 * 0 when the denominator is 0.
 */
export function mcc(c: Confusion): number {
  const { K, t, p, trace, total: s } = sums(c);
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < K; k++) {
    pt += p[k]! * t[k]!;
    pp += p[k]! * p[k]!;
    tt += t[k]! * t[k]!;
  }
  const den = Math.sqrt((s * s - pp) * (s * s - tt));
  return den > 0 ? (trace * s - pt) / den : 0;
}

export function balancedAccuracy(yTrue: readonly string[], yPred: readonly string[]): number {
  if (yTrue.length === 0) throw new Error('metrics: no samples');
  return balancedAccuracyOf(confusionMatrix(yTrue, yPred));
}

export interface Calibration {
  /** per bin: [lo, hi), count, mean confidence, accuracy */
  bins: { lo: number; hi: number; count: number; confidence: number | null; accuracy: number | null }[];
  /** expected calibration error: sum_b n_b/N |acc_b - conf_b| */
  ece: number;
  /** maximum calibration error over non-empty bins */
  mce: number;
}

/**
 * Reliability of the maximum probability (Guo et al. 2017): equal-width bins on the
 * confidence, the last bin closed at 1.
 */
export function calibration(confidence: readonly number[], correct: readonly boolean[], nBins = 10): Calibration {
  const N = confidence.length;
  const count = new Array<number>(nBins).fill(0);
  const conf = new Array<number>(nBins).fill(0);
  const hit = new Array<number>(nBins).fill(0);
  confidence.forEach((c, i) => {
    const b = Math.min(nBins - 1, Math.floor(c * nBins));
    count[b]!++;
    conf[b]! += c;
    if (correct[i]) hit[b]!++;
  });
  let ece = 0;
  let mce = 0;
  const bins = count.map((n, b) => {
    if (n === 0) return { lo: b / nBins, hi: (b + 1) / nBins, count: 0, confidence: null, accuracy: null };
    const gap = Math.abs(hit[b]! / n - conf[b]! / n);
    ece += (n / N) * gap;
    mce = Math.max(mce, gap);
    return { lo: b / nBins, hi: (b + 1) / nBins, count: n, confidence: conf[b]! / n, accuracy: hit[b]! / n };
  });
  return { bins, ece, mce };
}

/** Multiclass Brier score: mean over sources of sum_k (p_k - [k is the true class])^2. */
export function brierScore(
  proba: readonly (readonly number[])[],
  classes: readonly string[],
  yTrue: readonly string[],
): number {
  let s = 0;
  proba.forEach((row, i) => row.forEach((p, k) => (s += (p - (classes[k] === yTrue[i] ? 1 : 0)) ** 2)));
  return proba.length ? s / proba.length : 0;
}

export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, std };
}
