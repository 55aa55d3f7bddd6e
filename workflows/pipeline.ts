import { canonicalJson } from '../lib/canonical.js';
import type { PipelineInput, PipelineVariant } from '../schemas/pipeline.js';
import type { FoldSpec } from '../schemas/model.js';
import { PROTOCOLS, type Protocol } from '../schemas/protocols.js';
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
  // runs planned before input validation (no `no_data` in their input, e.g. recorded histories) keep their params
  const validation = input.no_data ? { no_data: input.no_data } : {};
  const ingest = add({ key: 'ingest', stage: 'ingest', params: { catalog: fileRef(muwclass), label_map: input.label_map, ...validation }, inputs: {}, context: { path: muwclass.path } });
  const reference = add({
    key: 'reference',
    stage: 'reference',
    params: { catalog: fileRef(muwclass), pipeline: 'MUWCLASS', ...(input.no_data ? { label_map: input.label_map, ...validation } : {}) },
    inputs: { sources: ingest },
    context: { path: muwclass.path },
  });

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
    // the translations the protocols need (lib/sed/translate.ts): `train` as configured;
    // `free` without labels (deployment and blind test sources, blind training);
    // `paper` with each source's own label (paper-protocol test sources)
    const freeSed = v.sed.assignment === 'paper' ? { ...v.sed, assignment: 'label_free' as const } : v.sed;
    const paperSed = v.sed.assignment === 'label_free' ? { ...v.sed, assignment: 'paper' as const, label_free: { ...v.sed.label_free, draws: 0 } } : v.sed;
    // SED and features of one translation; steps already declared (same params) are reused
    const translated = (sed: PipelineVariant['sed']) => {
      const tag = sed === v.sed ? '' : `-${sed.assignment}`;
      const sedKey = add({ key: `${prefix}sed${tag}`, stage: 'sed', params: sed, inputs: { sources: ingest }, context: { data_dir: input.data_dir } });
      return add({ key: `${prefix}features${tag}`, stage: 'features', params: v.features, inputs: { sources: ingest, sed: sedKey } });
    };
    // the protocols scored (config evaluation.protocols); runs planned before it existed scored all three
    const protocols = new Set<Protocol>(input.evaluation.protocols ?? PROTOCOLS);
    const features = translated(v.sed);
    const freeFeatures = protocols.has('deployment') || protocols.has('blind') ? translated(freeSed) : null;
    const paperFeatures = protocols.has('paper') ? translated(paperSed) : null;
    const { folds, seed, split } = input.evaluation;
    // runs started before evaluation modes existed carry no mode: they were K-fold
    const mode = (input.evaluation as Partial<PipelineInput['evaluation']>).mode ?? 'kfold';
    const predictions: Record<string, string> = {};
    // one held-out part: the configured model and the blind model (the same step when the configuration uses no label), one prediction per protocol
    const heldOut = (dir: string, trainFold: FoldSpec, predictFold: FoldSpec, role: string | null) => {
      const train = add({ key: `${prefix}${dir}/train`, stage: 'train', params: { model: v.model, fold: trainFold }, inputs: { features } });
      const blindTrain = protocols.has('blind') ? add({ key: `${prefix}${dir}/train-blind`, stage: 'train', params: { model: v.model, fold: trainFold }, inputs: { features: freeFeatures! } }) : null;
      const suffix = role === null ? '-validation' : '';
      const runs: [Protocol, string | null, string | null][] = [['deployment', train, freeFeatures], ['blind', blindTrain, freeFeatures], ['paper', train, paperFeatures]];
      for (const [protocol, model, feats] of runs) {
        if (!protocols.has(protocol) || model === null || feats === null) continue;
        const key = add({ key: `${prefix}${dir}/predict-${protocol}${suffix}`, stage: 'predict', params: { fold: predictFold }, inputs: { model, features: feats } });
        if (role !== null) predictions[`${protocol}_${role}`] = key;
      }
    };
    if (mode === 'kfold') {
      for (let index = 0; index < folds; index++) {
        const fold = { k: folds, index, seed };
        heldOut(`cv/fold-${index}`, fold, fold, `fold_${index}`);
      }
    } else {
      // the method's split: train on part 0; the validation part is predicted for inspection, the test part scored
      heldOut('cv/split', { split, part: 0, seed }, { split, part: 2, seed }, 'fold_2');
      heldOut('cv/split', { split, part: 0, seed }, { split, part: 1, seed }, null);
    }
    add({
      key: `${prefix}cv/evaluate`,
      stage: 'evaluate',
      params: { eval_classes: { 'LM-STAR': 'STAR', 'HM-STAR': 'STAR' }, stage1_groups: v.model.stage1_groups, confident_min: v.model.uncertain_below, calibration_bins: 10 },
      inputs: { ...predictions, reference },
    });
    // the model users apply: trained on every source, as configured
    if (finalModel) add({ key: `${prefix}final/train`, stage: 'train', params: { model: v.model, fold: null }, inputs: { features } });
  };
  variant('', input.baseline, true);
  for (const [name, v] of Object.entries(input.ablations)) variant(ablationPrefix(name), v, false);
  return { name: 'xclass-pipeline', steps };
}
