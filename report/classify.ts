import type { ArtifactStore } from '../artifacts/store.js';
import { confusionTable, metricsTable } from '../schemas/evaluation.js';
import { predictionsTable, probabilitiesTable } from '../schemas/model.js';
import {
  classifyClassMixTable,
  counterpartMatchesTable,
  matchSummaryTable,
  populationShiftTable,
  targetFeaturesTable,
  targetMagsTable,
  targetsTable,
} from '../schemas/catalog.js';
import { CLASS_COLOURS, heatmap, scatterByClass } from './charts.js';
import { esc, idTag, num, plot, table } from './html.js';
import type { OutColumn, OutRow, OutTableSource } from './table-writers.js';
import { sqlString, streamRows } from '../artifacts/duckdb.js';
import type { TableSchema } from '../schemas/table.js';

type Ref = { stage: 'classify'; id: string };

/**
 * What `xclass classify` writes beside the artifact, read from its tables by DuckDB a part
 * at a time (a field of 10^6 sources is never held whole): the result table (per source
 * its position, class, confidence, uncertain flag and why, conformal set, OOD flag and
 * score, Monte-Carlo significance, every final-class probability with its 16-84%
 * interval, match quality, one group of columns per photometry catalog for the chosen
 * counterpart (id, separation, nu, p_i), where its HST magnitudes came from, the model and
 * calibration), typed with units and UCDs for every output format, in the predictions'
 * order; and a DS9 region file (fk5: one circle per source with a position, radius the 95%
 * error, sigma_eff, at least 1", coloured by class, dashed when the classification is
 * uncertain, labelled with its id, class and confidence), in the targets' order. A source
 * has one target row, one final probability per class and at most one chosen counterpart
 * per catalog, so each join finds at most one row.
 */
