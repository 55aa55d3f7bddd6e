import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageActivities } from '../../activities/run-step.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { loadConfig } from '../../config/load.js';
import { planPipeline } from '../../engine/plan.js';
import { prepareTranslation, sourceObservation, type PreparedTranslation } from '../../activities/translation.js';
import { predictDraws, sourceDrawFeatures, withSingle } from '../../activities/montecarlo.js';
import { fullModelDraws, type DrawTarget, type Observed, type TargetTranslation } from '../../lib/classify/targets.js';
import { abOffset } from '../../lib/sed/systems.js';
import { featureNames, imputeMatrix, type FeatureSpec } from '../../lib/features.js';
import { fitTwoStage, predictTwoStage } from '../../lib/forest/two-stage.js';
import { sourcesTable, type SourceRow } from '../../schemas/tables.js';
import type { PipelineInput } from '../../schemas/pipeline.js';
import { Rng } from '../../lib/rng.js';
import { translateLabelFree } from '../../lib/sed/translate.js';
import { createTreePool } from '../../engine/tree-pool.js';
import { DATA, tempDir } from '../helpers.js';

/**
 * Monte-Carlo draws of training sources (predict's path) on the bundled MUWCLASS table:
 * reproducible, the same whatever the order or batch a source comes in, and the linear
 * translation close to the exact one.
 */
let t: PreparedTranslation;
let spec: FeatureSpec;
let sources: SourceRow[];
let input: PipelineInput;

beforeAll(async () => {
  const config = loadConfig({ sets: [`store.path=${JSON.stringify(join(tempDir(), 'store'))}`] });
  input = await planPipeline(config, { ablations: [] });
  const store = new ArtifactStore(config.store.path, 'checksum');
  const ingest = await stageActivities(store).ingest(
    { catalog: input.files.muwclass, label_map: input.label_map, no_data: input.no_data! },
    {},
    { key: 'ingest', context: { path: input.files.muwclass.path } },
  );
  t = await prepareTranslation(DATA, input.baseline.sed);
  // translatable in-scope sources with Gaia photometry, in table order
  // translatable in-scope sources, up to 8 of each class, in table order
  const perClass = new Map<string, number>();
  sources = (await store.readTable(sourcesTable, { stage: 'ingest', id: ingest.artifactId })).filter((s) => {
    if (!s.in_scope || s.label === null || s.label === 'SNR' || sourceObservation(t, s).used.length < 3) return false;
    const k = perClass.get(s.label) ?? 0;
    perClass.set(s.label, k + 1);
    return k < 8;
  });
  spec = {
    filters: t.plan.outputs,
    xray_optical_filters: input.baseline.features.xray_optical_filters,
    galactic_parallax_mas: input.baseline.features.galactic_parallax_mas,
    include_gaia: true,
    include_av: false,
  };
}, 60_000);

