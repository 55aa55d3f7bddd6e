import { nearestTypes, type ModelSet } from '../lib/sed/templates.js';
import {
  CLASS_BLIND_ASSIGNMENT,
  emptyTranslation,
  PAPER_ASSIGNMENT,
  translateLabelFree,
  translateSource,
  unfittable,
  type FamilyKey,
  type Translation,
} from '../lib/sed/translate.js';
import { groupBy } from '../lib/group.js';
import { median } from '../lib/stats.js';
import { consistencyOffsets, sedDiagnostics } from '../lib/sed/diagnostics.js';
import { DataDirContext } from '../schemas/params.js';
import {
  SedParams,
  sedDiagnosticsTable,
  sedDrawsTable,
  sedFitsTable,
  sedMagsTable,
  sedRedshiftTable,
  type SedDrawRow,
  type SedFitRow,
  type SedMagRow,
  type SedRedshiftRow,
} from '../schemas/sed.js';
import { picklesTypeName, PICKLES_DWARFS } from './io/sed-data.js';
import { defineStage } from './stage.js';
import { sourceRng } from './translation.js';
import { sourcesTable } from '../schemas/tables.js';
import { prepareTranslation, sourceObservation } from './translation.js';

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
  tables: {
    data: sedFitsTable,
    mags: sedMagsTable,
    draws: sedDrawsTable,
    diagnostics: sedDiagnosticsTable,
    redshift: sedRedshiftTable,
  },
  async run(ctx, p) {
    const { data_dir } = ctx.context;
    const prepared = await prepareTranslation(data_dir, p);
    const { bands, zeroPoints, families, plan, sigma, labelFree } = prepared;
    const picklesTypes = PICKLES_DWARFS.map(picklesTypeName);
    const assignment = p.assignment === 'class_blind' ? CLASS_BLIND_ASSIGNMENT : PAPER_ASSIGNMENT;

    const sources = await ctx.store.readTable(sourcesTable, ctx.inputs.sources);
    const fits: SedFitRow[] = [];
    const mags: SedMagRow[] = [];
    const draws: SedDrawRow[] = [];
    const redshifts: SedRedshiftRow[] = [];
    const consistency = new Map<string, number[]>();
    sources.forEach((src, si) => {
      const { obs: obsRes, used } = sourceObservation(prepared, src);
      const nOut = plan.outputs.length;
      let t: Translation;
      if (!src.in_scope || src.label === null)
        t = emptyTranslation('skipped', `label ${src.label_raw} is out of scope`, nOut, used.length);
      else if (PAPER_ASSIGNMENT[src.label] === null)
        t = emptyTranslation('skipped', 'class is not SED-translated', nOut, used.length);
      else if (!obsRes.ok || used.length < 3) t = unfittable(obsRes, used, nOut)!;
      else if (p.assignment === 'label_free') {
        // no spectral type either: catalogues give one only for known stars, so it would carry the label
        t = translateLabelFree(
          plan,
          obsRes.obs,
          labelFree,
          sigma,
          labelFree.draws > 0 ? sourceRng(p.label_free.seed, src.id) : null,
        );
      } else {
        const candidates: Partial<Record<FamilyKey, number[]>> = {
          pickles: nearestTypes(picklesTypes, src.spectral_type),
        };
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
      if (t.p_redshifted !== null)
        redshifts.push({ id: src.id, label: src.label, z_mean: t.z_mean, p_redshifted: Math.min(1, t.p_redshifted) });
      plan.outputs.forEach((o, k) =>
        mags.push({
          id: src.id,
          draw: 0,
          filter: o.name,
          pivot_aa: o.pivot_aa,
          mag_ab: t.mag_ab[k] ?? null,
          mag_err: t.mag_err[k] ?? null,
        }),
      );
      t.draws.forEach((d, j) => {
        draws.push({ id: src.id, draw: j + 1, family: d.family, model: d.model, a_v: d.a_v });
        plan.outputs.forEach((o, k) =>
          mags.push({
            id: src.id,
            draw: j + 1,
            filter: o.name,
            pivot_aa: o.pivot_aa,
            mag_ab: d.mag_ab[k] ?? null,
            mag_err: null,
          }),
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
    const redshifted = families.composite_z !== undefined || families.salvato !== undefined;
    const count = (s: string) => fits.filter((f) => f.status === s).length;
    return {
      table: sedFitsTable,
      rows: fits,
      extraTables: {
        mags: { table: sedMagsTable, rows: mags },
        draws: { table: sedDrawsTable, rows: draws },
        diagnostics: { table: sedDiagnosticsTable, rows: diagnostics },
        // the redshifted AGN families' posterior redshift, when they are fitted (the other translations' artifacts are as before)
        ...(redshifted ? { redshift: { table: sedRedshiftTable, rows: redshifts } } : {}),
      },
      notes: {
        translated: count('ok'),
        failed: count('failed'),
        skipped: count('skipped'),
        input_bands: bands.map((b, i) => ({
          name: b.name,
          filter: b.filter,
          pivot_aa: plan.inputPivots_aa[i],
          zero_point_jy: zeroPoints[i]! / 1e-23,
        })),
        output_filters: plan.outputs,
        ...(redshifted ? { redshift_families: redshiftNotes(redshifts) } : {}),
        composite_red_slope_beta: families.composite
          ? ((families.composite as ModelSet & { beta?: number }).beta ?? null)
          : null,
      },
    };
  },
});

/** Per training class: sources with a redshift, their median posterior-mean z and median share of the redshifted families. */
function redshiftNotes(
  rows: readonly SedRedshiftRow[],
): Record<string, { n: number; median_z_mean: number | null; median_p_redshifted: number }> {
  const out: Record<string, { n: number; median_z_mean: number | null; median_p_redshifted: number }> = {};
  for (const [label, rs] of groupBy(rows, (r) => r.label ?? 'none')) {
    const zs = rs.flatMap((r) => (r.z_mean === null ? [] : [r.z_mean]));
    out[label] = {
      n: rs.length,
      median_z_mean: zs.length > 0 ? median(zs) : null,
      median_p_redshifted: median(rs.map((r) => r.p_redshifted)),
    };
  }
  return out;
}
