import { Rng } from '../rng.js';
import { groupBy } from '../group.js';
import type { Matrix } from './types.js';

/**
 * SMOTE (Chawla et al. 2002): for each minority class, synthetic samples on the
 * segments between a sample and one of its k nearest neighbours of the same class
 * (Euclidean distance), until every class has as many samples as the largest one.
 * Apply it to a training fold only. Classes with a single sample are copied, not
 * interpolated. Written here because no maintained TypeScript SMOTE exists, and the
 * brute-force neighbour search is plenty for classes of a few hundred sources.
 */
export function smote(
  m: Matrix,
  labels: readonly string[],
  opts: { k: number; seed: number },
): { matrix: Matrix; labels: string[]; added: Record<string, number> } {
  const { nSamples: n, nFeatures: nF, x } = m;
  const byClass = groupBy(
    labels.map((_, i) => i),
    (i) => labels[i]!,
  );
  const target = Math.max(...[...byClass.values()].map((v) => v.length));
  const rng = new Rng(opts.seed);
  const newRows: number[][] = [];
  const newLabels: string[] = [];
  const added: Record<string, number> = {};
  const row = (i: number) => Array.from({ length: nF }, (_, f) => x[f * n + i]!);
  for (const [cls, members] of [...byClass.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const need = target - members.length;
    added[cls] = need;
    if (need <= 0) continue;
    const k = Math.min(opts.k, members.length - 1);
    // k nearest neighbours within the class, once per member
    const neighbours = members.map((i) => {
      if (k === 0) return [];
      return members
        .filter((j) => j !== i)
        .map((j) => {
          let d = 0;
          for (let f = 0; f < nF; f++) d += (x[f * n + i]! - x[f * n + j]!) ** 2;
          return { j, d };
        })
        .sort((a, b) => a.d - b.d || a.j - b.j)
        .slice(0, k)
        .map((e) => e.j);
    });
    for (let s = 0; s < need; s++) {
      const a = rng.nextInt(members.length);
      const base = row(members[a]!);
      const nb = neighbours[a]!;
      if (nb.length === 0) newRows.push(base);
      else {
        const other = row(nb[rng.nextInt(nb.length)]!);
        const gap = rng.nextFloat();
        newRows.push(base.map((v, f) => v + gap * (other[f]! - v)));
      }
      newLabels.push(cls);
    }
  }
  const total = n + newRows.length;
  const out = new Float64Array(total * nF);
  for (let f = 0; f < nF; f++) {
    out.set(x.subarray(f * n, (f + 1) * n), f * total);
    newRows.forEach((r, j) => (out[f * total + n + j] = r[f]!));
  }
  return { matrix: { x: out, nSamples: total, nFeatures: nF }, labels: [...labels, ...newLabels], added };
}
