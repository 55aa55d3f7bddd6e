import { TABLES } from '../../activities/registry.js';
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticField } from '../../bench/support/field.js';
import { sha256Hex } from '../../artifacts/hash.js';
import { featureNames } from '../../lib/features.js';
import { ArtifactStore } from '../../artifacts/store.js';
import {
  artifactDirs,
  DATA,
  lastJsonLine,
  MUWCLASS,
  ROOT,
  runCli,
  spawnCli,
  tempDir,
  type CliResult,
} from '../helpers.js';
import {
  counterpartMatchesTable,
  matchSummaryTable,
  targetFeaturesTable,
  targetMagsTable,
  targetsTable,
} from '../../schemas/catalog.js';
import { referencePredictionsTable, sourcesTable } from '../../schemas/tables.js';
import { sedDiagnosticsTable, sedFitsTable, sedMagsTable } from '../../schemas/sed.js';
import { modelFeaturesTable, predictionsTable, probabilitiesTable, type PredictionRow } from '../../schemas/model.js';
import { classMixTable, conformalTable, metricsTable, sourceUncertaintyTable } from '../../schemas/evaluation.js';

/**
 * One run of the baseline on the bundled data, made before the tests: the tests read it,
 * and a test that writes to a store (a rerun, an ablation, classify, damage) works on
 * its own copy, so any test can run alone or in any order.
 */
const store = join(tempDir(), 'store');
/** the seeds the metrics below were measured with, pinned here so a new default seed does not move them */
const SEEDS = [
  '--set',
  'evaluation.seed=42',
  '--set',
  'model.forest.random_state=42',
  '--set',
  'sed.label_free.seed=42',
  '--set',
  'uncertainty.mc.seed=7',
];
const at = ['--set', `store.path=${JSON.stringify(store)}`, ...SEEDS];
let first: CliResult;
let runId = '';

beforeAll(() => {
  first = runCli([...at, 'run', '--no-ablations']);
  runId = first.stdout.trim();
}, 600_000);

/** The X-ray-only model's features, in matrix order (their definition is tested in tests/lib/features.test.ts). */
const XRAY_FEATURES = featureNames({
  filters: [],
  xray_optical_filters: [],
  galactic_parallax_mas: 0.5,
  include_gaia: false,
  xray_only: true,
});

/** The metadata of the artifact one step of the first run made, by the step's key. */
async function stepMeta(s: ArtifactStore, key: string) {
  const { loadRunRecord } = await import('../../artifacts/run-records.js');
  const id = (await loadRunRecord(s, runId))!.steps.find((x) => x.key === key)!.artifactId!;
  return (await s.list()).find((m) => m.id === id)!;
}

/** Classify's predictions (100 Monte-Carlo draws each) equal the cross-validation's, source by source. */
function expectSamePredictions(cv: readonly PredictionRow[], mine: ReadonlyMap<string, PredictionRow>): void {
  expect(mine.size).toBe(cv.length);
  for (const p of cv) {
    const m = mine.get(p.id)!;
    expect([m.final_class, m.confidence, m.mc_draws, m.significance, m.ood_score], p.id).toEqual([
      p.final_class,
      p.confidence,
      100,
      p.significance,
      p.ood_score,
    ]);
  }
}

/** A copy of the run's store, and the CLI arguments that point at it. */
function copyOfStore(): { store: string; at: string[] } {
  const copy = join(tempDir(), 'store');
  cpSync(store, copy, { recursive: true });
  return { store: copy, at: ['--set', `store.path=${JSON.stringify(copy)}`, ...SEEDS] };
}

/** A copy of the run's store with its final model, for the classify tests; the classify fixtures' folder; a scratch folder. */
/**
 * The classification written as ECSV, VOTable, FITS and Parquet (cache hits): each read
 * back by XClass's own readers gives the CSV's columns and values (binary formats at full
 * precision, text ones at the column's), and astropy (Debian's python3-astropy) reads the
 * ECSV, VOTable and FITS files with their units.
 */