export async function classifyOutput(
  store: ArtifactStore,
  ref: Ref,
): Promise<{ table: OutTableSource; regions: () => AsyncIterable<string>; rows: number }> {
  // each table a digest-checked file, its rows numbered as written
  const parquet = async (table: TableSchema, name: string) => {
    const { path, rows } = await store.verifiedTablePath(table, ref, name);
    return { rows, rel: `read_parquet(${sqlString(path)}, file_row_number = true)` };
  };
  const { rows, rel: preds } = await parquet(predictionsTable, 'data');
  const proba = `(SELECT * FROM ${(await parquet(probabilitiesTable, 'probabilities')).rel} WHERE stage = 'final')`;
  const targets = (await parquet(targetsTable, 'targets')).rel;
  const matches = `(SELECT * FROM ${(await parquet(counterpartMatchesTable, 'matches')).rel} WHERE chosen)`;
  const meta = await store.readMeta(ref.stage, ref.id);
  const catalogs = ((meta.params['photometry'] ?? []) as { name: string }[]).map((c) => c.name);
  // the classes in the order the probabilities first name them
  const classes = (await firstPart(`SELECT class FROM ${proba} GROUP BY class ORDER BY min(file_row_number)`)).map(
    (r) => String(r[0]),
  );
  const withIntervals =
    Number((await firstPart(`SELECT count(*) FILTER (WHERE p_lo IS NOT NULL) FROM ${proba}`))[0]![0]) > 0;
  const P = { type: 'double' as const, ucd: 'stat.probability', digits: 4 };
  const columns: OutColumn[] = [
    { name: 'id', type: 'string', ucd: 'meta.id;meta.main', description: 'X-ray source id' },
    {
      name: 'ra',
      type: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra;meta.main',
      digits: 7,
      description: 'right ascension (ICRS)',
    },
    {
      name: 'dec',
      type: 'double',
      unit: 'deg',
      ucd: 'pos.eq.dec;meta.main',
      digits: 7,
      description: 'declination (ICRS)',
    },
    {
      name: 'final_class',
      type: 'string',
      ucd: 'src.class',
      description: 'the class with the highest final probability',
    },
    { name: 'confidence', ...P, description: "the final class's probability" },
    {
      name: 'uncertain',
      type: 'bool',
      ucd: 'meta.code.qual',
      description: 'the conformal set is not exactly the final class',
    },
    {
      name: 'decided_by',
      type: 'string',
      ucd: 'meta.note',
      description: 'which stage of the two-stage forest decided',
    },
    {
      name: 'class_set',
      type: 'string',
      ucd: 'src.class',
      description: 'conformal prediction set (classes joined by |)',
    },
    { name: 'ood', type: 'bool', ucd: 'meta.code.qual', description: 'out of the training distribution' },
    { name: 'ood_score', type: 'double', ucd: 'stat.value', digits: 4, description: 'out-of-distribution score' },
    { name: 'mc_draws', type: 'int', ucd: 'meta.number', description: 'Monte-Carlo draws behind the probabilities' },
    { name: 'significance', type: 'double', ucd: 'stat.snr', digits: 2, description: 'X-ray detection significance' },
    { name: 'uncertain_reason', type: 'string', ucd: 'meta.note', description: 'why the classification is uncertain' },
    ...classes.flatMap((c): OutColumn[] => [
      { name: `p_${c}`, ...P, description: `final probability of ${c}` },
      ...(withIntervals
        ? [
            { name: `p_${c}_lo`, ...P, description: `16th percentile of p_${c} over the Monte-Carlo draws` },
            { name: `p_${c}_hi`, ...P, description: `84th percentile of p_${c} over the Monte-Carlo draws` },
          ]
        : []),
    ]),
    {
      name: 'match_quality',
      type: 'string',
      ucd: 'meta.code.qual',
      description: 'counterpart match quality (secure, ambiguous, none...)',
    },
    ...catalogs.flatMap((c): OutColumn[] => [
      { name: `${c}_id`, type: 'string', ucd: 'meta.id.cross', description: `chosen ${c} counterpart` },
      {
        name: `${c}_sep`,
        type: 'double',
        unit: 'arcsec',
        ucd: 'pos.angDistance',
        digits: 3,
        description: `separation of the ${c} counterpart`,
      },
      {
        name: `${c}_nu`,
        type: 'double',
        ucd: 'stat.value',
        digits: 3,
        description: `normalised separation (separation over the combined 1-sigma error) of the ${c} counterpart`,
      },
      { name: `${c}_p`, ...P, description: `posterior probability that the ${c} counterpart is the source's (p_i)` },
    ]),
    {
      name: 'hst_provenance',
      type: 'string',
      ucd: 'meta.note',
      description: 'HST magnitudes observed, translated, mixed or none',
    },
    {
      name: 'parallax',
      type: 'double',
      unit: 'mas',
      ucd: 'pos.parallax',
      digits: 4,
      description: 'counterpart parallax',
    },
    { name: 'parallax_snr', type: 'double', ucd: 'stat.snr', digits: 2, description: 'parallax over its error' },
    {
      name: 'model_used',
      type: 'string',
      ucd: 'meta.code',
      description: 'full (X-ray and optical features) or xray_only',
    },
    {
      name: 'model',
      type: 'string',
      ucd: 'meta.id',
      description: 'train artifact id of the model that classified the source',
    },
    {
      name: 'calibration',
      type: 'string',
      ucd: 'meta.id',
      description: 'evaluate artifact id of the calibration used',
    },
    { name: 'label', type: 'string', ucd: 'src.class', description: 'the label the table gave, when it gave one' },
  ];
  // a class's probability columns, a catalog's counterpart columns: one row each at most, pivoted per source
  const probFields = withIntervals ? ['p', 'p_lo', 'p_hi'] : ['p'];
  const matchFields = ['candidate', 'sep_arcsec', 'nu', 'p_i'];
  const one = (v: string, where: string) => `any_value(${v}) FILTER (WHERE ${where})`;
  const pivotP = classes.flatMap((c, k) => probFields.map((v) => `${one(v, `class = ${sqlString(c)}`)} AS c${k}_${v}`));
  const pivotM = catalogs.flatMap((c, k) =>
    matchFields.map((v) => `${one(v, `catalog = ${sqlString(c)}`)} AS m${k}_${v}`),
  );
  const select = [
    'p.id',
    't.ra_deg',
    't.dec_deg',
    'p.final_class',
    'p.confidence',
    'p.uncertain',
    'p.decided_by',
    'p.class_set',
    'p.ood',
    'p.ood_score',
    'p.mc_draws',
    'p.significance',
    'p.uncertain_reason',
    ...classes.flatMap((_, k) => probFields.map((v) => `q.c${k}_${v}`)),
    't.match_quality',
    ...catalogs.flatMap((_, k) => matchFields.map((v) => `m.m${k}_${v}`)),
    't.hst_provenance',
    't.parallax_mas',
    't.parallax_snr',
    't.model_used',
    't.model_id',
    't.calibration_id',
    'p.label',
  ];
  const sql =
    `SELECT ${select.join(', ')} FROM ${preds} p ` +
    `LEFT JOIN ${targets} t ON t.id = p.id ` +
    `LEFT JOIN (SELECT id${pivotP.map((x) => `, ${x}`).join('')} FROM ${proba} GROUP BY id) q ON q.id = p.id ` +
    `LEFT JOIN (SELECT id${pivotM.map((x) => `, ${x}`).join('')} FROM ${matches} GROUP BY id) m ON m.id = p.id ` +
    'ORDER BY p.file_row_number';
  const regionSql =
    `SELECT t.id, t.ra_deg, t.dec_deg, t.sigma_eff_arcsec, p.final_class, p.confidence, p.uncertain ` +
    `FROM ${targets} t JOIN ${preds} p ON p.id = t.id ` +
    'WHERE t.ra_deg IS NOT NULL AND t.dec_deg IS NOT NULL ORDER BY t.file_row_number';
  async function* regions(): AsyncGenerator<string> {
    yield [
      '# Region file format: DS9 version 4.1',
      `# XClass classify/${ref.id}`,
      'global width=2 font="helvetica 10 normal"',
      'fk5',
      '',
    ].join('\n');
    for await (const part of streamRows(regionSql)) {
      let text = '';
      for (const row of part) {
        const [id, ra, dec, sigma, cls, confidence, uncertain] = row as [
          string,
          number,
          number,
          number | null,
          string,
          number,
          boolean,
        ];
        const r = Math.max(sigma ?? 1, 1);
        const dash = uncertain ? ' dash=1' : '';
        const label = `${id} ${cls} ${confidence.toFixed(2)}${uncertain ? '?' : ''}`.replace(/[{}]/g, '');
        text += `circle(${ra.toFixed(7)},${dec.toFixed(7)},${r.toFixed(3)}") # color=${CLASS_COLOURS[cls] ?? '#888888'}${dash} text={${label}}\n`;
      }
      yield text;
    }
  }
  return {
    table: {
      name: `xclass_classify_${ref.id.slice(0, 12)}`,
      columns,
      rows,
      async *parts() {
        for await (const part of streamRows(sql)) yield part.map(outRow);
      },
    },
    regions,
    rows,
  };
}

