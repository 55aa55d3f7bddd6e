import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../lib/errors.js';
import { DEFAULT_GRID, interpolate } from '../lib/sed/grid.js';
import { bandFlux, bandWeights, type Filter } from '../lib/sed/filters.js';
import { observationFromMags, zeroPointFnu, type BandMeasurement } from '../lib/sed/photometry.js';
import {
  blackbodySet,
  compositeFnu,
  flambdaToGridFnu,
  nearestTypes,
  powerLawSet,
  reddenedSet,
  steps,
  twoComponentSet,
  type ModelSet,
} from '../lib/sed/templates.js';
import { CLASS_BLIND_ASSIGNMENT, emptyTranslation, PAPER_ASSIGNMENT, preparePlan, translateLabelFree, translateSource, type FamilyKey, type Translation } from '../lib/sed/translate.js';
import { Rng } from '../lib/forest/rng.js';
import { sha256Hex } from '../artifacts/hash.js';
import { abMagFromFnu, fnuFromFlambda } from '../lib/sed/units.js';
import { median, medianAbsoluteDeviation, quantile } from '../lib/stats.js';
import { groupBy } from '../lib/group.js';
import { SedParams, sedDiagnosticsTable, sedDrawsTable, sedFitsTable, sedMagsTable, type SedDiagnosticRow, type SedDrawRow, type SedFitRow, type SedMagRow, type SedSettings } from '../schemas/sed.js';
import type { SourceRow } from '../schemas/tables.js';
import type { RawFileRef } from '../schemas/artifact.js';
import { filterFileName, loadComposite, loadFilter, loadPickles, loadVega, picklesFile, picklesTypeName, PICKLES_DWARFS } from './io/sed-data.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

const SedContext = z.object({ data_dir: z.string().min(1) });

/** Every data file the `sed` stage reads under these settings, relative to the data folder. */
export function sedDataFiles(s: SedSettings): string[] {
  const bands = s.input_bands.filter((b) => s.surveys.includes(b.survey));
  const files = new Set<string>([
    ...bands.map((b) => filterFileName(b.filter)),
    ...s.output_filters.map(filterFileName),
    ...PICKLES_DWARFS.map(picklesFile),
    picklesFile(s.lmxb_star),
    picklesFile(s.hmxb_star),
    s.templates.composite,
    s.templates.vega,
  ]);
  return [...files].sort();
}

/** A source's own generator for posterior draws: the same draws whatever else is in the table. */
function sourceRng(seed: number, id: string): Rng {
  return new Rng((seed ^ Number.parseInt(sha256Hex(id).slice(0, 8), 16)) >>> 0);
}

/**
 * `sed`: SED translation of the training sources into HST magnitudes (paper section
 * 3), with the label choosing the families (`paper`, `class_blind`) or without it
 * (`label_free`). Per source: the fit (family, model, chi2_red, A_V, bands) or the
 * reason it failed; per source, draw and output filter the predicted AB magnitude and
 * sigma (table `mags`); the model behind each posterior draw (table `draws`); and a
 * diagnostics table for the report (table `diagnostics`). Classes the method does not
 * translate (SNR) are skipped in every mode: that defines the training set, it does
 * not choose a template.
 */
