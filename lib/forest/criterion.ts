/**
 * The Gini criterion of a CART classification tree, written once. With weighted class
 * totals w_k summing to W, Gini impurity is 1 - sum_k w_k^2 / W^2.
 */

/** sum_k w_k^2 over the first K entries. */
export function sumOfSquares(w: Float64Array, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += w[k]! * w[k]!;
  return s;
}

/** Gini impurity from a node's sum of squared class totals and its total weight. */
export function giniFromSums(sumSq: number, total: number): number {
  return 1 - sumSq / (total * total);
}

/**
 * The split criterion scikit-learn maximises (Gini's proxy improvement): with class
 * weights l_k on the left and r_k = n_k - l_k on the right,
 * sum_k l_k^2 / W_L + sum_k r_k^2 / W_R. Larger is purer.
 */
export function giniProxy(wL: Float64Array, wNode: Float64Array, K: number, WL: number, W: number): number {
  let sL = 0;
  let sR = 0;
  for (let k = 0; k < K; k++) {
    const l = wL[k]!;
    const r = wNode[k]! - l;
    sL += l * l;
    sR += r * r;
  }
  return sL / WL + sR / (W - WL);
}

/**
 * The weighted impurity decrease of a split (scikit-learn's mean decrease in impurity,
 * unnormalised): W * gini(node) - W_L * gini(left) - W_R * gini(right), the right's
 * totals being the node's minus the left's.
 */
export function impurityDecrease(
  wNode: Float64Array,
  wL: Float64Array,
  K: number,
  W: number,
  nodeImpurity: number,
): number {
  let WL = 0;
  let sL = 0;
  let sR = 0;
  for (let k = 0; k < K; k++) {
    const l = wL[k]!;
    const r = wNode[k]! - l;
    WL += l;
    sL += l * l;
    sR += r * r;
  }
  const WR = W - WL;
  return W * nodeImpurity - WL * giniFromSums(sL, WL) - WR * giniFromSums(sR, WR);
}
