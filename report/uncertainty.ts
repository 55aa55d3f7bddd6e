import type { ArtifactStore } from '../artifacts/store.js';
import { classMixTable, conformalTable, oodTable, type MetricRow } from '../schemas/evaluation.js';
import { barChart } from './charts.js';
import { esc, num, plot, table } from './html.js';

/**
 * The report's account of how far a prediction on a new source can be trusted, from one
 * evaluation (headline protocol): the Monte-Carlo mean against the single-value
 * prediction, nested conformal coverage and set sizes per class, accuracy against the
 * OOD score, the uncertain rule, and the EM class-mix estimate on resampled populations.
 */
export async function uncertaintySection(
  store: ArtifactStore,
  ref: { stage: string; id: string },
  metrics: readonly MetricRow[],
  H: string,
  E: string,
): Promise<string> {
  const m = (metric: string) =>
    metrics.find(
      (r) =>
        r.protocol === H &&
        r.statistic === 'pooled' &&
        r.level === 'full' &&
        r.subset === 'all' &&
        r.metric === metric &&
        r.class === null,
    );
  const parts: string[] = ['<h2>Predictions on new sources: how sure</h2>'];
  if (m('accuracy_single_value')) {
    parts.push(`<h3>Monte-Carlo over measurement errors</h3>
<p class="protocol">Each held-out source's fluxes (log-normal) and magnitudes (normal, with the SED floor) drawn from their errors,
each draw translated and classified; the class is decided on the mean vector.</p>
${table(
  ['prediction', 'accuracy', 'balanced accuracy', 'macro F1', 'ECE'],
  [
    [
      'Monte-Carlo mean',
      num(m('accuracy')?.value),
      num(m('balanced_accuracy')?.value),
      num(m('macro_f1')?.value),
      num(m('ece')?.value),
    ],
    [
      'single value',
      num(m('accuracy_single_value')?.value),
      num(m('balanced_accuracy_single_value')?.value),
      num(m('macro_f1_single_value')?.value),
      num(m('ece_single_value')?.value),
    ],
  ],
)}<p class="src">protocol ${esc(H)} — ${E}</p>`);
  }
  const conformal = (await store.readTable(conformalTable, ref, 'conformal')).filter((r) => r.protocol === H);
  if (conformal.length > 0)
    parts.push(`<h3>Conformal class sets (Mondrian, nested over the folds)</h3>
<p class="protocol">Each fold's sets calibrated on the other folds only; at level L every true class should be covered about L of the time.
A set of one class is the strong statement.</p>
${table(
  [
    'level',
    'true class',
    'sources',
    'coverage',
    'mean set size',
    'single-class share',
    'accuracy of single-class sets',
  ],
  conformal.map((r) => [
    num(r.level, 2),
    r.class ?? 'all',
    r.n,
    num(r.coverage),
    num(r.mean_set_size, 2),
    num(r.single_share),
    num(r.single_accuracy),
  ]),
)}<p class="src">protocol ${esc(H)} — ${E}</p>`);
  const ood = (await store.readTable(oodTable, ref, 'ood')).filter((r) => r.protocol === H);
  if (ood.length > 0) {
    parts.push(`<h3>Out-of-distribution score</h3>
<p class="protocol">Distance to the k-th nearest training source over its typical value among training sources (robustly scaled features).
Flag threshold ${num(m('ood_threshold')?.value, 2)}, calibrated so that ${num(m('ood_flag_rate')?.value)} of held-out training sources are flagged
(each fold's threshold from the other folds). Accuracy: flagged ${num(m('accuracy_ood_flagged')?.value)} (${m('accuracy_ood_flagged')?.n ?? 0} sources),
unflagged ${num(m('accuracy_ood_unflagged')?.value)} (${m('accuracy_ood_unflagged')?.n ?? 0}).</p>`);
    parts.push(
      await plot(
        `Accuracy by OOD-score decile; protocol ${H}`,
        barChart(
          'Accuracy against the OOD score',
          ood.map((r) => ({ score: `${num(r.bin_lo, 2)}–${num(r.bin_hi, 2)}`, accuracy: r.accuracy, sources: r.n })),
          'score',
          'accuracy',
          { xType: 'ordinal', xTitle: 'OOD score (decile)' },
        ),
        E,
      ),
    );
  }
  parts.push(`<p class="protocol">Uncertain under the configured rule: ${num(m('uncertain_share')?.value)} of sources; accuracy of the others
${num(m('accuracy_certain')?.value)} (${m('accuracy_certain')?.n ?? 0} sources). Per source, <code>source_uncertainty</code> in ${E} names what made it uncertain.</p>`);
  const mix = (await store.readTable(classMixTable, ref, 'class_mix')).filter((r) => r.protocol === H);
  if (mix.length > 0)
    parts.push(`<h3>Class mix of a target population (EM, Saerens et al. 2002)</h3>
<p class="protocol">Held-out sources resampled to other class mixes; EM on posteriors bias-corrected per class (each fold's correction fitted on
the other folds), with bootstrap 95% intervals, beside the raw census and EM without the correction.</p>
${table(
  ['scenario', 'class', 'true share', 'raw census', 'EM', 'EM 95%', 'EM uncorrected'],
  mix.map((r) => [
    r.scenario,
    r.class,
    num(r.true_share),
    num(r.raw_share),
    num(r.em_share),
    `${num(r.em_lo)}–${num(r.em_hi)}`,
    num(r.em_uncorrected_share),
  ]),
)}<p class="src">protocol ${esc(H)} — ${E}</p>`);
  return parts.join('\n');
}
