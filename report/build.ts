import type { ArtifactStore } from '../artifacts/store.js';
import type { RunRecord } from '../schemas/run.js';
import type { Row as TableRow } from '../schemas/table.js';
import { labelAgreement, summariseRun } from './summary.js';
import { SHARED_STEPS, variantSteps, XRAY_STEPS } from '../workflows/keys.js';
import { PROTOCOLS } from '../schemas/protocols.js';
import { barChart, heatmap, histogramByClass, reliability, scatterByClass } from './charts.js';
import { esc, idTag, num, page, plot, table } from './html.js';
import { classifySection } from './classify.js';
import { uncertaintySection } from './uncertainty.js';
import { calibrationTable, confusionTable, metricsTable } from '../schemas/evaluation.js';
import { modelFeaturesTable } from '../schemas/model.js';
import { sedFitsTable, sedMagsTable } from '../schemas/sed.js';
import { featureValuesTable } from '../schemas/features.js';
import { DISTANCE_FEATURES } from '../lib/features.js';

type Row = Record<string, unknown>;

/** Which metric: protocol, level, subset, statistic, name and class (absent or null: the overall figure). */
type MetricKey = [
  protocol: string,
  level: string,
  subset: string,
  statistic: string,
  metric: string,
  cls?: string | null,
];

/** A metric's value in `rows`. */
function pickIn(rows: readonly Row[], ...[protocol, level, subset, statistic, metric, cls = null]: MetricKey): unknown {
  return rows.find(
    (m) =>
      m['protocol'] === protocol &&
      m['level'] === level &&
      m['subset'] === subset &&
      m['statistic'] === statistic &&
      m['metric'] === metric &&
      (m['class'] ?? null) === cls,
  )?.['value'];
}

/** the sources behind a pooled full-pipeline metric of all sources */
function sourcesIn(rows: readonly Row[], protocol: string, metric: string, cls: string | null = null): unknown {
  return (
    rows.find(
      (m) =>
        m['protocol'] === protocol &&
        m['level'] === 'full' &&
        m['subset'] === 'all' &&
        m['statistic'] === 'pooled' &&
        m['metric'] === metric &&
        (m['class'] ?? null) === cls,
    )?.['n'] ?? ''
  );
}

/** What every section of a run's report reads: the run, its baseline evaluation, and how to pick a metric. */
interface ReportContext {
  store: ArtifactStore;
  run: RunRecord;
  step: (key: string) => RunRecord['steps'][number] | undefined;
  baseline: ReturnType<typeof variantSteps>;
  evalId: string;
  evaluated: { stage: string; id: string };
  metrics: readonly TableRow<typeof metricsTable>[];
  confusion: readonly TableRow<typeof confusionTable>[];
  calibration: readonly TableRow<typeof calibrationTable>[];
  /** the evaluation's id tag, beside every number */
  E: string;
  /** the headline protocol and every protocol scored */
  H: string;
  present: string[];
  headline: string[];
  classes: string[];
  /** a metric of the baseline evaluation */
  pick: (...key: MetricKey) => unknown;
  headlineOf: (metric: string) => unknown;
}

/**
 * The run report: one self-contained HTML file (inline SVG plots rendered by Vega in
 * Node, no script, no external file). Every number carries the id of the artifact it
 * comes from, and every metric the protocol that produced it. A classify run gets its
 * field's sections; a pipeline run the sections below, in this order.
 */
export async function buildReport(store: ArtifactStore, run: RunRecord): Promise<string> {
  const classified = run.steps.filter((s) => s.stage === 'classify' && s.status === 'done' && s.artifactId);
  if (classified.length > 0)
    return page(
      run,
      await Promise.all(classified.map((s) => classifySection(store, { stage: 'classify', id: s.artifactId! }))),
    );
  const c = await reportContext(store, run);
  const parts: string[] = [];
  parts.push(...(await trainingDataSection(c)));
  parts.push(...performanceSection(c));
  parts.push(...(await xrayModelSection(c)));
  parts.push(competitorSection(c));
  parts.push(...(await calibrationPlots(c)));
  parts.push(await uncertaintySection(store, c.evaluated, c.metrics, c.H, c.E));
  // the X-ray luminosity against the absolute G magnitude of the sources with a significant parallax
  const distanceFeatures = await distancePlane(store, run);
  if (distanceFeatures) parts.push(distanceFeatures);
  parts.push(...(await importanceSection(c)));
  parts.push(...(await sedSection(c)));
  parts.push(...(await ablationsSection(c)));
  return page(run, parts);
}

