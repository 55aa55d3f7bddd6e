import { join } from 'node:path';
import { sqlString } from '../../artifacts/duckdb.js';
import { checkRow, writeColumns, type ColumnValues } from '../../artifacts/parquet.js';
import { targetFeaturesTable, type TargetFeatureRow } from '../../schemas/catalog.js';
import { columnPredicates } from '../../schemas/table.js';

/** A feature's provenance in the table `features` (schema classify_features), by its code in FeatureBlock: the schema's own list. */
export const FEATURE_PROVENANCE = targetFeaturesTable.row.shape.provenance.options;
/** The code of each provenance in FeatureBlock: its index in FEATURE_PROVENANCE. */
export const PROVENANCE_CODE = Object.fromEntries(FEATURE_PROVENANCE.map((p, i) => [p, i])) as Record<
  TargetFeatureRow['provenance'],
  number
>;

/**
 * One route's rows of a classified field's table `features`, a column at a time: source i's
 * feature k at i * names.length + k, which is also the rows' order. A zone of 2x10^4
 * sources holds 5.6x10^5 such rows: as row objects, checked and appended a value at a time,
 * they were most of a zone's writing.
 */
export interface FeatureBlock {
  ids: string[];
  names: readonly string[];
  value: Float64Array;
  /** 0 where the feature is missing (value null) */
  known: Uint8Array;
  /** the value the model read (the training median where missing) */
  used: Float64Array;
  /** an index into FEATURE_PROVENANCE */
  provenance: Uint8Array;
}

/** The row of a block's source i, feature k, as the table holds it. */
function featureRow(b: FeatureBlock, i: number, k: number): TargetFeatureRow {
  const j = i * b.names.length + k;
  return {
    id: b.ids[i]!,
    feature: b.names[k]!,
    value: b.known[j] ? b.value[j]! : null,
    used: b.used[j]!,
    provenance: FEATURE_PROVENANCE[b.provenance[j]!]!,
  };
}

/**
 * Checks the blocks' rows against the table's schema a column at a time (each id and name
 * once, each number once), as the store checks rows (artifacts/parquet.ts validateRows): a
 * value a column refuses is reported as zod reports its row, its index counted over the
 * blocks in order.
 */
export function checkFeatureBlocks(blocks: readonly FeatureBlock[], where: string): void {
  const accepts = Object.fromEntries(columnPredicates(targetFeaturesTable).map((c) => [c.name, c.accepts]));
  let offset = 0;
  for (const b of blocks) {
    const nf = b.names.length;
    const fail = (i: number, k: number) =>
      checkRow(targetFeaturesTable, featureRow(b, i, k), offset + i * nf + k, where);
    const badName = b.names.findIndex((n) => !accepts['feature']!(n));
    for (let i = 0; i < b.ids.length; i++) {
      if (!accepts['id']!(b.ids[i])) fail(i, 0);
      if (badName >= 0) fail(i, badName);
      for (let k = 0; k < nf; k++) {
        const j = i * nf + k;
        if (
          (b.known[j] && !accepts['value']!(b.value[j])) ||
          !accepts['used']!(b.used[j]) ||
          !accepts['provenance']!(FEATURE_PROVENANCE[b.provenance[j]!])
        )
          fail(i, k);
      }
    }
    offset += b.ids.length * nf;
  }
}

/**
 * The blocks as the table `features` (relation `x`, for artifacts/parquet.ts
 * writeParquetSelect or a store's SelectPayload): each block written to `dir` as one row per
 * source (`<prefix>-<block>.parquet`: its id, then every feature's value, used value and
 * provenance code, writeColumns), unfolded by DuckDB into a row per source and feature in
 * the blocks' order. The caller checked the blocks (checkFeatureBlocks).
 */
export async function featureBlocksQuery(
  blocks: readonly FeatureBlock[],
  dir: string,
  prefix: string,
): Promise<{ from: string; order: string }> {
  const parts: string[] = [];
  for (const [bi, b] of blocks.entries()) {
    if (b.ids.length === 0) continue;
    const nf = b.names.length;
    const n = b.ids.length;
    // feature k's column of a row-major block
    const columnOf = <T extends Float64Array | Uint8Array>(of: T, k: number, out: T): T => {
      for (let i = 0; i < n; i++) out[i] = of[i * nf + k]!;
      return out;
    };
    const doubles = (of: Float64Array, k: number) => columnOf(of, k, new Float64Array(n));
    const bytes = (of: Uint8Array, k: number) => columnOf(of, k, new Uint8Array(n));
    const columns: ColumnValues[] = [{ name: 'id', type: 'VARCHAR', values: b.ids }];
    for (let k = 0; k < nf; k++)
      columns.push(
        { name: `v${k}`, type: 'DOUBLE', values: doubles(b.value, k), known: bytes(b.known, k) },
        { name: `u${k}`, type: 'DOUBLE', values: doubles(b.used, k) },
        { name: `p${k}`, type: 'INTEGER', values: bytes(b.provenance, k) },
      );
    const file = join(dir, `${prefix}-${bi}.parquet`);
    await writeColumns(columns, n, file);
    const list = (c: string) => `[${b.names.map((_, k) => `w.${c}${k}`).join(', ')}]`;
    parts.push(
      `SELECT ${bi} AS b, w.file_row_number AS r, unnest(range(${nf})) AS k, w.id, ` +
        `unnest([${b.names.map(sqlString).join(', ')}]) AS feature, unnest(${list('v')}) AS value, ` +
        `unnest(${list('u')}) AS used, unnest(${list('p')}) AS pc ` +
        `FROM read_parquet(${sqlString(file)}, file_row_number = true) w`,
    );
  }
  const provenance = `[${FEATURE_PROVENANCE.map(sqlString).join(', ')}][x.pc + 1]`;
  const from = parts.length
    ? `(SELECT x.b, x.r, x.k, x.id, x.feature, x.value, x.used, ${provenance} AS provenance FROM (${parts.join(' UNION ALL ')}) x) x`
    : `(SELECT 0 AS b, 0 AS r, 0 AS k, CAST(NULL AS VARCHAR) AS id, CAST(NULL AS VARCHAR) AS feature, CAST(NULL AS DOUBLE) AS value, CAST(NULL AS DOUBLE) AS used, CAST(NULL AS VARCHAR) AS provenance WHERE false) x`;
  return { from, order: 'x.b, x.r, x.k' };
}