export const sedStage = defineStage({
  name: 'sed',
  version: 2,
  params: SedParams,
  inputs: ['sources'],
  async run(ctx, p) {
    const { data_dir } = SedContext.parse(ctx.context);
    const needed = sedDataFiles(p);
    const byName = new Map(p.data_files.map((f) => [f.name, f] as const));
    for (const name of needed) {
      const ref: RawFileRef | undefined = byName.get(name);
      if (!ref) throw new Error(`sed: data file ${name} is read but not among the params' data_files`);
      await verifyRawFile(ref, join(data_dir, name));
    }
    const grid = DEFAULT_GRID;
    const bands = p.input_bands.filter((b) => p.surveys.includes(b.survey));
    const inputFilters: Filter[] = await Promise.all(bands.map((b) => loadFilter(data_dir, b.filter)));
    const outputFilters: Filter[] = await Promise.all(p.output_filters.map((f) => loadFilter(data_dir, f)));

    // zero points: Vega through each band where the system needs it
    const vega = await loadVega(data_dir, p.templates.vega);
    const vegaFnu = interpolate(vega.wavelength_aa, vega.flux_flam_cgs, grid.wavelength_aa).map((f, i) => fnuFromFlambda(grid.wavelength_aa[i]!, f));
    const zeroPoints = bands.map((b, i) => zeroPointFnu(b.system, bandFlux(bandWeights(inputFilters[i]!, grid, p.convention), vegaFnu)));

    const families = await buildFamilies(data_dir, p);
    const plan = preparePlan(grid, inputFilters, outputFilters, families, p.convention);
    const picklesTypes = PICKLES_DWARFS.map(picklesTypeName);
    const assignment = p.assignment === 'class_blind' ? CLASS_BLIND_ASSIGNMENT : PAPER_ASSIGNMENT;
    const labelFree = { priors: p.label_free.priors, draws: p.assignment === 'label_free' ? p.label_free.draws : 0 };
    const sigma = { chi2_coeff: p.sigma_chi2_coeff, cap_mag: p.sigma_cap_mag, uv_sigma_mag: p.uv_sigma_mag, uv_pivot_aa: p.uv_pivot_aa };

    const sources = (await ctx.store.readTable(ctx.inputs['sources']!.stage, ctx.inputs['sources']!.id)) as SourceRow[];
    const fits: SedFitRow[] = [];
    const mags: SedMagRow[] = [];
    const draws: SedDrawRow[] = [];
    const consistency = new Map<string, number[]>();
    sources.forEach((src, si) => {
      const measurements: BandMeasurement[] = bands.map((b, i) => ({
        band: i,
        name: b.name,
        mag: src[b.mag_column as keyof SourceRow] as number | null,
        mag_err: src[b.err_column as keyof SourceRow] as number | null,
        zero_point_fnu_cgs: zeroPoints[i]!,
      }));
      const obsRes = observationFromMags(measurements, { missing_err_frac: p.missing_err_frac, err_floor_mag: p.err_floor_mag });
      const used = obsRes.ok ? Array.from(obsRes.obs.band, (b) => bands[b]!.name) : [];
      const nOut = plan.outputs.length;
      let t: Translation;
      if (!src.in_scope || src.label === null) t = emptyTranslation('skipped', `label ${src.label_raw} is out of scope`, nOut, used.length);
      else if (PAPER_ASSIGNMENT[src.label] === null) t = emptyTranslation('skipped', 'class is not SED-translated', nOut, used.length);
      else if (!obsRes.ok) t = emptyTranslation('failed', obsRes.reason, nOut, 0);
      else if (used.length < 3) t = emptyTranslation('failed', `fewer than 3 valid bands (${used.length}${used.length ? `: ${used.join(', ')}` : ''})`, nOut, used.length);
      else if (p.assignment === 'label_free') {
        // no spectral type either: catalogues give one only for known stars, so it would carry the label
        t = translateLabelFree(plan, obsRes.obs, labelFree, sigma, labelFree.draws > 0 ? sourceRng(p.label_free.seed, src.id) : null);
      } else {
        const candidates: Partial<Record<FamilyKey, number[]>> = { pickles: nearestTypes(picklesTypes, src.spectral_type) };
        t = translateSource(plan, obsRes.obs, assignment[src.label] ?? null, sigma, candidates);
      }
      fits.push({
        id: src.id,
        label: src.label,
        status: t.status,
        reason: t.reason,
        family: t.family,
        model: t.model,
        model_value: t.model_value,
        chi2_red: t.chi2_red,
        n_bands: t.n_bands,
        bands_used: used.join(','),
        anchor_band: t.anchor_band,
        used_fallback: t.used_fallback,
        a_v: t.a_v,
        family_posterior: t.family_posterior,
      });
      plan.outputs.forEach((o, k) => mags.push({ id: src.id, draw: 0, filter: o.name, pivot_aa: o.pivot_aa, mag_ab: t.mag_ab[k] ?? null, mag_err: t.mag_err[k] ?? null }));
      t.draws.forEach((d, j) => {
        draws.push({ id: src.id, draw: j + 1, family: d.family, model: d.model, a_v: d.a_v });
        plan.outputs.forEach((o, k) => mags.push({ id: src.id, draw: j + 1, filter: o.name, pivot_aa: o.pivot_aa, mag_ab: d.mag_ab[k] ?? null, mag_err: null }));
      });
      // the method's consistency check (section 3.4): predicted HST magnitude against the nearest measured ground band
      if (t.status === 'ok' && t.chi2_red! < p.consistency.chi2_red_max && obsRes.ok) {
        for (const cf of p.consistency.filters) {
          const k = plan.outputs.findIndex((o) => o.name === cf);
          if (k < 0 || t.mag_ab[k] === null) continue;
          let nearest = -1;
          obsRes.obs.band.forEach((b, j) => {
            if (nearest < 0 || Math.abs(plan.inputPivots_aa[b]! - plan.outputs[k]!.pivot_aa) < Math.abs(plan.inputPivots_aa[obsRes.obs.band[nearest]!]! - plan.outputs[k]!.pivot_aa)) nearest = j;
          });
          const groundAb = abMagFromFnu(obsRes.obs.flux_fnu[nearest]!);
          const key = `consistency:${cf}-${bands[obsRes.obs.band[nearest]!]!.filter}`;
          const offsets = consistency.get(key);
          if (offsets) offsets.push(t.mag_ab[k]! - groundAb);
          else consistency.set(key, [t.mag_ab[k]! - groundAb]);
        }
      }
      if (si % 500 === 0) ctx.progress(si, sources.length);
    });
    const diagnostics = diagnose(fits, mags, consistency, p);
    const count = (s: string) => fits.filter((f) => f.status === s).length;
    return {
      table: sedFitsTable,
      rows: fits,
      extraTables: { mags: { table: sedMagsTable, rows: mags }, draws: { table: sedDrawsTable, rows: draws }, diagnostics: { table: sedDiagnosticsTable, rows: diagnostics } },
      notes: {
        translated: count('ok'),
        failed: count('failed'),
        skipped: count('skipped'),
        input_bands: bands.map((b, i) => ({ name: b.name, filter: b.filter, pivot_aa: plan.inputPivots_aa[i], zero_point_jy: zeroPoints[i]! / 1e-23 })),
        output_filters: plan.outputs,
        composite_red_slope_beta: families.composite ? (families.composite as ModelSet & { beta?: number }).beta ?? null : null,
      },
    };
  },
});

