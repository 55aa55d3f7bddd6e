// What a non-detection is worth to the X-ray-only model (issue 24). A target routed to
// the X-ray-only model has no counterpart in a catalog that covers it: its optical flux
// is below the catalog's depth, so its X-ray-to-optical flux ratio has a lower bound.
// Measured by censoring the training sources at a Gaia depth G_lim: a source is
// "detected" when its G <= G_lim, and otherwise gets the bound. Two X-ray-only models are
// cross-validated on the pipeline's folds, without and with two censored features
// (`detected` 0/1, and log F_b + 0.4 min(G, G_lim): log F_X/F_G up to a constant, a lower
// bound for a non-detection), and scored on the held-out non-detections, the sources that
// would reach the X-ray-only model. Over two forest seeds, so a difference can be read
// against the seed spread. Prints a table and @figure lines.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import { ArtifactStore } from '../artifacts/store.js';
import { readFeatureRows } from '../activities/io/feature-matrix.js';
import { selectRows } from '../activities/io/rows.js';
import { sourcesTable } from '../schemas/tables.js';
import { imputeMatrix, imputationValues } from '../lib/features.js';
import { fitTwoStage, predictTwoStage } from '../lib/forest/two-stage.js';
import { balancedAccuracyOf, confusionMatrix, perClassMetrics } from '../lib/metrics/classification.js';
import { figure } from './support/figures.js';
import { runBenchPipeline } from './support/field.js';

const storePath = join(mkdtempSync(join(tmpdir(), 'xclass-bench-nondetection-')), 'store');
const steps = runBenchPipeline(storePath);
const store = new ArtifactStore(storePath);
const config = loadConfig();
const data = await readFeatureRows(store, { stage: 'features', id: steps.get('xray/features')! });
const sources = new Map(
  (await store.readTable(sourcesTable, { stage: 'ingest', id: steps.get('ingest')! })).map((s) => [s.id, s]),
);
const evalClass = (c: string) => config.evaluation.eval_classes[c] ?? c;

interface Score {
  ba: number;
  f1: Record<string, number>;
  n: number;
}

async function crossValidate(depth: number, censored: boolean, seed: number): Promise<Score> {
  const rows = data.ids.map((id, i) => {
    const s = sources.get(id)!;
    const g = s.gaia_g_mag;
    const detected = g !== null && g <= depth;
    const fb = s.flux_b_cgs;
    const extra = fb !== null && fb > 0 ? Math.log10(fb) + 0.4 * (detected ? g : depth) : null;
    return { values: censored ? [...data.values[i]!, detected ? 1 : 0, extra] : data.values[i]!, detected };
  });
  const names = censored ? [...data.featureNames, 'optical_detected', 'log_fx_fopt_bound'] : data.featureNames;
  const truth: string[] = [];
  const predicted: string[] = [];
  const params = { ...config.model, forest: { ...config.model.forest, random_state: seed } };
  for (let index = 0; index < config.evaluation.folds; index++) {
    const fold = { k: config.evaluation.folds, index, seed: config.evaluation.seed };
    const train = selectRows(data.ids, data.labels, fold, 'train');
    const test = selectRows(data.ids, data.labels, fold, 'predict').filter((i) => !rows[i]!.detected);
    const trainRows = train.map((i) => rows[i]!.values);
    const medians = imputationValues(names, trainRows);
    const model = await fitTwoStage(
      imputeMatrix(trainRows, medians),
      train.map((i) => data.labels[i]!),
      names,
      params,
    );
    const preds = predictTwoStage(
      model,
      imputeMatrix(
        test.map((i) => rows[i]!.values),
        medians,
      ),
    );
    test.forEach((i, j) => {
      truth.push(evalClass(data.labels[i]!));
      predicted.push(evalClass(preds[j]!.finalClass));
    });
  }
  const c = confusionMatrix(truth, predicted);
  return {
    ba: balancedAccuracyOf(c),
    f1: Object.fromEntries(perClassMetrics(c).map((m) => [m.class, m.f1])),
    n: truth.length,
  };
}

const seeds = [42, 7];
console.log('G_lim  features         seed  n(non-detections)   BA     F1: AGN  STAR  LMXB  HMXB  CV');
for (const depth of [19, 20.7]) {
  const ba: Record<string, number[]> = { x: [], censored: [] };
  for (const censored of [false, true])
    for (const seed of seeds) {
      const s = await crossValidate(depth, censored, seed);
      ba[censored ? 'censored' : 'x']!.push(s.ba);
      const f = (k: string) => (s.f1[k] ?? Number.NaN).toFixed(2).padStart(5);
      console.log(
        `${depth.toFixed(1).padStart(5)}  ${(censored ? 'X-ray + censored' : 'X-ray only').padEnd(16)} ${String(seed).padStart(4)}  ${String(s.n).padStart(17)}  ${s.ba.toFixed(3)}   ${f('AGN')} ${f('STAR')} ${f('LMXB')} ${f('HMXB')} ${f('CV')}`,
      );
    }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const spread = (v: number[]) => Math.max(...v) - Math.min(...v);
  const gain = mean(ba['censored']!) - mean(ba['x']!);
  console.log(
    `  G_lim ${depth}: BA gain ${gain.toFixed(3)}, seed spread ${Math.max(spread(ba['x']!), spread(ba['censored']!)).toFixed(3)}`,
  );
  figure({ bench: 'nondetection', figure: `BA gain of censored features at G_lim ${depth}`, value: gain, unit: 'BA' });
}
