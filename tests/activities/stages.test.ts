import { copyFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { sqlString, withConnection } from '../../artifacts/duckdb.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { stageActivities } from '../../activities/run-step.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { loadConfig } from '../../config/load.js';
import type { XClassConfig } from '../../config/schema.js';
import { planClassify, planZones } from '../../engine/classify-plan.js';
import { planPipeline } from '../../engine/plan.js';
import type { PipelineInput } from '../../schemas/pipeline.js';
import type { ArtifactRef } from '../../schemas/step.js';
import type { StageActivities } from '../../activities/contract.js';
import { MUWCLASS, tempDir } from '../helpers.js';
import { dataDirWith } from '../cli/fixtures.js';
import { referencePredictionsTable, sourcesTable } from '../../schemas/tables.js';
import { sedFitsTable, sedMagsTable } from '../../schemas/sed.js';
import { predictionsTable } from '../../schemas/model.js';
import { matchSummaryTable } from '../../schemas/catalog.js';
import { readTargetTable } from '../../activities/io/formats/registry.js';
import { readXraySources } from '../../activities/io/catalog-rows.js';
import { fieldFacts } from '../../activities/classify-match.js';
import { declinationZones } from '../../lib/sky/zones.js';
import { labelRowsTable, labelMatchesTable } from '../../schemas/labels.js';
import { metricsTable } from '../../schemas/evaluation.js';

/**
 * Each stage activity called directly, as Temporal's samples test activities: typed
 * params and input artifacts in, one artifact out, on a small store. The training table
 * is the bundled MUWCLASS table cut to its first 20 rows of each class (lines without
 * quoted fields), so every class is present and the whole chain takes seconds.
 */
const PER_CLASS = 20;
let act: StageActivities;
let store: ArtifactStore;
let input: PipelineInput;
let rowsByClass: Record<string, number>;
const refs: Partial<Record<string, ArtifactRef>> = {};
const ref = <S extends ArtifactRef['stage']>(name: string, stage: S): ArtifactRef<S> => {
  const r = refs[name];
  if (!r || r.stage !== stage) throw new Error(`test order: ${name} not made yet`);
  return r as ArtifactRef<S>;
};
const step = <C>(key: string, context: C) => ({ key, context });

beforeAll(async () => {
  const [header, ...lines] = readFileSync(MUWCLASS, 'utf8').trimEnd().split('\n');
  const classCol = header!.split(',').indexOf('True_Class');
  const picked: string[] = [];
  rowsByClass = {};
  for (const line of lines) {
    if (line.includes('"')) continue;
    const cls = line.split(',')[classCol]!;
    if ((rowsByClass[cls] ?? 0) >= PER_CLASS) continue;
    rowsByClass[cls] = (rowsByClass[cls] ?? 0) + 1;
    picked.push(line);
  }
  const data = dataDirWith(`${[header, ...picked].join('\n')}\n`);
  config = loadConfig({
    sets: [
      `data.dir=${JSON.stringify(data)}`,
      `store.path=${JSON.stringify(join(tempDir(), 'store'))}`,
      'model.forest.n_estimators=20',
      'evaluation.folds=2',
    ],
  });
  input = await planPipeline(config, { ablations: [] });
  store = new ArtifactStore(config.store.path, 'checksum');
  act = stageActivities(store);
}, 60_000);

let config: XClassConfig;
const fileRef = () => ({
  name: input.files.muwclass.name,
  sha256: input.files.muwclass.sha256,
  bytes: input.files.muwclass.bytes,
});

describe('stage activities, called directly', () => {
  it('ingest: one sources row per catalog row, values as catalogued', async () => {
    const out = await act.ingest(
      { catalog: fileRef(), label_map: input.label_map, no_data: input.no_data },
      {},
      step('ingest', { path: input.files.muwclass.path }),
    );
    refs['ingest'] = { stage: 'ingest', id: out.artifactId };
    const rows = await store.readTable(sourcesTable, { stage: 'ingest', id: out.artifactId });
    expect(rows).toHaveLength(Object.values(rowsByClass).reduce((a, b) => a + b, 0));
    expect(new Set(rows.map((r) => r['label_raw']))).toEqual(new Set(Object.keys(rowsByClass)));
    // idempotent: the same call is a cache hit with the same id
    const again = await act.ingest(
      { catalog: fileRef(), label_map: input.label_map, no_data: input.no_data },
      {},
      step('ingest', { path: input.files.muwclass.path }),
    );
    expect(again).toEqual({ artifactId: out.artifactId, cacheHit: true, wallMs: 0 });
  });

  it('reference: the competitor predictions of the same sources', async () => {
    const out = await act.reference(
      { catalog: fileRef(), pipeline: 'MUWCLASS', label_map: input.label_map, no_data: input.no_data },
      { sources: ref('ingest', 'ingest') },
      step('reference', { path: input.files.muwclass.path }),
    );
    refs['reference'] = { stage: 'reference', id: out.artifactId };
    const rows = await store.readTable(referencePredictionsTable, { stage: 'reference', id: out.artifactId });
    expect(rows.length).toBe(
      (await store.readTable(sourcesTable, { stage: 'ingest', id: ref('ingest', 'ingest').id })).length,
    );
    expect(rows.every((r) => r['pipeline'] === 'MUWCLASS')).toBe(true);
  });

  it('labels, dedup and crossmatch: the MUWCLASS labels matched back to their own Chandra sources', async () => {
    const cat = input.label_catalogs.find((c) => c.format === 'muwclass')!;
    const labels = await act.labels(
      {
        catalog: { name: cat.file.name, sha256: cat.file.sha256, bytes: cat.file.bytes },
        name: cat.name,
        format: cat.format,
        class: cat.class,
        reference: cat.reference,
        label_map: input.label_map,
      },
      { sources: ref('ingest', 'ingest') },
      step('labels', { data_dir: input.data_dir }),
    );
    const labelRows = await store.readTable(labelRowsTable, { stage: 'labels', id: labels.artifactId });
    expect(labelRows).toHaveLength(
      (await store.readTable(sourcesTable, { stage: 'ingest', id: ref('ingest', 'ingest').id })).length,
    );
    const dedup = await act.dedup(
      input.dedup,
      { catalog_0: { stage: 'labels', id: labels.artifactId } },
      step('dedup', {}),
    );
    const deduped = await store.readTable(labelRowsTable, { stage: 'dedup', id: dedup.artifactId });
    expect(deduped.length).toBeGreaterThan(0);
    expect(deduped.length).toBeLessThanOrEqual(labelRows.length);
    const cross = await act.crossmatch(
      input.crossmatch,
      { labels: { stage: 'dedup', id: dedup.artifactId }, xray: ref('ingest', 'ingest') },
      step('crossmatch', {}),
    );
    const matches = await store.readTable(labelMatchesTable, { stage: 'crossmatch', id: cross.artifactId });
    // each label sits at its own source's position: every match that is made is at 0 arcsec
    expect(matches.length).toBeGreaterThan(0);
    for (const m of matches.filter((x) => x['sep_arcsec'] !== null)) expect(m['sep_arcsec']).toBeLessThan(1e-6);
  });

  it('sed: every in-scope source fitted or given a reason, magnitudes in the output filters', async () => {
    const out = await act.sed(
      input.baseline.sed,
      { sources: ref('ingest', 'ingest') },
      step('sed', { data_dir: input.data_dir }),
    );
    refs['sed'] = { stage: 'sed', id: out.artifactId };
    const fits = await store.readTable(sedFitsTable, { stage: 'sed', id: out.artifactId });
    expect(fits.filter((f) => f['status'] === 'ok').length).toBeGreaterThan(fits.length / 2);
    for (const f of fits) expect(f['status'] === 'ok' || typeof f['reason'] === 'string').toBe(true);
    const mags = await store.readTable(sedMagsTable, { stage: 'sed', id: out.artifactId }, 'mags');
    expect(new Set(mags.map((m) => m['filter']))).toEqual(new Set(input.baseline.sed.output_filters));
  });

  it('features, train, predict and evaluate: a two-fold cross-validation scored', async () => {
    const features = await act.features(
      input.baseline.features,
      { sources: ref('ingest', 'ingest'), sed: ref('sed', 'sed') },
      step('features', {}),
    );
    const fRef = { stage: 'features' as const, id: features.artifactId };
    expect((await store.readMeta('features', features.artifactId)).row_count).toBeGreaterThan(0);
    const predictions: Record<`deployment_fold_${number}`, ArtifactRef<'predict'>> = {};
    for (const index of [0, 1]) {
      const fold = { k: 2, index, seed: input.evaluation.seed };
      const model = await act.train(
        { model: input.baseline.model, fold },
        { features: fRef },
        step(`cv/fold-${index}/train`, {}),
      );
      const predict = await act.predict(
        { fold, mc: { draws: 3, seed: 1, translation: 'exact' }, ood_neighbours: 5 },
        { model: { stage: 'train', id: model.artifactId }, features: fRef, sources: ref('ingest', 'ingest') },
        step(`cv/fold-${index}/predict`, { data_dir: input.data_dir }),
      );
      const rows = await store.readTable(predictionsTable, { stage: 'predict', id: predict.artifactId });
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r['fold'] === index)).toBe(true);
      predictions[`deployment_fold_${index}`] = { stage: 'predict', id: predict.artifactId };
    }
    const evaluate = await act.evaluate(
      {
        eval_classes: input.evaluation.eval_classes,
        stage1_groups: input.baseline.model.stage1_groups,
        confident_min: input.baseline.model.uncertain_below,
        calibration_bins: input.evaluation.calibration_bins,
        uncertainty: {
          conformal: input.uncertainty.conformal,
          ood_flag_rate: input.uncertainty.ood.flag_rate,
          rule: input.uncertainty.uncertain,
          class_mix: { bootstrap: 20, seed: 1 },
        },
      },
      { ...predictions, reference: ref('reference', 'reference') },
      step('cv/evaluate', {}),
    );
    const metrics = await store.readTable(metricsTable, { stage: 'evaluate', id: evaluate.artifactId });
    const ba = metrics.find(
      (m) =>
        m['protocol'] === 'deployment' &&
        m['level'] === 'full' &&
        m['subset'] === 'all' &&
        m['statistic'] === 'pooled' &&
        m['metric'] === 'balanced_accuracy',
    );
    expect(ba?.['value']).toBeGreaterThan(0);
    expect(ba?.['value']).toBeLessThanOrEqual(1);
    refs['model'] = {
      stage: 'train',
      id: (await act.train({ model: input.baseline.model, fold: null }, { features: fRef }, step('final/train', {})))
        .artifactId,
    };
  });

  it('classify: a target table classified with the trained model', async () => {
    const dir = tempDir();
    const path = join(dir, 'targets.csv');
    writeFileSync(
      path,
      'id,flux_s,flux_m,flux_h,flux_b,F475W,F814W\nt1,1e-14,2e-14,3e-14,6e-14,22.1,20.3\nt2,5e-15,1e-14,4e-14,5.5e-14,,\n',
    );
    const { params, context } = await planClassify(config, store, ref('model', 'train'), {
      table: path,
      catalogs: [],
      cwd: dir,
    });
    expect(params.mapping.magnitudes?.map((m) => m.filter)).toEqual(['HST_ACS_WFC.F475W', 'HST_ACS_WFC.F814W']);
    const out = await act.classify(params, { model: ref('model', 'train') }, step('classify', context));
    const rows = await store.readTable(predictionsTable, { stage: 'classify', id: out.artifactId });
    expect(rows.map((r) => r['id'])).toEqual(['t1', 't2']);
    for (const r of rows) expect(typeof r['final_class']).toBe('string');
  });

  it('classify in declination zones: every table the same bits as the field in one zone', async () => {
    // the NGC 3532 field (25 sources, sexagesimal positions) against three catalogs: the simulated Gaia
    // rows with repeats and with no-data markers placed so the zones meet them in another order than the
    // file (CSV: cut inside DuckDB), the same rows as Parquet (cut inside DuckDB) and in radians as a
    // VOTable (read whole and cut); Bayesian counterparts, so every p_any enters the sums
    const dir = tempDir();
    const fix = join(import.meta.dirname, '..', 'fixtures', 'classify');
    const [head, ...rows] = readFileSync(join(fix, 'ngc3532_gaia_sim_dups.csv'), 'utf8').trimEnd().split('\n');
    const cols = head!.split(',');
    const byDec = rows
      .map((r, i) => ({ i, dec: Number(r.split(',')[cols.indexOf('dec')]) }))
      .sort((a, b) => b.dec - a.dec);
    const marked = rows.map((r) => r.split(','));
    // a no-data marker in BP on a northern row and in RP on a row south of it but later in the file (and one more):
    // zones, from the south, meet RP first; the file meets BP first, and its order is the one kept
    const north = byDec.find((r) => byDec.some((x) => x.i > r.i))!;
    const south = byDec.filter((x) => x.i > north.i).at(-1)!;
    marked[north.i]![cols.indexOf('phot_bp_mean_mag')] = '99';
    marked[south.i]![cols.indexOf('phot_rp_mean_mag')] = '-99';
    marked[byDec.find((x) => x.i > south.i && x !== north)?.i ?? north.i]![cols.indexOf('phot_rp_mean_mag')] = '99.99';
    writeFileSync(join(dir, 'gaia.csv'), `${[head, ...marked.map((r) => r.join(','))].join('\n')}\n`);
    await withConnection((conn) =>
      conn.run(
        `COPY (SELECT * FROM read_csv(${sqlString(join(fix, 'ngc3532_gaia_sim.csv'))})) TO ${sqlString(join(dir, 'gaia.parquet'))} (FORMAT parquet)`,
      ),
    );
    copyFileSync(join(fix, 'ngc3532_csc.csv'), join(dir, 'csc.csv'));
    copyFileSync(join(fix, 'ngc3532_gaia_sim_rad.vot'), join(dir, 'gaia_rad.vot'));
    const bayes = {
      ...config,
      classify: { ...config.classify, counterparts: { ...config.classify.counterparts, rule: 'bayes' as const } },
    };
    const { params, context } = await planClassify(bayes, store, ref('model', 'train'), {
      table: 'csc.csv',
      catalogs: ['gaia.csv=gaia_dr3', 'gaia.parquet=gaia_dr3', 'gaia_rad.vot=gaia_dr3'],
      cwd: dir,
    });
    // a copy of the store with its model and without classify artifacts (else a cache hit)
    const freshStore = () => {
      const path = join(tempDir(), 'store');
      cpSync(config.store.path, path, { recursive: true, filter: (src) => !src.includes(`${sep}classify${sep}`) });
      return { path, store: new ArtifactStore(path, 'checksum') };
    };
    const run = async (zoneSources: number) => {
      const { path, store: zoned } = freshStore();
      const said: string[] = [];
      const progressOf = () => (_done: number, _total: number, note?: string) => void said.push(note ?? '');
      const out = await stageActivities(zoned, { progressOf }).classify(
        params,
        { model: ref('model', 'train') },
        step('classify', { ...context, zone_sources: zoneSources }),
      );
      const zones = said.filter((n) => n.startsWith('matching counterparts: zone')).length;
      // the zones' scratch files the merge read are gone with the step
      expect(await zoned.tempEntries()).toEqual([]);
      return {
        dir: join(path, 'classify', out.artifactId),
        meta: await zoned.readMeta('classify', out.artifactId),
        zones,
      };
    };
    // the same zones, each its own classify_zone step, merged by a classify step that takes them as inputs
    const steps = async () => {
      const { path, store: zoned } = freshStore();
      const acts = stageActivities(zoned);
      const plan = await planZones(params, { ...context, zone_sources: 3 });
      const inputs = { model: ref('model', 'train') };
      const zoneRefs: Record<string, { stage: 'classify_zone'; id: string }> = {};
      for (const zone of plan!.zones) {
        const z = await acts.classify_zone({ ...params, zone, field: plan!.field }, inputs, step('z', context));
        zoneRefs[`zone_${zone.index}`] = { stage: 'classify_zone', id: z.artifactId };
      }
      const out = await acts.classify(params, { ...inputs, ...zoneRefs }, step('classify', context));
      const meta = await zoned.readMeta('classify', out.artifactId);
      return { dir: join(path, 'classify', out.artifactId), meta, zones: plan!.zones.length };
    };
    const one = await run(1000);
    const zones = await run(3);
    const stepped = await steps();
    expect(stepped.zones).toBe(Math.ceil(25 / 3));
    const files = readdirSync(one.dir)
      .filter((f) => f !== 'meta.json')
      .sort();
    expect(
      readdirSync(zones.dir)
        .filter((f) => f !== 'meta.json')
        .sort(),
    ).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(9);
    expect(one.zones).toBe(0);
    expect(zones.zones).toBe(Math.ceil(25 / 3));
    for (const other of [zones, stepped]) {
      expect(
        readdirSync(other.dir)
          .filter((f) => f !== 'meta.json')
          .sort(),
      ).toEqual(files);
      for (const f of files) expect(readFileSync(join(other.dir, f)), f).toEqual(readFileSync(join(one.dir, f)));
    }
    const notes = (m: typeof one.meta) => ({ ...m.notes, context: null });
    expect(notes(zones.meta)).toEqual(notes(one.meta));
    expect(notes(stepped.meta)).toEqual(notes(one.meta));
    // what the cut had to get right: no-data markers in the file's order of columns, repeats and catalog rows counted once
    const noData = one.meta.notes?.['no_data_by_column'] as Record<string, number>;
    expect(Object.entries(noData).filter(([k]) => k.startsWith('gaia_dr3.'))).toEqual([
      ['gaia_dr3.phot_bp_mean_mag', 1],
      ['gaia_dr3.phot_rp_mean_mag', 2],
    ]);
    expect(Object.keys(zones.meta.notes?.['no_data_by_column'] as object)).toEqual(Object.keys(noData));
    expect(one.meta.notes?.['duplicate_rows_merged']).toEqual({ 'gaia.csv': rows.length - 231 });
    const summary = await new ArtifactStore(join(one.dir, '..', '..'), 'checksum').readTable(
      matchSummaryTable,
      { stage: 'classify', id: one.meta.id },
      'match_summary',
    );
    expect(summary.filter((r) => r.metric === 'catalog_sources').map((r) => [r.catalog, r.value])).toEqual([
      ['gaia_dr3', 231],
      ['gaia_dr3_2', 231],
      ['gaia_dr3_3', 231],
    ]);
  });

  it("plans a field's zones from its X-ray table read a band at a time: the zones, facts and refusals of a whole read", async () => {
    // the NGC 3532 field with its positions in decimal degrees (so DuckDB cuts it into bands), 3 sources a zone
    const dir = tempDir();
    const fix = join(import.meta.dirname, '..', 'fixtures', 'classify');
    const [head, ...lines] = readFileSync(join(fix, 'ngc3532_csc.csv'), 'utf8').trimEnd().split('\n');
    const cols = head!.split(',');
    const degrees = (s: string, hours: boolean) => {
      const [a, b, c] = s.trim().split(/\s+/).map(Number) as [number, number, number];
      return ((s.trim().startsWith('-') ? -1 : 1) * (Math.abs(a) + b / 60 + c / 3600) * (hours ? 15 : 1)).toFixed(6);
    };
    const rows = lines.map((l) => {
      const r = l.split(',');
      r[cols.indexOf('ra')] = degrees(r[cols.indexOf('ra')]!, true);
      r[cols.indexOf('dec')] = degrees(r[cols.indexOf('dec')]!, false);
      return r;
    });
    const planned = async (name: string, rs: string[][]) => {
      writeFileSync(join(dir, name), `${[head, ...rs.map((r) => r.join(','))].join('\n')}\n`);
      const { params, context } = await planClassify(config, store, ref('model', 'train'), {
        table: name,
        catalogs: [`${join(fix, 'ngc3532_gaia_sim.csv')}=gaia_dr3`],
        cwd: dir,
      });
      const whole = () =>
        readTargetTable(join(dir, name), name).then((t) => readXraySources(t, params.mapping, params.no_data ?? []));
      return { plan: () => planZones(params, { ...context, zone_sources: 3 }), whole };
    };
    const good = await planned('field.csv', rows);
    const sources = (await good.whole()).rows;
    const plan = (await good.plan())!;
    expect(plan.field).toEqual(fieldFacts(sources));
    expect(plan.zones.map((z) => [z.lo, z.hi])).toEqual(
      declinationZones(
        sources.map((s) => s.dec_deg!),
        3,
      ).map((z) => [z.lo, z.hi]),
    );
    expect(plan.zones).toHaveLength(9);
    // a bad table is refused with the whole read's line, whichever band meets it first
    const refusedAsWhole = async (name: string, rs: string[][]) => {
      const p = await planned(name, rs);
      const whole = await p.whole().then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      expect(whole).toMatch(/row \d+/);
      expect(
        await p.plan().then(
          () => 'accepted',
          (e: Error) => e.message,
        ),
      ).toBe(whole);
      return whole;
    };
    // rows by declination, from the south (the first band read)
    const byDec = rows.map((r, i) => ({ i, dec: Number(r[cols.indexOf('dec')]) })).sort((a, b) => a.dec - b.dec);
    // two bad fluxes: the northern one earlier in the file, the southern one (read first) later
    const north = byDec.slice(-3).sort((a, b) => a.i - b.i)[0]!;
    const south = byDec.slice(0, 3).filter((x) => x.i > north.i)[0] ?? byDec[0]!;
    const flux = cols.indexOf('flux_aper90_b');
    const bad = rows.map((r) => [...r]);
    bad[north.i]![flux] = 'lots';
    bad[south.i]![flux] = 'few';
    expect(await refusedAsWhole('bad.csv', bad)).toContain(`row ${north.i + 2}`);
    // an id repeated in another band (so at another declination)
    const dup = rows.map((r) => [...r]);
    dup[byDec.at(-1)!.i]![0] = dup[byDec[0]!.i]![0]!;
    expect(await refusedAsWhole('dup.csv', dup)).toMatch(/duplicate source id with different values \(first on row/);
    // no flux in any row of any band
    const empty = rows.map((r) => r.map((v, k) => (cols[k]!.startsWith('flux_') ? '' : v)));
    expect(await refusedAsWhole('empty.csv', empty)).toMatch(/expected an X-ray flux in at least one row/);
  });

  it('refuses params, inputs and context that do not fit the stage, before any work', async () => {
    const bad = act.train as unknown as (p: unknown, i: unknown, s: unknown) => Promise<unknown>;
    await expect(
      bad(
        { model: input.baseline.model, fold: { k: 1, index: 0, seed: 1 } },
        { features: { stage: 'features', id: 'x' } },
        step('t', {}),
      ),
    ).rejects.toThrow(/params of step t/);
    await expect(
      bad({ model: input.baseline.model, fold: null }, { features: ref('sed', 'sed') }, step('t', {})),
    ).rejects.toThrow(/input 'features' is a sed artifact, expected features/);
    await expect(bad({ model: input.baseline.model, fold: null }, {}, step('t', {}))).rejects.toThrow(
      /input 'features' missing/,
    );
    const sed = act.sed as unknown as (p: unknown, i: unknown, s: unknown) => Promise<unknown>;
    await expect(sed(input.baseline.sed, { sources: ref('ingest', 'ingest') }, step('s', {}))).rejects.toThrow(
      /context key 'data_dir'/,
    );
  });
});
