import type { PipelineInput } from '../schemas/pipeline.js';
import type { Dag, StepSpec } from './dag.js';

const fileRef = (f: PipelineInput['files']['muwclass']) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes });

/**
 * The XClass training pipeline, declared once. Later stages (SED translation,
 * features, training, evaluation) attach here as steps whose inputs name the steps
 * they consume.
 */
export function buildPipeline(input: PipelineInput): Dag {
  const muwclass = input.files.muwclass;
  const steps: StepSpec[] = [
    {
      key: 'ingest',
      stage: 'ingest',
      params: { catalog: fileRef(muwclass), label_map: input.label_map },
      inputs: {},
      context: { path: muwclass.path },
    },
    {
      key: 'reference',
      stage: 'reference',
      params: { catalog: fileRef(muwclass), pipeline: 'MUWCLASS' },
      inputs: { sources: 'ingest' },
      context: { path: muwclass.path },
    },
    {
      key: 'sed',
      stage: 'sed',
      params: input.sed,
      inputs: { sources: 'ingest' },
      context: { data_dir: input.data_dir },
    },
    {
      key: 'features',
      stage: 'features',
      params: input.features,
      inputs: { sources: 'ingest', sed: 'sed' },
    },
  ];
  // training-set assembly (paper section 2): each label catalog, deduplication, cross-match
  for (const cat of input.label_catalogs) {
    steps.push({
      key: `labels/${cat.name}`,
      stage: 'labels',
      params: { catalog: fileRef(cat.file), name: cat.name, format: cat.format, class: cat.class, reference: cat.reference, label_map: input.label_map },
      inputs: cat.format === 'muwclass' ? { sources: 'ingest' } : {},
      context: { data_dir: input.data_dir },
    });
  }
  steps.push({ key: 'dedup', stage: 'dedup', params: input.dedup, inputs: Object.fromEntries(input.label_catalogs.map((c, i) => [`catalog_${i}`, `labels/${c.name}`])) });
  steps.push({ key: 'crossmatch/all', stage: 'crossmatch', params: input.crossmatch, inputs: { labels: 'dedup', xray: 'ingest' } });
  // each external catalog on its own against the Chandra positions: a check of labels and positions
  for (const cat of input.label_catalogs.filter((c) => c.format !== 'muwclass')) {
    steps.push({ key: `crossmatch/${cat.name}`, stage: 'crossmatch', params: input.crossmatch, inputs: { labels: `labels/${cat.name}`, xray: 'ingest' } });
  }
  // stratified K-fold cross-validation: independent branches, one per fold
  const { folds, seed } = input.evaluation;
  for (let index = 0; index < folds; index++) {
    const fold = { k: folds, index, seed };
    steps.push(
      { key: `cv/fold-${index}/train`, stage: 'train', params: { model: input.model, fold }, inputs: { features: 'features' } },
      { key: `cv/fold-${index}/predict`, stage: 'predict', params: { fold }, inputs: { model: `cv/fold-${index}/train`, features: 'features' } },
    );
  }
  steps.push({
    key: 'cv/evaluate',
    stage: 'evaluate',
    params: {
      eval_classes: { 'LM-STAR': 'STAR', 'HM-STAR': 'STAR' },
      stage1_groups: input.model.stage1_groups,
      confident_min: input.model.uncertain_below,
      calibration_bins: 10,
      // training and test sources are both translated with their own labels (the method's protocol)
      protocol: 'paper',
    },
    inputs: Object.fromEntries(Array.from({ length: folds }, (_, i) => [`fold_${i}`, `cv/fold-${i}/predict`])),
  });
  // the model users apply: trained on every source
  steps.push({ key: 'final/train', stage: 'train', params: { model: input.model, fold: null }, inputs: { features: 'features' } });
  return { name: 'xclass-pipeline', steps };
}