async function reportContext(store: ArtifactStore, run: RunRecord): Promise<ReportContext> {
  const step = (key: string) => run.steps.find((s) => s.key === key && s.status === 'done');
  const baseline = variantSteps(null);
  const evalStep = step(baseline.evaluate);
  if (!evalStep?.artifactId) throw new Error(`report: run ${run.run_id} has no completed ${baseline.evaluate} step`);
  const evalId = evalStep.artifactId;
  if ((await store.readMeta('evaluate', evalId)).stage_version < 2) {
    throw new Error(
      `report: run ${run.run_id} was evaluated before the deployment and blind protocols existed (evaluate v1, ` +
        `protocol paper only); its artifacts are kept, and \`xclass compare\` still reads them; run the pipeline again ` +
        `for a report`,
    );
  }
  const evaluated = { stage: 'evaluate', id: evalId };
  const metrics = await store.readTable(metricsTable, evaluated);
  const confusion = await store.readTable(confusionTable, evaluated, 'confusion');
  const calibration = await store.readTable(calibrationTable, evaluated, 'calibration');
  const E = idTag('evaluate', evalId);
  // metrics: every protocol side by side, `deployment` first (the headline)
  const pick = (...key: MetricKey) => pickIn(metrics, ...key);
  const present = PROTOCOLS.filter((pr) => metrics.some((m) => m['protocol'] === pr));
  const H = present[0] ?? 'deployment';
  const headline = ['accuracy', 'balanced_accuracy', 'macro_f1', 'mcc'];
  const headlineOf = (metric: string) => pick(H, 'full', 'all', 'pooled', metric);
  const classes = [
    ...new Set(
      metrics
        .filter((m) => m['protocol'] === H && m['level'] === 'full' && m['metric'] === 'f1' && m['class'])
        .map((m) => m['class'] as string),
    ),
  ];
  return {
    store,
    run,
    step,
    baseline,
    evalId,
    evaluated,
    metrics,
    confusion,
    calibration,
    E,
    H,
    present,
    headline,
    classes,
    pick,
    headlineOf,
  };
}

/** Table 1 and the label agreement of the catalogues. */
async function trainingDataSection({ store, run, step, baseline }: ReportContext): Promise<string[]> {
  const parts: string[] = [];
  // Table 1
  const summary = await summariseRun(store, run);
  parts.push(`<h2>Training data (Table 1)</h2>${table(
    ['class', 'catalogs', 'after dedup', 'CSC match', 'SED (≥3 bands)', 'classifier'],
    summary.map((r) => [r.class, r.catalogs, r.deduplicated, r.csc_match, r.sed_ok, r.classifier]),
  )}
<p class="src">from ${idTag('dedup', step(SHARED_STEPS.dedup)?.artifactId)} ${idTag('crossmatch', step(SHARED_STEPS.crossmatch)?.artifactId)}
${idTag('sed', step(baseline.sed())?.artifactId)} ${idTag('features', step(baseline.features())?.artifactId)}.
Catalog, dedup and match counts cover every labelled catalog; SED and classifier counts are the MUWCLASS training table.
The bundled data has no SNR catalog.</p>`);
  const agreement = await labelAgreement(store, run);
  if (agreement)
    parts.push(`<h3>Label agreement</h3>${table(
      ['MUWCLASS label', ...agreement.columns, 'agree', 'conflict', 'MUWCLASS only'],
      agreement.rows.map((r) => [r.label, ...r.cells, r.agree, r.conflict, r.unconfirmed]),
    )}
${
  agreement.conflicts.length > 0
    ? table(
        ['conflicting source', 'MUWCLASS label', 'other catalogues'],
        agreement.conflicts.map((c) => [c.id, c.label, c.labels]),
      )
    : '<p>No catalogue contradicts a training label.</p>'
}
<p class="src">from ${idTag('provenance', agreement.artifactId)}: the MUWCLASS table's in-scope sources; a catalogue's row labels a source by the
CSC 2.0 name it gives, else by the cross-match rules (section 2.3). Columns: each other catalogue and its label (a source in several
catalogues counts in each); none: no other catalogue labels it. Nothing is relabelled; config <code>labels.conflicts</code> decides
whether training keeps, drops or requires agreement for these sources (a train artifact's notes list the sources it left out).</p>`);

  return parts;
}

