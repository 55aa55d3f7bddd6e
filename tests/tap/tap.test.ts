import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ArtifactStore } from '../../artifacts/store.js';
import { loadConfig } from '../../config/load.js';
import { fetchCone, type FetchEvent } from '../../cli/fetch.js';
import { tapSync } from '../../activities/io/tap.js';
import { readTargetTable } from '../../activities/io/formats/registry.js';
import { separationArcsec } from '../../lib/sky/coords.js';
import { fetchColumnsTable, FetchParams } from '../../schemas/fetch.js';
import { ClassifyParams, matchSummaryTable } from '../../schemas/catalog.js';
import { predictionsTable } from '../../schemas/model.js';
import { lastJsonLine, runCli, tempDir } from '../helpers.js';
import { asSetArgs, dachsServices, startDachs, TAP_FIXTURES, type Dachs } from './dachs.js';

/**
 * The TAP client against a real server: GAVO DaCHS on a free local port, serving the
 * bundled NGC 3532 CSC cone and simulated Gaia DR3 and 2MASS tables around it
 * (tests/fixtures/tap). Nothing here fakes a service: every answer is DaCHS's.
 */

const CENTRE = { ra: 166.2888, dec: -58.836 };
let dachs: Dachs;
let services: string[];
/** a small trained model (single-value run, one protocol) for the classify tests */
const modelStore = join(tempDir(), 'store');
const modelAt = ['--set', `store.path=${JSON.stringify(modelStore)}`, '--set', 'uncertainty.mc.draws=0'];

beforeAll(async () => {
  dachs = await startDachs();
  services = dachsServices(dachs.tap);
  const r = runCli([...modelAt, '--set', 'evaluation.protocols=["deployment"]', 'run', '--no-ablations']);
  if (r.code !== 0) throw new Error(`the model run failed: ${r.stderr}`);
}, 600_000);

afterAll(async () => {
  await dachs?.stop();
});

function configWith(store: string, extra: string[] = []) {
  return loadConfig({ sets: [`store.path=${JSON.stringify(store)}`, ...services, ...extra] });
}

async function localTable(file: string) {
  return readTargetTable(join(TAP_FIXTURES, file), file);
}

function inCone(rec: Record<string, unknown>, ra: number, dec: number, r_arcsec: number): boolean {
  return separationArcsec(Number(rec['ra']), Number(rec['dec']), ra, dec) <= r_arcsec;
}

const fetchDirs = (store: string) => (existsSync(join(store, 'fetch')) ? readdirSync(join(store, 'fetch')) : []);

