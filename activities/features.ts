import { sourceFeatureInput } from '../lib/features.js';
import { computeFeatures, featureNames, type FeatureSpec } from '../lib/features.js';
import {
  FeaturesParams,
  featureDroppedTable,
  featureValuesTable,
  type FeatureDroppedRow,
  type FeatureValueRow,
} from '../schemas/features.js';
import { InputError } from '../lib/errors.js';
import { NoContext } from '../schemas/params.js';
import { FeaturesFacts } from '../schemas/facts.js';
import { defineStage } from './stage.js';
import { sourcesTable, type SourceRow } from '../schemas/tables.js';
import { sedDrawsTable, sedFitsTable, sedMagsTable } from '../schemas/sed.js';

/**
 * `features`: the feature matrix of the training sources (paper section 4.1, Table 3)
 * from `sources` and the `sed` artifact's predicted HST magnitudes, for the translation
 * itself (draw 0) and each posterior draw the `sed` artifact holds. Out-of-scope
 * sources and sources with no HST magnitude are dropped, each with its reason. Missing
 * values stay missing here: imputation belongs to training (medians from training
 * rows only, stored with the model).
 */
export const featuresStage = defineStage({
  name: 'features',
  version: 3,
  params: FeaturesParams,
  inputs: { roles: { sources: { from: ['ingest'] }, sed: { from: ['sed'], optional: true } } },
  context: NoContext,
  tables: { data: featureValuesTable, dropped: featureDroppedTable },
  facts: FeaturesFacts,
  async run(ctx, p) {
    const { sources: src, sed } = ctx.inputs;
    const sources = await ctx.store.readTable(sourcesTable, src);
    if (p.xray_only) return xrayOnlyFeatures(sources, p);
    if (!sed) throw new Error('features: the full feature set needs the sed input (only xray_only features have none)');
    const fits = new Map((await ctx.store.readTable(sedFitsTable, sed)).map((f) => [f.id, f]));
    const mags = await ctx.store.readTable(sedMagsTable, sed, 'mags');
    const drawAv = new Map(
      (await ctx.store.readTable(sedDrawsTable, sed, 'draws')).map((d) => [`${d.id}\u0000${d.draw}`, d.a_v]),
    );
    const filters = new Map<string, number>();
    // per source, per draw (index = draw number), magnitude by filter
    const magsById = new Map<string, Record<string, number | null>[]>();
    for (const m of mags) {
      filters.set(m.filter, m.pivot_aa);
      let perDraw = magsById.get(m.id);
      if (!perDraw) magsById.set(m.id, (perDraw = []));
      (perDraw[m.draw] ??= {})[m.filter] = m.mag_ab;
    }
    for (const f of p.xray_optical_filters) {
      if (!filters.has(f))
        throw new InputError(
          { file: `params of features`, column: 'xray_optical_filters', value: f },
          `not among the SED output filters (${[...filters.keys()].join(', ')})`,
        );
    }
    const spec: FeatureSpec = {
      filters: [...filters].map(([name, pivot_aa]) => ({ name, pivot_aa })),
      xray_optical_filters: p.xray_optical_filters,
      galactic_parallax_mas: p.galactic_parallax_mas,
      include_gaia: p.include_gaia,
      include_av: p.include_av,
      ...(p.distance_snr_min !== undefined && p.distance_snr_min !== null
        ? { distance_snr_min: p.distance_snr_min }
        : {}),
    };
    const names = featureNames(spec);
    const values: FeatureValueRow[] = [];
    const dropped: FeatureDroppedRow[] = [];
    const kept: Record<string, number> = {};
    const droppedByClass: Record<string, number> = {};
    const missing: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
    for (const s of sources) {
      if (!s.in_scope || s.label === null) {
        dropped.push({ id: s.id, label: s.label, reason: `label ${s.label_raw} is out of scope` });
        continue;
      }
      const perDraw = magsById.get(s.id) ?? [];
      const hst = perDraw[0] ?? {};
      if (!Object.values(hst).some((m) => m !== null)) {
        const fit = fits.get(s.id);
        dropped.push({
          id: s.id,
          label: s.label,
          reason: `no HST magnitude (SED ${fit?.status ?? 'missing'}${fit?.reason ? `: ${fit.reason}` : ''})`,
        });
        droppedByClass[s.label] = (droppedByClass[s.label] ?? 0) + 1;
        continue;
      }
      const fit = fits.get(s.id);
      const input = sourceFeatureInput(s, hst, fit?.a_v ?? null);
      const label = s.label;
      perDraw.forEach((draw_mags, draw) => {
        const a_v = draw === 0 ? input.a_v : (drawAv.get(`${s.id}\u0000${draw}`) ?? null);
        const v = computeFeatures({ ...input, hst_mag: draw_mags, a_v }, spec);
        v.forEach((value, k) => {
          if (value === null && draw === 0) missing[names[k]!]!++;
          values.push({ id: s.id, draw, label, feature: names[k]!, value });
        });
      });
      kept[label] = (kept[label] ?? 0) + 1;
    }
    return {
      table: featureValuesTable,
      rows: values,
      extraTables: { dropped: { table: featureDroppedTable, rows: dropped } },
      notes: { dropped_no_hst_by_class: droppedByClass, missing_by_feature: missing },
      facts: {
        feature_names: names,
        feature_spec: spec,
        draws: [...magsById.values()].reduce((m, d) => Math.max(m, d.length - 1), 0),
        rows_by_class: kept,
      } satisfies FeaturesFacts,
    };
  },
});

/**
 * The X-ray-only feature matrix (FeaturesParams.xray_only): every in-scope labelled
 * source, photometry or not, with the features every X-ray source has. One row per
 * source (draw 0): there is no translation to draw from.
 */
function xrayOnlyFeatures(sources: readonly SourceRow[], p: FeaturesParams) {
  const spec: FeatureSpec = {
    filters: [],
    xray_optical_filters: [],
    galactic_parallax_mas: p.galactic_parallax_mas,
    include_gaia: false,
    include_av: false,
    xray_only: true,
  };
  const names = featureNames(spec);
  const values: FeatureValueRow[] = [];
  const dropped: FeatureDroppedRow[] = [];
  const kept: Record<string, number> = {};
  const missing: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));
  for (const s of sources) {
    if (!s.in_scope || s.label === null) {
      dropped.push({ id: s.id, label: s.label, reason: `label ${s.label_raw} is out of scope` });
      continue;
    }
    const label = s.label;
    computeFeatures(sourceFeatureInput(s, {}, null), spec).forEach((value, k) => {
      if (value === null) missing[names[k]!]!++;
      values.push({ id: s.id, draw: 0, label, feature: names[k]!, value });
    });
    kept[label] = (kept[label] ?? 0) + 1;
  }
  return {
    table: featureValuesTable,
    rows: values,
    extraTables: { dropped: { table: featureDroppedTable, rows: dropped } },
    notes: {
      xray_only: 'every in-scope source, with or without photometry: the model of targets without a counterpart',
      missing_by_feature: missing,
    },
    facts: { feature_names: names, feature_spec: spec, draws: 0, rows_by_class: kept } satisfies FeaturesFacts,
  };
}
