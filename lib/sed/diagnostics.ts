import { median, medianAbsoluteDeviation, quantile } from '../stats.js';
import { groupBy } from '../group.js';
import type { SedDiagnosticRow, SedFitRow, SedMagRow, SedSettings } from '../../schemas/sed.js';
import type { Observation } from './fit.js';
import type { TranslationPlan } from './translate.js';
import { abMagFromFnu } from './units.js';

/**
 * The method's consistency check (section 3.4) for one translated source: for each of
 * `filters` among the plan's outputs, the predicted HST AB magnitude minus the AB
 * magnitude measured in the ground band nearest to it in pivot wavelength (`band`: that
 * band's index among the plan's inputs).
 */
export function consistencyOffsets(
  plan: TranslationPlan,
  obs: Observation,
  magAb: readonly (number | null)[],
  filters: readonly string[],
): { output: string; band: number; offset_mag: number }[] {
  const out: { output: string; band: number; offset_mag: number }[] = [];
  for (const cf of filters) {
    const k = plan.outputs.findIndex((o) => o.name === cf);
    if (k < 0 || magAb[k] === null || magAb[k] === undefined) continue;
    const pivot = plan.outputs[k]!.pivot_aa;
    let nearest = -1;
    obs.band.forEach((b, j) => {
      if (
        nearest < 0 ||
        Math.abs(plan.inputPivots_aa[b]! - pivot) < Math.abs(plan.inputPivots_aa[obs.band[nearest]!]! - pivot)
      )
        nearest = j;
    });
    out.push({ output: cf, band: obs.band[nearest]!, offset_mag: magAb[k]! - abMagFromFnu(obs.flux_fnu[nearest]!) });
  }
  return out;
}

/** Per class: counts, chi2_red quantiles, share at the sigma cap, predicted-magnitude quantiles; then the consistency check. */
export function sedDiagnostics(
  fits: readonly SedFitRow[],
  mags: readonly SedMagRow[],
  consistency: ReadonlyMap<string, number[]>,
  p: SedSettings,
): SedDiagnosticRow[] {
  const out: SedDiagnosticRow[] = [];
  const labels = [...new Set(fits.map((f) => f.label).filter((l): l is string => l !== null))].sort();
  const magsById = groupBy(
    mags.filter((m) => m.draw === 0),
    (m) => m.id,
  );
  for (const group of ['all', ...labels]) {
    const rows = fits.filter((f) => f.label !== null && (group === 'all' || f.label === group));
    const ok = rows.filter((f) => f.status === 'ok');
    const chi2 = ok.map((f) => f.chi2_red!);
    const add = (metric: string, value: number | null, n: number) =>
      out.push({ group, metric, value: value !== null && Number.isFinite(value) ? value : null, n });
    add('sources', rows.length, rows.length);
    add('translated', ok.length, rows.length);
    add('failed', rows.filter((f) => f.status === 'failed').length, rows.length);
    add('skipped', rows.filter((f) => f.status === 'skipped').length, rows.length);
    add('used_fallback', ok.filter((f) => f.used_fallback).length, ok.length);
    add('chi2_red_median', chi2.length ? median(chi2) : null, chi2.length);
    add('chi2_red_p10', chi2.length ? quantile(chi2, 0.1) : null, chi2.length);
    add('chi2_red_p90', chi2.length ? quantile(chi2, 0.9) : null, chi2.length);
    add(
      `chi2_red_below_${p.consistency.chi2_red_max}_fraction`,
      chi2.length ? chi2.filter((c) => c < p.consistency.chi2_red_max).length / chi2.length : null,
      chi2.length,
    );
    const aV = ok.flatMap((f) => (f.a_v === null ? [] : [f.a_v]));
    add('a_v_median', aV.length ? median(aV) : null, aV.length);
    add('a_v_p90', aV.length ? quantile(aV, 0.9) : null, aV.length);
    add(
      'sigma_at_cap_fraction',
      chi2.length
        ? chi2.filter((c) => p.sigma_chi2_coeff * Math.sqrt(c) >= p.sigma_cap_mag).length / chi2.length
        : null,
      chi2.length,
    );
    for (const filter of p.output_filters) {
      const values = ok.flatMap((f) =>
        (magsById.get(f.id) ?? []).filter((m) => m.filter === filter && m.mag_ab !== null).map((m) => m.mag_ab!),
      );
      add(`mag:${filter}:median`, values.length ? median(values) : null, values.length);
      add(`mag:${filter}:p10`, values.length ? quantile(values, 0.1) : null, values.length);
      add(`mag:${filter}:p90`, values.length ? quantile(values, 0.9) : null, values.length);
    }
  }
  for (const [key, offsets] of [...consistency.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    out.push({ group: 'all', metric: `${key}:median_offset`, value: median(offsets), n: offsets.length });
    out.push({ group: 'all', metric: `${key}:mad`, value: medianAbsoluteDeviation(offsets), n: offsets.length });
  }
  return out;
}
