import { canonicalJson } from '../lib/canonical.js';
import type { PipelineInput, PipelineVariant } from '../schemas/pipeline.js';
import type { Dag, StepSpec } from './dag.js';

const fileRef = (f: PipelineInput['files']['muwclass']) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes });

/** The branch prefix of an ablation's steps: `ablation/<name>/`. */
export const ablationPrefix = (name: string) => `ablation/${name}/`;

/**
 * The XClass training pipeline, declared once: training-set assembly, SED translation,
 * features, stratified K-fold cross-validation (one branch per fold), evaluation, and
 * the final model; then each ablation as its own branch. A step that an ablation shares
 * with the baseline (same stage, params and inputs) is declared once, so an ablation
 * that only changes the model reuses the baseline's SED and features in the same run,
 * and a rerun recomputes only what a changed setting touches.
 */
export function buildPipeline(input: PipelineInput): Dag {
  const steps: StepSpec[] = [];
  const bySignature = new Map<string, string>();
  const add = (spec: StepSpec): string => {
    const signature = canonicalJson({ stage: spec.stage, params: spec.params, inputs: spec.inputs });
    const existing = bySignature.get(signature);
    if (existing !== undefined) return existing;
    bySignature.set(signature, spec.key);
    steps.push(spec);
    return spec.key;
  };

  const muwclass = input.files.muwclass;
  const ingest = add({ key: 'ingest', stage: 'ingest', params: { catalog: fileRef(muwclass), label_map: input.label_map }, inputs: {}, context: { path: muwclass.path } });
  const reference = add({ key: 'reference', stage: 'reference', params: { catalog: fileRef(muwclass), pipeline: 'MUWCLASS' }, inputs: { sources: ingest }, context: { path: muwclass.path } });

  // training-set assembly (paper section 2): each label catalog, deduplication, cross-match
  const catalogs = input.label_catalogs.map((cat) =>
    add({
      key: `labels/${cat.name}`,
      stage: 'labels',
      params: { catalog: fileRef(cat.file), name: cat.name, format: cat.format, class: cat.class, reference: cat.reference, label_map: input.label_map },
      inputs: cat.format === 'muwclass' ? { sources: ingest } : {},
      context: { data_dir: input.data_dir },
    }),
  );
  const dedup = add({ key: 'dedup', stage: 'dedup', params: input.dedup, inputs: Object.fromEntries(catalogs.map((k, i) => [`catalog_${i}`, k])) });
  add({ key: 'crossmatch/all', stage: 'crossmatch', params: input.crossmatch, inputs: { labels: dedup, xray: ingest } });
  // each external catalog on its own against the Chandra positions: a check of labels and positions
  input.label_catalogs.forEach((cat, i) => {
    if (cat.format !== 'muwclass') add({ key: `crossmatch/${cat.name}`, stage: 'crossmatch', params: input.crossmatch, inputs: { labels: catalogs[i]!, xray: ingest } });
  });

  const variant = (prefix: string, v: PipelineVariant, finalModel: boolean) => {
    const sed = add({ key: `${prefix}sed`, stage: 'sed', params: v.sed, inputs: { sources: ingest }, context: { data_dir: input.data_dir } });
    const features = add({ key: `${prefix}features`, stage: 'features', params: v.features, inputs: { sources: ingest, sed } });
    const { folds, seed, split } = input.evaluation;
    // runs started before evaluation modes existed carry no mode: they were K-fold (keeps their histories replayable)
    const mode = (input.evaluation as Partial<PipelineInput['evaluation']>).mode ?? 'kfold';
    const predictions: Record<string, string> = {};
    if (mode === 'kfold') {
      for (let index = 0; index < folds; index++) {
        const fold = { k: folds, index, seed };
        const train = add({ key: `${prefix}cv/fold-${index}/train`, stage: 'train', params: { model: v.model, fold }, inputs: { features } });
        predictions[`fold_${index}`] = add({ key: `${prefix}cv/fold-${index}/predict`, stage: 'predict', params: { fold }, inputs: { model: train, features } });
      }
    } else {
      // the method's split: train on part 0; the validation part is predicted for inspection, the test part scored
      const train = add({ key: `${prefix}cv/split/train`, stage: 'train', params: { model: v.model, fold: { split, part: 0, seed } }, inputs: { features } });
      add({ key: `${prefix}cv/split/predict-validation`, stage: 'predict', params: { fold: { split, part: 1, seed } }, inputs: { model: train, features } });
      predictions['fold_2'] = add({ key: `${prefix}cv/split/predict-test`, stage: 'predict', params: { fold: { split, part: 2, seed } }, inputs: { model: train, features } });
    }
    add({
      key: `${prefix}cv/evaluate`,
      stage: 'evaluate',
      params: {
        eval_classes: { 'LM-STAR': 'STAR', 'HM-STAR': 'STAR' },
        stage1_groups: v.model.stage1_groups,
        confident_min: v.model.uncertain_below,
        calibration_bins: 10,
        // training and test sources are both translated with their own labels (the method's protocol)
        protocol: 'paper',
      },
      inputs: { ...predictions, reference },
    });
    // the model users apply: trained on every source
    if (finalModel) add({ key: `${prefix}final/train`, stage: 'train', params: { model: v.model, fold: null }, inputs: { features } });
  };
  variant('', input.baseline, true);
  for (const [name, v] of Object.entries(input.ablations)) variant(ablationPrefix(name), v, false);
  return { name: 'xclass-pipeline', steps };
}