describe('a cone from a real TAP server (DaCHS)', () => {
  test('the rows of a cone are the same cone filtered locally, value for value; the answer is stored with its query', async () => {
    const store = join(tempDir(), 'store');
    const config = configWith(store, ['fetch.max_pad_arcmin=0']);
    const cone = { ra_deg: 166.35, dec_deg: -58.8, radius_arcsec: 240 };
    const { tables, steps } = await fetchCone(new ArtifactStore(store), config, cone, ['xgaia', 'xcsc']);
    expect(tables.map((t) => [t.service, t.reused])).toEqual([
      ['xgaia', false],
      ['xcsc', false],
    ]);
    expect(steps.map((s) => [s.key, s.status])).toEqual([
      ['fetch/xcsc', 'done'],
      ['fetch/xgaia', 'done'],
    ]);
    for (const [t, file, id] of [
      [tables[0]!, 'gaia_source.csv', 'source_id'],
      [tables[1]!, 'master_source.csv', 'name'],
    ] as const) {
      const local = (await localTable(file)).records.filter((r) =>
        inCone(r, cone.ra_deg, cone.dec_deg, cone.radius_arcsec),
      );
      const got = await readTargetTable(t.path, 'answer');
      expect(got.records.length, file).toBe(local.length);
      expect(local.length, file).toBeGreaterThan(20);
      const byId = new Map(got.records.map((r) => [String(r[id]), r]));
      for (const r of local) {
        const g = byId.get(String(r[id]))!;
        expect(g, String(r[id])).toBeDefined();
        // every column the preset reads, as the CSV holds it (DaCHS serves doubles: exact)
        for (const c of got.header) {
          const [a, b] = [g[c], r[c]];
          if (b === null || b === '') expect(a, `${file} ${c}`).toBeNull();
          else if (c === id) expect(String(a)).toBe(String(b));
          else expect(Number(a), `${file} ${c}`).toBe(Number(b));
        }
      }
    }
    // Gaia's 64-bit source ids stay exact
    expect(
      (await readTargetTable(tables[0]!.path, 'answer')).records.every((r) =>
        /^534\d{16}$/.test(String(r['source_id'])),
      ),
    ).toBe(true);
    // the artifact: params with service, URL, ADQL, time and the answer's digest; the answer as received; its columns
    const s = new ArtifactStore(store);
    const meta = await s.readMeta('fetch', tables[0]!.fetchId);
    const p = FetchParams.parse(meta.params);
    expect(p).toMatchObject({
      service: 'xgaia',
      url: dachs.tap,
      table: 'xctap.gaia_source',
      mode: 'sync',
      maxrec: 50_000,
      query_radius_arcsec: 240,
    });
    expect(p.adql).toBe(
      'SELECT source_id, ra, dec, ra_error, dec_error, parallax, parallax_error, pmra, pmdec, phot_g_mean_mag, phot_g_mean_flux_over_error, ' +
        "phot_bp_mean_mag, phot_bp_mean_flux_over_error, phot_rp_mean_mag, phot_rp_mean_flux_over_error FROM xctap.gaia_source WHERE CONTAINS(POINT('ICRS', ra, dec), CIRCLE('ICRS', 166.35, -58.8, 0.06666666666666667)) = 1",
    );
    expect(Date.parse(p.queried_at)).toBeGreaterThan(Date.now() - 600_000);
    const bytes = readFileSync(tables[0]!.path);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.response_sha256);
    expect(bytes.byteLength).toBe(p.response_bytes);
    const columns = await s.readTable(fetchColumnsTable, { stage: 'fetch', id: tables[0]!.fetchId });
    expect(columns.find((c) => c.column === 'ra')).toEqual({
      column: 'ra',
      datatype: 'double',
      unit: 'deg',
      ucd: 'pos.eq.ra;meta.main',
    });
    expect(columns.find((c) => c.column === 'source_id')?.datatype).toBe('long');
    // asked again: answered from the store (offline), unless refresh
    const again = await fetchCone(new ArtifactStore(store), config, cone, ['xgaia']);
    expect([again.tables[0]!.reused, again.tables[0]!.fetchId]).toEqual([true, tables[0]!.fetchId]);
    const refreshed = await fetchCone(new ArtifactStore(store), config, cone, ['xgaia'], { refresh: true });
    expect(refreshed.tables[0]!.reused).toBe(false);
    expect(refreshed.tables[0]!.fetchId).not.toBe(tables[0]!.fetchId);
    expect(refreshed.tables[0]!.params.response_sha256).toBe(p.response_sha256);
  });

  test('MAXREC: an overflow is detected and refused in one line with nothing stored; with room for it, the query runs as an asynchronous job to completion', async () => {
    const store = join(tempDir(), 'store');
    const at = [
      '--set',
      `store.path=${JSON.stringify(store)}`,
      ...asSetArgs(services),
      '--set',
      'fetch.max_pad_arcmin=0',
      '--set',
      'fetch.maxrec_sync=50',
    ];
    const cone = ['--ra', '166.2888', '--dec', '-58.836', '--radius', '6arcmin', '--service', 'xgaia'];
    const over = runCli([...at, '--set', 'fetch.maxrec_async=50', 'fetch', ...cone]);
    expect(over.code).not.toBe(0);
    const lines = over.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('xclass:'));
    expect(lines).toEqual([
      `xclass: fetch: service xgaia (${dachs.tap}): more than MAXREC = 50 rows in the cone of 6.00 arcmin (QUERY_STATUS OVERFLOW); nothing stored: narrow --radius or raise config fetch.maxrec_async`,
    ]);
    expect(fetchDirs(store)).toEqual([]);

    const local = (await localTable('gaia_source.csv')).records.filter((r) => inCone(r, CENTRE.ra, CENTRE.dec, 360));
    const events: FetchEvent[] = [];
    const config = configWith(store, ['fetch.max_pad_arcmin=0', 'fetch.maxrec_sync=50', 'fetch.backoff_s=0.05']);
    const { tables } = await fetchCone(
      new ArtifactStore(store),
      config,
      { ra_deg: CENTRE.ra, dec_deg: CENTRE.dec, radius_arcsec: 360 },
      ['xgaia'],
      {
        onEvent: (e) => events.push(e),
      },
    );
    expect(tables[0]!.params).toMatchObject({ mode: 'async', maxrec: 2_000_000 });
    expect(tables[0]!.rows).toBe(local.length);
    const phases = events.flatMap((e) => (e.kind === 'job' ? [e.phase] : []));
    expect(phases.at(-1)).toBe('COMPLETED');
    // the job was deleted once its result was read
    const job = events.find((e) => e.kind === 'job')!;
    expect(job.kind === 'job' && (await fetch(job.url)).status).toBe(404);

    // a cone wider than async_above_radius_arcmin goes to a job directly
    const direct = await fetchCone(
      new ArtifactStore(store),
      configWith(store, ['fetch.max_pad_arcmin=0', 'fetch.async_above_radius_arcmin=1', 'fetch.backoff_s=0.05']),
      { ra_deg: CENTRE.ra, dec_deg: CENTRE.dec, radius_arcsec: 120 },
      ['x2mass'],
    );
    expect(direct.tables[0]!.params.mode).toBe('async');
    expect(direct.tables[0]!.rows).toBe(
      (await localTable('fp_psc.csv')).records.filter((r) => inCone(r, CENTRE.ra, CENTRE.dec, 120)).length,
    );
  });

  test("an ADQL error is the server's message in one line, with a non-zero exit and nothing stored", async () => {
    const store = join(tempDir(), 'store');
    const bad = JSON.stringify({
      url: dachs.tap,
      table: 'xctap.no_such_table',
      preset: 'gaia_dr3',
      doc: 'a table the server does not have',
    });
    const r = runCli([
      '--set',
      `store.path=${JSON.stringify(store)}`,
      '--set',
      `fetch.services={"broken":${bad}}`,
      'fetch',
      '--ra',
      '166.3',
      '--dec',
      '-58.8',
      '--radius',
      '1',
      '--service',
      'broken',
    ]);
    expect(r.code).not.toBe(0);
    const lines = r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('xclass:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^xclass: fetch: service broken \\(${dachs.tap.replace(/[./:]/g, '\\$&')}\\) refused the query: .*no_such_table.*$`,
      ),
    );
    expect(fetchDirs(store)).toEqual([]);
    // a column the table lacks, straight through the client
    const settings = configWith(store).fetch;
    await expect(
      tapSync({ name: 'xgaia', url: dachs.tap }, settings, 'SELECT nope FROM xctap.gaia_source', 10),
    ).rejects.toThrow(/^fetch: service xgaia \(.*\) refused the query: .*nope.*could not be located/);
    // bounds: a radius beyond config fetch.max_radius_arcmin is refused before any query
    const wide = runCli([
      '--set',
      `store.path=${JSON.stringify(store)}`,
      ...asSetArgs(services),
      'fetch',
      '--ra',
      '166.3',
      '--dec',
      '-58.8',
      '--radius',
      '2deg',
    ]);
    expect(wide.code).not.toBe(0);
    expect(wide.stderr).toContain(
      'xclass: fetch: radius 120 arcmin: expected more than 0 and at most config fetch.max_radius_arcmin = 30',
    );
  });

  test('a server stopped mid-answer: a clear line after the bounded retries, and no artifact', async () => {
    // a second DaCHS behind a TCP relay that passes the request on, forwards the first half of
    // the first chunk of the answer, then kills the server (SIGKILL) and closes: the client
    // reads an answer cut short, and its retries find nothing listening
    const victim = await startDachs();
    const port = Number(new URL(victim.tap).port);
    const seen: string[] = [];
    const sockets = new Set<Socket>();
    const relay = createNetServer((client) => {
      sockets.add(client);
      const upstream = connect(port, '127.0.0.1');
      sockets.add(upstream);
      client.on('data', (d) => {
        seen.push(d.toString('latin1'));
        upstream.write(d);
      });
      upstream.once('data', (d) => {
        client.write(d.subarray(0, Math.floor(d.length / 2)));
        void victim.stop('SIGKILL').then(() => {
          relay.close();
          for (const s of sockets) s.destroy();
        });
      });
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(relay.address() as { port: number }).port}/tap`;
    const store = join(tempDir(), 'store');
    const svc = JSON.stringify({ url, table: 'xctap.gaia_source', preset: 'gaia_dr3', doc: 'through the relay' });
    const config = loadConfig({
      sets: [
        `store.path=${JSON.stringify(store)}`,
        `fetch.services={"relayed":${svc}}`,
        'fetch.max_pad_arcmin=0',
        'fetch.backoff_s=0.05',
        'fetch.attempts=3',
      ],
    });
    const events: FetchEvent[] = [];
    await expect(
      fetchCone(
        new ArtifactStore(store),
        config,
        { ra_deg: CENTRE.ra, dec_deg: CENTRE.dec, radius_arcsec: 300 },
        ['relayed'],
        {
          onEvent: (e) => events.push(e),
        },
      ),
    ).rejects.toThrow(
      new RegExp(
        `^fetch: service relayed \\(${url.replace(/[./:]/g, '\\$&')}\\): POST ${url.replace(/[./:]/g, '\\$&')}/sync failed after 3 attempts: ECONNREFUSED$`,
      ),
    );
    // the first attempt read an answer cut short, the next found the port closed
    expect(events.flatMap((e) => (e.kind === 'retry' ? [[e.attempt, e.reason]] : []))).toEqual([
      [1, 'the connection closed mid-answer (UND_ERR_SOCKET)'],
      [2, 'ECONNREFUSED'],
    ]);
    expect(fetchDirs(store)).toEqual([]);
    // the request named XClass and its version
    expect(seen.join('')).toMatch(/^user-agent: XClass\/\d+\.\d+\.\d+ \(TAP client; IVOA TAP 1\.1\)\r$/im);
  });
});

describe('classify --cone against the real server', () => {
  test('fetches, then classifies: equal to classifying the fetched files, and to the whole catalogs (the padding reaches every candidate); audited and reusable offline', async () => {
    const dir = tempDir();
    const store = join(tempDir(), 'store');
    const { cpSync } = await import('node:fs');
    cpSync(modelStore, store, { recursive: true });
    const at = [
      '--set',
      `store.path=${JSON.stringify(store)}`,
      '--set',
      'uncertainty.mc.draws=0',
      ...asSetArgs(services),
    ];
    const cone = `${CENTRE.ra},${CENTRE.dec},5arcmin`;
    const r = runCli([
      ...at,
      '--json',
      'classify',
      '--cone',
      cone,
      '--model',
      'latest',
      '--out',
      join(dir, 'cone.csv'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const res = lastJsonLine(r.stdout) as { run: string; artifact: string; rows: number };
    const xray = (await localTable('master_source.csv')).records.filter((x) => inCone(x, CENTRE.ra, CENTRE.dec, 300));
    expect(res.rows).toBe(xray.length);
    const s = new ArtifactStore(store);
    const params = ClassifyParams.parse((await s.readMeta('classify', res.artifact)).params);
    expect(params.fetched!.map((f) => [f.service, f.url])).toEqual([
      ['xcsc', dachs.tap],
      ['xgaia', dachs.tap],
      ['x2mass', dachs.tap],
    ]);
    // the photometry cones are padded by the reach of the least precise source's search (search, density and shifted circles)
    const { readRunRecord } = { readRunRecord: (await import('../../artifacts/run-records.js')).loadRunRecord };
    const run = (await readRunRecord(s, res.run))!;
    expect(run.steps.map((x) => x.key)).toEqual(['fetch/xcsc', 'fetch/xgaia', 'fetch/x2mass', 'classify']);
    const gaiaFetch = FetchParams.parse((await s.readMeta('fetch', run.steps[1]!.artifactId!)).params);
    const maxSigma = Math.max(
      ...xray.map((x) => Math.sqrt((Number(x['err_ellipse_r0']) ** 2 + Number(x['err_ellipse_r1']) ** 2) / 2)),
    );
    expect(gaiaFetch.query_radius_arcsec).toBeCloseTo(300 + 10 * 3 * maxSigma + Math.max(60, 6 * maxSigma), 9);
    // audit shows the fetches of the run
    const audit = runCli([...at, 'audit', res.run]);
    expect(audit.code, audit.stderr).toBe(0);
    expect(audit.stdout).toMatch(
      new RegExp(
        `^fetched xgaia: \\d+ rows from ${dachs.tap.replace(/[./:]/g, '\\$&')} at \\S+ \\(sync\\) -> fetch/${run.steps[1]!.artifactId!.slice(0, 12)}, answer sha256 ${gaiaFetch.response_sha256}$`,
        'm',
      ),
    );
    expect(audit.stdout).toContain(`  ${gaiaFetch.adql}\n`);

    // the same tables from files (fetch --out): the same result table, byte for byte
    const files = runCli([
      ...at,
      'fetch',
      '--ra',
      String(CENTRE.ra),
      '--dec',
      String(CENTRE.dec),
      '--radius',
      '5arcmin',
      '--out',
      join(dir, 'vo'),
    ]);
    expect(files.code, files.stderr).toBe(0);
    expect(files.stderr).toMatch(/xgaia: \d+ rows, from the store/);
    const fromFiles = runCli([
      ...at,
      'classify',
      join(dir, 'vo', 'xcsc.vot'),
      '--xray-mapping',
      'csc2',
      '--catalog',
      `${join(dir, 'vo', 'xgaia.vot')}=gaia_dr3`,
      '--catalog',
      `${join(dir, 'vo', 'x2mass.vot')}=2mass`,
      '--model',
      'latest',
      '--out',
      join(dir, 'files.csv'),
    ]);
    expect(fromFiles.code, fromFiles.stderr).toBe(0);
    expect(readFileSync(join(dir, 'files.csv'), 'utf8')).toBe(readFileSync(join(dir, 'cone.csv'), 'utf8'));
    // and from the whole local catalogs: the same predictions and false-match rates
    const whole = runCli([
      ...at,
      '--json',
      'classify',
      join(dir, 'vo', 'xcsc.vot'),
      '--xray-mapping',
      'csc2',
      '--catalog',
      `${join(TAP_FIXTURES, 'gaia_source.csv')}=gaia_dr3`,
      '--catalog',
      `${join(TAP_FIXTURES, 'fp_psc.csv')}=2mass`,
      '--model',
      'latest',
      '--out',
      join(dir, 'whole.csv'),
    ]);
    expect(whole.code, whole.stderr).toBe(0);
    expect(readFileSync(join(dir, 'whole.csv'), 'utf8')).toBe(readFileSync(join(dir, 'cone.csv'), 'utf8'));
    const wholeId = (lastJsonLine(whole.stdout) as { artifact: string }).artifact;
    // every figure but the size of the catalog read (the cone's padded rows against the whole table)
    const rates = async (id: string) =>
      (await s.readTable(matchSummaryTable, { stage: 'classify', id }, 'match_summary'))
        .filter((m) => m.metric !== 'catalog_sources')
        .map((m) => JSON.stringify(m));
    expect(await rates(wholeId)).toEqual(await rates(res.artifact));
    expect((await s.readTable(predictionsTable, { stage: 'classify', id: res.artifact })).length).toBe(xray.length);

    // offline again: the stored answers are reused and the classification is a cache hit
    const before = fetchDirs(store).length;
    const again = runCli([
      ...at,
      '--json',
      'classify',
      '--cone',
      cone,
      '--model',
      'latest',
      '--out',
      join(dir, 'again.csv'),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(lastJsonLine(again.stdout)).toMatchObject({ artifact: res.artifact, cache_hit: true });
    expect(fetchDirs(store).length).toBe(before);
  });
});