/** Cross-validated performance under every protocol, and per class. */
function performanceSection({ metrics, E, H, present, headline, classes, pick, headlineOf }: ReportContext): string[] {
  const parts: string[] = [];
  const rows: unknown[][] = [];
  for (const protocol of present)
    for (const level of ['full', 'stage1'])
      for (const subset of ['all', 'confident']) {
        rows.push([
          protocol,
          level,
          subset,
          ...headline.map(
            (m) =>
              `${num(pick(protocol, level, subset, 'pooled', m))} (${num(pick(protocol, level, subset, 'mean', m))} ± ` +
              `${num(pick(protocol, level, subset, 'std', m))})`,
          ),
          num(pick(protocol, 'full', 'all', 'pooled', 'ece')),
        ]);
      }
  parts.push(`<h2>Cross-validated performance</h2>
<p class="protocol">Headline protocol <b>${esc(H)}</b>.
<b>deployment</b>: the model as configured, test sources SED-translated without their labels — what every real target gets.
<b>blind</b>: no label used on either side.
<b>paper</b>: each test source translated with the template its own label selects
(the method as published; the colours then partly encode the label, so these numbers only reproduce the method).</p>
<p class="headline">Balanced accuracy (${esc(H)}) <b>${num(headlineOf('balanced_accuracy'))}</b>, macro F1 ${num(headlineOf('macro_f1'))},
ECE ${num(headlineOf('ece'))}, MCE ${num(headlineOf('mce'))}, Brier ${num(headlineOf('brier'))} (protocol ${esc(H)}) — ${E}</p>
${table(['protocol', 'level', 'subset', ...headline.map((h) => `${h} pooled (fold mean ± std)`), 'ECE'], rows)}`);
  parts.push(
    `<h3>Per class (full pipeline, all sources, pooled)</h3>${table(
      ['class', `precision (${H})`, `recall (${H})`, ...present.map((pr) => `F1 (${pr})`), 'sources', 'competitor F1'],
      classes.map((c) => [
        c,
        num(pick(H, 'full', 'all', 'pooled', 'precision', c)),
        num(pick(H, 'full', 'all', 'pooled', 'recall', c)),
        ...present.map((pr) => num(pick(pr, 'full', 'all', 'pooled', 'f1', c))),
        sourcesIn(metrics, H, 'recall', c),
        num(pick('competitor:MUWCLASS', 'full', 'all', 'pooled', 'f1', c)),
      ]),
    )}<p class="src">${E}</p>`,
  );

  return parts;
}

/** The X-ray-only model (targets without enough photometry), beside the model. */
async function xrayModelSection(c: ReportContext): Promise<string[]> {
  const { store, step, metrics, E, H, classes, pick, headlineOf } = c;
  const parts: string[] = [];
  const xrayEval = step(XRAY_STEPS.evaluate)?.artifactId;
  if (xrayEval) {
    const X = idTag('evaluate', xrayEval);
    const xm = await store.readTable(metricsTable, { stage: 'evaluate', id: xrayEval });
    const xpick = (metric: string, cls: string | null = null) =>
      pickIn(xm, 'deployment', 'full', 'all', 'pooled', metric, cls);
    const level = (await store.readMeta('evaluate', xrayEval)).params['uncertainty'] as
      { conformal?: { level?: number } } | undefined;
    parts.push(`<h2>The X-ray-only model (targets without enough photometry)</h2>
<p class="protocol">Trained on every in-scope source, with or without photometry, from the features every X-ray source has (fluxes,
hardness ratios, sigma_eff, significance, CSC variability); <code>classify</code> routes to it every target without every HST magnitude the
model reads, instead of imputing its optical features. Its sets are at ${num((level?.conformal?.level ?? 0) * 100, 0)}%.</p>${table(
      [
        '',
        'sources',
        'balanced accuracy',
        'macro F1',
        'ECE',
        ...classes.map((c) => `F1 ${c}`),
        'uncertain',
        'certain answers right',
      ],
      [
        [
          'model (X-ray + optical)',
          sourcesIn(metrics, H, 'balanced_accuracy'),
          num(headlineOf('balanced_accuracy')),
          num(headlineOf('macro_f1')),
          num(headlineOf('ece')),
          ...classes.map((c) => num(pick(H, 'full', 'all', 'pooled', 'f1', c))),
          num(headlineOf('uncertain_share')),
          num(headlineOf('accuracy_certain')),
        ],
        [
          'X-ray-only model',
          sourcesIn(xm, 'deployment', 'balanced_accuracy'),
          num(xpick('balanced_accuracy')),
          num(xpick('macro_f1')),
          num(xpick('ece')),
          ...classes.map((c) => num(xpick('f1', c))),
          num(xpick('uncertain_share')),
          num(xpick('accuracy_certain')),
        ],
      ],
    )}<p class="src">${E} ${X} (protocol deployment, pooled out-of-fold)</p>`);
  }

  return parts;
}

