import { z } from 'zod';
import { computeFeatures, imputeMatrix, shortFilterName } from '../lib/features.js';
import { predictTwoStage } from '../lib/forest/two-stage.js';
import { InputError } from '../lib/errors.js';
import { sqlString, withConnection } from '../artifacts/duckdb.js';
import { RawFileRef } from '../schemas/artifact.js';
import { FileContext } from '../schemas/params.js';
import { predictionsTable, probabilitiesTable } from '../schemas/model.js';
import { loadModel, predictionTables } from './io/model.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';

export const ClassifyParams = z.strictObject({ table: RawFileRef });

/** Columns a target table must have; HST magnitudes are named by filter (F475W, ...). */
export const REQUIRED_TARGET_COLUMNS = ['id', 'flux_s', 'flux_m', 'flux_h', 'flux_b'] as const;
/** Columns used when present (missing values are imputed like training gaps). */
export const OPTIONAL_TARGET_COLUMNS = ['gaia_g', 'gaia_bp', 'gaia_rp', 'pm_total', 'parallax', 'sigma_eff', 'nu', 'significance', 'a_v', 'label'] as const;

/**
 * `classify`: a trained model applied to a target catalog (CSV or Parquet) with X-ray
 * fluxes (erg/s/cm^2), observed HST AB magnitudes in any of the model's filters, and
 * optional Gaia and positional columns. The features come from the same function that
 * made the training features; imputation uses the model's training medians.
 */
export const classifyStage = defineStage({
  name: 'classify',
  version: 1,
  params: ClassifyParams,
  inputs: ['model'],
  async run(ctx, p) {
    const { path } = FileContext.parse(ctx.context);
    await verifyRawFile(p.table, path);
    const modelRef = ctx.inputs['model']!;
    const { model, medians, spec } = await loadModel(ctx.store, modelRef);
    if (!spec) throw new Error(`model ${modelRef.id.slice(0, 12)} has no feature spec (trained by an older train stage)`);

    const file = p.table.name;
    const reader = /\.parquet$/i.test(file) ? 'read_parquet' : 'read_csv';
    const rows = await withConnection(async (conn) => {
      try {
        const r = await conn.runAndReadAll(`SELECT * FROM ${reader}(${sqlString(path)})`);
        return r.getRowObjectsJS() as Record<string, unknown>[];
      } catch (err) {
        throw new InputError({ file }, `cannot read as ${reader === 'read_csv' ? 'CSV' : 'Parquet'}: ${(err as Error).message.split('\n')[0]}`);
      }
    });
    if (rows.length === 0) throw new InputError({ file }, 'no rows to classify');
    const columns = Object.keys(rows[0]!);
    const filterCols = spec.filters.map((f) => shortFilterName(f.name));
    const missing = REQUIRED_TARGET_COLUMNS.filter((c) => !columns.includes(c));
    if (missing.length > 0) throw new InputError({ file, row: 1, column: missing.join(', ') }, `required column${missing.length > 1 ? 's are' : ' is'} missing (also wanted: HST magnitudes ${filterCols.join(', ')})`);
    if (!filterCols.some((c) => columns.includes(c))) throw new InputError({ file, row: 1, column: filterCols.join(', ') }, 'no HST magnitude column of the model\'s filters');

    const num = (r: Record<string, unknown>, c: string, i: number): number | null => {
      const v = r[c];
      if (v === null || v === undefined || v === '') return null;
      const x = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(String(v).trim());
      if (!Number.isFinite(x)) throw new InputError({ file, row: i + 2, column: c, value: v }, 'expected a number');
      return x;
    };
    const ids = new Set<string>();
    const values = rows.map((r, i) => {
      const id = String(r['id'] ?? '').trim();
      if (id === '') throw new InputError({ file, row: i + 2, column: 'id', value: '' }, 'expected a source id');
      if (ids.has(id)) throw new InputError({ file, row: i + 2, column: 'id', value: id }, 'duplicate source id');
      ids.add(id);
      const hst: Record<string, number | null> = {};
      spec.filters.forEach((f) => (hst[f.name] = columns.includes(shortFilterName(f.name)) ? num(r, shortFilterName(f.name), i) : null));
      const opt = (c: string) => (columns.includes(c) ? num(r, c, i) : null);
      return computeFeatures(
        { flux_s: num(r, 'flux_s', i), flux_m: num(r, 'flux_m', i), flux_h: num(r, 'flux_h', i), flux_b: num(r, 'flux_b', i), hst_mag: hst, gaia_g: opt('gaia_g'), gaia_bp: opt('gaia_bp'), gaia_rp: opt('gaia_rp'), pm_total_masyr: opt('pm_total'), parallax_mas: opt('parallax'), sigma_eff_arcsec: opt('sigma_eff'), nu: opt('nu'), significance: opt('significance'), a_v: opt('a_v') },
        spec,
      );
    });
    const m = imputeMatrix(values, medians);
    const sources = rows.map((r) => ({ id: String(r['id']).trim(), label: columns.includes('label') && r['label'] !== null ? String(r['label']) : null, fold: null }));
    const { rows: out, proba } = predictionTables(model, predictTwoStage(model, m), sources);
    return {
      table: predictionsTable,
      rows: out,
      extraTables: { probabilities: { table: probabilitiesTable, rows: proba } },
      rawFiles: [p.table],
      notes: { classified: out.length, final_classes: model.finalClasses, uncertain: out.filter((r) => r.uncertain).length, imputed_by_feature: Object.fromEntries(model.featureNames.map((f, k) => [f, m.imputed[k]!])) },
    };
  },
});
