import { describe, expect, it } from 'vitest';
import { DagBuilder } from '../../workflows/builder.js';
import { validateDag } from '../../workflows/dag.js';

const file = { name: 'catalogs/t.csv', sha256: 'a'.repeat(64), bytes: 10 };
const features = {
  xray_optical_filters: ['ACS_F475W'],
  galactic_parallax_mas: 0.5,
  include_gaia: true,
  include_av: false,
};

/**
 * Wiring mistakes the compiler must reject. `make test` and `npm run build` type-check
 * this file: each `@ts-expect-error` fails the build if its line compiles, so these are
 * real assertions about the types. The function never runs.
 */
export function miswired(b: DagBuilder): void {
  const ingest = b.step({
    key: 'ingest',
    stage: 'ingest',
    params: { catalog: file, label_map: {} },
    inputs: {},
    context: { path: '/x' },
  });
  const sed = b.step({
    key: 'sed',
    stage: 'sed',
    params: {} as never,
    inputs: { sources: ingest },
    context: { data_dir: '/d' },
  });
  // @ts-expect-error an input role the stage does not have
  b.step({ key: 'f1', stage: 'features', params: features, inputs: { sources: ingest, sed, extra: ingest } });
  // @ts-expect-error a required input role missing
  b.step({ key: 'f2', stage: 'features', params: features, inputs: { sed } });
  // @ts-expect-error an input of the wrong stage: `sed` takes ingested sources, not a SED artifact
  b.step({ key: 's2', stage: 'sed', params: {} as never, inputs: { sources: sed }, context: { data_dir: '/d' } });
  const dedupParams = { radius_arcsec: 1, always_merge_arcsec: 0, snr_radius_arcsec: 1 };
  // @ts-expect-error params of another stage
  b.step({ key: 'f3', stage: 'features', params: dedupParams, inputs: { sources: ingest, sed } });
  // @ts-expect-error a stage that reads a raw file needs its path
  b.step({ key: 'i2', stage: 'ingest', params: { catalog: file, label_map: {} }, inputs: {} });
  const train = b.step({
    key: 't',
    stage: 'train',
    params: { model: {} as never, fold: null },
    inputs: { features: b.step({ key: 'f', stage: 'features', params: features, inputs: { sources: ingest, sed } }) },
  });
  const scoring = { eval_classes: {}, stage1_groups: {}, confident_min: 0.5, calibration_bins: 10 };
  // @ts-expect-error evaluate scores predictions, not models
  b.step({ key: 'e', stage: 'evaluate', params: scoring, inputs: { deployment_fold_0: train } });
  // @ts-expect-error an evaluate role must name a protocol and a held-out part
  b.step({ key: 'e2', stage: 'evaluate', params: scoring, inputs: { fold_2: train } });
}

describe('DagBuilder', () => {
  it('declares steps with their keys, params, inputs, context and branch', () => {
    const b = new DagBuilder('t');
    const ingest = b.step({
      key: 'ingest',
      stage: 'ingest',
      params: { catalog: file, label_map: {} },
      inputs: {},
      context: { path: '/data/t.csv' },
    });
    const decl = {
      key: 'labels/a',
      params: { catalog: file, name: 'a', format: 'muwclass' as const, class: null, reference: 'r', label_map: {} },
      context: { data_dir: '/data' },
      branch: 'x',
      variant: 'v',
    };
    const labels = b.step({ ...decl, stage: 'labels', inputs: { sources: ingest } });
    expect(ingest).toEqual({ key: 'ingest', stage: 'ingest' });
    const dag = b.build();
    expect(dag.steps.map((s) => s.key)).toEqual(['ingest', 'labels/a']);
    // the declaration as data: the input handle became the producing step's key
    expect(dag.steps[1]).toEqual({ ...decl, stage: 'labels', inputs: { sources: 'ingest' } });
    expect(labels.stage).toBe('labels');
    expect(validateDag(dag)).toEqual(['ingest', 'labels/a']);
  });

  it('declares a step with the same stage, params and inputs once, under its first key', () => {
    const b = new DagBuilder('t');
    const ingest = b.step({
      key: 'ingest',
      stage: 'ingest',
      params: { catalog: file, label_map: {} },
      inputs: {},
      context: { path: '/x' },
    });
    const a = b.step({
      key: 'crossmatch/a',
      stage: 'crossmatch',
      params: { min_significance: 3, min_radius_arcsec: 0.5, radius_sigmas: 3 },
      inputs: { labels: b.external('labels', 'labels'), xray: ingest },
    });
    const again = b.step({
      key: 'ablation/x/crossmatch/a',
      stage: 'crossmatch',
      params: { radius_sigmas: 3, min_radius_arcsec: 0.5, min_significance: 3 },
      inputs: { labels: b.external('labels', 'labels'), xray: ingest },
    });
    const other = b.step({
      key: 'crossmatch/b',
      stage: 'crossmatch',
      params: { min_significance: 2, min_radius_arcsec: 0.5, radius_sigmas: 3 },
      inputs: { labels: b.external('labels', 'labels'), xray: ingest },
    });
    expect(again).toEqual(a);
    expect(other.key).toBe('crossmatch/b');
    expect(b.build().steps.map((s) => s.key)).toEqual(['ingest', 'crossmatch/a', 'crossmatch/b']);
    // an external input is not a step: the scheduler is given it
    expect(() => validateDag(b.build())).toThrow(/input 'labels' names unknown step 'labels'/);
    expect(validateDag(b.build(), { labels: { stage: 'labels', id: 'x' } })).toEqual([
      'ingest',
      'crossmatch/a',
      'crossmatch/b',
    ]);
  });
});
