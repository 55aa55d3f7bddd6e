import type { ArtifactStore, DamagedFileError } from '../artifacts/store.js';
import { lineageOf, type LineageNode } from '../artifacts/audit.js';
import { loadRunRecords } from '../artifacts/run-records.js';
import { pooledMetrics } from './compare.js';
import { variantSteps, XRAY_STEPS } from '../workflows/keys.js';

/** One final model a run made: what `xclass models` lists and `--model latest` picks from. */
export interface ModelRow {
  model: string;
  /** `full` (X-ray and optical features) or `xray_only` (the model for sources without photometry) */
  kind: 'full' | 'xray_only';
  run: string;
  started_at: string;
  /** the training table: raw file name and the first 12 digits of its SHA-256 */
  training_set: string;
  /** the label policy it was trained under (train params), `none` when unset */
  label_policy: string;
  /** pooled out-of-fold balanced accuracy of its cross-validation, deployment protocol */
  balanced_accuracy: number | null;
}

function rawFiles(node: LineageNode, out = new Map<string, string>()): Map<string, string> {
  if (node.meta.stage === 'ingest') for (const f of node.meta.raw_files) out.set(f.name, f.sha256);
  for (const c of node.inputs) rawFiles(c, out);
  return out;
}

/**
 * The final models of the store's succeeded runs, newest run first, each model once (at
 * its newest run): the baseline's and the X-ray-only model's. A run's other branches
 * (ablations) are scored, not deployed, so they have no final model.
 */
export async function listModels(
  store: ArtifactStore,
  onDamaged: (d: DamagedFileError) => void = () => {},
): Promise<ModelRow[]> {
  const rows: ModelRow[] = [];
  const seen = new Set<string>();
  const runs = (await loadRunRecords(store, onDamaged)).filter((r) => r.status === 'succeeded').reverse();
  for (const run of runs) {
    for (const [kind, steps] of [
      ['full', variantSteps(null)],
      ['xray_only', XRAY_STEPS],
    ] as const) {
      const model = run.steps.find((s) => s.key === steps.finalModel && s.status === 'done')?.artifactId;
      if (!model || seen.has(model)) continue;
      const meta = await store.findById(model);
      if (!meta) continue; // collected since
      seen.add(model);
      const files = rawFiles(await lineageOf(store, meta));
      const evaluate = run.steps.find((s) => s.key === steps.evaluate && s.status === 'done')?.artifactId;
      const ba = evaluate ? ((await pooledMetrics(store, evaluate)).get('deployment balanced_accuracy') ?? null) : null;
      rows.push({
        model,
        kind,
        run: run.run_id,
        started_at: run.started_at,
        training_set: [...files].map(([name, sha]) => `${name} (${sha.slice(0, 12)})`).join(', ') || 'unknown',
        label_policy: typeof meta.params['label_policy'] === 'string' ? meta.params['label_policy'] : 'none',
        balanced_accuracy: ba,
      });
    }
  }
  return rows;
}
