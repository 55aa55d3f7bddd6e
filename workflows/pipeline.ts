import type { PipelineInput, PipelineVariant } from '../schemas/pipeline.js';
import type { EvaluateParams } from '../schemas/evaluation.js';
import type { FoldSpec } from '../schemas/model.js';
import { evaluateRole, PROTOCOLS, type Protocol } from '../schemas/protocols.js';
import type { EvaluateRole, HeldOutPart } from '../schemas/step.js';
import { DagBuilder, type StepHandle } from './builder.js';
import type { Dag } from './dag.js';
import { ablationBranch, foldBranch, SHARED_STEPS, SPLIT_PART, variantSteps, XRAY_BRANCH, XRAY_STEPS } from './keys.js';

const fileRef = (f: PipelineInput['files']['muwclass']) => ({ name: f.name, sha256: f.sha256, bytes: f.bytes });

/** An evaluation's params: the variant's classes and groups, the run's scoring and uncertainty settings. */
function evaluateParams(
  input: PipelineInput,
  v: PipelineVariant,
  conformal: PipelineInput['uncertainty']['conformal'],
  classMix: EvaluateParams['uncertainty']['class_mix'],
): EvaluateParams {
  const u = input.uncertainty;
  return {
    eval_classes: input.evaluation.eval_classes,
    stage1_groups: v.model.stage1_groups,
    confident_min: v.model.uncertain_below,
    calibration_bins: input.evaluation.calibration_bins,
    uncertainty: { conformal, ood_flag_rate: u.ood.flag_rate, rule: u.uncertain, class_mix: classMix },
  };
}

/**
 * The XClass training pipeline, declared once: training-set assembly, SED translation,
 * features, stratified K-fold cross-validation (one branch per fold), evaluation, and
 * the final model; then each ablation as its own branch. A step that an ablation shares
 * with the baseline (same stage, params and inputs) is declared once, so an ablation
 * that only changes the model reuses the baseline's SED and features in the same run,
 * and a rerun recomputes only what a changed setting touches.
 */
