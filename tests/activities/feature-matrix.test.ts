import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFeatureRows } from '../../activities/io/feature-matrix.js';
import { artifactMeta } from '../artifacts/fixtures.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { featureValuesTable, type FeatureValueRow } from '../../schemas/features.js';
import { tempDir } from '../helpers.js';

const spec = {
  filters: [{ name: 'HST_ACS_WFC.F475W', pivot_aa: 4747 }],
  xray_optical_filters: [],
  galactic_parallax_mas: 0.5,
  include_gaia: false,
};

/** A features artifact with these long rows and feature names, in a fresh store. */
async function featuresArtifact(rows: FeatureValueRow[], names = ['a', 'b']) {
  const store = new ArtifactStore(join(tempDir(), 'store'));
  const facts = { feature_names: names, feature_spec: spec, draws: 0, rows_by_class: {} };
  const meta = artifactMeta('features', featureValuesTable, { n: rows.length, names }, { facts });
  await store.write(meta, { table: featureValuesTable, rows });
  return { store, ref: { stage: 'features' as const, id: meta.id } };
}
const row = (id: string, draw: number, feature: string, value: number | null, label = 'AGN'): FeatureValueRow => ({
  id,
  draw,
  label,
  feature,
  value,
});

describe('reading a features artifact into rows', () => {
  it('pivots long rows into the artifact feature order, sources sorted by id, draws after', async () => {
    const { store, ref } = await featuresArtifact([
      row('s2', 0, 'b', 4, 'CV'),
      row('s1', 0, 'b', 2),
      row('s1', 0, 'a', 1),
      row('s2', 0, 'a', null, 'CV'),
      row('s1', 1, 'a', 1.5),
      row('s1', 1, 'b', 2.5),
    ]);
    const got = await readFeatureRows(store, ref);
    expect(got.featureNames).toEqual(['a', 'b']);
    expect(got.ids).toEqual(['s1', 's2']);
    expect(got.labels).toEqual(['AGN', 'CV']);
    expect(got.values).toEqual([
      [1, 2],
      [null, 4],
    ]);
    expect(got.draws).toEqual([{ source: 0, draw: 1, values: [1.5, 2.5] }]);
  });

  it('refuses an unknown feature, a feature given twice, and two labels for one source', async () => {
    const unknown = await featuresArtifact([row('s1', 0, 'a', 1), row('s1', 0, 'zz', 2)]);
    await expect(readFeatureRows(unknown.store, unknown.ref)).rejects.toThrow(/unknown feature zz/);
    const twice = await featuresArtifact([row('s1', 0, 'a', 1), row('s1', 0, 'a', 2)]);
    await expect(readFeatureRows(twice.store, twice.ref)).rejects.toThrow(/source s1 draw 0 has feature a twice/);
    const labels = await featuresArtifact([row('s1', 0, 'a', 1), row('s1', 0, 'b', 2, 'CV')]);
    await expect(readFeatureRows(labels.store, labels.ref)).rejects.toThrow(/source s1 has 2 labels/);
  });
});
