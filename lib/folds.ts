import { Rng } from './rng.js';
import { groupBy } from './group.js';

/** Per class (classes in sorted order), its ids sorted then shuffled with the generator. */
function shuffledByClass(ids: readonly string[], labels: readonly string[], rng: Rng): string[][] {
  const byClass = groupBy(ids, (_, i) => labels[i]!);
  return [...byClass.keys()].sort().map((cls) => rng.shuffle([...byClass.get(cls)!].sort()));
}

/**
 * Stratified K-fold assignment: within each class the sources (ordered by id, so the
 * assignment does not depend on row order) are shuffled with the seed and dealt to
 * folds in turn, so every fold holds each class in proportion. Returns id -> fold.
 */
export function stratifiedFolds(
  ids: readonly string[],
  labels: readonly string[],
  k: number,
  seed: number,
): Map<string, number> {
  if (k < 2) throw new Error(`folds: k must be at least 2, got ${k}`);
  if (ids.length !== labels.length) throw new Error(`folds: ${ids.length} ids, ${labels.length} labels`);
  const out = new Map<string, number>();
  let offset = 0;
  for (const members of shuffledByClass(ids, labels, new Rng(seed))) {
    // continue dealing where the previous class stopped, so small classes do not all start in fold 0
    members.forEach((id, i) => out.set(id, (offset + i) % k));
    offset = (offset + members.length) % k;
  }
  return out;
}

/**
 * Stratified random split into parts of the given fractions (the method's 72/18/10
 * train/validation/test): within each class, sources ordered by id are shuffled with
 * the seed and the first round(n * f0) go to part 0, the next round(n * (f0 + f1)) -
 * round(n * f0) to part 1, the rest to the last part. Returns id -> part index.
 */
export function stratifiedSplit(
  ids: readonly string[],
  labels: readonly string[],
  fractions: readonly number[],
  seed: number,
): Map<string, number> {
  const total = fractions.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9) throw new Error(`split: fractions must sum to 1, got ${total}`);
  const out = new Map<string, number>();
  for (const members of shuffledByClass(ids, labels, new Rng(seed))) {
    let cum = 0;
    const bounds = fractions.map((f) => Math.round(members.length * (cum += f)));
    members.forEach((id, i) =>
      out.set(
        id,
        bounds.findIndex((b) => i < b),
      ),
    );
  }
  return out;
}
