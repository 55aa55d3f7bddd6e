import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { planPipeline } from '../../engine/plan.js';
import { buildPipeline } from '../../workflows/pipeline.js';
import { splitBranches, validateDag } from '../../workflows/dag.js';

describe('the pipeline DAG', () => {
  it('declares each shared step once: ablations reuse the baseline steps they do not change', async () => {
    const dag = buildPipeline(await planPipeline(loadConfig()));
    validateDag(dag);
    const keys = dag.steps.map((s) => s.key);
    const step = (key: string) => dag.steps.find((s) => s.key === key)!;
    const count = (prefix: string) => keys.filter((k) => k.startsWith(prefix)).length;
    // 18 assembly steps (ingest, reference, 7 label catalogs, dedup, the joint crossmatch and one per
    // external catalog, the label provenance). The baseline translates without labels, so deployment and blind are one
    // model and one prediction: SED + features twice (label-free, and paper for the paper protocol),
    // 5 folds x (train, predict-deployment, predict-paper), evaluate, final model = 21
    expect(keys.filter((k) => !k.startsWith('ablation/') && !k.startsWith('xray/'))).toHaveLength(18 + 21);
    // the X-ray-only model: its features (no SED input), 5 folds x (train, predict-deployment), evaluate, final model
    expect(count('xray/')).toBe(1 + 5 * 2 + 1 + 1);
    expect(step('xray/features').inputs).toEqual({ sources: 'ingest' });
    expect(step('xray/features').params['xray_only']).toBe(true);
    expect(step('xray/cv/fold-0/predict-deployment').inputs).toEqual({
      model: 'xray/cv/fold-0/train',
      features: 'xray/features',
      sources: 'ingest',
    });
    expect(Object.keys(step('xray/cv/evaluate').inputs).sort()).toEqual([
      ...Array.from({ length: 5 }, (_, i) => `deployment_fold_${i}`),
      'reference',
    ]);
    expect(step('xray/final/train').params['fold']).toBeNull();
    expect(dag.steps.filter((s) => s.key.startsWith('xray/')).every((s) => s.branch === 'xray')).toBe(true);
    expect(keys).not.toContain('cv/fold-0/train-blind');
    expect(step('sed').params['assignment']).toBe('label_free');
    expect(step('sed-paper').params['assignment']).toBe('paper');
    expect(step('cv/evaluate').inputs['blind_fold_0']).toBe('cv/fold-0/predict-deployment');
    expect(step('cv/evaluate').inputs['paper_fold_0']).toBe('cv/fold-0/predict-paper');
    // the method as published trains on label-chosen translations: a second, blind model per fold
    expect(count('ablation/paper_method/')).toBe(4 + 5 * 5 + 1);
    const pm = (key: string) => `ablation/paper_method/${key}`;
    const predictInputs = (protocol: string) => step(pm(`cv/fold-0/predict-${protocol}`)).inputs;
    expect(predictInputs('deployment')).toEqual({ model: pm('cv/fold-0/train'), features: pm('features-label_free') });
    expect(predictInputs('blind')).toEqual({ model: pm('cv/fold-0/train-blind'), features: pm('features-label_free') });
    expect(predictInputs('paper')).toEqual({ model: pm('cv/fold-0/train'), features: pm('features') });
    // label-chosen training with the baseline's settings: its label-free side and blind model are the baseline's
    expect(step('ablation/paper_translation/cv/fold-0/predict-deployment').inputs).toEqual({
      model: 'ablation/paper_translation/cv/fold-0/train',
      features: 'features',
    });
    expect(step('ablation/paper_translation/cv/evaluate').inputs['blind_fold_0']).toBe('cv/fold-0/predict-deployment');
    expect(step('ablation/paper_translation/cv/fold-0/train').inputs).toEqual({ features: 'features-paper' });
    // a model-only ablation reuses the baseline's SED and features
    expect(keys).not.toContain('ablation/smote/sed');
    expect(count('ablation/smote/')).toBe(5 * 3 + 1);
    expect(step('ablation/smote/cv/fold-0/train').inputs).toEqual({ features: 'features' });
    expect(step('ablation/no_gaia_features/features').inputs).toEqual({ sources: 'ingest', sed: 'sed' });
    expect(step('ablation/gaia_only/sed').params['surveys']).toEqual(['gaia']);
    // each ablation is one branch (a child workflow on Temporal), as is each baseline fold and the X-ray-only model
    expect(Object.keys(splitBranches(dag).branches).sort()).toEqual([
      ...Object.keys(loadConfig().ablations)
        .map((a) => `ablation/${a}`)
        .sort(),
      'cv/fold-0',
      'cv/fold-1',
      'cv/fold-2',
      'cv/fold-3',
      'cv/fold-4',
      'xray',
    ]);
  });

  it('declares only what the configured protocols need', async () => {
    const only = buildPipeline(
      await planPipeline(loadConfig({ sets: ['evaluation.protocols=["deployment"]'] }), {
        ablations: ['paper_method'],
      }),
    );
    const keys = only.steps.map((s) => s.key);
    expect(keys.filter((k) => /paper$|predict-paper|predict-blind|train-blind/.test(k))).toEqual([]);
    expect(Object.keys(only.steps.find((s) => s.key === 'cv/evaluate')!.inputs).sort()).toEqual(
      [...Array.from({ length: 5 }, (_, i) => `deployment_fold_${i}`), 'reference'].sort(),
    );
    // the method's branch still trains on label-chosen translations and tests on label-free ones
    expect(only.steps.find((s) => s.key === 'ablation/paper_method/cv/fold-0/predict-deployment')!.inputs).toEqual({
      model: 'ablation/paper_method/cv/fold-0/train',
      features: 'ablation/paper_method/features-label_free',
    });
    expect(() => loadConfig({ sets: ['evaluation.protocols=["paper","paper"]'] })).toThrow(
      /evaluation\.protocols.*a protocol is listed twice/,
    );
    expect(() => loadConfig({ sets: ['evaluation.protocols=["deploy"]'] })).toThrow(/evaluation\.protocols\.0/);
  });

  it('keeps the redshift grid and zero priors of unused AGN families out of a translation, and wires the label policy', async () => {
    const input = await planPipeline(loadConfig(), {
      ablations: ['agn_salvato', 'agn_composite_z', 'label_conflicts_dropped'],
    });
    expect(input.baseline.sed.agn_redshift).toBeUndefined();
    expect(Object.keys(input.baseline.sed.label_free.priors)).not.toContain('salvato');
    const salvato = input.ablations['agn_salvato']!.sed;
    expect(salvato.agn_redshift?.z_max).toBe(3);
    expect(salvato.label_free.priors).toMatchObject({ salvato: 1, composite: 1 });
    // the Salvato templates are hashed inputs: the list and its 30 files
    expect(salvato.data_files.filter((f) => f.name.startsWith('templates/agn_salvato09/'))).toHaveLength(31);
    expect(input.ablations['agn_composite_z']!.sed.label_free.priors).toMatchObject({ composite: 0, composite_z: 1 });
    const dag = buildPipeline(input);
    const step = (key: string) => dag.steps.find((s) => s.key === key)!;
    expect(step('cv/fold-0/train').params['label_policy']).toBeUndefined();
    expect(step('ablation/label_conflicts_dropped/cv/fold-0/train').params['label_policy']).toBe('drop');
    expect(step('ablation/label_conflicts_dropped/cv/fold-0/train').inputs).toEqual({
      features: 'features',
      provenance: 'provenance',
    });
    expect(() => loadConfig({ sets: ['sed.agn_redshift.z_step=0.001'] })).toThrow(
      /sed\.agn_redshift.*at most 100 redshift steps/,
    );
  });

  it('refuses posterior draws unless the translation is label-free', async () => {
    await expect(
      planPipeline(loadConfig({ sets: ['ablations.x={"sed":{"assignment":"paper","label_free":{"draws":3}}}'] })),
    ).rejects.toThrow(
      /^config ablations\.x: key 'sed\.label_free\.draws': 3 posterior draws need sed\.assignment = "label_free" \(got "paper"\)$/,
    );
  });

  it('names the ablation and key of a bad ablation setting', async () => {
    await expect(planPipeline(loadConfig({ sets: ['ablations.x={"sed":{"surveys":["hubble"]}}'] }))).rejects.toThrow(
      /^config ablations\.x: key 'sed\.surveys\.0': expected one of "gaia"\|"2mass"\|"ps1"/,
    );
    await expect(planPipeline(loadConfig({ sets: ['ablations.y={"model":{"n_trees":5}}'] }))).rejects.toThrow(
      /^config ablations\.y: unknown key 'model\.n_trees'$/,
    );
  });
});
