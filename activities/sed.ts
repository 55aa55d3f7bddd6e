import { join } from 'node:path';
import { InputError } from '../lib/errors.js';
import { DEFAULT_GRID } from '../lib/sed/grid.js';
import type { Filter } from '../lib/sed/filters.js';
import { bandZeroPoints, observationFromMags, spectrumFnuOnGrid, type BandMeasurement } from '../lib/sed/photometry.js';
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
import {
  CLASS_BLIND_ASSIGNMENT,
  emptyTranslation,
  PAPER_ASSIGNMENT,
  preparePlan,
  translateLabelFree,
  translateSource,
  unfittable,
  type FamilyKey,
  type Translation,
} from '../lib/sed/translate.js';
import { Rng } from '../lib/rng.js';
import { sha256Hex } from '../artifacts/hash.js';
import { consistencyOffsets, sedDiagnostics } from '../lib/sed/diagnostics.js';
import { DataDirContext } from '../schemas/params.js';
import {
  SedParams,
  sedDiagnosticsTable,
  sedDrawsTable,
  sedFitsTable,
  sedMagsTable,
  type SedDrawRow,
  type SedFitRow,
  type SedMagRow,
  type SedSettings,
} from '../schemas/sed.js';
import type { SourceRow } from '../schemas/tables.js';
import type { RawFileRef } from '../schemas/artifact.js';
import { loadComposite, loadFilter, loadPickles, loadVega, picklesFile, picklesTypeName, PICKLES_DWARFS, sedDataFiles } from './io/sed-data.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';
import { sourcesTable } from '../schemas/tables.js';

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
  inputs: { roles: { sources: { from: ['ingest'] } } },
  context: DataDirContext,
  async run(ctx, p) {
    const { data_dir } = ctx.context;
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
    const vegaFnu = spectrumFnuOnGrid(grid, vega.wavelength_aa, vega.flux_flam_cgs);
    const zeroPoints = bandZeroPoints(
      grid,
      vegaFnu,
      bands.map((b, i) => ({ filter: inputFilters[i]!, system: b.system })),
      p.convention,
    );

    const families = await buildFamilies(data_dir, p);
    const plan = preparePlan(grid, inputFilters, outputFilters, families, p.convention);
    const picklesTypes = PICKLES_DWARFS.map(picklesTypeName);
    const assignment = p.assignment === 'class_blind' ? CLASS_BLIND_ASSIGNMENT : PAPER_ASSIGNMENT;
    const labelFree = { priors: p.label_free.priors, draws: p.assignment === 'label_free' ? p.label_free.draws : 0 };
    const sigma = { chi2_coeff: p.sigma_chi2_coeff, cap_mag: p.sigma_cap_mag, uv_sigma_mag: p.uv_sigma_mag, uv_pivot_aa: p.uv_pivot_aa };

    const sources = await ctx.store.readTable(sourcesTable, ctx.inputs.sources);
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
      else if (!obsRes.ok || used.length < 3) t = unfittable(obsRes, used, nOut)!;
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
      plan.outputs.forEach((o, k) =>
        mags.push({ id: src.id, draw: 0, filter: o.name, pivot_aa: o.pivot_aa, mag_ab: t.mag_ab[k] ?? null, mag_err: t.mag_err[k] ?? null }),
      );
      t.draws.forEach((d, j) => {
        draws.push({ id: src.id, draw: j + 1, family: d.family, model: d.model, a_v: d.a_v });
        plan.outputs.forEach((o, k) =>
          mags.push({ id: src.id, draw: j + 1, filter: o.name, pivot_aa: o.pivot_aa, mag_ab: d.mag_ab[k] ?? null, mag_err: null }),
        );
      });
      // the method's consistency check (section 3.4): predicted HST magnitude against the nearest measured ground band
      if (t.status === 'ok' && t.chi2_red! < p.consistency.chi2_red_max && obsRes.ok) {
        for (const c of consistencyOffsets(plan, obsRes.obs, t.mag_ab, p.consistency.filters)) {
          const key = `consistency:${c.output}-${bands[c.band]!.filter}`;
          const offsets = consistency.get(key);
          if (offsets) offsets.push(c.offset_mag);
          else consistency.set(key, [c.offset_mag]);
        }
      }
      if (si % 500 === 0) ctx.progress(si, sources.length);
    });
    const diagnostics = sedDiagnostics(fits, mags, consistency, p);
    const count = (s: string) => fits.filter((f) => f.status === s).length;
    return {
      table: sedFitsTable,
      rows: fits,
      extraTables: {
        mags: { table: sedMagsTable, rows: mags },
        draws: { table: sedDrawsTable, rows: draws },
        diagnostics: { table: sedDiagnosticsTable, rows: diagnostics },
      },
      notes: {
        translated: count('ok'),
        failed: count('failed'),
        skipped: count('skipped'),
        input_bands: bands.map((b, i) => ({ name: b.name, filter: b.filter, pivot_aa: plan.inputPivots_aa[i], zero_point_jy: zeroPoints[i]! / 1e-23 })),
        output_filters: plan.outputs,
        composite_red_slope_beta: families.composite ? ((families.composite as ModelSet & { beta?: number }).beta ?? null) : null,
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