export function buildPipeline(input: PipelineInput): Dag {
  const b = new DagBuilder('xclass-pipeline');
  const muwclass = input.files.muwclass;
  // runs planned before input validation (no `no_data` in their input) keep their params
  const validation = input.no_data ? { no_data: input.no_data } : {};
  const ingest = b.step({
    key: SHARED_STEPS.ingest,
    stage: 'ingest',
    params: { catalog: fileRef(muwclass), label_map: input.label_map, ...validation },
    inputs: {},
    context: { path: muwclass.path },
  });
  const reference = b.step({
    key: SHARED_STEPS.reference,
    stage: 'reference',
    params: {
      catalog: fileRef(muwclass),
      pipeline: 'MUWCLASS',
      ...(input.no_data ? { label_map: input.label_map, ...validation } : {}),
    },
    inputs: { sources: ingest },
    context: { path: muwclass.path },
  });

  // training-set assembly (paper section 2): each label catalog, deduplication, cross-match
  const catalogs = input.label_catalogs.map((cat) =>
    b.step({
      key: SHARED_STEPS.labels(cat.name),
      stage: 'labels',
      params: {
        catalog: fileRef(cat.file),
        name: cat.name,
        format: cat.format,
        class: cat.class,
        reference: cat.reference,
        label_map: input.label_map,
        ...(cat.readme ? { readme: fileRef(cat.readme) } : {}),
      },
      inputs: cat.format === 'muwclass' ? { sources: ingest } : {},
      context: { data_dir: input.data_dir },
    }),
  );
  const dedup = b.step({
    key: SHARED_STEPS.dedup,
    stage: 'dedup',
    params: input.dedup,
    inputs: Object.fromEntries(catalogs.map((k, i) => [`catalog_${i}`, k])),
  });
  b.step({
    key: SHARED_STEPS.crossmatch,
    stage: 'crossmatch',
    params: input.crossmatch,
    inputs: { labels: dedup, xray: ingest },
  });
  // every catalogue labelling each training source, and whether they agree with its MUWCLASS label
  const trainingCatalog = input.label_catalogs.find((c) => c.format === 'muwclass')?.name ?? 'muwclass';
  const provenance = b.step({
    key: SHARED_STEPS.provenance,
    stage: 'provenance',
    params: { ...input.crossmatch, training_catalog: trainingCatalog },
    inputs: { sources: ingest, ...Object.fromEntries(catalogs.map((k, i) => [`catalog_${i}`, k])) },
  });
  // each external catalog on its own against the Chandra positions: a check of labels and positions
  input.label_catalogs.forEach((cat, i) => {
    if (cat.format !== 'muwclass')
      b.step({
        key: SHARED_STEPS.catalogCrossmatch(cat.name),
        stage: 'crossmatch',
        params: input.crossmatch,
        inputs: { labels: catalogs[i]!, xray: ingest },
      });
  });

  /** A variant's train step: its forest settings and label policy (`keep`, or absent in runs before the option: every label). */
  const trainOf = (v: PipelineVariant) => {
    const policy = v.label_conflicts === undefined || v.label_conflicts === 'keep' ? null : v.label_conflicts;
    return (key: string, fold: FoldSpec, feats: StepHandle<'features'>, at: { branch?: string; variant?: string }) =>
      b.step({
        key,
        stage: 'train',
        params: { model: v.model, fold, ...(policy ? { label_policy: policy } : {}) },
        inputs: policy ? { features: feats, provenance } : { features: feats },
        ...at,
      });
  };

  const variant = (name: string | null, v: PipelineVariant) => {
    const keys = variantSteps(name);
    // an ablation's steps run in its own branch; the baseline's CV folds each in theirs
    const where = name === null ? {} : { branch: ablationBranch(name), variant: name };
    // the translations the protocols need (lib/sed/translate.ts): `train` as configured;
    // `free` without labels (deployment and blind test sources, blind training);
    // `paper` with each source's own label (paper-protocol test sources)
    const freeSed = v.sed.assignment === 'paper' ? { ...v.sed, assignment: 'label_free' as const } : v.sed;
    const paperSed =
      v.sed.assignment === 'label_free'
        ? { ...v.sed, assignment: 'paper' as const, label_free: { ...v.sed.label_free, draws: 0 } }
        : v.sed;
    // SED and features of one translation; steps already declared (same params) are reused
    const translated = (sed: PipelineVariant['sed']) => {
      const tag = sed === v.sed ? '' : `-${sed.assignment}`;
      const sedStep = b.step({
        key: keys.sed(tag),
        stage: 'sed',
        params: sed,
        inputs: { sources: ingest },
        context: { data_dir: input.data_dir },
        ...where,
      });
      return b.step({
        key: keys.features(tag),
        stage: 'features',
        params: v.features,
        inputs: { sources: ingest, sed: sedStep },
        ...where,
      });
    };
    // the protocols scored (config evaluation.protocols); runs planned before it existed scored all three
    const protocols = new Set<Protocol>(input.evaluation.protocols ?? PROTOCOLS);
    const features = translated(v.sed);
    const freeFeatures = protocols.has('deployment') || protocols.has('blind') ? translated(freeSed) : null;
    const paperFeatures = protocols.has('paper') ? translated(paperSed) : null;
    const { folds, seed, split, mode } = input.evaluation;
    const u = input.uncertainty;
    const predictions: { [role in EvaluateRole]?: StepHandle<'predict'> } = {};
    const trainStep = trainOf(v);
    // one held-out part: the configured model and the blind model (the same step when the
    // configuration uses no label), one prediction per protocol; `scored` null: predicted for inspection only
    const heldOut = (
      dir: string,
      branch: string | undefined,
      trainFold: FoldSpec,
      predictFold: FoldSpec,
      scored: HeldOutPart | null,
    ) => {
      const at = { ...where, ...(branch && !where.branch ? { branch } : {}) };
      const key = keys.heldOut(dir);
      const train = trainStep(`${key}/train`, trainFold, features, at);
      const blindTrain = protocols.has('blind') ? trainStep(`${key}/train-blind`, trainFold, freeFeatures!, at) : null;
      const suffix = scored === null ? '-validation' : '';
      const runs: [Protocol, StepHandle<'train'> | null, StepHandle<'features'> | null][] = [
        ['deployment', train, freeFeatures],
        ['blind', blindTrain, freeFeatures],
        ['paper', train, paperFeatures],
      ];
      for (const [protocol, model, feats] of runs) {
        if (!protocols.has(protocol) || model === null || feats === null) continue;
        // Monte-Carlo draws are translated label-free: for the predictions on label-free features, in the baseline, in an
        // ablation that shares the baseline's model and features (the same step), and in every ablation when asked
        const baselineStep = model.variant === undefined && feats.variant === undefined;
        const mc =
          feats === freeFeatures && (name === null || u.mc_in_ablations || baselineStep) ? u.mc : { ...u.mc, draws: 0 };
        const predict = b.step({
          key: `${key}/predict-${protocol}${suffix}`,
          stage: 'predict',
          params: { fold: predictFold, mc, ood_neighbours: u.ood.neighbours },
          inputs: mc.draws > 0 ? { model, features: feats, sources: ingest } : { model, features: feats },
          context: { data_dir: input.data_dir },
          ...at,
        });
        if (scored !== null) predictions[evaluateRole(protocol, scored)] = predict;
      }
    };
    if (mode === 'kfold') {
      for (let index = 0; index < folds; index++) {
        const fold = { k: folds, index, seed };
        heldOut(foldBranch(index), foldBranch(index), fold, fold, `fold_${index}`);
      }
    } else {
      // the method's split: train on part 0; the test part is scored, the validation part predicted for inspection
      heldOut(SPLIT_PART, undefined, { split, part: 0, seed }, { split, part: 2, seed }, 'test');
      heldOut(SPLIT_PART, undefined, { split, part: 0, seed }, { split, part: 1, seed }, null);
    }
    b.step({
      key: keys.evaluate,
      stage: 'evaluate',
      // the class mix is measured in the baseline, whose final model classify applies
      params: evaluateParams(
        input,
        v,
        u.conformal,
        name === null ? { bootstrap: u.class_mix.bootstrap, seed: u.class_mix.seed } : null,
      ),
      inputs: { ...predictions, reference },
      ...where,
    });
    // the model users apply: trained on every source, as configured
    if (name === null) trainStep(keys.finalModel, null, features, {});
  };
  variant(null, input.baseline);

  // the X-ray-only model, for targets without enough photometry (classify routes them to
  // it): the baseline's forest and label policy on the features every X-ray source has,
  // trained on every in-scope source; its own cross-validation, calibration and final model
  if (input.xray_model) {
    const v = input.baseline;
    const at = { branch: XRAY_BRANCH };
    const u = input.uncertainty;
    // the distance features need a counterpart's parallax: none here
    const { distance_snr_min: _distance, ...features } = v.features;
    const feats = b.step({
      key: XRAY_STEPS.features(),
      stage: 'features',
      params: { ...features, xray_only: true },
      inputs: { sources: ingest },
      ...at,
    });
    const trainStep = trainOf(v);
    const train = (key: string, fold: FoldSpec) => trainStep(key, fold, feats, at);
    const predictions: { [role in EvaluateRole]?: StepHandle<'predict'> } = {};
    const { folds, seed, split, mode } = input.evaluation;
    const parts: [string, FoldSpec, FoldSpec, HeldOutPart][] =
      mode === 'kfold'
        ? Array.from({ length: folds }, (_, index) => [
            foldBranch(index),
            { k: folds, index, seed },
            { k: folds, index, seed },
            `fold_${index}`,
          ])
        : [[SPLIT_PART, { split, part: 0, seed }, { split, part: 2, seed }, 'test']];
    for (const [part, trainFold, predictFold, scored] of parts) {
      const key = XRAY_STEPS.heldOut(part);
      predictions[`deployment_${scored}`] = b.step({
        key: `${key}/predict-deployment`,
        stage: 'predict',
        params: { fold: predictFold, mc: u.mc, ood_neighbours: u.ood.neighbours },
        inputs:
          u.mc.draws > 0
            ? { model: train(`${key}/train`, trainFold), features: feats, sources: ingest }
            : { model: train(`${key}/train`, trainFold), features: feats },
        context: { data_dir: input.data_dir },
        ...at,
      });
    }
    b.step({
      key: XRAY_STEPS.evaluate,
      stage: 'evaluate',
      params: evaluateParams(
        input,
        v,
        {
          levels: [...new Set([...u.conformal.levels, input.xray_model.conformal_level])].sort((a, b) => a - b),
          level: input.xray_model.conformal_level,
        },
        null,
      ),
      inputs: { ...predictions, reference },
      ...at,
    });
    train(XRAY_STEPS.finalModel, null);
  }
  for (const [name, v] of Object.entries(input.ablations)) variant(name, v);
  return b.build();
}
