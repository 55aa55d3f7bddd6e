/**
 * Grid fit of one source (paper section 3.2): normalise each model to the brightest
 * observed band, then the reduced chi-square over the other bands (Eq. 2); the best
 * grid point minimises it.
 */

/** Model fluxes precomputed through a set of bands: row-major [model][band]. */
export interface BandFluxTable {
  nModels: number;
  nBands: number;
  flux: Float64Array;
}

export interface Observation {
  /** band index (column of the BandFluxTable) of each measurement */
  band: Int32Array;
  flux_fnu: Float64Array;
  flux_err_fnu: Float64Array;
}

export type FitResult =
  { ok: true; model: number; chi2_red: number; scale: number; anchor: number } | { ok: false; reason: string };

/** The anchor: the measurement with the highest observed f_nu (step 2). */
function anchorIndex(obs: Observation): number {
  let a = 0;
  for (let k = 1; k < obs.flux_fnu.length; k++) if (obs.flux_fnu[k]! > obs.flux_fnu[a]!) a = k;
  return a;
}

/**
 * Fits the models listed in `candidates` (all when omitted). chi2_red =
 * sum_{k != anchor} ((f_k - s M_k) / sigma_k)^2 / (N - 1), with s = f_anchor / M_anchor.
 */
export function fitGrid(obs: Observation, table: BandFluxTable, candidates?: ArrayLike<number>): FitResult {
  const n = obs.flux_fnu.length;
  if (n < 3) return { ok: false, reason: `fewer than 3 valid bands (${n})` };
  const a = anchorIndex(obs);
  const fa = obs.flux_fnu[a]!;
  const aBand = obs.band[a]!;
  let best = -1;
  let bestChi2 = Infinity;
  let bestScale = 0;
  const count = candidates ? candidates.length : table.nModels;
  for (let c = 0; c < count; c++) {
    const m = candidates ? candidates[c]! : c;
    const row = m * table.nBands;
    const ma = table.flux[row + aBand]!;
    if (!(ma > 0)) continue;
    const s = fa / ma;
    let chi2 = 0;
    for (let k = 0; k < n; k++) {
      if (k === a) continue;
      const r = (obs.flux_fnu[k]! - s * table.flux[row + obs.band[k]!]!) / obs.flux_err_fnu[k]!;
      chi2 += r * r;
    }
    if (chi2 < bestChi2) {
      bestChi2 = chi2;
      best = m;
      bestScale = s;
    }
  }
  if (best < 0 || !Number.isFinite(bestChi2)) return { ok: false, reason: 'no model has flux in the anchor band' };
  return { ok: true, model: best, chi2_red: bestChi2 / (n - 1), scale: bestScale, anchor: a };
}