/** Every model family under these settings (reddened copies when extinction is on), read from the data folder. */
export async function buildFamilies(dataDir: string, p: SedSettings): Promise<Partial<Record<FamilyKey, ModelSet>>> {
  const grid = DEFAULT_GRID;
  const starFnu = async (code: string) => {
    const s = await loadPickles(dataDir, picklesFile(code));
    return flambdaToGridFnu(grid, s.wavelength_aa, s.flux_flam);
  };
  const pickles = await Promise.all(PICKLES_DWARFS.map(starFnu));
  // the two-component stars: a dwarf already loaded (K5V) is not read again
  const star = (code: string) => {
    const i = (PICKLES_DWARFS as readonly string[]).indexOf(code);
    return i >= 0 ? Promise.resolve(pickles[i]!) : starFnu(code);
  };
  // extinction (stars, XRBs, CVs): each reddened by A_V = 0 ... a_v_max
  const a_vs = p.extinction.a_v_max > 0 ? steps(0, p.extinction.a_v_max, p.extinction.a_v_step) : [0];
  const reddened = (set: ModelSet) => (a_vs.length > 1 ? reddenedSet(grid, set, a_vs, p.extinction.r_v) : set);
  const comp = await loadComposite(dataDir, p.templates.composite);
  const { fnu, beta } = compositeFnu(grid, comp.wavelength_aa, comp.flux_flam);
  if (!Number.isFinite(beta)) throw new InputError({ file: p.templates.composite }, 'cannot fit the red continuum slope at 7000-8500 A');
  const composite: ModelSet & { beta: number } = { family: 'composite', names: ['VandenBerk2001'], values: [null], spectra: [fnu], beta };
  return {
    pickles: reddened({ family: 'pickles', names: PICKLES_DWARFS.map(picklesTypeName), values: PICKLES_DWARFS.map(() => null), spectra: pickles }),
    composite,
    powerlaw: powerLawSet(grid),
    blackbody: reddened(blackbodySet(grid)),
    two_component_lmxb: reddened(twoComponentSet(grid, picklesTypeName(p.lmxb_star), await star(p.lmxb_star))),
    two_component_hmxb: reddened(twoComponentSet(grid, picklesTypeName(p.hmxb_star), await star(p.hmxb_star))),
  };
}