/** The competitor's own predictions on the same sources. */
function competitorSection({ E, present, headline, pick }: ReportContext): string {
  const pooledRow = (protocol: string, label: string) => [
    label,
    ...headline.map((m) => num(pick(protocol, 'full', 'all', 'pooled', m))),
  ];
  const competitorRows = [
    ...present.map((pr) => pooledRow(pr, `XClass (protocol ${pr})`)),
    pooledRow('competitor:MUWCLASS', 'MUWCLASS own predictions'),
  ];
  return `<h2>Competitor on the same sources</h2>${table(['', ...headline], competitorRows)}
<p class="src">MUWCLASS's <code>Class</code> column from the training table, with LM-STAR and HM-STAR scored as STAR — ${E}</p>`;
}

/** Confusion matrices, the confidence histogram and the reliability diagram (headline protocol). */
async function calibrationPlots({ confusion, calibration, E, H, pick }: ReportContext): Promise<string[]> {
  const parts: string[] = [];
  for (const level of ['full', 'stage1']) {
    const values = confusion.filter((c) => c['protocol'] === H && c['level'] === level && c['subset'] === 'all') as {
      true_class: string;
      predicted_class: string;
      fraction: number | null;
      count: number;
    }[];
    parts.push(
      await plot(
        `Confusion matrix, ${level === 'full' ? 'full pipeline' : 'Stage 1'} (row-normalised colour, counts; protocol ${H})`,
        heatmap(`${level === 'full' ? 'Full pipeline' : 'Stage 1'}`, values),
        E,
      ),
    );
  }
  const cal = calibration.filter((c) => c['protocol'] === H);
  const hist = cal
    .filter((c) => c['kind'] !== 'reliability')
    .map((c) => ({
      bin: `${num(c['bin_lo'], 1)}–${num(c['bin_hi'], 1)}`,
      sources: c['count'],
      outcome: c['kind'] === 'confidence_correct' ? 'correct' : 'incorrect',
    }));
  parts.push(
    await plot(
      `Confidence (maximum probability) of correct and incorrect predictions; protocol ${H}`,
      barChart('Confidence histogram', hist, 'bin', 'sources', {
        color: 'outcome',
        xType: 'ordinal',
        stack: false,
        xTitle: 'maximum probability',
      }),
      E,
    ),
  );
  const mcRun = cal.some((c) => c['kind'] === 'reliability_single');
  const rel = cal
    .filter((c) => (c['kind'] === 'reliability' || c['kind'] === 'reliability_single') && (c['count'] as number) > 0)
    .map((c) => ({
      confidence: c['mean_confidence'] as number,
      accuracy: c['accuracy'] as number,
      count: c['count'] as number,
      series: c['kind'] === 'reliability_single' ? 'single value' : mcRun ? 'Monte-Carlo mean' : 'model',
      lo: (c['mean_confidence_lo'] as number | null) ?? null,
      hi: (c['mean_confidence_hi'] as number | null) ?? null,
    }));
  parts.push(
    await plot(
      `Reliability diagram: ECE ${num(pick(H, 'full', 'all', 'pooled', 'ece'))}, MCE ${num(pick(H, 'full', 'all', 'pooled', 'mce'))}` +
        `${mcRun ? ` (single value: ECE ${num(pick(H, 'full', 'all', 'pooled', 'ece_single_value'))}; rules: each bin's mean 16-84% interval of the top probability over the draws)` : ''}; protocol ${H}`,
      reliability('Reliability', rel),
      E,
    ),
  );
  return parts;
}

/** Gini importance of the final model's Stage-1 features. */
async function importanceSection({ store, step, baseline }: ReportContext): Promise<string[]> {
  const parts: string[] = [];
  const finalId = step(baseline.finalModel)?.artifactId;
  if (finalId) {
    const feats = (await store.readTable(modelFeaturesTable, { stage: 'train', id: finalId }))
      .filter((r) => r['stage'] === 'stage1')
      .sort((a, b) => (b['importance_mean'] as number) - (a['importance_mean'] as number))
      .slice(0, 15);
    parts.push(
      await plot(
        'Gini importance, top 15 Stage-1 features of the final model (bars: mean; rules: ± per-tree std)',
        barChart(
          'Feature importance',
          feats.map((f) => ({ feature: f['feature'], importance: f['importance_mean'], std: f['importance_std'] })),
          'feature',
          'importance',
          { error: 'std' },
        ),
        idTag('train', finalId),
      ),
    );
  }

  return parts;
}

/** SED diagnostics: fit quality and a translated magnitude by class. */
async function sedSection({ store, step, baseline }: ReportContext): Promise<string[]> {
  const parts: string[] = [];
  const sedId = step(baseline.sed())?.artifactId;
  if (sedId) {
    // translated training sources (a label, a fit)
    const fits = (await store.readTable(sedFitsTable, { stage: 'sed', id: sedId })).filter(
      (f) => f.status === 'ok' && f.label !== null && f.chi2_red !== null,
    );
    parts.push(
      await plot(
        'SED fit quality: log10 chi2_red by class',
        histogramByClass(
          'log10 chi2_red',
          fits.map((f) => ({ class: f.label!, value: Math.log10(Math.max(1e-3, f.chi2_red!)) })),
          'log10 chi2_red',
        ),
        idTag('sed', sedId),
      ),
    );
    const labelOf = new Map(fits.map((f) => [f.id, f.label!]));
    const f475 = (await store.readTable(sedMagsTable, { stage: 'sed', id: sedId }, 'mags')).filter(
      (m) => m.filter.endsWith('F475W') && m.mag_ab !== null && labelOf.has(m.id),
    );
    parts.push(
      await plot(
        'Predicted F475W (AB) by class',
        histogramByClass(
          'F475W',
          f475.map((m) => ({ class: labelOf.get(m.id)!, value: m.mag_ab! })),
          'F475W (AB mag)',
        ),
        idTag('sed', sedId),
      ),
    );
  }

  return parts;
}

/** Every ablation beside the baseline and the competitor, under each protocol. */
async function ablationsSection({
  store,
  run,
  baseline,
  evalId,
  metrics,
  present,
  pick,
}: ReportContext): Promise<string[]> {
  const parts: string[] = [];
  // ablations: balanced accuracy, macro F1, CV and LMXB F1 under each protocol
  // each ablation's evaluation: the step its record names with the ablation (records before 2026-11-25 name none)
  const ablations = run.steps.filter(
    (s) => s.variant !== null && s.key === variantSteps(s.variant).evaluate && s.artifactId,
  );
  const unnamed = run.steps.filter(
    (s) => s.stage === 'evaluate' && s.key !== baseline.evaluate && s.variant === null,
  ).length;
  if (ablations.length === 0 && unnamed > 0) {
    parts.push(
      `<h2>Ablations</h2><p class="protocol">This run's record (written before steps named their ablation) evaluated ` +
        `${unnamed} other branches. Run the same configuration again: every step is a cache hit, and its report has the ` +
        `ablation table.</p>`,
    );
  }
  if (ablations.length > 0) {
    const cols: [string, string | null][] = [
      ['balanced_accuracy', null],
      ['macro_f1', null],
      ['f1', 'CV'],
      ['f1', 'LMXB'],
    ];
    const label = ([m, c]: [string, string | null]) => (c ? `${c} F1` : m === 'balanced_accuracy' ? 'BA' : 'macro F1');
    const rowOf = (name: string, ms: readonly Row[], id: string) => [
      name,
      ...present.flatMap((pr) => cols.map(([m, c]) => num(pickIn(ms, pr, 'full', 'all', 'pooled', m, c)))),
      idTag('evaluate', id),
    ];
    const ablRows: unknown[][] = [rowOf('baseline', metrics, evalId)];
    for (const a of ablations)
      ablRows.push(
        rowOf(a.variant!, await store.readTable(metricsTable, { stage: 'evaluate', id: a.artifactId! }), a.artifactId!),
      );
    ablRows.push([
      'competitor (MUWCLASS)',
      ...present.flatMap(() => cols.map(([m, c]) => num(pick('competitor:MUWCLASS', 'full', 'all', 'pooled', m, c)))),
      '',
    ]);
    parts.push(
      `<h2>Ablations</h2><p class="protocol">Each branch cross-validated like the baseline and scored under every ` +
        `protocol (column headers name it).</p>${table(['branch', ...present.flatMap((pr) => cols.map((c) => `${label(c)} (${pr})`)), 'artifact'], ablRows)}` +
        (await sameResults(store, [
          { name: 'baseline', id: evalId },
          ...ablations.map((a) => ({ name: a.variant!, id: a.artifactId! })),
        ])),
    );
  }

  return parts;
}

/**
 * Branches whose evaluations hold the same bytes (their metrics file's SHA-256): their
 * settings differ, but not on this data (no_2mass and gaia_only when no training source
 * has a 2MASS band the Gaia-only translation lacks). One sentence per group, or nothing.
 */
export async function sameResults(
  store: ArtifactStore,
  branches: readonly { name: string; id: string }[],
): Promise<string> {
  const byDigest = new Map<string, string[]>();
  for (const b of branches) {
    const meta = await store.readMeta('evaluate', b.id);
    const digest = meta.files.find((f) => f.name === 'data.parquet')?.sha256;
    if (digest) byDigest.set(digest, [...(byDigest.get(digest) ?? []), b.name]);
  }
  const groups = [...byDigest.values()].filter((g) => g.length > 1);
  if (groups.length === 0) return '';
  return `<p class="protocol">Identical results: ${groups.map((g) => g.join(' = ')).join('; ')} (the same evaluation, byte for byte: their settings differ, but not on this data).</p>`;
}

/**
 * The plane of log L_X against absolute G for the training sources whose parallax is
 * significant (the distance features; the baseline's when it has them, else the
 * `distance_features` ablation's), coloured by class: active stars sit at 10^27-10^30
 * erg/s, CVs and X-ray binaries above them.
 */
async function distancePlane(store: ArtifactStore, run: RunRecord): Promise<string | null> {
  const candidates = run.steps.filter((s) => s.stage === 'features' && s.status === 'done' && s.artifactId);
  const ordered = [...candidates.filter((s) => s.variant === null), ...candidates.filter((s) => s.variant !== null)];
  for (const s of ordered) {
    const ref = { stage: 'features' as const, id: s.artifactId! };
    const names = (await store.readMeta('features', ref.id)).facts?.['feature_names'] as string[] | undefined;
    if (!names?.includes(DISTANCE_FEATURES[0]!)) continue;
    const values = (await store.readTable(featureValuesTable, ref)).filter(
      (v) => v.draw === 0 && DISTANCE_FEATURES.includes(v.feature) && v.value !== null,
    );
    const byId = new Map<string, { class: string; x?: number; y?: number }>();
    for (const v of values) {
      const p = byId.get(v.id) ?? byId.set(v.id, { class: v.label }).get(v.id)!;
      if (v.feature === 'abs_g_plx') p.x = v.value!;
      else p.y = v.value!;
    }
    const points = [...byId.values()].flatMap((p) =>
      p.x !== undefined && p.y !== undefined ? [{ class: p.class, x: p.x, y: p.y, uncertain: false }] : [],
    );
    if (points.length === 0) return null;
    const F = idTag('features', ref.id);
    return `<h2>Distance: X-ray luminosity against absolute magnitude</h2>
${await plot(
  `log L_X against absolute G, ${points.length} training sources with a significant parallax (${esc(s.variant ?? 'baseline')})`,
  scatterByClass('Lx-MG', points, {
    xTitle: 'M_G (Gaia G, no extinction correction)',
    yTitle: 'log L_X (0.5-7 keV, erg/s)',
  }),
  F,
)}
<p class="src">L_X = 4 pi d^2 F_b and M_G = G - 5 log10(d / 10 pc), d the geometric distance (Bailer-Jones et al. 2021) or 1/parallax,
where the parallax S/N exceeds the threshold (features <code>log_lx_plx</code>, <code>abs_g_plx</code>) — ${F}</p>`;
  }
  return null;
}
