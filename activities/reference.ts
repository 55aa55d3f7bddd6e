import { FileContext, ReferenceParams } from '../schemas/params.js';
import { referencePredictionsTable, type ReferencePredictionRow } from '../schemas/tables.js';
import { textField } from './io/formats/csv.js';
import type { NoDataCounts } from './io/validate.js';
import { InputError } from '../lib/errors.js';
import { MUWCLASS_ID, readMuwclass, REFERENCE_COLUMNS, referenceRow } from './io/muwclass.js';
import { verifyRawFile } from './io/raw-file.js';
import { defineStage } from './stage.js';
import { sourcesTable } from '../schemas/tables.js';

/**
 * `reference`: the competitor's own predictions from the MUWCLASS table (`Class`,
 * `Class_prob`, `CT`, `P_*`) -> `reference_predictions`. They are kept out of
 * `sources` so they can never become features. Depends on `ingest`, so a catalog that
 * fails ingest leaves no artifact from this file at all.
 */
export const referenceStage = defineStage({
  name: 'reference',
  version: 2,
  params: ReferenceParams,
  inputs: { roles: { sources: { from: ['ingest'] } } },
  context: FileContext,
  tables: { data: referencePredictionsTable },
  async run(ctx, params) {
    const { path } = ctx.context;
    await verifyRawFile(params.catalog, path);
    const table = await readMuwclass(path, params.catalog.name, REFERENCE_COLUMNS);
    // predictions are kept only for sources that ingest accepted, so both tables share ids
    const sourceIds = new Set((await ctx.store.readTable(sourcesTable, ctx.inputs.sources)).map((r) => r.id));
    const noDataCounts: NoDataCounts = {};
    const rows: ReferencePredictionRow[] = table.records.map((_, i) => {
      const id = textField(table, i, MUWCLASS_ID)!;
      if (!sourceIds.has(id))
        throw new InputError(
          { file: table.file, row: table.lines[i], column: MUWCLASS_ID, value: id },
          'source id not in the ingested sources',
        );
      return referenceRow(table, i, {
        pipeline: params.pipeline,
        labelMap: params.label_map ?? null,
        noData: params.no_data ?? [],
        counts: noDataCounts,
      });
    });
    return {
      table: referencePredictionsTable,
      rows,
      rawFiles: [params.catalog],
      notes: { rows_read: rows.length, no_data_by_column: noDataCounts },
    };
  },
});
