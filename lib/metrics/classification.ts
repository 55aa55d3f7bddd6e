/** Recall of each class present in y_true, by label. */
export function perClassRecall(yTrue: readonly string[], yPred: readonly string[]): Map<string, number> {
  if (yTrue.length !== yPred.length) throw new Error(`metrics: ${yTrue.length} true labels, ${yPred.length} predictions`);
  const total = new Map<string, number>();
  const hit = new Map<string, number>();
  yTrue.forEach((t, i) => {
    total.set(t, (total.get(t) ?? 0) + 1);
    if (yPred[i] === t) hit.set(t, (hit.get(t) ?? 0) + 1);
  });
  return new Map([...total].map(([c, n]) => [c, (hit.get(c) ?? 0) / n]));
}

/** Balanced accuracy: the mean recall over the classes present in y_true (scikit-learn's definition). */
export function balancedAccuracy(yTrue: readonly string[], yPred: readonly string[]): number {
  const r = [...perClassRecall(yTrue, yPred).values()];
  if (r.length === 0) throw new Error('metrics: no samples');
  return r.reduce((a, b) => a + b, 0) / r.length;
}
