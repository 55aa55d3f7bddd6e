import type { ArtifactStore } from '../../artifacts/store.js';
import type { ArtifactRef } from '../../schemas/step.js';
import { featureValuesTable, type FeatureSpec } from '../../schemas/features.js';
import { sqlString, withConnection } from '../../artifacts/duckdb.js';
import { z } from 'zod';
import { FeaturesFacts } from '../../schemas/facts.js';

export interface FeatureRows {
  featureNames: string[];
  /** how the features were made (filters, ratios), so targets get the same */
  spec: FeatureSpec;
  ids: string[];
  labels: string[];
  /** per source, values in featureNames order (null = missing), from the translation itself (draw 0) */
  values: (number | null)[][];
  /** rows from SED posterior draws (draw >= 1): the source's index in ids, the draw, the values */
  draws: { source: number; draw: number; values: (number | null)[] }[];
}

/**
 * Pivots a `features` artifact (long form) into rows in the artifact's feature order,
 * sources sorted by id, posterior-draw rows after them in (source, draw) order.
 *
 * DuckDB groups the long rows per source and draw (one row of lists each) instead of
 * every long row becoming a JavaScript object: train and predict read a features
 * artifact once per fold and protocol, and turning its ~37,000 rows into objects (their
 * strings above all) and validating each was most of the reading. The file is checked
 * against its checksum first; what comes out is validated here (every feature known and
 * present once, finite values, one label per source, the row count meta.json records).
 * The rows are shared between callers, who must not change them.
 */
export function readFeatureRows(store: ArtifactStore, ref: ArtifactRef): Promise<FeatureRows> {
  // read once per process and shared: every fold's train and predict steps read the same features
  return store.derived(ref, 'feature rows', ['data.parquet'], () => pivotFeatureRows(store, ref));
}

async function pivotFeatureRows(store: ArtifactStore, ref: ArtifactRef): Promise<FeatureRows> {
  const { feature_names: featureNames, feature_spec: spec } = await store.readFacts(FeaturesFacts, ref);
  const { path, rows: expectedRows } = await store.verifiedTablePath(featureValuesTable, ref);
  const where = `features ${ref.id.slice(0, 12)}`;
  const names = `[${featureNames.map(sqlString).join(', ')}]::VARCHAR[]`;
  const groups = await withConnection(async (conn) => {
    const reader = await conn.runAndReadAll(
      `SELECT id, draw, min(label) AS label, count(DISTINCT label)::INTEGER AS labels, count(*)::INTEGER AS n,
              list(col ORDER BY col) AS cols, list(CASE WHEN isfinite(value) THEN value END ORDER BY col) AS vals,
              count(*) FILTER (WHERE col IS NULL)::INTEGER AS unknown, min(feature) FILTER (WHERE col IS NULL) AS unknown_name,
              count(*) FILTER (WHERE value IS NOT NULL AND NOT isfinite(value))::INTEGER AS not_finite
       FROM (SELECT *, list_position(${names}, feature) - 1 AS col FROM read_parquet(${sqlString(path)})) GROUP BY id, draw`,
    );
    return z.array(FeatureGroup).parse(reader.getRowObjectsJS());
  });
  let total = 0;
  const byId = new Map<string, { label: string; perDraw: (number | null)[][] }>();
  for (const g of groups) {
    total += g.n;
    if (g.unknown > 0) throw new Error(`${where}: unknown feature ${g.unknown_name}`);
    if (g.not_finite > 0)
      throw new Error(`${where}: source ${g.id} draw ${g.draw} has a value that is not a finite number`);
    if (g.labels !== 1) throw new Error(`${where}: source ${g.id} has ${g.labels} labels`);
    const v = new Array<number | null>(featureNames.length).fill(null);
    g.cols.forEach((c, j) => {
      if (c === null) return; // counted in g.unknown above
      if (j > 0 && g.cols[j - 1] === c)
        throw new Error(`${where}: source ${g.id} draw ${g.draw} has feature ${featureNames[c]} twice`);
      v[c] = g.vals[j]!;
    });
    let rec = byId.get(g.id);
    if (!rec) byId.set(g.id, (rec = { label: g.label, perDraw: [] }));
    else if (rec.label !== g.label) throw new Error(`${where}: source ${g.id} has 2 labels`);
    rec.perDraw[g.draw] = v;
  }
  if (total !== expectedRows) throw new Error(`${where}: ${total} rows on disk, meta.json says ${expectedRows}`);
  const ids = [...byId.keys()].sort();
  const values = ids.map((id) => {
    const v = byId.get(id)!.perDraw[0];
    if (!v) throw new Error(`${where}: source ${id} has posterior draws but no draw 0`);
    return v;
  });
  const draws = ids.flatMap((id, source) =>
    byId.get(id)!.perDraw.flatMap((v, draw) => (draw === 0 ? [] : [{ source, draw, values: v }])),
  );
  return { featureNames, spec, ids, labels: ids.map((id) => byId.get(id)!.label), values, draws };
}

/** One source and draw of a features artifact, as DuckDB groups it. */
const FeatureGroup = z.object({
  id: z.string().min(1),
  draw: z.number().int().nonnegative(),
  label: z.string().min(1),
  labels: z.number().int(),
  n: z.number().int(),
  /** feature columns in order (null: a feature not in the artifact's list), and their values */
  cols: z.array(z.number().int().nonnegative().nullable()),
  vals: z.array(z.number().nullable()),
  unknown: z.number().int(),
  unknown_name: z.string().nullable(),
  not_finite: z.number().int(),
});
