import { stratifiedFolds, stratifiedSplit } from '../../lib/folds.js';
import type { FoldSpec } from '../../schemas/model.js';

/**
 * The rows a train or predict step uses (indices into ids): every row; all but one
 * K-fold fold (train) or that fold (predict); or split part 0 (train) or the named part
 * (predict).
 */
export function selectRows(
  ids: readonly string[],
  labels: readonly string[],
  fold: FoldSpec,
  role: 'train' | 'predict',
): number[] {
  if (fold === null) return ids.map((_, i) => i);
  if ('k' in fold) {
    const f = stratifiedFolds(ids, labels, fold.k, fold.seed);
    return ids.flatMap((id, i) => ((f.get(id) === fold.index) === (role === 'predict') ? [i] : []));
  }
  const parts = stratifiedSplit(ids, labels, fold.split, fold.seed);
  const want = role === 'train' ? 0 : fold.part;
  return ids.flatMap((id, i) => (parts.get(id) === want ? [i] : []));
}