describe('Monte-Carlo draws of training sources', () => {
  it('share one set of model families between SED settings that build the same, and build another where they differ', async () => {
    const base = input.baseline.sed;
    // other input bands and error floor: the same families, another plan
    const fewer = await prepareTranslation(DATA, {
      ...base,
      surveys: base.surveys.slice(0, 1),
      err_floor_mag: base.err_floor_mag + 0.01,
    });
    expect(fewer.bands.length).toBeLessThan(t.bands.length);
    expect(fewer.families).toBe(t.families);
    expect(fewer.plan).not.toBe(t.plan);
    // the same bands and filters with another error floor and priors: the same plan; one output filter fewer: another
    const floor = await prepareTranslation(DATA, {
      ...base,
      err_floor_mag: base.err_floor_mag + 0.01,
      label_free: { ...base.label_free, priors: { ...base.label_free.priors, blackbody: 0 } },
    });
    expect(floor).not.toBe(t);
    expect(floor.plan).toBe(t.plan);
    const outputs = await prepareTranslation(DATA, { ...base, output_filters: base.output_filters.slice(1) });
    expect(outputs.plan).not.toBe(t.plan);
    expect(outputs.plan.outputs.map((o) => o.name)).toEqual(base.output_filters.slice(1));
    // no extinction: families of their own, each star unreddened once instead of at every A_V step
    const noDust = await prepareTranslation(DATA, { ...base, extinction: { ...base.extinction, a_v_max: 0 } });
    expect(noDust.families).not.toBe(t.families);
    const steps = Math.round(base.extinction.a_v_max / base.extinction.a_v_step) + 1;
    expect(t.families.pickles!.spectra.length).toBe(steps * noDust.families.pickles!.spectra.length);
  });

  it('are reproducible and the same in any order or batch', () => {
    const mc = { draws: 5, seed: 11, translation: 'exact' as const };
    const forward = sources.slice(0, 6).map((s) => sourceDrawFeatures(t, s, spec, mc));
    const backward = [...sources.slice(0, 6)].reverse().map((s) => sourceDrawFeatures(t, s, spec, mc));
    expect(backward.reverse()).toEqual(forward);
    // another seed gives other draws; the draws differ from each other
    expect(sourceDrawFeatures(t, sources[0]!, spec, { ...mc, seed: 12 })).not.toEqual(forward[0]);
    expect(forward[0]![0]).not.toEqual(forward[0]![1]);
    expect(forward[0]![0]!.length).toBe(featureNames(spec).length);
  });

  it('give the same per-source summaries whether predicted in one batch or in two', async () => {
    const names = featureNames(spec);
    // a small model on the features of the measured values, labels by class
    const rows = sources.map((s) => sourceDrawFeatures(t, s, spec, { draws: 1, seed: 1, translation: 'linear' })[0]!);
    const labels = sources.map((s) => s.label!);
    const medians = names.map(() => 0);
    const model = await fitTwoStage(imputeMatrix(rows, medians), labels, names, {
      ...input.baseline.model,
      forest: { ...input.baseline.model.forest, n_estimators: 15 },
    });
    const mc = { draws: 8, seed: 3, translation: 'linear' as const };
    const drawRows = sources.map((s) => sourceDrawFeatures(t, s, spec, mc));
    const single = predictTwoStage(model, imputeMatrix(rows, medians));
    const whole = await predictDraws(model, medians, single, drawRows);
    const half = sources.length / 2;
    const a = await predictDraws(model, medians, single.slice(0, half), drawRows.slice(0, half));
    const b = await predictDraws(model, medians, single.slice(half), drawRows.slice(half));
    expect([...a.preds, ...b.preds]).toEqual(whole.preds);
    expect([...a.extras, ...b.extras]).toEqual(whole.extras);
    // and whatever the thread count: the engine's tree threads give the same numbers
    const pool = createTreePool(2);
    try {
      const threaded = await predictDraws(model, medians, single, drawRows, pool);
      expect(threaded.preds).toEqual(whole.preds);
      expect(threaded.extras).toEqual(whole.extras);
    } finally {
      await pool.destroy();
    }
    // the mean vector sums to 1; each interval is ordered and inside [0, 1] (a skewed spread can leave the mean outside it)
    for (const [i, p] of whole.preds.entries()) {
      expect(p.proba.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
      const x = whole.extras[i]!;
      p.proba.forEach((_, k) => {
        expect(x.final_lo![k]!).toBeGreaterThanOrEqual(0);
        expect(x.final_lo![k]!).toBeLessThanOrEqual(x.final_hi![k]!);
        expect(x.final_hi![k]!).toBeLessThanOrEqual(1);
      });
    }
  }, 60_000);

  it("translate linearly with a colour error below the draws' own spread, and nearly the exact class probabilities", async () => {
    const mc = { draws: 20, seed: 5 };
    const names = featureNames(spec);
    // the colour features carry the HST magnitudes: compare them draw by draw
    const colours = names.flatMap((n, k) => (/^F\d+W-F\d+W$/.test(n) ? [k] : []));
    expect(colours.length).toBe(9);
    let err = 0;
    let spread = 0;
    let count = 0;
    const exactRows: (number | null)[][][] = [];
    const linearRows: (number | null)[][][] = [];
    for (const s of sources) {
      const exact = sourceDrawFeatures(t, s, spec, { ...mc, translation: 'exact' });
      const linear = sourceDrawFeatures(t, s, spec, { ...mc, translation: 'linear' });
      exactRows.push(exact);
      linearRows.push(linear);
      for (const k of colours) {
        const mean = exact.reduce((a, r) => a + r[k]!, 0) / exact.length;
        exact.forEach((row, d) => {
          err += Math.abs(row[k]! - linear[d]![k]!);
          spread += Math.abs(row[k]! - mean);
          count++;
        });
      }
    }
    // the label-free posterior switches families as the inputs move: linear is an approximation (measured 0.06 vs 0.14 mag on the whole table)
    expect(err / count).toBeLessThan(0.7 * (spread / count));
    const rows = exactRows.map((r) => r[0]!);
    const medians = names.map(() => 0);
    const model = await fitTwoStage(
      imputeMatrix(rows, medians),
      sources.map((s) => s.label!),
      names,
      { ...input.baseline.model, forest: { ...input.baseline.model.forest, n_estimators: 25 } },
    );
    const single = predictTwoStage(model, imputeMatrix(rows, medians));
    const a = await predictDraws(model, medians, single, exactRows);
    const b = await predictDraws(model, medians, single, linearRows);
    let dp = 0;
    a.preds.forEach((p, i) => p.proba.forEach((v, k) => (dp += Math.abs(v - b.preds[i]!.proba[k]!))));
    expect(dp / (a.preds.length * model.finalClasses.length)).toBeLessThan(0.03);
    expect(a.preds.filter((p, i) => p.finalClass === b.preds[i]!.finalClass).length).toBeGreaterThanOrEqual(
      0.85 * a.preds.length,
    );
  }, 120_000);

  it("of classify's targets are drawn, predicted and summarised on the engine's threads as here, to the bit", async () => {
    // the bundled sources as classify's targets: their input bands observed in their own systems
    const env: TargetTranslation = {
      inputNames: t.bands.map((b) => b.filter),
      plan: t.plan,
      missing_err_frac: t.settings.missing_err_frac,
      err_floor_mag: t.settings.err_floor_mag,
      labelFree: t.labelFree,
      sigma: t.sigma,
      gaiaZp: new Map(),
    };
    const targets: DrawTarget[] = sources.slice(0, 20).map((src, i) => {
      const byFilter = new Map<string, Observed>();
      t.bands.forEach((b, k) => {
        const mag = src[b.mag_column as keyof SourceRow] as number | null;
        if (mag === null) return;
        const zero_point = t.zeroPoints[k]!;
        const err = src[b.err_column as keyof SourceRow] as number | null;
        byFilter.set(b.filter, {
          filter: b.filter,
          mag,
          err,
          zero_point,
          system: b.system,
          mag_ab: mag + abOffset(zero_point),
          source: 'test',
        });
      });
      const flux = (v: keyof SourceRow, e: keyof SourceRow) => ({
        value: src[v] as number | null,
        err: src[e] as number | null,
      });
      return {
        s: {
          pos_err_95_arcsec: src.pos_err_95_arcsec,
          significance: src.significance,
          var_p_intra: src.var_p_intra,
          var_p_inter: src.var_p_inter,
          a_v: null,
          flux: {
            s: flux('flux_s_cgs', 'flux_s_err_cgs'),
            m: flux('flux_m_cgs', 'flux_m_err_cgs'),
            h: flux('flux_h_cgs', 'flux_h_err_cgs'),
            b: flux('flux_b_cgs', 'flux_b_err_cgs'),
          },
        },
        byFilter,
        fixed: {
          astrometry: {
            parallax_mas: src.parallax_mas,
            parallax_err_mas: src.parallax_err_mas,
            dist_geo_pc: null,
            pm_total_masyr: src.pm_total_masyr,
          },
          nu: null,
        },
        seed: 1000 + i,
      };
    });
    const mc = { draws: 6, translation: 'exact' as const };
    const here = targets.map((x) => fullModelDraws(env, x.s, x.byFilter, x.fixed, spec, mc, new Rng(x.seed)));
    const names = featureNames(spec);
    const medians = names.map(() => 0);
    const model = await fitTwoStage(
      imputeMatrix(
        here.map((r) => r[0]!),
        medians,
      ),
      sources.slice(0, 20).map((s) => s.label!),
      names,
      { ...input.baseline.model, forest: { ...input.baseline.model.forest, n_estimators: 15 } },
    );
    const single = predictTwoStage(
      model,
      imputeMatrix(
        here.map((r) => r[0]!),
        medians,
      ),
    );
    const expected = await predictDraws(model, medians, single, here);
    const pool = createTreePool(2);
    const parts: number[] = [];
    try {
      const outcomes = await pool.drawPredictTargets(env, spec, mc, targets, model, medians, (done) =>
        parts.push(done),
      );
      expect(withSingle(outcomes, single)).toEqual(expected);
      expect(outcomes.every((o) => o.mc_draws === 6)).toBe(true);
      expect(parts.at(-1)).toBe(targets.length);
    } finally {
      await pool.destroy();
    }
  }, 60_000);

  it("translate on the engine's threads with the same bits as in this thread", async () => {
    const observations = sources.map((s) => sourceObservation(t, s).obs).flatMap((o) => (o.ok ? [o.obs] : []));
    expect(observations.length).toBeGreaterThan(30);
    const here = observations.map((o) => translateLabelFree(t.plan, o, { ...t.labelFree, draws: 0 }, t.sigma, null));
    const pool = createTreePool(2);
    const chunks: number[] = [];
    try {
      const threaded = await pool.translate(t.plan, observations, t.labelFree, t.sigma, (done) => chunks.push(done));
      expect(threaded).toEqual(here);
      // the label-free fit of these sources: every one a translation with six HST magnitudes
      expect(threaded.every((x) => x.status === 'ok' && x.mag_ab.length === 6)).toBe(true);
      expect(chunks.at(-1)).toBe(observations.length);
    } finally {
      await pool.destroy();
    }
  }, 60_000);

  it('draw fluxes about their measured values with their errors', () => {
    const s = sources.find((x) => x.flux_b_cgs !== null && x.flux_b_err_cgs !== null)!;
    const draws = sourceDrawFeatures(t, s, spec, { draws: 400, seed: 9, translation: 'linear' });
    const k = featureNames(spec).indexOf('log_flux_b');
    const logs = draws.map((r) => r[k]!);
    const mean = logs.reduce((x, y) => x + y, 0) / logs.length;
    // log-normal with median the measured flux: the mean of log10 flux is log10 of the value
    expect(mean).toBeCloseTo(Math.log10(s.flux_b_cgs!), 1);
    const rel = s.flux_b_err_cgs! / s.flux_b_cgs!;
    const sd = Math.sqrt(logs.reduce((x, y) => x + (y - mean) ** 2, 0) / (logs.length - 1));
    expect(sd).toBeCloseTo(Math.sqrt(Math.log1p(rel * rel)) / Math.LN10, 1);
    expect(new Rng(1).nextFloat()).toBeLessThan(1);
  });
});
