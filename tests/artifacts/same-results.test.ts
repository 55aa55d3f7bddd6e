import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.js';
import { sameResults } from '../../report/build.js';
import { metricsTable, type MetricRow } from '../../schemas/evaluation.js';
import { artifactMeta } from './fixtures.js';
import { tempDir } from '../helpers.js';

const row = (value: number): MetricRow => ({
  protocol: 'deployment',
  level: 'full',
  subset: 'all',
  statistic: 'pooled',
  fold: null,
  metric: 'balanced_accuracy',
  class: null,
  value,
  n: 10,
});

describe('the report names branches with identical results', () => {
  it('two evaluations of different settings holding the same bytes are one sentence; different ones none', async () => {
    const store = new ArtifactStore(join(tempDir(), 'store'));
    const [a, b, c] = [1, 2, 3].map((n) => artifactMeta('evaluate', metricsTable, { settings: n }));
    await store.write(a!, { table: metricsTable, rows: [row(0.75)] });
    await store.write(b!, { table: metricsTable, rows: [row(0.75)] });
    await store.write(c!, { table: metricsTable, rows: [row(0.8)] });
    expect(
      await sameResults(store, [
        { name: 'baseline', id: c!.id },
        { name: 'no_2mass', id: a!.id },
        { name: 'gaia_only', id: b!.id },
      ]),
    ).toBe(
      '<p class="protocol">Identical results: no_2mass = gaia_only (the same evaluation, byte for byte: their settings differ, but not on this data).</p>',
    );
    expect(
      await sameResults(store, [
        { name: 'baseline', id: c!.id },
        { name: 'no_2mass', id: a!.id },
      ]),
    ).toBe('');
  });
});
