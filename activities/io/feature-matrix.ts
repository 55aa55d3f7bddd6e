import type { ArtifactStore } from '../../artifacts/store.js';
import type { ArtifactRef } from '../../schemas/step.js';
import { featureValuesTable, type FeatureSpec } from '../../schemas/features.js';
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
 */
export async function readFeatureRows(store: ArtifactStore, ref: ArtifactRef): Promise<FeatureRows> {
  const { feature_names: featureNames, feature_spec: spec } = await store.readFacts(FeaturesFacts, ref);
  const col = new Map(featureNames.map((f, i) => [f, i]));
  const long = await store.readTable(featureValuesTable, ref);
  const byId = new Map<string, { label: string; perDraw: (number | null)[][] }>();
  for (const r of long) {
    let rec = byId.get(r.id);
    if (!rec) byId.set(r.id, (rec = { label: r.label, perDraw: [] }));
    const c = col.get(r.feature);
    if (c === undefined) throw new Error(`features ${ref.id.slice(0, 12)}: unknown feature ${r.feature}`);
    (rec.perDraw[r.draw] ??= new Array<number | null>(featureNames.length).fill(null))[c] = r.value;
  }
  const ids = [...byId.keys()].sort();
  const values = ids.map((id) => {
    const v = byId.get(id)!.perDraw[0];
    if (!v) throw new Error(`features ${ref.id.slice(0, 12)}: source ${id} has posterior draws but no draw 0`);
    return v;
  });
  const draws = ids.flatMap((id, source) => byId.get(id)!.perDraw.flatMap((v, draw) => (draw === 0 ? [] : [{ source, draw, values: v }])));
  return { featureNames, spec, ids, labels: ids.map((id) => byId.get(id)!.label), values, draws };
}
