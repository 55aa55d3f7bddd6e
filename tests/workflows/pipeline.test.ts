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
    // 11 assembly steps; the baseline's SED, features, 5 folds x (train, predict), evaluate, final model: 14;
    // class_blind, no_2mass and gaia_only change the SED (13 each); smote only the model (11); no_gaia_features the features (12)
    expect(keys).toHaveLength(11 + 14 + 3 * 13 + 11 + 12);
    expect(keys).not.toContain('ablation/smote/sed');
    expect(keys).toContain('ablation/smote/cv/fold-0/train');
    expect(dag.steps.find((s) => s.key === 'ablation/smote/cv/fold-0/train')!.inputs).toEqual({ features: 'features' });
    expect(dag.steps.find((s) => s.key === 'ablation/no_gaia_features/features')!.inputs).toEqual({ sources: 'ingest', sed: 'sed' });
    expect(dag.steps.find((s) => s.key === 'ablation/gaia_only/sed')!.params['surveys']).toEqual(['gaia']);
    // each ablation is one branch (a child workflow on Temporal), as is each baseline fold
    expect(Object.keys(splitBranches(dag).branches).sort()).toEqual([
      'ablation/class_blind', 'ablation/gaia_only', 'ablation/no_2mass', 'ablation/no_gaia_features', 'ablation/smote',
      'cv/fold-0', 'cv/fold-1', 'cv/fold-2', 'cv/fold-3', 'cv/fold-4',
    ]);
  });

  it('names the ablation and key of a bad ablation setting', async () => {
    await expect(planPipeline(loadConfig({ sets: ['ablations.x={"sed":{"surveys":["hubble"]}}'] }))).rejects.toThrow(/^config ablations\.x: key 'sed\.surveys\.0': expected one of "gaia"\|"2mass"\|"ps1"/);
    await expect(planPipeline(loadConfig({ sets: ['ablations.y={"model":{"n_trees":5}}'] }))).rejects.toThrow(/^config ablations\.y: unknown key 'model\.n_trees'$/);
  });
});
