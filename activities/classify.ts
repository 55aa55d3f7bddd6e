import { computeFeatures, imputeMatrix, shortFilterName } from '../lib/features.js';
import { predictTwoStage } from '../lib/forest/two-stage.js';
import { InputError } from '../lib/errors.js';
import { ClassifyParams, FileContext } from '../schemas/params.js';
import { readTargetTable } from './io/target-table.js';
import { measurement, type ColumnKind, type NoDataCounts } from './io/validate.js';
import { predictionsTable, probabilitiesTable } from '../schemas/model.js';
import { loadModel, predictionTables } from './io/model.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

/** Columns a target table must have; HST magnitudes are named by filter (F475W, ...). */
export const REQUIRED_TARGET_COLUMNS = ['id', 'flux_s', 'flux_m', 'flux_h', 'flux_b'] as const;

/**
 * `classify`: a trained model applied to a target catalog (CSV or Parquet) with X-ray
 * fluxes (erg/s/cm^2), observed HST AB magnitudes in any of the model's filters, and
 * optional Gaia and positional columns. The features come from the same function that
 * made the training features; imputation uses the model's training medians.
 */
export const classifyStage = defineStage({
  name: 'classify',
  version: 2,
  params: ClassifyParams,
  inputs: { roles: { model: { from: ['train'] } } },
  context: FileContext,
  async run(ctx, p) {
    const { path } = ctx.context;
    await verifyRawFile(p.table, path);
    const modelRef = ctx.inputs.model;
    const { model, medians, spec } = await loadModel(ctx.store, modelRef);

    const file = p.table.name;
    const target = await readTargetTable(path, file);
    const { records: rows, header: columns } = target;
    if (rows.length === 0) throw new InputError({ file }, 'no rows to classify');
    const filterCols = spec.filters.map((f) => shortFilterName(f.name));
    const missing = REQUIRED_TARGET_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0)
      throw new InputError(
        { file, row: 1, column: missing.join(', ') },
        `required column${missing.length > 1 ? 's are' : ' is'} missing (also wanted: HST magnitudes ${filterCols.join(', ')})`,
      );
    if (!filterCols.some((c) => columns.includes(c)))
      throw new InputError({ file, row: 1, column: filterCols.join(', ') }, "no HST magnitude column of the model's filters");

    const noData = p.no_data ?? [];
    const noDataCounts: NoDataCounts = {};
    const ids = new Set<string>();
    const values = rows.map((r, i) => {
      const row = target.lines[i]!;
      const num = (c: string, kind: ColumnKind): number | null =>
        columns.includes(c) ? measurement({ file, row, column: c }, r[c], kind, noData, noDataCounts) : null;
      const id = String(r['id'] ?? '').trim();
      if (id === '') throw new InputError({ file, row, column: 'id', value: '' }, 'expected a source id');
      if (ids.has(id)) throw new InputError({ file, row, column: 'id', value: id }, 'duplicate source id');
      ids.add(id);
      const hst: Record<string, number | null> = {};
      spec.filters.forEach((f) => (hst[f.name] = num(shortFilterName(f.name), 'mag')));
      return computeFeatures(
        {
          flux_s: num('flux_s', 'flux_cgs'),
          flux_m: num('flux_m', 'flux_cgs'),
          flux_h: num('flux_h', 'flux_cgs'),
          flux_b: num('flux_b', 'flux_cgs'),
          hst_mag: hst,
          gaia_g: num('gaia_g', 'mag'),
          gaia_bp: num('gaia_bp', 'mag'),
          gaia_rp: num('gaia_rp', 'mag'),
          pm_total_masyr: num('pm_total', 'pm_masyr'),
          parallax_mas: num('parallax', 'parallax_mas'),
          sigma_eff_arcsec: num('sigma_eff', 'pos_err_arcsec'),
          nu: num('nu', 'nonnegative'),
          significance: num('significance', 'significance'),
          a_v: num('a_v', 'a_v_mag'),
        },
        spec,
      );
    });
    const m = imputeMatrix(values, medians);
    const sources = rows.map((r) => ({
      id: String(r['id']).trim(),
      label: columns.includes('label') && r['label'] !== null && r['label'] !== undefined ? String(r['label']) : null,
      fold: null,
    }));
    const { rows: out, proba } = predictionTables(model, predictTwoStage(model, m), sources);
    return {
      table: predictionsTable,
      rows: out,
      extraTables: { probabilities: { table: probabilitiesTable, rows: proba } },
      rawFiles: [p.table],
      notes: {
        classified: out.length,
        no_data_by_column: noDataCounts,
        final_classes: model.finalClasses,
        uncertain: out.filter((r) => r.uncertain).length,
        imputed_by_feature: Object.fromEntries(model.featureNames.map((f, k) => [f, m.imputed[k]!])),
      },
    };
  },
});
