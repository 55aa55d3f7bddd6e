import type { ArtifactStore } from '../artifacts/store.js';
import { ConfigError } from '../config/load.js';
import { loadRunRecord, loadRunRecords } from '../artifacts/run-records.js';
import type { DamagedFileError } from '../artifacts/store.js';
import { BASELINE, variantSteps } from '../workflows/keys.js';
import { PROTOCOLS } from '../schemas/protocols.js';
import { metricsTable } from '../schemas/evaluation.js';

export interface BranchMetrics {
  label: string;
  run: string;
  evaluateId: string;
  metrics: Map<string, number>;
}

/**
 * An evaluation's pooled out-of-fold metrics of the full pipeline on all sources, named
 * `<protocol> <metric>[:class]` (`deployment balanced_accuracy`, `paper f1:CV`).
 */
export async function pooledMetrics(store: ArtifactStore, evaluateId: string): Promise<Map<string, number>> {
  const metrics = new Map<string, number>();
  for (const m of await store.readTable(metricsTable, { stage: 'evaluate', id: evaluateId })) {
    if (m.level !== 'full' || m.subset !== 'all' || m.statistic !== 'pooled' || m.value === null) continue;
    metrics.set(`${m.protocol} ${m.metric}${m.class ? `:${m.class}` : ''}`, m.value);
  }
  return metrics;
}

/**
 * Resolves `RUN`, `BRANCH` or `RUN:BRANCH` (BRANCH is `baseline` or an ablation name) to
 * the pooled full-pipeline metrics of that branch's evaluation. A bare branch name means
 * the newest run that has it.
 */
export async function branchMetrics(
  store: ArtifactStore,
  spec: string,
  onDamaged: (d: DamagedFileError) => void = () => {},
): Promise<BranchMetrics> {
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
    return {
      label: `${r}:${branch}`,
      run: r,
      evaluateId: step.artifactId,
      metrics: await pooledMetrics(store, step.artifactId),
    };
  }
  throw new ConfigError(`compare: no evaluated branch '${branch}'${run ? ` in run ${run}` : ''} in ${store.root}`);
}

/**
 * Rows of A, B and B - A for every metric either has, named `<protocol> <metric>[:class]`:
 * the deployment protocol first, then blind, paper and the competitor; headline metrics
 * first within each.
 */
export function compareRows(
  a: BranchMetrics,
  b: BranchMetrics,
): { metric: string; a: number | null; b: number | null; delta: number | null }[] {
  const order = ['balanced_accuracy', 'macro_f1', 'mcc', 'accuracy', 'ece', 'mce', 'brier'];
  const rank = (name: string) => {
    const [protocol = '', metric = ''] = name.split(' ', 2);
    const pr = [...PROTOCOLS].indexOf(protocol as (typeof PROTOCOLS)[number]);
    const mr = order.indexOf(metric);
    return (pr < 0 ? PROTOCOLS.length : pr) * 100 + (mr < 0 ? order.length : mr);
  };
  const names = [...new Set([...a.metrics.keys(), ...b.metrics.keys()])].sort(
    (x, y) => rank(x) - rank(y) || x.localeCompare(y),
  );
  return names.map((metric) => {
    const va = a.metrics.get(metric) ?? null;
    const vb = b.metrics.get(metric) ?? null;
    return { metric, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
  });
}

/** The metrics `compare` shows without --all: per protocol, the summary scores and how sure the answers are. */
const HEADLINE = new Set([
  'balanced_accuracy',
  'macro_f1',
  'mcc',
  'accuracy',
  'ece',
  'uncertain_share',
  'accuracy_certain',
]);

export function isHeadline(metric: string): boolean {
  return HEADLINE.has(metric.split(' ', 2)[1] ?? '');
}