/** Per class: counts, chi2_red quantiles, share at the sigma cap, predicted-magnitude quantiles; then the consistency check. */
function diagnose(fits: SedFitRow[], mags: SedMagRow[], consistency: Map<string, number[]>, p: SedParams): SedDiagnosticRow[] {
  const out: SedDiagnosticRow[] = [];
  const labels = [...new Set(fits.map((f) => f.label).filter((l): l is string => l !== null))].sort();
  const magsById = groupBy(mags.filter((m) => m.draw === 0), (m) => m.id);
  for (const group of ['all', ...labels]) {
    const rows = fits.filter((f) => f.label !== null && (group === 'all' || f.label === group));
    const ok = rows.filter((f) => f.status === 'ok');
    const chi2 = ok.map((f) => f.chi2_red!);
    const add = (metric: string, value: number | null, n: number) => out.push({ group, metric, value: value !== null && Number.isFinite(value) ? value : null, n });
    add('sources', rows.length, rows.length);
    add('translated', ok.length, rows.length);
    add('failed', rows.filter((f) => f.status === 'failed').length, rows.length);
    add('skipped', rows.filter((f) => f.status === 'skipped').length, rows.length);
    add('used_fallback', ok.filter((f) => f.used_fallback).length, ok.length);
    add('chi2_red_median', chi2.length ? median(chi2) : null, chi2.length);
    add('chi2_red_p10', chi2.length ? quantile(chi2, 0.1) : null, chi2.length);
    add('chi2_red_p90', chi2.length ? quantile(chi2, 0.9) : null, chi2.length);
    add(`chi2_red_below_${p.consistency.chi2_red_max}_fraction`, chi2.length ? chi2.filter((c) => c < p.consistency.chi2_red_max).length / chi2.length : null, chi2.length);
    const aV = ok.flatMap((f) => (f.a_v === null ? [] : [f.a_v]));
    add('a_v_median', aV.length ? median(aV) : null, aV.length);
    add('a_v_p90', aV.length ? quantile(aV, 0.9) : null, aV.length);
    add('sigma_at_cap_fraction', chi2.length ? chi2.filter((c) => p.sigma_chi2_coeff * Math.sqrt(c) >= p.sigma_cap_mag).length / chi2.length : null, chi2.length);
    for (const filter of p.output_filters) {
      const values = ok.flatMap((f) => (magsById.get(f.id) ?? []).filter((m) => m.filter === filter && m.mag_ab !== null).map((m) => m.mag_ab!));
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

