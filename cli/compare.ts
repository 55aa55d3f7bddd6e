import type { ArtifactStore } from '../artifacts/store.js';
import { ConfigError } from '../config/load.js';
import { loadRunRecord, loadRunRecords } from '../artifacts/run-records.js';
import type { DamagedFileError } from '../artifacts/store.js';
import { BASELINE, variantSteps, XRAY_STEPS } from '../workflows/keys.js';
import type { RunRecord } from '../schemas/run.js';
import { PROTOCOLS } from '../schemas/protocols.js';
import { metricsTable } from '../schemas/evaluation.js';

export interface BranchMetrics {
  label: string;
  run: string;
  evaluateId: string;
  metrics: Map<string, number>;
}

/**
 * Resolves `RUN`, `BRANCH` or `RUN:BRANCH` (BRANCH is `baseline` or an ablation name) to
 * the pooled full-pipeline metrics of that branch's evaluation. A bare branch name means
 * the newest run that has it.
 */
export async function branchMetrics(store: ArtifactStore, spec: string, onDamaged: (d: DamagedFileError) => void = () => {}): Promise<BranchMetrics> {
  const records = await loadRunRecords(store, onDamaged);
  const runs = records.map((r) => r.run_id);
  let run: string | undefined;
  let branch = BASELINE;
  if (spec.includes(':')) [run, branch] = spec.split(':', 2) as [string, string];
  else if (runs.includes(spec)) run = spec;
  else branch = spec;
  const key = variantSteps(branch === BASELINE ? null : branch).evaluate;
  const candidates = run ? [run] : [...runs].reverse();
  for (const r of candidates) {
    const rec = records.find((x) => x.run_id === r) ?? (await loadRunRecord(store, r));
    if (!rec) throw new ConfigError(`compare: no run '${r}' in ${store.root}`);
    const step = rec.steps.find((s) => s.key === key && s.status === 'done');
    if (!step?.artifactId) continue;
    const rows = await store.readTable(metricsTable, { stage: 'evaluate', id: step.artifactId });
    const metrics = new Map<string, number>();
    for (const m of rows) {
      if (m['level'] !== 'full' || m['subset'] !== 'all' || m['statistic'] !== 'pooled' || m['value'] === null) continue;
      const protocol = m['protocol'] as string;
      const name = `${protocol} ${m['metric']}${m['class'] ? `:${m['class']}` : ''}`;
      metrics.set(name, m['value'] as number);
    }
    return { label: `${r}:${branch}`, run: r, evaluateId: step.artifactId, metrics };
  }
  throw new ConfigError(`compare: no evaluated branch '${branch}'${run ? ` in run ${run}` : ''} in ${store.root}`);
}

/**
 * Rows of A, B and B - A for every metric either has, named `<protocol> <metric>[:class]`:
 * the deployment protocol first, then blind, paper and the competitor; headline metrics
 * first within each.
 */
export function compareRows(a: BranchMetrics, b: BranchMetrics): { metric: string; a: number | null; b: number | null; delta: number | null }[] {
  const order = ['balanced_accuracy', 'macro_f1', 'mcc', 'accuracy', 'ece', 'mce', 'brier'];
  const rank = (name: string) => {
    const [protocol = '', metric = ''] = name.split(' ', 2);
    const pr = [...PROTOCOLS].indexOf(protocol as (typeof PROTOCOLS)[number]);
    const mr = order.indexOf(metric);
    return (pr < 0 ? PROTOCOLS.length : pr) * 100 + (mr < 0 ? order.length : mr);
  };
  const names = [...new Set([...a.metrics.keys(), ...b.metrics.keys()])].sort((x, y) => rank(x) - rank(y) || x.localeCompare(y));
  return names.map((metric) => {
    const va = a.metrics.get(metric) ?? null;
    const vb = b.metrics.get(metric) ?? null;
    return { metric, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
  });
}

/** The metrics `compare` shows without --all: per protocol, the summary scores and how sure the answers are. */
const HEADLINE = new Set(['balanced_accuracy', 'macro_f1', 'mcc', 'accuracy', 'ece', 'uncertain_share', 'accuracy_certain']);

export function isHeadline(metric: string): boolean {
  return HEADLINE.has(metric.split(' ', 2)[1] ?? '');
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
  const byStage = new Map<string, { computed: number; cached: number; failed: number }>();
  for (const s of run.steps) {
    const c = byStage.get(s.stage) ?? { computed: 0, cached: 0, failed: 0 };
    if (s.status === 'failed') c.failed++;
    else if (s.cacheHit) c.cached++;
    else if (s.status === 'done') c.computed++;
    byStage.set(s.stage, c);
  }
  lines.push(`steps ${run.steps.length}:`);
  for (const [stage, c] of byStage) lines.push(`  ${stage.padEnd(12)} ${c.computed} computed, ${c.cached} cached${c.failed ? `, ${c.failed} failed` : ''}`);
  const raw = new Map<string, { sha256: string; bytes: number }>();
  for (const s of run.steps) {
    if (!s.artifactId) continue;
    const meta = await store.findById(s.artifactId);
    for (const f of meta?.raw_files ?? []) raw.set(f.name, { sha256: f.sha256, bytes: f.bytes });
  }
  lines.push('raw files:');
  for (const [name, f] of [...raw].sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${name}  sha256 ${f.sha256}  ${f.bytes} bytes`);
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
