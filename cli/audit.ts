import type { ArtifactStore } from '../artifacts/store.js';
import type { RunRecord } from '../schemas/run.js';
import type { StepRecord } from '../schemas/step.js';
import { variantSteps, XRAY_STEPS } from '../workflows/keys.js';

/** Per stage, in first-seen order: steps computed, cache hits and failures (what `run` prints at its end and `audit` summarises). */
export function stepsByStage(
  steps: readonly StepRecord[],
): Map<string, { computed: number; cached: number; failed: number }> {
  const byStage = new Map<string, { computed: number; cached: number; failed: number }>();
  for (const s of steps) {
    const c = byStage.get(s.stage) ?? { computed: 0, cached: 0, failed: 0 };
    if (s.status === 'failed') c.failed++;
    else if (s.cacheHit) c.cached++;
    else if (s.status === 'done') c.computed++;
    byStage.set(s.stage, c);
  }
  return byStage;
}

/**
 * `audit RUN` without --full: the run, the data folder it read, its steps by stage
 * (computed and cached), the raw files that entered it with their SHA-256, and its final
 * models; `--full` prints every artifact's lineage.
 */
export async function auditSummary(store: ArtifactStore, run: RunRecord): Promise<string[]> {
  const lines = [
    `run ${run.run_id}  ${run.status}  engine ${run.engine}  ${run.started_at}  config ${run.config_hash.slice(0, 16)}  code ${run.code_version ?? 'unknown'}`,
  ];
  if (run.data)
    lines.push(
      `data ${run.data.dir}  ${run.data.sha256sums === null ? 'no SHA256SUMS (unchecked)' : `SHA256SUMS sha256 ${run.data.sha256sums.slice(0, 16)}, ${run.data.files} files, ${run.data.differing.length} differing`}`,
    );
  const byStage = stepsByStage(run.steps);
  lines.push(`steps ${run.steps.length}:`);
  for (const [stage, c] of byStage)
    lines.push(
      `  ${stage.padEnd(12)} ${c.computed} computed, ${c.cached} cached${c.failed ? `, ${c.failed} failed` : ''}`,
    );
  const raw = new Map<string, { sha256: string; bytes: number }>();
  for (const s of run.steps) {
    if (!s.artifactId) continue;
    const meta = await store.findById(s.artifactId);
    for (const f of meta?.raw_files ?? []) raw.set(f.name, { sha256: f.sha256, bytes: f.bytes });
  }
  lines.push('raw files:');
  for (const [name, f] of [...raw].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`  ${name}  sha256 ${f.sha256}  ${f.bytes} bytes`);
  // what came from TAP services: who was asked what, when, and the answer's digest
  for (const step of run.steps.filter((x) => x.stage === 'fetch' && x.artifactId)) {
    const meta = await store.findById(step.artifactId!);
    const p = meta?.params as Record<string, unknown> | undefined;
    if (!meta || !p) continue;
    lines.push(
      `fetched ${String(p['service'])}: ${String(meta.notes['rows'])} rows from ${String(p['url'])} at ${String(p['queried_at'])} (${String(p['mode'])}) -> fetch/${meta.id.slice(0, 12)}, answer sha256 ${String(p['response_sha256'])}`,
      `  ${String(p['adql'])}`,
    );
  }
  for (const [what, key] of [
    ['final model', variantSteps(null).finalModel],
    ['X-ray-only model', XRAY_STEPS.finalModel],
  ] as const) {
    const id = run.steps.find((s) => s.key === key)?.artifactId;
    if (id) lines.push(`${what}: train/${id}`);
  }
  lines.push(`every artifact's lineage: xclass audit ${run.run_id} --full`);
  return lines;
}