async function expectSameTableInEveryFormat(o: {
  at: string[];
  dir: string;
  model: string;
  table: string;
  catalog: string;
  csv: string;
  artifact: string;
}) {
  const { readTargetTable } = await import('../../activities/io/formats/registry.js');
  const csv = await readTargetTable(o.csv, 'field.csv');
  // booleans as text in either case (ECSV writes True), numbers as numbers
  const value = (v: unknown) =>
    v === null || v === undefined || v === ''
      ? null
      : /^(true|false)$/i.test(String(v))
        ? String(v).toLowerCase()
        : Number.isNaN(Number(v))
          ? String(v)
          : Number(v);
  const paths: Record<string, string> = {};
  for (const [ext, format] of [
    ['ecsv', 'ecsv'],
    ['vot', 'votable'],
    ['fits', 'fits'],
    ['parquet', 'parquet'],
  ] as const) {
    const path = join(o.dir, `field_${ext}.${ext}`);
    const r = runCli([
      ...o.at,
      '--json',
      'classify',
      o.table,
      '--model',
      o.model,
      '--catalog',
      o.catalog,
      '--out',
      path,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJsonLine(r.stdout)).toMatchObject({ artifact: o.artifact, cache_hit: true, format, out: path });
    expect(existsSync(join(o.dir, `field_${ext}.reg`))).toBe(true);
    const back = await readTargetTable(path, `field_${ext}.${ext}`);
    expect(back.header, format).toEqual(csv.header);
    back.records.forEach((rec, i) =>
      csv.header.forEach((c) => {
        const [a, b] = [value(rec[c]), value(csv.records[i]![c])];
        // the binary formats at full precision, the CSV at the column's decimals: equal within half its last digit
        const decimals = String(csv.records[i]![c]).split('.')[1]?.length ?? 0;
        if (typeof a === 'number' && typeof b === 'number')
          expect(Math.abs(a - b), `${format} ${c}`).toBeLessThanOrEqual(0.5 * 10 ** -decimals + 1e-12);
        else expect(a, `${format} row ${i} ${c}`).toEqual(b);
      }),
    );
    paths[format] = path;
  }
  const script = [
    'import json, sys',
    'from astropy.table import Table',
    'out = {}',
    'for fmt, path in json.loads(sys.argv[1]).items():',
    "    t = Table.read(path, format={'ecsv': 'ascii.ecsv', 'votable': 'votable', 'fits': 'fits'}[fmt])",
    "    out[fmt] = {'rows': len(t), 'units': {c: str(t[c].unit) for c in ('ra', 'gaia_dr3_sep', 'parallax')}, 'id': str(t['id'][0]).strip(), 'final_class': str(t['final_class'][0]).strip()}",
    'print(json.dumps(out))',
  ].join('\n');
  const { execFileSync } = await import('node:child_process');
  const { ecsv, votable, fits } = paths;
  const astropy = JSON.parse(
    execFileSync('/usr/bin/python3', ['-c', script, JSON.stringify({ ecsv, votable, fits })], { encoding: 'utf8' }),
  ) as Record<string, { rows: number; units: Record<string, string>; id: string; final_class: string }>;
  for (const format of ['ecsv', 'votable', 'fits'])
    expect(astropy[format], format).toEqual({
      rows: csv.records.length,
      units: { ra: 'deg', gaia_dr3_sep: 'arcsec', parallax: 'mas' },
      id: csv.records[0]!['id'],
      final_class: csv.records[0]!['final_class'],
    });
}

async function classifySetUp() {
  const { store: copy, at } = copyOfStore();
  const s = new ArtifactStore(copy);
  // the run's final model (fold models have as many table rows: pick it by its step)
  const final = await stepMeta(s, 'final/train');
  return { copy, at, s, final, fix: join(ROOT, 'tests', 'fixtures', 'classify'), dir: tempDir() };
}

describe('the pipeline on the bundled data (embedded engine)', () => {
  it('runs and prints the run id', () => {
    expect(first.code, first.stderr).toBe(0);
    expect(runId).toMatch(/^run-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(first.stderr).toMatch(/succeeded in [\d.]+ s: 52 steps, 0 cache hits/);
    // and the model to classify with: the final model's id and the command
    expect(first.stderr).toMatch(
      /^final model train\/([0-9a-f]{12}): xclass classify TABLE --model \1 \[--catalog FILE\]\.\.\.$/m,
    );
    // --version: the package, the code's commit and the digest of the data folder's SHA256SUMS
    const v = runCli(['--version']);
    expect(v.code).toBe(0);
    const sums = sha256Hex(readFileSync(join(MUWCLASS, '..', '..', 'SHA256SUMS')));
    expect(v.stdout.trim()).toMatch(
      new RegExp(`^xclass 0\\.1\\.0 \\(code [^)]+\\); data \\S+ \\(SHA256SUMS sha256 ${sums}\\)$`),
    );
  });

  it('normalises the MUWCLASS table into sources with the seven classes', async () => {
    const s = new ArtifactStore(store);
    const [ingest] = (await s.list()).filter((m) => m.stage === 'ingest');
    const rows = await s.readTable(sourcesTable, { stage: 'ingest', id: ingest!.id });
    expect(rows).toHaveLength(2941);
    const count = (label: string) => rows.filter((r) => r['label_raw'] === label).length;
    // the data README's counts
    expect([
      count('AGN'),
      count('YSO'),
      count('LM-STAR'),
      count('HM-STAR'),
      count('NS'),
      count('LMXB'),
      count('CV'),
      count('HMXB'),
    ]).toEqual([1390, 1004, 207, 118, 87, 65, 44, 26]);
    expect(rows.filter((r) => r['in_scope']).length).toBe(2941 - 1004 - 87);
    expect(rows.filter((r) => r['label_raw'] === 'YSO').every((r) => r['label'] === null)).toBe(true);
    // first data line of the file, by hand
    const first = rows.find((r) => r['id'] === '2CXO J000009.3+135618')!;
    expect(first).toMatchObject({
      ra_deg: 0.0391148,
      dec_deg: 13.9384931,
      label: 'AGN',
      pos_err_95_arcsec: 0.79,
      significance: 1.95,
      flux_s_cgs: 2e-15,
      flux_b_cgs: 4e-15,
      flux_b_err_cgs: 2e-15,
      gaia_g_mag: 18.494,
      gaia_g_err_mag: 0.003,
      tmass_j_mag: null,
      wise_w1_mag: 15.49,
      parallax_mas: -0.2,
      pm_total_masyr: 0.2,
      origin_line: 2,
      label_ref: '2010A&A...518A..10V',
    });
    // the competitor's predictions never enter sources
    expect(Object.keys(first).some((k) => /^(p_|predicted|class$)/i.test(k))).toBe(false);
    const [ref] = (await s.list()).filter((m) => m.stage === 'reference');
    const preds = await s.readTable(referencePredictionsTable, { stage: 'reference', id: ref!.id });
    expect(preds.find((p) => p['id'] === '2CXO J000009.3+135618')).toMatchObject({
      predicted_class: 'AGN',
      predicted_prob: 0.9,
      p_agn: 0.9,
      confidence_threshold: 5.307,
    });
    expect(ref!.inputs).toEqual({ sources: ingest!.id });
  });

  it("SED-translates the in-scope sources without labels, and with the method's mapping for the paper protocol", async () => {
    const s = new ArtifactStore(store);
    const seds = (await s.list()).filter((m) => m.stage === 'sed');
    const free = seds.find((m) => m.params['assignment'] === 'label_free')!;
    const paper = seds.find((m) => m.params['assignment'] === 'paper')!;
    expect(seds).toHaveLength(2);
    for (const sed of [free, paper]) {
      const fits = await s.readTable(sedFitsTable, { stage: 'sed', id: sed.id });
      const by = (pred: (r: Record<string, unknown>) => boolean) => fits.filter(pred).length;
      expect(by((r) => r['status'] === 'ok')).toBe(1409); // sources with >= 3 Gaia/2MASS bands
      expect(by((r) => r['status'] === 'skipped')).toBe(1004 + 87); // YSO and NS
      expect(
        fits
          .filter((r) => r['status'] === 'failed')
          .every((r) => /^fewer than 3 valid bands/.test(r['reason'] as string)),
      ).toBe(true);
      expect(fits.every((r) => r['status'] !== 'ok' || ((r['a_v'] as number) >= 0 && (r['a_v'] as number) <= 5))).toBe(
        true,
      );
      expect(await s.readTable(sedMagsTable, { stage: 'sed', id: sed.id }, 'mags')).toHaveLength(2941 * 6);
    }
    // the method's mapping: the label picks the family
    const pf = await s.readTable(sedFitsTable, { stage: 'sed', id: paper.id });
    const pby = (pred: (r: Record<string, unknown>) => boolean) => pf.filter(pred).length;
    expect(pby((r) => r['label'] === 'AGN' && r['status'] === 'ok' && r['family'] === 'composite')).toBe(
      pby((r) => r['label'] === 'AGN' && r['status'] === 'ok'),
    );
    expect(pby((r) => r['label'] === 'HMXB' && r['family'] === 'two_component_hmxb')).toBe(26);
    // label-free: every family competes; the 0.03 mag floor and extinction make chi2_red meaningful
    const ff = await s.readTable(sedFitsTable, { stage: 'sed', id: free.id });
    const agn = ff.filter((r) => r['label'] === 'AGN' && r['status'] === 'ok');
    expect(new Set(agn.map((r) => r['family'])).size).toBeGreaterThan(3);
    expect(
      ff.filter((r) => r['status'] === 'ok').every((r) => /^[a-z_]+:[01]\.\d{3}/.test(r['family_posterior'] as string)),
    ).toBe(true);
    const diag = await s.readTable(sedDiagnosticsTable, { stage: 'sed', id: free.id }, 'diagnostics');
    const metric = (m: string) => diag.find((d) => d['group'] === 'all' && d['metric'] === m)!['value'] as number;
    expect(metric('chi2_red_median')).toBeLessThan(3);
    expect(metric('sigma_at_cap_fraction')).toBeLessThan(0.2);
    const rp = diag.find((d) => d['metric'] === 'consistency:HST_ACS_WFC.F814W-Gaia_DR3.RP:median_offset');
    expect(Math.abs(rp!['value'] as number)).toBeLessThan(0.1);
  });

  it('cross-validates the two-stage forest and scores the pooled out-of-fold predictions', async () => {
    const s = new ArtifactStore(store);
    const metas = await s.list();
    for (const features of metas.filter((m) => m.stage === 'features' && m.params['xray_only'] === undefined)) {
      expect((features.facts!['feature_names'] as string[]).length).toBe(28); // Table 3 for PHAT, and log_lx_plx and abs_g_plx
      expect(features.facts!['rows_by_class']).toEqual({
        AGN: 1000,
        CV: 38,
        'HM-STAR': 116,
        HMXB: 26,
        'LM-STAR': 205,
        LMXB: 24,
      });
    }
    const predictions = metas.filter((m) => m.stage === 'predict');
    // every source predicted once per test translation (label-free, paper), out of fold; the X-ray-only model's every in-scope source
    expect(predictions.reduce((n, m) => n + m.row_count, 0)).toBe(2 * 1409 + 1850);
    const final = await stepMeta(s, 'final/train');
    expect(final.files.map((f) => f.name)).toContain('model.bin');
    expect(final.notes['absent_classes']).toEqual(['SNR']);
    expect(final.notes['final_classes']).toEqual(['AGN', 'SNR', 'STAR', 'LMXB', 'HMXB', 'CV']);
    // the balanced bootstrap under-states the common classes' odds; the fitted temperature sharpens them
    expect(final.notes['temperature_stage1'] as number).toBeLessThan(1);
    const ev = await stepMeta(s, 'cv/evaluate');
    expect(ev.notes['competitor_sources']).toBe(1409);
    const metrics = await s.readTable(metricsTable, { stage: 'evaluate', id: ev.id });
    const get = (metric: string, cls: string | null = null, level = 'full', protocol = 'deployment') =>
      metrics.find(
        (r) =>
          r['protocol'] === protocol &&
          r['level'] === level &&
          r['subset'] === 'all' &&
          r['statistic'] === 'pooled' &&
          r['metric'] === metric &&
          r['class'] === cls,
      )!['value'] as number;
    // deployment (test sources translated without labels), measured with the pinned seeds:
    // a change that moves them is a change of result, to be explained and re-pinned.
    // The classes come from the Monte-Carlo mean over 100 draws of each source's errors;
    // the single-value prediction beside it is the one scored before the draws existed
    expect(get('balanced_accuracy')).toBeCloseTo(0.7873520703267876, 12);
    expect(get('f1', 'CV')).toBeCloseTo(0.6956521739130435, 12);
    expect(get('ece')).toBeCloseTo(0.018056990775609072, 12);
    expect(get('recall', 'AGN')).toBe(0.964);
    expect(get('balanced_accuracy_single_value')).toBeCloseTo(0.7826889124320506, 12);
    expect(get('ece_single_value')).toBeCloseTo(0.016529128819301422, 12);
    // 90% conformal sets, nested over the folds: every class with >= 20 sources within 0.05 of nominal
    const conformal = (await s.readTable(conformalTable, { stage: 'evaluate', id: ev.id }, 'conformal')).filter(
      (r) => r.protocol === 'deployment' && r.level === 0.9 && r.class !== null,
    );
    expect(conformal.map((r) => r.class).sort()).toEqual(['AGN', 'CV', 'HMXB', 'LMXB', 'STAR']);
    for (const r of conformal) expect(Math.abs(r.coverage - 0.9)).toBeLessThan(0.05);
    // the OOD flag raised on about the calibrated 1% of held-out sources, which are less often right
    expect(get('ood_flag_rate')).toBeGreaterThan(0.005);
    expect(get('ood_flag_rate')).toBeLessThan(0.02);
    expect(get('accuracy_ood_flagged')).toBeLessThan(get('accuracy_ood_unflagged'));
    // EM recovers the class mix of resampled held-out sources within its 95% interval
    const mix = (await s.readTable(classMixTable, { stage: 'evaluate', id: ev.id }, 'class_mix')).filter(
      (r) => r.protocol === 'deployment',
    );
    expect(mix.length).toBe(10);
    for (const r of mix) {
      expect(r.true_share!).toBeGreaterThanOrEqual(r.em_lo);
      expect(r.true_share!).toBeLessThanOrEqual(r.em_hi);
    }
    // every held-out source has its set, flag and the rule's verdict
    const perSource = (
      await s.readTable(sourceUncertaintyTable, { stage: 'evaluate', id: ev.id }, 'source_uncertainty')
    ).filter((r) => r.protocol === 'deployment');
    expect(perSource).toHaveLength(1409);
    for (const r of perSource)
      expect(r.uncertain).toBe(r.uncertain_reason !== null && (r.class_set !== `{${r.predicted}}` || r.ood === true));
    // no certain answer lies outside its own set: certain means the set is exactly {the answer}
    // (a set {LMXB} beside the answer AGN was certain under the old rule: 11 sources here)
    for (const r of perSource.filter((x) => !x.uncertain)) expect(r.class_set).toBe(`{${r.predicted}}`);
    expect(get('accuracy', null, 'stage1')).toBeGreaterThan(0.9);
    // the baseline uses no label, so blind is the same model and the same predictions
    expect(get('balanced_accuracy', null, 'full', 'blind')).toBe(get('balanced_accuracy'));
    expect(
      metrics.filter(
        (r) =>
          r['protocol'] === 'deployment' &&
          r['statistic'] === 'fold' &&
          r['metric'] === 'balanced_accuracy' &&
          r['level'] === 'full' &&
          r['subset'] === 'all',
      ),
    ).toHaveLength(5);
    expect(new Set(metrics.map((r) => r['protocol']))).toEqual(
      new Set(['deployment', 'blind', 'paper', 'competitor:MUWCLASS']),
    );
    expect(ev.notes['headline_protocol']).toBe('deployment');
    // the competitor's own predictions on the same sources: MUWCLASS's balanced accuracy over AGN, STAR, LMXB, HMXB, CV
    const theirs = metrics.find((r) => r['protocol'] === 'competitor:MUWCLASS' && r['metric'] === 'balanced_accuracy')![
      'value'
    ] as number;
    expect(theirs).toBeCloseTo(0.68, 2);
  });

  it('trains the X-ray-only model on every in-scope source, photometry or not, with its own cross-validation and calibration', async () => {
    const s = new ArtifactStore(store);
    const features = await stepMeta(s, 'xray/features');
    expect(features.inputs['sed']).toBeUndefined();
    expect(features.facts!['feature_names']).toEqual(XRAY_FEATURES);
    // the 1,850 in-scope sources (the full model's 1,409 and the 441 without enough photometry)
    expect(features.facts!['rows_by_class']).toEqual({
      AGN: 1390,
      CV: 44,
      'HM-STAR': 118,
      HMXB: 26,
      'LM-STAR': 207,
      LMXB: 65,
    });
    const final = await stepMeta(s, 'xray/final/train');
    expect((final.facts!['feature_spec'] as { xray_only?: boolean }).xray_only).toBe(true);
    const ev = await stepMeta(s, 'xray/cv/evaluate');
    const metrics = (await s.readTable(metricsTable, { stage: 'evaluate', id: ev.id })).filter(
      (r) => r.protocol === 'deployment' && r.statistic === 'pooled' && r.subset === 'all' && r.level === 'full',
    );
    const get = (metric: string, cls: string | null = null) =>
      metrics.find((r) => r.metric === metric && r.class === cls)!.value!;
    // pinned with the pinned seeds: X-ray features alone separate AGN and stars, and little else
    expect(get('balanced_accuracy')).toBeCloseTo(0.5683464305478694, 12);
    expect(get('f1', 'AGN')).toBeCloseTo(0.873801304181051, 12);
    expect(get('f1', 'STAR')).toBeCloseTo(0.7236315086782378, 12);
    // its sets at 95% (config xray_model.conformal_level): most answers uncertain, the certain ones right 97% of the time
    expect(get('uncertain_share')).toBeCloseTo(0.9102702702702703, 12);
    expect(get('accuracy_certain')).toBeCloseTo(0.9698795180722891, 12);
    const perSource = (
      await s.readTable(sourceUncertaintyTable, { stage: 'evaluate', id: ev.id }, 'source_uncertainty')
    ).filter((r) => r.protocol === 'deployment');
    expect(perSource).toHaveLength(1850);
    for (const r of perSource.filter((x) => !x.uncertain)) expect(r.class_set).toBe(`{${r.predicted}}`);
    expect((ev.params['uncertainty'] as { conformal: { level: number } }).conformal.level).toBe(0.95);
  });

  it("prints the method's Table 1 and checks the label catalogs against the Chandra positions", async () => {
    const r = runCli([...at, '--json', 'summary', runId]);
    expect(r.code, r.stderr).toBe(0);
    const { table1: rows, agreement } = JSON.parse(r.stdout) as {
      table1: {
        class: string;
        catalogs: number;
        deduplicated: number;
        csc_match: number;
        sed_ok: number;
        classifier: number;
      }[];
      agreement: {
        columns: string[];
        rows: { label: string; cells: number[]; agree: number; conflict: number; unconfirmed: number }[];
        conflicts: { id: string }[];
      };
    };
    const row = (c: string) => rows.find((x) => x.class === c)!;
    // MUWCLASS, Liu et al. and the current catalogues: Fortin et al. 338 LMXBs with positions and 164 HMXBs, Abril et al. 1,198 CVs
    expect(row('LMXB')).toMatchObject({ catalogs: 65 + 187 + 338, sed_ok: 24, classifier: 24 });
    expect(row('HMXB')).toMatchObject({ catalogs: 26 + 114 + 164, sed_ok: 26 });
    expect(row('CV')).toMatchObject({ catalogs: 44 + 1198, sed_ok: 38 });
    // the old and the current catalogues name many of the same binaries: deduplication merges them
    expect(row('HMXB').deduplicated).toBeLessThan(26 + 114 + 164);
    expect(row('LMXB').deduplicated).toBeLessThan(65 + 187 + 338);
    expect(row('AGN').deduplicated).toBeLessThanOrEqual(1390);
    expect(row('Total').classifier).toBe(1409);
    // label provenance: which catalogues label each MUWCLASS source; the binaries the catalogues disagree on
    const agree = (label: string) => agreement.rows.find((x) => x.label === label)!;
    const cell = (label: string, column: string) => agree(label).cells[agreement.columns.indexOf(column)];
    expect(agree('LMXB')).toMatchObject({ agree: 36, conflict: 3, unconfirmed: 26 });
    expect(agree('HMXB')).toMatchObject({ agree: 24, conflict: 1, unconfirmed: 1 });
    expect(agree('CV')).toMatchObject({ agree: 29, conflict: 0, unconfirmed: 15 });
    expect(agree('AGN')).toMatchObject({ agree: 0, conflict: 0, unconfirmed: 1390 });
    expect(cell('LMXB', 'fortin2023_hmxb:HMXB')).toBe(3);
    expect(cell('HMXB', 'fortin2024_lmxb:LMXB')).toBe(1);
    // V4641 Sgr: a black-hole LMXB for Fortin et al. 2024 and MUWCLASS, an HMXB (B9 III donor) for Fortin et al. 2023
    expect(agreement.conflicts.map((c) => c.id)).toContain('2CXO J181921.6-252425');
    const s = new ArtifactStore(store);
    const cross = (await s.list()).filter((m) => m.stage === 'crossmatch');
    const liu = cross
      .map(
        (m) =>
          m.facts!['by_class'] as Record<string, { labels: number; matched: number; secure: number; agree: number }>,
      )
      .find((b) => b['LMXB']?.labels === 187)!;
    expect(liu['LMXB']!.matched).toBeGreaterThan(0);
    expect(liu['LMXB']!.secure).toBeLessThanOrEqual(liu['LMXB']!.matched);
    expect(liu['LMXB']!.agree).toBeLessThanOrEqual(liu['LMXB']!.matched);
  });

  it('is all cache hits the second time, with the same artifact ids', () => {
    const { store, at } = copyOfStore();
    const r = runCli([...at, '--json', 'run', '--no-ablations']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const end = lines.at(-1)!;
    expect(end['event']).toBe('run_end');
    const steps = end['steps'] as { key: string; cacheHit: boolean; artifactId: string }[];
    expect(steps.every((s) => s.cacheHit)).toBe(true);
    expect(lines.filter((l) => l['event'] === 'step_done')).toHaveLength(52);
    expect(artifactDirs(store)).toHaveLength(52);
    // the run record holds the data folder's digest set: SHA256SUMS's own digest, every listed file hashed, none differing
    const data = end['data'] as { dir: string; sha256sums: string; files: number; differing: unknown[] };
    const listed = readFileSync(join(DATA, 'SHA256SUMS'), 'utf8').trim().split('\n').length;
    expect(data).toEqual({
      dir: DATA,
      sha256sums: sha256Hex(readFileSync(join(DATA, 'SHA256SUMS'))),
      files: listed,
      differing: [],
    });
  });

  it('audits a run down to the raw file and its SHA-256', () => {
    const sha = sha256Hex(readFileSync(MUWCLASS));
    // by default a summary: the run, the data folder, steps by stage, the raw files, the final models
    const summary = runCli([...at, 'audit', runId]);
    expect(summary.code, summary.stderr).toBe(0);
    const lines = summary.stdout.trim().split('\n');
    expect(lines.length).toBeLessThan(40);
    expect(lines[0]).toMatch(new RegExp(`^run ${runId}  succeeded  engine embedded  `));
    expect(lines[1]).toMatch(/^data \S+  SHA256SUMS sha256 [0-9a-f]{16}, \d+ files, 0 differing$/);
    expect(lines).toContain(`  catalogs/muwclass_TD_2022.csv  sha256 ${sha}  ${readFileSync(MUWCLASS).length} bytes`);
    expect(lines).toContain('  ingest       1 computed, 0 cached');
    expect(lines.some((l) => /^final model: train\/[0-9a-f]{64}$/.test(l))).toBe(true);
    expect(lines.at(-1)).toBe(`every artifact's lineage: xclass audit ${runId} --full`);
    const r = runCli([...at, 'audit', runId, '--full']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`raw file catalogs/muwclass_TD_2022.csv  sha256 ${sha}`);
    expect(r.stdout).toMatch(/ingest\/[0-9a-f]{16}  v3  2941 rows/);
    expect(r.stdout).toMatch(/sources <- ingest\//);
    expect(r.stdout).toContain('"label_map"');
    const j = JSON.parse(runCli([...at, '--json', 'audit', runId]).stdout) as {
      lineage: { meta: { raw_files: { sha256: string }[] } }[];
    };
    expect(j.lineage[0]!.meta.raw_files[0]!.sha256).toBe(sha);
  });

  it('reruns one ablation branch, recomputing only what it changes, and compares it with the baseline', () => {
    const { at } = copyOfStore();
    const r = runCli([...at, '--json', 'run', '--ablation', 'smote']);
    expect(r.code, r.stderr).toBe(0);
    const steps = (lastJsonLine(r.stdout) as { steps: { key: string; cacheHit: boolean }[] }).steps;
    // SMOTE changes only the model: SED and features are the baseline's, cached
    expect(
      steps
        .filter((s) => !s.cacheHit)
        .map((s) => s.key)
        .sort(),
    ).toEqual(
      [
        ...Array.from({ length: 5 }, (_, i) => [
          `ablation/smote/cv/fold-${i}/predict-deployment`,
          `ablation/smote/cv/fold-${i}/predict-paper`,
          `ablation/smote/cv/fold-${i}/train`,
        ]).flat(),
        'ablation/smote/cv/evaluate',
      ].sort(),
    );
    expect(steps.filter((s) => s.cacheHit)).toHaveLength(52);
    // the headline metrics by default, every one with --all
    const headline = JSON.parse(runCli([...at, '--json', 'compare', 'baseline', 'smote']).stdout) as {
      rows: { metric: string }[];
    };
    expect(new Set(headline.rows.map((x) => x.metric.split(' ')[1]))).toEqual(
      new Set(['balanced_accuracy', 'macro_f1', 'mcc', 'accuracy', 'ece', 'uncertain_share', 'accuracy_certain']),
    );
    const c = runCli([...at, '--json', 'compare', 'baseline', 'smote', '--all']);
    expect(c.code, c.stderr).toBe(0);
    const cmp = JSON.parse(c.stdout) as { rows: { metric: string; a: number; b: number; delta: number }[] };
    // the deployment protocol leads
    expect(cmp.rows[0]!.metric).toBe('deployment balanced_accuracy');
    const ba = cmp.rows[0]!;
    expect(ba.delta).toBeCloseTo(ba.b - ba.a, 12);
    expect(cmp.rows.map((x) => x.metric)).toContain('paper f1:CV');
    // the competitor is scored on the same sources in both branches
    expect(cmp.rows.find((x) => x.metric === 'competitor:MUWCLASS balanced_accuracy')!.delta).toBe(0);
    const unknown = runCli([...at, 'run', '--ablation', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim()).toMatch(
      /^xclass: --ablation nope: no such ablation; configured: paper_method, paper_translation, class_blind, posterior_draws, no_err_floor, no_extinction, av_feature, method_stage2, cv_in_stage1, standard_forest, no_2mass, gaia_only, smote, no_gaia_features, label_conflicts_dropped, agn_composite_z, no_distance_features, agn_salvato$/,
    );
  });

  it('drops the sources whose catalogues disagree from training only (labels.conflicts = drop)', async () => {
    const { store, at } = copyOfStore();
    const r = runCli([...at, '--json', 'run', '--ablation', 'label_conflicts_dropped']);
    expect(r.code, r.stderr).toBe(0);
    const s = new ArtifactStore(store);
    const metas = await s.list();
    const trains = metas.filter((m) => m.stage === 'train' && m.params['label_policy'] === 'drop');
    expect(trains).toHaveLength(5);
    // of the four disagreeing sources two enter the classifier (2CXO J175834.5-212321 and V4641 Sgr): each of the 5 folds trains on 4/5 of them
    const leftOut = trains.flatMap((m) => m.notes['left_out_by_label_policy'] as string[]);
    expect([...new Set(leftOut)].sort()).toEqual(['2CXO J175834.5-212321', '2CXO J181921.6-252425']);
    expect(leftOut).toHaveLength(2 * 4);
    // the same held-out sources are scored as in the baseline
    const steps = (lastJsonLine(r.stdout) as { steps: { key: string; artifactId: string }[] }).steps;
    const predicted = async (prefix: string) => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const id = steps.find((x) => x.key === `${prefix}cv/fold-${i}/predict-deployment`)!.artifactId;
        ids.push(...(await s.readTable(predictionsTable, { stage: 'predict', id })).map((p) => p.id));
      }
      return ids.sort();
    };
    expect((await predicted('ablation/label_conflicts_dropped/')).length).toBe(1409);
    expect(await predicted('ablation/label_conflicts_dropped/')).toEqual(await predicted(''));
    // classify's calibration comes from the final model's own lineage: the ablation's evaluation (same features and forest,
    // another label policy, made later) is not it, and given as --calibration it is refused with one line
    const { calibrationMismatch, findCalibration } = await import('../../engine/classify-plan.js');
    const final = { stage: 'train' as const, id: (await stepMeta(s, 'final/train')).id };
    const ablationEval = steps.find((x) => x.key === 'ablation/label_conflicts_dropped/cv/evaluate')!.artifactId;
    expect((await findCalibration(s, final))?.ref.id).toBe((await stepMeta(s, 'cv/evaluate')).id);
    expect(await calibrationMismatch(s, final, ablationEval)).toMatch(
      /differs in params\.label_policy: "drop" vs the model's none$/,
    );
    const refused = runCli([
      ...at,
      'classify',
      join(ROOT, 'tests', 'fixtures', 'classify', 'ngc3532_csc.csv'),
      '--model',
      final.id,
      '--calibration',
      ablationEval.slice(0, 16),
      '--out',
      join(tempDir(), 'x.csv'),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr.trim()).toMatch(
      /--calibration evaluate\/[0-9a-f]{12} is not of model train\/[0-9a-f]{12}'s lineage: .*label_policy/,
    );
  });

  it('classifies a target table with the final model through the same feature code as training', async () => {
    const { store, at } = copyOfStore();
    const s = new ArtifactStore(store);
    const metas = await s.list();
    const final = await stepMeta(s, 'final/train');
    // the final model's training translation (label-free): its magnitudes as the targets' HST photometry
    const features = metas.find((m) => m.id === final.inputs['features'])!;
    const sed = metas.find((m) => m.id === features.inputs['sed'])!;
    expect(sed.params['assignment']).toBe('label_free');
    const sources = await s.readTable(
      sourcesTable,
      metas.find((m) => m.stage === 'ingest')!,
    );
    const mags = (await s.readTable(sedMagsTable, { stage: 'sed', id: sed.id }, 'mags')).filter((m) => m['draw'] === 0);
    // 40 training sources presented as targets: their SED magnitudes as "observed" HST photometry
    const picked = sources
      .filter((r) => r['in_scope'] && mags.some((m) => m['id'] === r['id'] && m['mag_ab'] !== null))
      .slice(0, 40);
    const short = (f: string) => f.split('.')[1]!;
    const filters = [...new Set(mags.map((m) => m['filter'] as string))];
    const header = [
      'id',
      'flux_s',
      'flux_m',
      'flux_h',
      'flux_b',
      ...filters.map(short),
      'gaia_g',
      'gaia_bp',
      'gaia_rp',
      'pm_total',
      'parallax',
      'parallax_error',
      'distance',
      'sigma_eff',
      'significance',
    ];
    const v = (x: unknown) => (x === null || x === undefined ? '' : String(x));
    const lines = picked.map((r) => {
      const mag = (f: string) => mags.find((m) => m['id'] === r['id'] && m['filter'] === f)!['mag_ab'];
      return [
        r['id'],
        r['flux_s_cgs'],
        r['flux_m_cgs'],
        r['flux_h_cgs'],
        r['flux_b_cgs'],
        ...filters.map(mag),
        r['gaia_g_mag'],
        r['gaia_bp_mag'],
        r['gaia_rp_mag'],
        r['pm_total_masyr'],
        r['parallax_mas'],
        r['parallax_err_mas'],
        r['dist_geo_pc'],
        r['pos_err_95_arcsec'],
        r['significance'],
      ]
        .map(v)
        .join(',');
    });
    const dir = tempDir();
    const table = join(dir, 'targets.csv');
    writeFileSync(table, `${header.join(',')}\n${lines.join('\n')}\n`);
    const r = runCli([...at, '--json', 'classify', table, '--model', final.id.slice(0, 12)]);
    expect(r.code, r.stderr).toBe(0);
    const res = lastJsonLine(r.stdout) as { artifact: string; rows: number; csv: string };
    expect(res.rows).toBe(40);
    const csv = readFileSync(res.csv, 'utf8').trim().split('\n');
    expect(csv[0]).toBe(
      'id,ra,dec,final_class,confidence,uncertain,decided_by,class_set,ood,ood_score,mc_draws,significance,uncertain_reason,' +
        ['AGN', 'SNR', 'STAR', 'LMXB', 'HMXB', 'CV'].map((c) => `p_${c},p_${c}_lo,p_${c}_hi`).join(',') +
        ',match_quality,hst_provenance,parallax,parallax_snr,model_used,model,calibration,label',
    );
    // the same sources through the training feature path give the same answers
    const { readFeatureRows } = await import('../../activities/io/feature-matrix.js');
    const { imputeMatrix } = await import('../../lib/features.js');
    const { deserializeTwoStage, predictTwoStage } = await import('../../lib/forest/two-stage.js');
    const data = await readFeatureRows(s, { stage: 'features', id: features.id });
    const model = deserializeTwoStage(await s.readFile('train', final.id, 'model.bin'));
    const medians = (await s.readTable(modelFeaturesTable, { stage: 'train', id: final.id }))
      .filter((x) => x['stage'] === 'stage1')
      .map((x) => x['impute_median'] as number | null);
    const idx = picked.map((p) => data.ids.indexOf(p['id'] as string));
    const expected = predictTwoStage(
      model,
      imputeMatrix(
        idx.map((i) => data.values[i]!),
        medians,
      ),
    );
    // the single-value vector (beside the Monte-Carlo mean the class is decided on) is the training path's to the bit
    const got = await s.readTable(predictionsTable, { stage: 'classify', id: res.artifact });
    const single = (
      await s.readTable(probabilitiesTable, { stage: 'classify', id: res.artifact }, 'probabilities')
    ).filter((q) => q.stage === 'single');
    got.forEach((g, i) =>
      model.finalClasses.forEach((c, k) =>
        expect(single.find((q) => q.id === g.id && q.class === c)!.p).toBeCloseTo(
          Math.min(1, expected[i]!.proba[k]!),
          12,
        ),
      ),
    );
    // every source carries 100 draws, its 90% set from the model's cross-validation and an OOD score
    for (const g of got) {
      expect(g.mc_draws).toBe(100);
      expect(g.class_set).toMatch(/^\{[A-Z,-]*\}$/);
      expect(g.ood_score).toBeGreaterThan(0);
      expect(g.ood).not.toBeNull();
      // certain only when the set is exactly {the answer}
      if (!g.uncertain) expect(g.class_set).toBe(`{${g.final_class}}`);
    }
    // a source far outside the training range (X-ray fluxes of 5e-7 erg/s/cm^2 in every band, HST colours of +-10 mag) is flagged out of distribution
    const far = picked[0]!;
    const farLine = [
      'far-away',
      ...['flux_s_cgs', 'flux_m_cgs', 'flux_h_cgs', 'flux_b_cgs'].map(() => 5e-7),
      ...filters.map(
        (f, k) =>
          Number(mags.find((m) => m['id'] === far['id'] && m['filter'] === f)!['mag_ab']) + (k % 2 === 0 ? 5 : -5),
      ),
      ...['gaia_g_mag', 'gaia_bp_mag', 'gaia_rp_mag'].map((c) =>
        far[c as keyof typeof far] === null ? '' : Number(far[c as keyof typeof far]),
      ),
      '',
      '',
      '',
      '',
      far['pos_err_95_arcsec'],
      far['significance'],
    ]
      .map(v)
      .join(',');
    writeFileSync(join(dir, 'far.csv'), `${header.join(',')}\n${lines[1]}\n${farLine}\n`);
    const farRun = runCli([
      ...at,
      '--set',
      'uncertainty.mc.draws=0',
      '--json',
      'classify',
      join(dir, 'far.csv'),
      '--model',
      final.id,
    ]);
    expect(farRun.code, farRun.stderr).toBe(0);
    const farRows = await s.readTable(predictionsTable, {
      stage: 'classify',
      id: (lastJsonLine(farRun.stdout) as { artifact: string }).artifact,
    });
    const flagged = farRows.find((g) => g.id === 'far-away')!;
    expect(flagged.ood).toBe(true);
    expect(flagged.uncertain).toBe(true);
    expect(flagged.uncertain_reason).toMatch(/ood \d+\.\d\d > \d+\.\d\d/);
    expect(farRows.find((g) => g.id !== 'far-away')!.ood).toBe(false);
    // with the draws off, the classes and confidences are the training path's
    const off = runCli([
      ...at,
      '--set',
      'uncertainty.mc.draws=0',
      '--json',
      'classify',
      table,
      '--model',
      final.id.slice(0, 12),
      '--out',
      join(dir, 'off.csv'),
    ]);
    expect(off.code, off.stderr).toBe(0);
    const gotOff = await s.readTable(predictionsTable, {
      stage: 'classify',
      id: (lastJsonLine(off.stdout) as { artifact: string }).artifact,
    });
    expect(gotOff.map((g) => g['final_class'])).toEqual(expected.map((e) => e.finalClass));
    gotOff.forEach((g, i) => expect(g['confidence']).toBeCloseTo(Math.min(1, expected[i]!.confidence), 12));
    // a table without the fluxes is refused with the columns it lacks
    writeFileSync(join(dir, 'bad.csv'), 'id,F475W\nx,20\n');
    const bad = runCli([...at, 'classify', join(dir, 'bad.csv'), '--model', final.id]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toMatch(
      /bad\.csv, row 1, column 'flux_s, flux_m, flux_h, flux_b': columns of the X-ray mapping missing from the table \(it has id, F475W\)/,
    );

    // the same validation as ingest: one line, non-zero exit, no classify artifact, no CSV
    const classifyCount = () => artifactDirs(store).filter((d) => d.startsWith('classify/')).length;
    const before = classifyCount();
    const rejected = (name: string, text: string, message: RegExp) => {
      writeFileSync(join(dir, name), text);
      const r2 = runCli([...at, 'classify', join(dir, name), '--model', final.id]);
      expect(r2.code, name).not.toBe(0);
      expect(r2.stderr.trim().split('\n'), r2.stderr).toHaveLength(1);
      expect(r2.stderr.trim()).toMatch(message);
      expect(existsSync(join(dir, name.replace(/\.csv$/, '.xclass.csv')))).toBe(false);
    };
    const row1 = lines[0]!.split(',');
    const withValue = (i: number, v: string) => [...row1.slice(0, i), v, ...row1.slice(i + 1)].join(',');
    rejected(
      'negflux.csv',
      `${header.join(',')}\n${withValue(1, '-1e-15')}\n`,
      /negflux\.csv, row 2, column 'flux_s': expected a non-negative flux/,
    );
    rejected(
      'hex.csv',
      `${header.join(',')}\n${withValue(2, '0x10')}\n`,
      /hex\.csv, row 2, column 'flux_m': expected a number, got "0x10"$/,
    );
    rejected(
      'dupcol.csv',
      `${[...header, 'flux_s'].join(',')}\n${lines[0]},1e-15\n`,
      /dupcol\.csv, row 1, column 'flux_s': column name repeated in the header/,
    );
    expect(classifyCount()).toBe(before);

    // a table path is the literal file it names, never a pattern
    writeFileSync(join(dir, 't*.csv'), `${header.join(',')}\n${lines.slice(0, 5).join('\n')}\n`);
    writeFileSync(join(dir, 't1.csv'), `${header.join(',')}\n${lines.join('\n')}\n`);
    const literal = runCli([...at, '--json', 'classify', join(dir, 't*.csv'), '--model', final.id]);
    expect(literal.code, literal.stderr).toBe(0);
    expect((lastJsonLine(literal.stdout) as { rows: number }).rows).toBe(5);

    // --out never replaces a file without --force, and never the input table
    const again = runCli([...at, 'classify', table, '--model', final.id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim()).toMatch(
      /targets\.xclass\.csv: file exists; pass --force to replace it, or choose another --out$/,
    );
    const overInput = runCli([...at, 'classify', table, '--model', final.id, '--out', table, '--force']);
    expect(overInput.stderr.trim()).toBe(
      `xclass: ${table}: refusing to write over an input (${table}); choose another --out`,
    );
    // the same file reached through a symlinked folder, a symlink as the table, a hard link: compared by real path and inode
    const viaLink = join(tempDir(), 'via');
    symlinkSync(dirname(table), viaLink);
    const linkedTable = join(tempDir(), 'linked.csv');
    symlinkSync(table, linkedTable);
    const hard = join(dirname(table), 'hard.csv');
    linkSync(table, hard);
    for (const [input, output] of [
      [table, join(viaLink, basename(table))],
      [linkedTable, table],
      [hard, table],
    ] as const) {
      const r = runCli([...at, 'classify', input, '--model', final.id, '--out', output, '--force']);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        `xclass: ${output}: refusing to write over an input (${input}); choose another --out`,
      );
    }
    rmSync(hard);
    expect(readFileSync(table, 'utf8').split('\n')[0]).toBe(header.join(','));
    expect(runCli([...at, 'classify', table, '--model', final.id, '--force']).code).toBe(0);

    // classify runs are recorded (so gc reaches their artifacts): the table with and without draws, the far source,
    // the second table, one rerun cached; three rejected while classifying (a repeated column name is refused while
    // planning, before a run starts)
    const runs = JSON.parse(
      runCli([
        ...at,
        '--json',
        'query',
        "select status, count(*) as n from runs where workflow = 'xclass-classify' group by 1 order by 1",
      ]).stdout,
    ) as { status: string; n: number }[];
    expect(runs.map((x) => [x.status, Number(x.n)])).toEqual([
      ['failed', 3],
      ['succeeded', 5],
    ]);
    // the table with and without draws, the far source, the second table
    expect(artifactDirs(store).filter((d) => d.startsWith('classify/'))).toHaveLength(4);
  });

  it('classifies a field from a CSC cone search and a Gaia catalog (FITS): counterparts, provenance, regions, audit, cache', async () => {
    // the first 25 rows of the real CSC 2.0 cone search of NGC 3532 and a SIMULATED Gaia catalog
    // (tests/fixtures/classify/make_fixtures.py): 15 counterparts placed at known sources
    const { at, s, final, fix, dir } = await classifySetUp();
    const gaiaFits = join(fix, 'ngc3532_gaia_sim.fits');
    const classify = (out: string, extra: string[] = [], catalog = gaiaFits) => {
      const r = runCli([
        ...at,
        ...extra,
        '--json',
        'classify',
        join(fix, 'ngc3532_csc.fits'),
        '--model',
        final.id,
        '--catalog',
        catalog,
        '--out',
        join(dir, out),
      ]);
      expect(r.code, r.stderr).toBe(0);
      return lastJsonLine(r.stdout) as {
        artifact: string;
        rows: number;
        csv: string;
        regions: string;
        cache_hit: boolean;
        run: string;
      };
    };
    const res = classify('field.csv');
    expect(res.rows).toBe(25);
    // the store's final models, and --model latest: the newest run's, the same classification (a cache hit)
    const models = JSON.parse(runCli([...at, '--json', 'models']).stdout) as {
      model: string;
      kind: string;
      training_set: string;
      balanced_accuracy: number;
    }[];
    expect(models.map((m) => [m.model, m.kind])).toEqual([
      [final.id, 'full'],
      [expect.stringMatching(/^[0-9a-f]{64}$/), 'xray_only'],
    ]);
    expect(models[0]!.training_set).toBe(
      `catalogs/muwclass_TD_2022.csv (${sha256Hex(readFileSync(MUWCLASS)).slice(0, 12)})`,
    );
    expect(models[0]!.balanced_accuracy).toBeCloseTo(0.787, 3);
    const latest = runCli([
      ...at,
      '--json',
      'classify',
      join(fix, 'ngc3532_csc.fits'),
      '--model',
      'latest',
      '--catalog',
      gaiaFits,
      '--out',
      join(dir, 'latest.csv'),
    ]);
    expect(latest.code, latest.stderr).toBe(0);
    expect(lastJsonLine(latest.stdout)).toMatchObject({ artifact: res.artifact, model: final.id, cache_hit: true });
    const ref = { stage: 'classify' as const, id: res.artifact };
    const targets = await s.readTable(targetsTable, ref, 'targets');
    const truth = new Map(
      readFileSync(join(fix, 'ngc3532_gaia_sim_truth.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(',') as [string, string])
        .map(([sim, x]) => [x, sim]),
    );
    // every simulated counterpart found, for its own source, graded secure; no field star taken
    for (const t of targets) expect(t.counterparts, t.id).toBe(truth.has(t.id) ? `gaia_dr3:${truth.get(t.id)}` : null);
    expect(targets.filter((t) => t.match_quality === 'secure')).toHaveLength(15);
    expect(targets.filter((t) => t.match_quality === 'none')).toHaveLength(10);
    // Gaia G, BP, RP are three bands: the matched sources are translated, the others keep their X-ray features only
    expect(targets.filter((t) => t.hst_provenance === 'translated')).toHaveLength(15);
    const features = await s.readTable(targetFeaturesTable, ref, 'features');
    const prov = (id: string, f: string) => features.find((x) => x.id === id && x.feature === f)!.provenance;
    const matched = targets.find((t) => t.counterparts !== null)!.id;
    const lonely = targets.find((t) => t.counterparts === null)!.id;
    expect([prov(matched, 'F475W-F814W'), prov(matched, 'gaia_bp_rp'), prov(matched, 'hr_sm')]).toEqual([
      'translated',
      'observed',
      'observed',
    ]);
    // the sources without a counterpart go to the X-ray-only model: no optical feature of theirs is imputed
    const route = (id: string) => targets.find((t) => t.id === id)!.model_used;
    expect([route(matched), route(lonely)]).toEqual(['full', 'xray_only']);
    expect(targets.filter((t) => t.model_used === 'xray_only')).toHaveLength(10);
    expect(features.filter((x) => x.id === lonely).map((x) => x.feature)).toEqual(XRAY_FEATURES);
    expect(prov(lonely, 'hr_mh')).toBe('observed');
    // the CSV names the model and the calibration of each row (after its class set, which may be quoted)
    const csvRows = readFileSync(res.csv, 'utf8').trim().split('\n');
    expect(csvRows[0]).toMatch(/,hst_provenance,parallax,parallax_snr,model_used,model,calibration,label$/);
    // one group of columns per catalog for the chosen counterpart, floats at the precision they carry
    expect(csvRows[0]).toContain(',match_quality,gaia_dr3_id,gaia_dr3_sep,gaia_dr3_nu,gaia_dr3_p,hst_provenance,');
    for (const line of csvRows.slice(1)) expect(line).not.toMatch(/\d\.\d{8,}/);
    const { readTargetTable } = await import('../../activities/io/formats/registry.js');
    const matchedRow = (await readTargetTable(res.csv, 'field.csv')).records.find((r) => r['id'] === matched)!;
    expect(matchedRow['gaia_dr3_id']).toBe(truth.get(matched));
    expect(matchedRow['gaia_dr3_sep']).toMatch(/^\d\.\d{1,3}$/);
    await expectSameTableInEveryFormat({
      at,
      dir,
      model: final.id,
      table: join(fix, 'ngc3532_csc.fits'),
      catalog: gaiaFits,
      csv: res.csv,
      artifact: res.artifact,
    });
    const lonelyT = targets.find((t) => t.id === lonely)!;
    expect(lonelyT.calibration_id).toMatch(/^[0-9a-f]{64}$/);
    expect(csvRows.find((l) => l.startsWith(`${lonely},`))).toMatch(
      new RegExp(`,none,,,xray_only,${lonelyT.model_id},${lonelyT.calibration_id},$`),
    );
    // every candidate kept; the false-match rate measured at shifted positions
    const matches = await s.readTable(counterpartMatchesTable, ref, 'matches');
    expect(matches.filter((m) => m.chosen)).toHaveLength(15);
    const summary = await s.readTable(matchSummaryTable, ref, 'match_summary');
    const metric = (m: string) => summary.find((x) => x.catalog === 'gaia_dr3' && x.metric === m)!.value!;
    expect(metric('shift_trials')).toBe(25 * 2 * 4);
    expect(metric('false_match_rate')).toBeLessThan(0.05);
    // the DS9 file: a circle per source, coloured by class, dashed when uncertain
    const reg = readFileSync(res.regions, 'utf8').trim().split('\n');
    expect(reg[0]).toBe('# Region file format: DS9 version 4.1');
    expect(reg.filter((l) => l.startsWith('circle('))).toHaveLength(25);
    expect(reg.find((l) => l.startsWith('circle('))).toMatch(
      /^circle\(166\.\d{7},-58\.\d{7},\d\.\d{3}"\) # color=#[0-9a-f]{6}( dash=1)? text=\{2CXO J\d{6}\.\d[+-]\d{6} \S+ \d\.\d\d\??\}$/,
    );
    // the same tables again: a cache hit; the audit reaches both files' SHA-256 and the model's lineage
    const again = classify('again.csv');
    expect([again.artifact, again.cache_hit]).toEqual([res.artifact, true]);
    const audit = runCli([...at, 'audit', res.artifact]).stdout;
    for (const f of ['ngc3532_csc.fits', 'ngc3532_gaia_sim.fits'])
      expect(audit).toContain(`sha256 ${sha256Hex(readFileSync(join(fix, f)))}`);
    expect(audit).toMatch(/model <- train\/[0-9a-f]{16}/);
    expect(audit).toContain(`sha256 ${sha256Hex(readFileSync(MUWCLASS))}`);
    // the frame tie: the simulation shifted every counterpart by (+0.30", -0.20")
    const tied = classify('tied.csv', ['--set', 'classify.counterparts.frame_tie=true']);
    const tie = await s.readTable(matchSummaryTable, { stage: 'classify', id: tied.artifact }, 'match_summary');
    const tv = (m: string) => tie.find((x) => x.metric === m)!.value!;
    expect(tv('frame_tie_applied')).toBe(1);
    expect(tv('frame_tie_matches')).toBe(15);
    expect(Math.abs(tv('frame_tie_east_arcsec') - 0.3)).toBeLessThan(0.15);
    expect(Math.abs(tv('frame_tie_north_arcsec') + 0.2)).toBeLessThan(0.15);
    // the Bayesian rule picks the same counterparts here (isolated sources, a sparse field)
    const bayes = classify('bayes.csv', ['--set', 'classify.counterparts.rule="bayes"']);
    const bt = await s.readTable(targetsTable, { stage: 'classify', id: bayes.artifact }, 'targets');
    expect(bt.map((t) => t.counterparts)).toEqual(targets.map((t) => t.counterparts));
    // a mapping file naming the same columns gives the same classification (the catalog then named after its file)
    const gaiaMapping = join(dir, 'gaia.json');
    const band = (b: string, f: string) => ({
      column: `phot_${b}_mean_mag`,
      snr: `phot_${b}_mean_flux_over_error`,
      filter: `Gaia_DR3.${f}`,
      system: { kind: 'vega_spectrum', vega_mag: 0.023 },
    });
    writeFileSync(
      gaiaMapping,
      JSON.stringify({
        id: 'source_id',
        ra: 'ra',
        dec: 'dec',
        position_error: { kind: 'sigma_radec', ra: 'ra_error', dec: 'dec_error', unit: 'mas' },
        magnitudes: [band('g', 'G'), band('bp', 'BP'), band('rp', 'RP')],
        parallax: 'parallax',
        pmra: 'pmra',
        pmdec: 'pmdec',
      }),
    );
    const mappedId = classify('mapped.csv', [], `${gaiaFits}=${gaiaMapping}`).artifact;
    const predsOf = async (id: string) =>
      (await s.readTable(predictionsTable, { stage: 'classify', id })).map((p) => [p.id, p.final_class, p.confidence]);
    expect(await predsOf(mappedId)).toEqual(await predsOf(res.artifact));
    expect(
      (await s.readTable(targetsTable, { stage: 'classify', id: mappedId }, 'targets')).map((t) => t.counterparts),
    ).toEqual(targets.map((t) => t.counterparts?.replace('gaia_dr3:', 'ngc3532_gaia_sim:') ?? null));
    // the same field as downloaded elsewhere (make_download_fixtures.py): HEASARC's upper-case FITS and VizieR's Gaia
    // ECSV (names, units, magnitude errors rounded to 0.0054); a gzipped FITS and the Gaia CSV of two overlapping cones
    const fieldOf = (table: string, catalog: string, out: string) => {
      const r = runCli([
        ...at,
        '--json',
        'classify',
        join(fix, table),
        '--model',
        final.id,
        '--catalog',
        join(fix, catalog),
        '--out',
        join(dir, out),
      ]);
      expect(r.code, r.stderr).toBe(0);
      return (lastJsonLine(r.stdout) as { artifact: string }).artifact;
    };
    const classesOf = async (id: string) =>
      (await s.readTable(predictionsTable, { stage: 'classify', id })).map((p) => [p.id, p.final_class]);
    const vizier = fieldOf('ngc3532_csc_heasarc.fits', 'ngc3532_gaia_sim_vizier.ecsv', 'vizier.csv');
    expect(await classesOf(vizier)).toEqual(await classesOf(res.artifact));
    expect(
      (await s.readTable(targetsTable, { stage: 'classify', id: vizier }, 'targets')).map((t) => t.counterparts),
    ).toEqual(targets.map((t) => t.counterparts?.replace('gaia_dr3:', 'gaia_dr3_vizier:') ?? null));
    const overlapping = fieldOf('ngc3532_csc.fits.gz', 'ngc3532_gaia_sim_dups.csv', 'dups.csv');
    expect(await predsOf(overlapping)).toEqual(await predsOf(res.artifact));
    expect((await s.readMeta('classify', overlapping)).notes['duplicate_rows_merged']).toEqual({
      'tests/fixtures/classify/ngc3532_gaia_sim_dups.csv': 40,
    });
    // the report of the classify run: census, counterparts, sky, hardness and colour-magnitude plots
    const html = join(dir, 'field.html');
    expect(runCli([...at, 'report', res.run, '--out', html]).code).toBe(0);
    const text = readFileSync(html, 'utf8');
    expect(text).toContain('<h3>Census</h3>');
    expect(text).toContain('false_match_rate');
    expect((text.match(/<figure class="plot"><svg/g) ?? []).length).toBe(3);
  });

  it('joins one counterpart set per source across catalogs: two stars inside R, one in each catalog, are never merged', async () => {
    const { at, s, final, dir } = await classifySetUp();
    // a simulated field at RA 150, Dec 20: sigma_eff 1" (R = 3"); 'two-stars' has a Gaia star 0.4" east and a
    // different star, in 2MASS only, 2.0" west; 'one-star' has the same star in both, 0.05" apart
    const cosd = Math.cos((20 * Math.PI) / 180);
    const at_ = (ra: number, east: number, north: number) => [ra + east / 3600 / cosd, 20 + north / 3600];
    const xray = [
      'id,ra,dec,sigma_eff,flux_s,flux_m,flux_h,flux_b,significance',
      'two-stars,150,20,1,1e-15,1e-15,1e-15,3e-15,8',
      'one-star,150.01,20,1,1e-15,1e-15,1e-15,3e-15,8',
    ];
    const gaiaRow = (id: string, [ra, dec]: number[], g: number) =>
      [id, ra, dec, g, g + 0.5, g - 0.6, 0.05, 0.05, 300, 200, 200].join(',');
    const gaia = [
      'source_id,ra,dec,phot_g_mean_mag,phot_bp_mean_mag,phot_rp_mean_mag,ra_error,dec_error,phot_g_mean_flux_over_error,phot_bp_mean_flux_over_error,phot_rp_mean_flux_over_error',
      gaiaRow('g1', at_(150, 0.4, 0), 17),
      gaiaRow('g2', at_(150.01, 0, 0.2), 16),
      gaiaRow('g3', at_(150, 0, 30), 18),
    ];
    const tmassRow = (id: string, [ra, dec]: number[], j: number) =>
      [id, ra, dec, 0.08, 0.07, j, 0.03, j - 0.4, 0.03, j - 0.5, 0.03].join(',');
    const tmass = [
      'designation,ra,dec,err_maj,err_min,j_m,j_msigcom,h_m,h_msigcom,k_m,k_msigcom',
      tmassRow('t1', at_(150, -2.0, 0), 14),
      tmassRow('t2', at_(150.01, 0, 0.25), 14.5),
      tmassRow('t3', at_(150.01, 0, -40), 15),
    ];
    const file = (name: string, lines: string[]) => {
      writeFileSync(join(dir, name), `${lines.join('\n')}\n`);
      return join(dir, name);
    };
    const r = runCli([
      ...at,
      '--set',
      'uncertainty.mc.draws=0',
      '--json',
      'classify',
      file('joint-x.csv', xray),
      '--model',
      final.id,
      '--catalog',
      `${file('joint-gaia.csv', gaia)}=gaia_dr3`,
      '--catalog',
      `${file('joint-2mass.csv', tmass)}=2mass`,
      '--out',
      join(dir, 'joint.csv'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const ref = { stage: 'classify' as const, id: (lastJsonLine(r.stdout) as { artifact: string }).artifact };
    const targets = new Map((await s.readTable(targetsTable, ref, 'targets')).map((t) => [t.id, t]));
    // each catalog alone picks its own star for 'two-stars'; the joint set keeps the nearer, better-measured Gaia star only
    expect(targets.get('two-stars')!.counterparts).toBe('gaia_dr3:g1');
    expect(targets.get('two-stars')!.counterpart_reason).toMatch(
      /2mass: left out of the joint set \(gaia_dr3 and 2mass choices 2\.40" apart \(\d+\.\d sigma\): two objects\)/,
    );
    expect(targets.get('one-star')!.counterparts).toBe('gaia_dr3:g2;2mass:t2');
    // the Gaia bands alone for 'two-stars' (G, BP, RP: 3 bands, still translated), all six for 'one-star'
    expect([targets.get('two-stars')!.n_bands, targets.get('one-star')!.n_bands]).toEqual([3, 6]);
    const { counterpartPairsTable } = await import('../../schemas/catalog.js');
    const pairs = await s.readTable(counterpartPairsTable, ref, 'counterpart_pairs');
    const pair = (id: string) =>
      pairs
        .filter((p) => p.id === id)
        .map((p) => [p.candidate_a, p.candidate_b, Number(p.sep_arcsec.toFixed(2)), p.agree, p.kept]);
    expect(pair('two-stars')).toEqual([['g1', 't1', 2.4, false, false]]);
    expect(pair('one-star')).toEqual([['g2', 't2', 0.05, true, true]]);
  });

  it('refuses bad field inputs with one line naming file, row, column and value, and writes nothing', async () => {
    const { copy, at, final, fix, dir } = await classifySetUp();
    const csc = readFileSync(join(fix, 'ngc3532_csc.csv'), 'utf8').trim().split('\n');
    const gaia = readFileSync(join(fix, 'ngc3532_gaia_sim.csv'), 'utf8').trim().split('\n');
    const classifyDirs = () => artifactDirs(copy).filter((d) => d.startsWith('classify/')).length;
    const before = classifyDirs();
    const refused = (what: string, args: string[], message: RegExp) => {
      const out = join(dir, `${what}.out.csv`);
      const r = runCli([...at, 'classify', ...args, '--out', out]);
      expect(r.code, what).not.toBe(0);
      expect(r.stderr.trim().split('\n'), `${what}: ${r.stderr}`).toHaveLength(1);
      expect(r.stderr.trim(), what).toMatch(message);
      expect(existsSync(out), what).toBe(false);
      expect(existsSync(out.replace(/\.csv$/, '.reg')), what).toBe(false);
    };
    const file = (name: string, lines: string[]) => {
      writeFileSync(join(dir, name), `${lines.join('\n')}\n`);
      return join(dir, name);
    };
    const model = ['--model', final.id];
    const cells = (line: string) => line.split(',');
    const edit = (line: string, col: number, v: string) =>
      cells(line)
        .map((c, i) => (i === col ? v : c))
        .join(',');
    // a required column missing
    const noSig = csc.map((l) =>
      cells(l)
        .filter((_, i) => i !== 5)
        .join(','),
    );
    refused(
      'nosig',
      [file('nosig.csv', noSig), ...model, '--xray-mapping', 'csc2'],
      /nosig\.csv, row 1, column 'significance': column of the X-ray mapping missing/,
    );
    // text in a number
    refused(
      'text',
      [file('text.csv', [csc[0]!, edit(csc[1]!, 6, '1e-15x'), ...csc.slice(2)]), ...model],
      /text\.csv, row 2, column 'flux_aper90_b': expected a number, got "1e-15x"$/,
    );
    // a repeated id on a row that differs (a row repeated exactly, as overlapping cones give, is merged)
    refused(
      'dup',
      [file('dup.csv', [...csc, edit(csc[3]!, 6, '9e-15')]), ...model],
      /dup\.csv, row 27, column 'name': duplicate source id with different values \(first on row 4\), got "2CXO J110510\.3-585029"$/,
    );
    // a magnitude with no declared system; a filter the data folder lacks
    const mapping = (name: string, band: Record<string, unknown>) =>
      file(name, [
        JSON.stringify({ id: 'source_id', ra: 'ra', dec: 'dec', magnitudes: [{ column: 'phot_g_mean_mag', ...band }] }),
      ]);
    refused(
      'nosystem',
      [
        join(fix, 'ngc3532_csc.csv'),
        ...model,
        '--catalog',
        `${join(fix, 'ngc3532_gaia_sim.csv')}=${mapping('nosys.json', { filter: 'Gaia_DR3.G' })}`,
      ],
      /mapping .*nosys\.json: key 'magnitudes\.0\.system'/,
    );
    refused(
      'nofilter',
      [
        join(fix, 'ngc3532_csc.csv'),
        ...model,
        '--catalog',
        `${join(fix, 'ngc3532_gaia_sim.csv')}=${mapping('nofilter.json', { filter: 'Gaia_DR3.Gx', system: 'Vega' })}`,
      ],
      /unknown filter; closest known: Gaia_DR3\.G.*got "Gaia_DR3\.Gx"$/,
    );
    // a filter mapped twice in one catalog
    const gaiaMapping = (name: string, magnitudes: Record<string, unknown>[]) =>
      file(name, [JSON.stringify({ id: 'source_id', ra: 'ra', dec: 'dec', magnitudes })]);
    const vegamag = { kind: 'vega_spectrum', vega_mag: 0.023 };
    refused(
      'twice',
      [
        join(fix, 'ngc3532_csc.csv'),
        ...model,
        '--catalog',
        `${join(fix, 'ngc3532_gaia_sim.csv')}=${gaiaMapping('twice.json', [
          { column: 'phot_g_mean_mag', filter: 'Gaia_DR3.G', system: vegamag },
          { column: 'phot_rp_mean_mag', filter: 'Gaia_DR3.G', system: vegamag },
        ])}`,
      ],
      /ngc3532_gaia_sim\.csv, row 1, column 'phot_rp_mean_mag': expected one column per filter in a table \(phot_g_mean_mag is mapped to Gaia_DR3\.G too\), got "Gaia_DR3\.G"$/,
    );
    // Gaia magnitudes declared AB (Gaia's VEGAMAG differs by 0.1-0.4 mag): refused unless the mapping says so
    const asAb = `${join(fix, 'ngc3532_gaia_sim.csv')}=${gaiaMapping('ab.json', [{ column: 'phot_g_mean_mag', filter: 'Gaia_DR3.G', system: 'AB' }])}`;
    refused(
      'gaia-ab',
      [join(fix, 'ngc3532_csc.csv'), ...model, '--catalog', asAb],
      /ngc3532_gaia_sim\.csv, row 1, column 'phot_g_mean_mag': expected Gaia_DR3\.G in its survey's system .*"system_explicit": true/,
    );
    // HST magnitude columns that name a filter in another way than F475W / f475w / F475W_mag
    const xclassHead = ['id', 'flux_s', 'flux_m', 'flux_h', 'flux_b', 'F475W_vega', 'F814W'];
    refused(
      'hst-suffix',
      [file('suffix.csv', [xclassHead.join(','), 'a,1e-15,1e-15,1e-15,3e-15,21.3,20.1']), ...model],
      /suffix\.csv, row 1, column 'F475W_vega': expected one AB magnitude column per filter named F475W .*got "F475W"$/,
    );
    // a table whose X-ray fluxes are empty in every row
    const fluxCols = cells(csc[0]!).flatMap((c, i) => (c.startsWith('flux_aper90_') ? [i] : []));
    const noFlux = csc.map((l, r) => (r === 0 ? l : fluxCols.reduce((line, i) => edit(line, i, ''), l)));
    refused(
      'noflux',
      [file('noflux.csv', noFlux), ...model],
      /noflux\.csv, row 2, column 'flux_aper90_s, .*': expected an X-ray flux in at least one row/,
    );
    // a position out of range
    refused(
      'ra',
      [
        join(fix, 'ngc3532_csc.csv'),
        ...model,
        '--catalog',
        `${file('ra.csv', [gaia[0]!, edit(gaia[1]!, 1, '400'), ...gaia.slice(2)])}=gaia_dr3`,
      ],
      /ra\.csv, row 2, column 'ra': expected right ascension in degrees, 0 <= RA < 360, got "400"$/,
    );
    // tables that do not overlap on the sky: the catalog 10 degrees north
    const north = gaia.map((l, i) => (i === 0 ? l : edit(l, 2, String(Number(cells(l)[2]) + 10))));
    refused(
      'apart',
      [join(fix, 'ngc3532_csc.csv'), ...model, '--catalog', `${file('north.csv', north)}=gaia_dr3`],
      /north\.csv, column 'ra, dec': no source within 60" of any of the 25 X-ray sources .*do not overlap on the sky, got "166\.\d{4} -48\.\d{4}"$/,
    );
    // an empty table, a truncated FITS file, a model that does not exist
    refused('empty', [file('empty.csv', [csc[0]!]), ...model], /empty\.csv, row 2: no data rows after the header/);
    const cut = join(dir, 'cut.fits');
    copyFileSync(join(fix, 'ngc3532_csc.fits'), cut);
    truncateSync(cut, 2880 * 2 + 100);
    refused('cut', [cut, ...model], /cut\.fits.*(truncated|no END card)/);
    refused('model', [join(fix, 'ngc3532_csc.csv'), '--model', 'deadbeef'], /classify: no trained model 'deadbeef'/);
    expect(classifyDirs()).toBe(before);
  });

  it('stops on Ctrl-C with code 130, its temporary folders removed and nothing written', async () => {
    const { at, s, final, dir } = await classifySetUp();
    // a synthetic field (bench/support/field.ts) whose Gaia catalog, a CSV of 2x10^5 rows, is converted
    // into declination zones in the process's folder of the system's temporary directory
    const field = await syntheticField(dir, 2000, 200_000);
    const tmp = tempDir();
    const before = (await s.list()).length;
    const out = join(dir, 'interrupted.csv');
    const child = spawnCli(
      [...at, 'classify', field.xray, '--model', final.id, '--catalog', `${field.catalog}=gaia_dr3`, '--out', out],
      { TMPDIR: tmp },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    // driven by the event: Ctrl-C once the conversion has made its folder, however long the machine takes
    let zones: string | undefined;
    while (child.exitCode === null && !(zones = readdirSync(tmp).find((f) => f.startsWith('xclass-zones-'))))
      await sleep(10);
    expect(zones, stderr).toBeDefined();
    child.kill('SIGINT');
    expect(await exited, stderr).toBe(130);
    expect(stderr).toMatch(/^xclass: interrupted \(SIGINT\)$/m);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(out)).toBe(false);
    expect((await s.list()).length).toBe(before);
  });

  it('classifies the training table as a target through the same translation and features (one path)', async () => {
    const { at, s, final } = await classifySetUp();
    const metas = await s.list();
    const features = metas.find((m) => m.id === final.inputs['features'])!;
    const sed = metas.find((m) => m.id === features.inputs['sed'])!;
    // the measured values alone (100 Monte-Carlo draws of 2,941 sources would take minutes; the draws are checked below)
    const r = runCli([
      ...at,
      '--set',
      'uncertainty.mc.draws=0',
      '--json',
      'classify',
      MUWCLASS,
      '--model',
      final.id,
      '--out',
      join(tempDir(), 'muw.csv'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = lastJsonLine(r.stdout) as { artifact: string; rows: number };
    expect(res.rows).toBe(2941);
    const ref = { stage: 'classify' as const, id: res.artifact };
    // every translated magnitude and every feature value equal, to the bit, to the training pipeline's
    const trained = (await s.readTable(sedMagsTable, { stage: 'sed', id: sed.id }, 'mags')).filter(
      (m) => m.draw === 0 && m.mag_ab !== null,
    );
    const mags = new Map((await s.readTable(targetMagsTable, ref, 'mags')).map((m) => [`${m.id}|${m.filter}`, m]));
    expect(trained.length).toBeGreaterThan(8000);
    for (const m of trained) expect(mags.get(`${m.id}|${m.filter}`)?.mag_ab, `${m.id} ${m.filter}`).toBe(m.mag_ab);
    const { featureValuesTable } = await import('../../schemas/features.js');
    const values = (await s.readTable(featureValuesTable, { stage: 'features', id: features.id })).filter(
      (v) => v.draw === 0,
    );
    const mine = new Map(
      (await s.readTable(targetFeaturesTable, ref, 'features')).map((f) => [`${f.id}|${f.feature}`, f.value]),
    );
    for (const v of values) expect(mine.get(`${v.id}|${v.feature}`), `${v.id} ${v.feature}`).toBe(v.value);
    // the sources without photometry are the X-ray-only model's: their features are its training features, to the bit
    const targetsOf = await s.readTable(targetsTable, ref, 'targets');
    const xrayRouted = new Set(targetsOf.filter((t) => t.model_used === 'xray_only').map((t) => t.id));
    expect(xrayRouted.size).toBe(535);
    const xrayValues = (
      await s.readTable(featureValuesTable, { stage: 'features', id: (await stepMeta(s, 'xray/features')).id })
    ).filter((v) => xrayRouted.has(v.id));
    expect(xrayValues.length).toBe(441 * 12); // the in-scope ones among them (the others are YSOs and neutron stars)
    for (const v of xrayValues) expect(mine.get(`${v.id}|${v.feature}`), `${v.id} ${v.feature}`).toBe(v.value);
    // the table's own labels score the classification: in-sample for the sources the models were trained on
    const metrics = await s.readTable(metricsTable, ref, 'metrics');
    const ba = metrics.find((m) => m.metric === 'balanced_accuracy')!;
    expect(ba.n).toBe(2941 - 1004 - 87);
    expect(ba.value).toBeGreaterThan(0.75);
    expect(metrics.find((m) => m.metric === 'ece')!.value).toBeLessThan(0.1);
    // and it says so: every labelled source is a training source of the model that classified it, so none is scored apart
    expect((await s.readMeta('classify', ref.id)).notes['scored_trained_on']).toBe(1850);
    expect(metrics.some((m) => m.subset === 'not_trained_on')).toBe(false);
    const targets = await s.readTable(targetsTable, ref, 'targets');
    // the model trained on folds 1-4, applied to the table: on fold 0 it gives the cross-validation's own predictions
    const { loadRunRecord } = await import('../../artifacts/run-records.js');
    const run = (await loadRunRecord(s, runId))!;
    const stepId = (key: string) => run.steps.find((x) => x.key === key)!.artifactId!;
    // with its 100 Monte-Carlo draws per source, on the fold's own sources (the table's rows of fold 0, another batch
    // than the cross-validation's): the draws, translations and predictions are the cross-validation's, to the bit
    const cv = await s.readTable(predictionsTable, { stage: 'predict', id: stepId('cv/fold-0/predict-deployment') });
    expect(cv.length).toBeGreaterThan(250);
    const inFold = new Set(cv.map((p) => p.id));
    const [head, ...rows] = readFileSync(MUWCLASS, 'utf8').trimEnd().split('\n');
    // the source name is the first column, before any quoted field
    const idCol = head!.split(',').indexOf('CSCv2_name');
    expect(idCol).toBe(0);
    const fold0Table = join(tempDir(), 'fold0-sources.csv');
    writeFileSync(fold0Table, `${[head, ...rows.filter((l) => inFold.has(l.split(',')[idCol]!))].join('\n')}\n`);
    const fold0 = runCli([
      ...at,
      '--json',
      'classify',
      fold0Table,
      '--model',
      stepId('cv/fold-0/train'),
      '--out',
      join(tempDir(), 'fold0.csv'),
    ]);
    expect(fold0.code, fold0.stderr).toBe(0);
    const f0 = { stage: 'classify' as const, id: (lastJsonLine(fold0.stdout) as { artifact: string }).artifact };
    const mine0 = new Map((await s.readTable(predictionsTable, f0)).map((p) => [p.id, p]));
    expect(mine0.size).toBe(cv.length);
    expectSamePredictions(cv, mine0);
    // none of them is a training source of the fold-0 model: the score without them is the score
    expect((await s.readMeta('classify', f0.id)).notes['scored_trained_on']).toBe(0);
    const f0metrics = await s.readTable(metricsTable, f0, 'metrics');
    const baOf = (subset: string) => f0metrics.find((m) => m.metric === 'balanced_accuracy' && m.subset === subset)!;
    expect([baOf('not_trained_on').value, baOf('not_trained_on').n]).toEqual([baOf('all').value, cv.length]);
    // a random fifth of the training population against the other four fifths: no feature moved far
    const { populationShiftTable } = await import('../../schemas/catalog.js');
    const shift = (await s.readTable(populationShiftTable, f0, 'population_shift')).filter(
      (r) => r.model_used === 'full',
    );
    expect(shift).toHaveLength(28);
    for (const r of shift) if (r.ks_d !== null) expect(r.ks_d, r.feature).toBeLessThan(0.15);
    const { probabilitiesTable } = await import('../../schemas/model.js');
    const cvP = await s.readTable(
      probabilitiesTable,
      { stage: 'predict', id: stepId('cv/fold-0/predict-deployment') },
      'probabilities',
    );
    const myP = new Map(
      (await s.readTable(probabilitiesTable, f0, 'probabilities')).map((p) => [`${p.id}|${p.stage}|${p.class}`, p]),
    );
    for (const p of cvP) expect(myP.get(`${p.id}|${p.stage}|${p.class}`)).toEqual(p);
    // the table's own Gaia and 2MASS columns are the counterpart: prematched where it has any, none elsewhere
    expect(new Set(targets.map((t) => t.match_quality))).toEqual(new Set(['prematched', 'none']));
    expect(
      targets.filter((t) => t.match_quality === 'none').every((t) => t.n_bands === 0 && t.hst_provenance === 'none'),
    ).toBe(true);
    expect(targets.filter((t) => t.hst_provenance === 'none').every((t) => t.model_used === 'xray_only')).toBe(true);

    // the X-ray-only model of fold 0 on its fold's sources, read without their photometry (a mapping with no magnitude
    // column): 100 draws each, the cross-validation's predictions to the bit
    const xcv = await s.readTable(predictionsTable, {
      stage: 'predict',
      id: stepId('xray/cv/fold-0/predict-deployment'),
    });
    expect(xcv.length).toBe(370);
    const xFold = new Set(xcv.map((p) => p.id));
    const xTable = join(tempDir(), 'xray-fold0.csv');
    writeFileSync(xTable, `${[head, ...rows.filter((l) => xFold.has(l.split(',')[idCol]!))].join('\n')}\n`);
    const { muwclassMapping } = await import('../../activities/io/formats/presets.js');
    const { magnitudes: _m, parallax: _p, pm_total: _pm, ...noPhotometry } = muwclassMapping([]);
    const mappingFile = join(tempDir(), 'no-photometry.json');
    writeFileSync(mappingFile, JSON.stringify(noPhotometry));
    const xr = runCli([
      ...at,
      '--json',
      'classify',
      xTable,
      '--xray-mapping',
      mappingFile,
      '--model',
      stepId('cv/fold-0/train'),
      '--xray-model',
      stepId('xray/cv/fold-0/train'),
      '--out',
      join(tempDir(), 'xray0.csv'),
    ]);
    expect(xr.code, xr.stderr).toBe(0);
    const x0 = { stage: 'classify' as const, id: (lastJsonLine(xr.stdout) as { artifact: string }).artifact };
    expect((await s.readTable(targetsTable, x0, 'targets')).every((t) => t.model_used === 'xray_only')).toBe(true);
    const xmine = new Map((await s.readTable(predictionsTable, x0)).map((p) => [p.id, p]));
    expectSamePredictions(xcv, xmine);
    // certain only when the set (here the X-ray-only model's own, at 95%) is exactly {the answer}
    for (const m of xmine.values()) if (!m.uncertain) expect(m.class_set).toBe(`{${m.final_class}}`);
    const xcvP = await s.readTable(
      probabilitiesTable,
      { stage: 'predict', id: stepId('xray/cv/fold-0/predict-deployment') },
      'probabilities',
    );
    const xmyP = new Map(
      (await s.readTable(probabilitiesTable, x0, 'probabilities')).map((p) => [`${p.id}|${p.stage}|${p.class}`, p]),
    );
    for (const p of xcvP) expect(xmyP.get(`${p.id}|${p.stage}|${p.class}`)).toEqual(p);
  });

  it('presents the training sources in the csc2 and xclass layouts: their X-ray features, position error included, to the bit', async () => {
    const { at, s, final, dir } = await classifySetUp();
    const xf = await stepMeta(s, 'xray/features');
    const { featureValuesTable } = await import('../../schemas/features.js');
    const trained = new Map(
      (await s.readTable(featureValuesTable, { stage: 'features', id: xf.id })).map((v) => [
        `${v.id}|${v.feature}`,
        v.value,
      ]),
    );
    const sources = (await s.readTable(sourcesTable, await stepMeta(s, 'ingest'))).filter(
      (r) => r.in_scope && r.label !== null,
    );
    expect(sources).toHaveLength(1850);
    const v = (x: number | string | null) => (x === null ? '' : String(x));
    // CSC 2.0: the training table's CSCv2_PU is err_ellipse_r0, the major semi-axis of the 95% ellipse (its ReadMe);
    // a realistic minor axis r1 = 0.6 r0 must not change the feature (the method's sqrt((r0^2 + r1^2)/2) is the search radius only)
    const band = (b: string) => [`flux_aper90_${b}`, `flux_aper90_lolim_${b}`, `flux_aper90_hilim_${b}`];
    const cscHead = [
      'name',
      'ra',
      'dec',
      'err_ellipse_r0',
      'err_ellipse_r1',
      'significance',
      ...['b', 'h', 'm', 's'].flatMap(band),
      'var_intra_prob_b',
      'var_inter_prob_b',
    ];
    const flux = (value: number | null, err: number | null) => [
      v(value),
      v(value === null || err === null ? null : value - err),
      v(value === null || err === null ? null : value + err),
    ];
    const csc = sources.map((r) =>
      [
        r.id,
        r.ra_deg,
        r.dec_deg,
        v(r.pos_err_95_arcsec),
        v(r.pos_err_95_arcsec === null ? null : 0.6 * r.pos_err_95_arcsec),
        v(r.significance),
        ...flux(r.flux_b_cgs, r.flux_b_err_cgs),
        ...flux(r.flux_h_cgs, r.flux_h_err_cgs),
        ...flux(r.flux_m_cgs, r.flux_m_err_cgs),
        ...flux(r.flux_s_cgs, r.flux_s_err_cgs),
        v(r.var_p_intra),
        v(r.var_p_inter),
      ].join(','),
    );
    // XClass's own layout: sigma_eff the same 95% major semi-axis
    const xHead = [
      'id',
      'flux_s',
      'flux_m',
      'flux_h',
      'flux_b',
      'sigma_eff',
      'significance',
      'var_p_intra',
      'var_p_inter',
    ];
    const xclass = sources.map((r) =>
      [
        r.id,
        r.flux_s_cgs,
        r.flux_m_cgs,
        r.flux_h_cgs,
        r.flux_b_cgs,
        r.pos_err_95_arcsec,
        r.significance,
        r.var_p_intra,
        r.var_p_inter,
      ]
        .map(v)
        .join(','),
    );
    for (const [layout, head, lines] of [
      ['csc2', cscHead, csc],
      ['xclass', xHead, xclass],
    ] as const) {
      const table = join(dir, `${layout}.csv`);
      writeFileSync(table, `${head.join(',')}\n${lines.join('\n')}\n`);
      const r = runCli([
        ...at,
        '--set',
        'uncertainty.mc.draws=0',
        '--json',
        'classify',
        table,
        '--xray-mapping',
        layout,
        '--model',
        final.id,
      ]);
      expect(r.code, `${layout}: ${r.stderr}`).toBe(0);
      const ref = { stage: 'classify' as const, id: (lastJsonLine(r.stdout) as { artifact: string }).artifact };
      const targets = await s.readTable(targetsTable, ref, 'targets');
      expect(targets.every((t) => t.model_used === 'xray_only')).toBe(true);
      const mine = await s.readTable(targetFeaturesTable, ref, 'features');
      expect(mine).toHaveLength(1850 * 12);
      for (const f of mine) expect(f.value, `${layout} ${f.id} ${f.feature}`).toBe(trained.get(`${f.id}|${f.feature}`));
    }
  });

  it('distance features where the parallax is significant: log L_X and M_G, served as trained, and their plane in the report', async () => {
    const s = new ArtifactStore(store);
    const features = await stepMeta(s, 'features');
    expect((features.facts!['feature_names'] as string[]).slice(-2)).toEqual(['log_lx_plx', 'abs_g_plx']);
    const { featureValuesTable } = await import('../../schemas/features.js');
    const values = (await s.readTable(featureValuesTable, features)).filter((v) => v.draw === 0);
    // 325 of the 1,409 training sources have a parallax S/N above 5: 177 LM-STAR, 100 HM-STAR, 28 CV, 15 HMXB, 4 LMXB, 1 AGN
    const having = values.filter((v) => v.feature === 'log_lx_plx' && v.value !== null);
    expect(having).toHaveLength(325);
    const byClass = (c: string) => having.filter((v) => v.label === c).length;
    expect(['LM-STAR', 'HM-STAR', 'CV', 'HMXB', 'LMXB', 'AGN'].map(byClass)).toEqual([177, 100, 28, 15, 4, 1]);
    // the final model fills a missing distance feature below every real value, not with the median of the nearby stars
    const medians = (await s.readTable(modelFeaturesTable, await stepMeta(s, 'final/train'))).filter(
      (x) => x.stage === 'stage1',
    );
    expect(
      medians.filter((x) => x.feature === 'log_lx_plx' || x.feature === 'abs_g_plx').map((x) => x.impute_median),
    ).toEqual([-100, -100]);
    // the X-ray-only model has none (its targets have no counterpart to give a parallax)
    expect((await stepMeta(s, 'xray/features')).facts!['feature_names']).not.toContain('log_lx_plx');
    // the report's plane of log L_X against M_G
    const out = join(tempDir(), 'report.html');
    expect(runCli([...at, 'report', runId, '--out', out]).code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<h2>Distance: X-ray luminosity against absolute magnitude</h2>');
    expect(html).toContain('log L_X against absolute G, 325 training sources with a significant parallax (baseline)');
  });

  it('writes a self-contained HTML report whose plots all render in Chromium', async () => {
    const out = join(tempDir(), 'report.html');
    const r = runCli([...at, 'report', runId, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(out);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http/); // self-contained: no script, no external resource
    expect(html).toContain('Headline protocol <b>deployment</b>');
    expect(html).toMatch(/Balanced accuracy \(deployment\) <b>0\.\d{3}<\/b>/);
    // how sure: the Monte-Carlo mean beside the single value, coverage per class, the class mix
    expect(html).toContain('Predictions on new sources: how sure');
    expect(html).toMatch(/<td>single value<\/td><td>0\.944<\/td>/);
    expect(html).toContain('Conformal class sets (Mondrian, nested over the folds)');
    expect(html).toContain('Class mix of a target population');
    // the X-ray-only model's cross-validation beside the model's
    expect(html).toContain('<h2>The X-ray-only model (targets without enough photometry)</h2>');
    expect(html).toMatch(/X-ray-only model<\/td><td[^>]*>1850<\/td><td[^>]*>0\.568</);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.goto(`file://${out}`);
      // every table fits the page: a wide one scrolls in its own box, the page never scrolls sideways
      expect(await page.$eval('html', (el) => el.scrollWidth <= el.clientWidth)).toBe(true);
      expect(
        await page.$$eval('table', (els) => els.every((t) => t.parentElement?.classList.contains('tw') === true)),
      ).toBe(true);
      const boxes = await page.$$eval('figure.plot svg', (els) =>
        els.map((e) => {
          const b = e.getBoundingClientRect();
          return [b.width, b.height];
        }),
      );
      // confusion (2), confidence histogram, reliability, accuracy by OOD score, the L_X-M_G plane, importance, chi2 and F475W distributions
      expect(boxes).toHaveLength(9);
      for (const [w, h] of boxes) {
        expect(w).toBeGreaterThan(100);
        expect(h).toBeGreaterThan(100);
      }
      const marks = await page.$$eval('figure.plot svg', (els) =>
        els.map((e) => e.querySelectorAll('path, rect, line').length),
      );
      expect(Math.min(...marks)).toBeGreaterThan(3); // each plot drew marks, not just axes
      const ids = await page.$$eval('.id', (els) => els.map((e) => e.getAttribute('title')));
      expect(ids.every((id) => /^[0-9a-f]{64}$/.test(id ?? ''))).toBe(true);
      expect(ids.length).toBeGreaterThan(10);
    } finally {
      await browser.close();
    }
  });

  it('refuses run ids that are not run ids, and an existing --out, before touching a file', () => {
    const r = runCli([...at, 'report', '../../x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(
      'xclass: column \'run id\': expected a run id like run-20261125T033024Z-155e05 (xclass runs lists them), got "../../x"',
    );
    const out = join(tempDir(), 'mine.html');
    writeFileSync(out, 'keep me');
    const refused = runCli([...at, 'report', runId, '--out', out]);
    expect(refused.stderr.trim()).toMatch(/mine\.html: file exists; pass --force/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    // a record whose file name is a run id but whose content names a path: damage, never joined into a path
    const forged = join(store, '_runs', 'run-20260101T000000Z-0badf0.json');
    const record = JSON.parse(readFileSync(join(store, '_runs', `${runId}.json`), 'utf8')) as object;
    writeFileSync(forged, JSON.stringify({ ...record, run_id: '../../escaped' }));
    try {
      const escaped = runCli([...at, 'report', 'run-20260101T000000Z-0badf0']);
      expect(escaped.code).not.toBe(0);
      expect(escaped.stderr.trim()).toBe(
        `xclass: ${forged}: key 'run_id': names run "../../escaped", not the file it is in`,
      );
      expect(existsSync(join(store, '..', 'escaped.html'))).toBe(false);
    } finally {
      rmSync(forged);
    }
    // the reports folder a symlink out of the store: refused before anything is written
    const elsewhere = tempDir();
    const reports = join(store, '_reports');
    const kept = existsSync(reports) ? `${reports}.kept` : null;
    if (kept) renameSync(reports, kept);
    symlinkSync(elsewhere, reports);
    try {
      const out2 = runCli([...at, 'report', runId]);
      expect(out2.code).not.toBe(0);
      expect(out2.stderr.trim()).toBe(
        `xclass: ${reports}: resolves to ${realpathSync(elsewhere)}, outside the store ${realpathSync(store)}; nothing written (replace the symlink with a folder)`,
      );
      expect(readdirSync(elsewhere)).toEqual([]);
    } finally {
      rmSync(reports);
      if (kept) renameSync(kept, reports);
    }
  });

  it('detects a damaged or swapped artifact file and a deleted meta.json, and the next run recomputes them under the same ids', async () => {
    const copy = join(tempDir(), 'store');
    cpSync(store, copy, { recursive: true });
    const s = new ArtifactStore(copy);
    const metas = await s.list();
    const features = metas.find((m) => m.stage === 'features')!;
    const sed = metas.find((m) => m.stage === 'sed')!;
    const ingest = metas.find((m) => m.stage === 'ingest')!;
    const other = metas.filter((m) => m.stage === 'predict');
    // a flipped byte, a file swapped for a sibling's of the same shape, a deleted meta.json
    const f = join(s.dir('features', features.id), 'data.parquet');
    const bytes = readFileSync(f);
    bytes[300] = bytes[300]! ^ 0xff;
    writeFileSync(f, bytes);
    copyFileSync(
      join(s.dir('predict', other[1]!.id), 'data.parquet'),
      join(s.dir('predict', other[0]!.id), 'data.parquet'),
    );
    rmSync(join(s.dir('ingest', ingest.id), 'meta.json'));
    truncateSync(join(s.dir('sed', sed.id), 'data.parquet'), 0);
    const verify = runCli(['--set', `store.path=${JSON.stringify(copy)}`, 'verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/: \d+ ok, 0 unverifiable \(older XClass\), 4 damaged/);

    const r = runCli(['--set', `store.path=${JSON.stringify(copy)}`, ...SEEDS, '--json', 'run', '--no-ablations']);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('xclass: warning:'));
    expect(warnings).toHaveLength(4);
    for (const w of warnings)
      expect(w).toMatch(
        /; artifact moved to .*_quarantine\/(features|predict|ingest|sed)-[0-9a-f]{12}-.* and recomputed$/,
      );
    const steps = (lastJsonLine(r.stdout) as { steps: { stage: string; artifactId: string; cacheHit: boolean }[] })
      .steps;
    const recomputed = steps
      .filter((x) => !x.cacheHit)
      .map((x) => x.artifactId)
      .sort();
    expect(recomputed).toEqual([features.id, sed.id, ingest.id, other[0]!.id].sort());
    // recomputed byte for byte: the verified store equals the original
    const after = runCli(['--set', `store.path=${JSON.stringify(copy)}`, 'verify']);
    expect(after.code, after.stdout).toBe(0);
    expect(readFileSync(join(s.dir('features', features.id), 'data.parquet'))).toEqual(
      readFileSync(join(new ArtifactStore(store).dir('features', features.id), 'data.parquet')),
    );
  });

  it('answers SQL over artifacts, lineage and runs', () => {
    const { at } = copyOfStore();
    expect(runCli([...at, 'run', '--no-ablations']).code).toBe(0);
    const r = runCli([...at, 'query', 'select stage, count(*) as n from artifacts group by 1 order by 1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([
      'stage\tn',
      'crossmatch\t7',
      'dedup\t1',
      'evaluate\t2',
      'features\t3',
      'ingest\t1',
      'labels\t7',
      'predict\t15',
      'provenance\t1',
      'reference\t1',
      'sed\t2',
      'train\t12',
    ]);
    const lin = JSON.parse(
      runCli([...at, '--json', 'query', "select role from lineage where stage = 'reference'"]).stdout,
    ) as { role: string }[];
    expect(lin).toEqual([{ role: 'sources' }]);
    const runs = JSON.parse(
      runCli([
        ...at,
        '--json',
        'query',
        "select run_id, count(*) filter (where cache_hit) as hits from run_steps join runs using (run_id) where workflow <> 'xclass-classify' group by 1 order by 2",
      ]).stdout,
    ) as { hits: number }[];
    expect(runs.map((x) => Number(x.hits))).toEqual([0, 52]);
    const bad = runCli([...at, 'query', 'select nope from artifacts']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('lets two processes run the same pipeline at once into one store', async () => {
    const shared = join(tempDir(), 'store');
    // single values (no Monte-Carlo draws): two cold runs share 2 cores, and the draws are not what this checks
    const args = [
      '--set',
      `store.path=${JSON.stringify(shared)}`,
      '--set',
      'uncertainty.mc.draws=0',
      '--json',
      'run',
      '--no-ablations',
    ];
    const runOne = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawnCli(args);
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d.toString()));
        p.on('close', (code) => resolve({ code, out }));
      });
    const [a, b] = await Promise.all([runOne(), runOne()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const ids = (o: string) => (lastJsonLine(o) as { steps: { artifactId: string }[] }).steps.map((s) => s.artifactId);
    expect(ids(a.out)).toEqual(ids(b.out));
    expect(artifactDirs(shared)).toHaveLength(52);
    const s = new ArtifactStore(shared);
    expect(await s.tempEntries()).toEqual([]);
    for (const m of await s.list()) expect((await s.readAnyTable(TABLES, m.stage, m.id)).length).toBe(m.row_count);
  }, 180_000);
});