/** A row from DuckDB as an output row: its counts (BIGINT) as numbers. */
const outRow = (r: unknown[]): OutRow =>
  r.map((v) => (typeof v === 'bigint' ? Number(v) : (v as string | number | boolean | null)));

/** The first part of a small query's rows. */
async function firstPart(sql: string): Promise<unknown[][]> {
  for await (const part of streamRows(sql)) return part;
  return [];
}

/** The report section of one classification: census, counterparts, plots, and the self-score when labels were given. */
export async function classifySection(store: ArtifactStore, ref: Ref): Promise<string> {
  const C = idTag('classify', ref.id);
  const preds = await store.readTable(predictionsTable, ref);
  const targets = await store.readTable(targetsTable, ref, 'targets');
  const byId = new Map(preds.map((p) => [p.id, p]));
  const meta = await store.readMeta(ref.stage, ref.id);
  const parts: string[] = [
    `<h2>Classification of ${esc(String((meta.params['table'] as { name?: string } | undefined)?.name ?? ''))}</h2>`,
  ];

  // census: per class, by match quality and by HST provenance
  const classes = [...new Set(preds.map((p) => p.final_class))].sort();
  const qualities = [...new Set(targets.map((t) => t.match_quality))].sort();
  const provenances = ['observed', 'mixed', 'translated', 'none'].filter((v) =>
    targets.some((t) => t.hst_provenance === v),
  );
  const routes = ['full', 'xray_only'] as const;
  const censusRow = (label: string, ts: readonly (typeof targets)[number][]) => [
    label,
    ts.length,
    ts.filter((t) => byId.get(t.id)?.uncertain).length,
    ...routes.map((r) => ts.filter((t) => t.model_used === r).length),
    ...qualities.map((q) => ts.filter((t) => t.match_quality === q).length),
    ...provenances.map((v) => ts.filter((t) => t.hst_provenance === v).length),
  ];
  const censusRows = classes.map((c) =>
    censusRow(
      c,
      targets.filter((t) => byId.get(t.id)?.final_class === c),
    ),
  );
  censusRows.push(censusRow('all', targets));
  const modelOf = (r: (typeof routes)[number]) => targets.find((t) => t.model_used === r);
  const routeLine = routes
    .map((r) => {
      const t = modelOf(r);
      return t
        ? `${r === 'full' ? 'full model' : 'X-ray-only model'} ${idTag('train', t.model_id)}${t.calibration_id ? ` calibrated by ${idTag('evaluate', t.calibration_id)}` : ' (no calibration)'}`
        : null;
    })
    .filter((x) => x !== null)
    .join('; ');
  parts.push(
    `<h3>Census</h3>${table(['class', 'sources', 'uncertain', 'model: full', 'model: X-ray only', ...qualities.map((q) => `match: ${q}`), ...provenances.map((v) => `HST: ${v}`)], censusRows)}
<p class="src">Models: ${routeLine}. A source without every HST magnitude the full model reads is classified by the X-ray-only model (fluxes,
hardness ratios, position error, significance, variability), which never saw imputed optical features.</p>
<p class="src">from ${C}. Match quality: the method's grade of the counterpart used (secure nu ≤ 2, ambiguous 2 < nu ≤ 3), <em>prematched</em> when
the X-ray table carried its own photometry, <em>none</em> without one. HST magnitudes: observed, SED-translated label-free from other bands, both
(mixed), or none.</p>`,
  );

  // how sure: conformal sets, the OOD flag, the uncertain rule, the field's class mix
  const notes = meta.notes ?? {};
  const sets = Object.entries((notes['set_census'] as Record<string, number> | undefined) ?? {});
  const calibration = notes['calibration'] as { evaluate?: string; level?: number } | null | undefined;
  const reasons = new Map<string, number>();
  for (const p of preds)
    for (const r of (p.uncertain_reason ?? '').split('; ').filter(Boolean)) {
      const kind = r.split(' ')[0]!;
      reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
    }
  parts.push(`<h3>How sure</h3>
<p class="protocol">${esc(String(notes['uncertain_rule'] ?? ''))}. Monte-Carlo draws per source: ${esc(String(notes['mc_draws'] ?? 0))}.
${
  calibration?.evaluate
    ? `Sets and the OOD flag calibrated by ${idTag('evaluate', calibration.evaluate)} (the model's cross-validation, ${num((calibration.level ?? 0) * 100, 0)}% sets).`
    : 'No calibration: no conformal sets and no OOD flag (the model was not cross-validated in this store).'
}
Uncertain: ${preds.filter((p) => p.uncertain).length} of ${preds.length} (${[...reasons].map(([k, n]) => `${esc(k)}: ${n}`).join(', ') || 'none'});
OOD flagged: ${esc(String(notes['ood_flagged'] ?? 0))}.</p>
${sets.length > 0 ? table(['conformal set', 'sources'], sets) : ''}<p class="src">from ${C}</p>`);
  if (meta.tables['class_mix']) {
    const mix = await store.readTable(classifyClassMixTable, ref, 'class_mix');
    parts.push(
      `<h3>Class mix of the field (EM, Saerens et al. 2002)</h3>${table(
        ['class', 'raw census', 'training share', 'EM estimate', 'EM 95%'],
        mix.map((r) => [
          r.class,
          num(r.census_share),
          num(r.training_share),
          num(r.em_share),
          `${num(r.em_lo)}–${num(r.em_hi)}`,
        ]),
      )}<p class="src">EM on posteriors bias-corrected by the model's cross-validation; bootstrap interval — ${C}</p>`,
    );
  }

  if (meta.tables['population_shift']) {
    const shift = await store.readTable(populationShiftTable, ref, 'population_shift');
    const top = (['full', 'xray_only'] as const).flatMap((route) =>
      shift
        .filter((r) => r.model_used === route && r.ks_d !== null)
        .sort((a, b) => b.ks_d! - a.ks_d!)
        .slice(0, 6),
    );
    parts.push(
      `<h3>Population shift: targets against the training set</h3>${table(
        [
          'model',
          'feature',
          'KS D',
          'KS p',
          'PSI',
          'median training',
          'median targets',
          'missing training',
          'missing targets',
        ],
        top.map((r) => [
          r.model_used,
          r.feature,
          num(r.ks_d),
          num(r.ks_p, 4),
          num(r.psi),
          num(r.median_training),
          num(r.median_targets),
          num(r.missing_share_training),
          num(r.missing_share_targets),
        ]),
      )}<p class="src">Per model, the six features whose target values lie farthest from the model's own training rows (two-sample KS statistic;
PSI over the training deciles: above 0.25 is a large shift). Missing values are counted, not compared. Every feature in table population_shift of ${C}.</p>`,
    );
  }

  const summary = await store.readTable(matchSummaryTable, ref, 'match_summary');
  if (summary.length > 0) {
    const cats = [...new Set(summary.map((s) => s.catalog))];
    const metrics = [...new Set(summary.map((s) => s.metric))];
    parts.push(
      `<h3>Counterparts</h3>${table(
        ['metric', ...cats],
        metrics.map((m) => [
          m,
          ...cats.map((c) => num(summary.find((s) => s.catalog === c && s.metric === m)?.value, 4)),
        ]),
      )}<p class="src">from ${C}. false_match_rate: share of positions shifted by ${esc(JSON.stringify((meta.params['counterparts'] as { shift_radii?: unknown })?.shift_radii ?? []))} search radii
(north, east, south, west) where the method's rule still finds a counterpart; expected_false_matches = that rate × the X-ray sources with positions.</p>`,
    );
  }

  const figures: string[] = [];
  const point = (t: { id: string }, x: number | null, y: number | null) => {
    const p = byId.get(t.id);
    return p && x !== null && y !== null ? [{ class: p.final_class, x, y, uncertain: p.uncertain }] : [];
  };
  const sky = targets.flatMap((t) => point(t, t.ra_deg, t.dec_deg));
  if (sky.length > 0)
    figures.push(
      await plot(
        'Sky positions by class (hollow: uncertain)',
        scatterByClass('Sky', sky, { xTitle: 'RA (deg)', yTitle: 'Dec (deg)', reverseX: true }),
        C,
      ),
    );
  const features = await store.readTable(targetFeaturesTable, ref, 'features');
  const fv = new Map(
    features
      .filter((f) => f.feature === 'hr_sm' || f.feature === 'hr_mh')
      .map((f) => [`${f.id}\u0000${f.feature}`, f.value]),
  );
  const hr = targets.flatMap((t) =>
    point(t, fv.get(`${t.id}\u0000hr_mh`) ?? null, fv.get(`${t.id}\u0000hr_sm`) ?? null),
  );
  if (hr.length > 0)
    figures.push(
      await plot(
        'X-ray hardness ratios',
        scatterByClass('Hardness ratios', hr, { xTitle: 'HR_mh = (M-H)/(M+H)', yTitle: 'HR_sm = (S-M)/(S+M)' }),
        C,
      ),
    );
  // colour-magnitude diagram of the counterparts: the model's X-ray/optical filters, observed magnitudes only
  const mags = (await store.readTable(targetMagsTable, ref, 'mags')).filter((m) => m.origin === 'observed');
  const filterCounts = new Map<string, number>();
  for (const m of mags) filterCounts.set(m.filter, (filterCounts.get(m.filter) ?? 0) + 1);
  const pivots = new Map(mags.map((m) => [m.filter, m.pivot_aa]));
  const [blue, red] = [...filterCounts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([f]) => f)
    .sort((a, b) => pivots.get(a)! - pivots.get(b)!);
  if (blue && red) {
    const mOf = new Map(mags.map((m) => [`${m.id}\u0000${m.filter}`, m.mag_ab]));
    const cmd = targets.flatMap((t) => {
      const b = mOf.get(`${t.id}\u0000${blue}`);
      const r = mOf.get(`${t.id}\u0000${red}`);
      return b === undefined || r === undefined ? [] : point(t, b - r, r);
    });
    if (cmd.length > 0)
      figures.push(
        await plot(
          `Counterparts: colour-magnitude diagram (observed, AB)`,
          scatterByClass('Colour-magnitude', cmd, {
            xTitle: `${blue} - ${red} (AB)`,
            yTitle: `${red} (AB)`,
            reverseY: true,
          }),
          C,
        ),
      );
  }
  parts.push(figures.join('\n'));

  if (meta.tables['metrics']) {
    const allMetrics = await store.readTable(metricsTable, ref, 'metrics');
    const metrics = allMetrics.filter((r) => r.subset === 'all');
    const confusion = (await store.readTable(confusionTable, ref, 'confusion')).filter((r) => r.subset === 'all');
    const get = (m: string, c: string | null = null) => metrics.find((r) => r.metric === m && r.class === c);
    const unseen = (m: string) =>
      allMetrics.find((r) => r.subset === 'not_trained_on' && r.metric === m && r.class === null);
    const trainedOn = Number(notes['scored_trained_on'] ?? 0);
    const labelled = [...new Set(metrics.filter((r) => r.class !== null).map((r) => r.class!))];
    parts.push(
      `<h3>Scored against the table's own labels</h3><p class="headline">balanced accuracy ${num(get('balanced_accuracy')?.value)}, macro F1 ${num(get('macro_f1')?.value)},
ECE ${num(get('ece')?.value)} over ${get('accuracy')?.n ?? 0} labelled sources, ${trainedOn} of them training sources of the model
(${unseen('balanced_accuracy') ? `without them: balanced accuracy ${num(unseen('balanced_accuracy')?.value)} over ${unseen('accuracy')?.n}` : 'none without them'}).</p>${table(
        ['class', 'precision', 'recall', 'F1', 'support'],
        labelled.map((c) => [
          c,
          num(get('precision', c)?.value),
          num(get('recall', c)?.value),
          num(get('f1', c)?.value),
          get('recall', c)?.n ?? 0,
        ]),
      )}${await plot('Confusion matrix (row-normalised)', heatmap('Confusion (labelled targets)', confusion), C)}
<p class="src">from ${C}. Labels from the target table; sources whose label is out of scope are not scored.</p>`,
    );
  }
  return parts.join('\n');
}
