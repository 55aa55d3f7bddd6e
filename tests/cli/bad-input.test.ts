import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { artifactDirs, DATA, runCli, tempDir } from '../helpers.js';
import { dataDirWith, muwclassHead, toCsv } from './fixtures.js';

const FILE = 'catalogs/muwclass_TD_2022.csv';

/** Runs the pipeline on a data folder; returns the result and the store it used. */
function runOn(dataDir: string, extra: string[] = []) {
  const store = join(tempDir(), 'store');
  const res = runCli(['--set', `store.path=${JSON.stringify(store)}`, ...extra, 'run', '--no-progress'], {
    XCLASS_DATA: dataDir,
  });
  return { ...res, store };
}

/**
 * The contract for bad input: non-zero exit, exactly one line on stderr, and no
 * artifact made from the bad file. Unrelated branches still finish: the other label
 * catalogs (good files) may be stored, nothing else.
 */
function expectRejected(r: ReturnType<typeof runOn>, pattern: RegExp) {
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stdout).toBe('');
  for (const dir of artifactDirs(r.store)) {
    const meta = JSON.parse(readFileSync(join(r.store, dir, 'meta.json'), 'utf8')) as {
      stage: string;
      params: { name?: string };
    };
    expect(meta.stage, dir).toBe('labels');
    expect(meta.params.name, dir).not.toBe('muwclass');
  }
}

describe('bad input: one clear line, non-zero exit, no artifact', () => {
  const { header, rows } = muwclassHead(8);
  const col = (name: string) => header.indexOf(name);

  it('a missing column', () => {
    const drop = col('Fm');
    const text = toCsv(
      header.filter((_, i) => i !== drop),
      rows.map((r) => r.filter((_, i) => i !== drop)),
    );
    expectRejected(
      runOn(dataDirWith(text)),
      new RegExp(
        `^xclass: step ingest failed: ${FILE}, row 1, column 'Fm': required column is missing from the header$`,
      ),
    );
  });

  it('a data file that differs from SHA256SUMS: one warning line naming it, before the error it leads to', () => {
    const bad = rows.map((r) => [...r]);
    bad[4]![col('Fs')] = '3e-15x';
    const dir = dataDirWith(toCsv(header, bad));
    // the bundle's digests of what this folder holds (filters, templates, catalogs)
    const sums = readFileSync(join(DATA, 'SHA256SUMS'), 'utf8')
      .split('\n')
      .filter((l) => /\s\.\/(filters|templates|catalogs)\//.test(l));
    writeFileSync(join(dir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
    const r = runOn(dir);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n'), r.stderr).toEqual([
      expect.stringMatching(
        new RegExp(
          `^xclass: warning: data file ${dir}/${FILE} differs from ${dir}/SHA256SUMS \\(sha256 [0-9a-f]{12}, listed [0-9a-f]{12}\\)$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^xclass: step ingest failed: ${FILE}, row 6, column 'Fs': expected a number, got "3e-15x"$`),
      ),
    ]);
  });

  it('a non-numeric flux', () => {
    const bad = rows.map((r) => [...r]);
    bad[4]![col('Fs')] = '3e-15x';
    expectRejected(
      runOn(dataDirWith(toCsv(header, bad))),
      new RegExp(`^xclass: step ingest failed: ${FILE}, row 6, column 'Fs': expected a number, got "3e-15x"$`),
    );
  });

  it('a negative flux', () => {
    const bad = rows.map((r) => [...r]);
    bad[1]![col('Fh')] = '-2e-15';
    expectRejected(
      runOn(dataDirWith(toCsv(header, bad))),
      /row 3, column 'Fh': expected a non-negative flux in erg\/s\/cm\^2 \(at most 1e-6\) \(a no-data marker\? list it in config input\.no_data\), got "-2e-15"$/,
    );
  });

  it('a duplicate source id', () => {
    const bad = rows.map((r) => [...r]);
    bad[2]![0] = bad[0]![0]!;
    expectRejected(
      runOn(dataDirWith(toCsv(header, bad))),
      new RegExp(
        `row 4, column 'CSCv2_name': duplicate source id \\(first on line 2\\), got "${bad[0]![0]!.replace('+', '\\+')}"$`,
      ),
    );
  });

  it('an unknown label', () => {
    const bad = rows.map((r) => [...r]);
    bad[1]![col('True_Class')] = 'QSO';
    expectRejected(
      runOn(dataDirWith(toCsv(header, bad))),
      /row 3, column 'True_Class': unknown label, expected one of AGN, LMXB, HMXB, CV, LM-STAR, HM-STAR, SNR, YSO, NS \(config labels\.map\), got "QSO"$/,
    );
  });

  it('a declination out of range', () => {
    const bad = rows.map((r) => [...r]);
    bad[0]![col('CSCv2_DEC')] = '95.2';
    expectRejected(
      runOn(dataDirWith(toCsv(header, bad))),
      /row 2, column 'CSCv2_DEC': expected declination in degrees, -90 <= Dec <= 90, got "95.2"$/,
    );
  });

  it('an empty file', () => {
    expectRejected(
      runOn(dataDirWith('')),
      new RegExp(`^xclass: step ingest failed: ${FILE}: file is empty, expected a header line and data rows$`),
    );
  });

  it('a header with no rows', () => {
    expectRejected(runOn(dataDirWith(`${header.join(',')}\n`)), /row 2: no data rows after the header$/);
  });

  it('an unreadable path', () => {
    const dir = dataDirWith(toCsv(header, rows));
    expectRejected(
      runOn(dir, ['--set', 'catalogs.muwclass=catalogs/missing.csv']),
      /^xclass: catalogs\/missing\.csv: cannot read input file .*missing\.csv \(ENOENT\)$/,
    );
    mkdirSync(join(dir, 'catalogs', 'adir.csv'));
    expectRejected(
      runOn(dir, ['--set', 'catalogs.muwclass=catalogs/adir.csv']),
      /^xclass: catalogs\/adir\.csv: cannot read input file .*adir\.csv \(EISDIR\)$/,
    );
  });

  it('an unknown filter, with the closest known names', () => {
    const r = runOn(dataDirWith(toCsv(header, rows)), ['--set', 'sed.output_filters=["HST_ACS_WFC.F457W"]']);
    expectRejected(
      r,
      /^xclass: config sed\.output_filters\.0: unknown filter; closest known: HST_ACS_WFC\.F435W, HST_ACS_WFC\.F475W, .*got "HST_ACS_WFC\.F457W"$/,
    );
  });

  /** One cell of the first rows replaced; the run must be rejected with the given line. */
  const withCell = (line: number, column: string, value: string) => {
    const bad = rows.map((r) => [...r]);
    bad[line - 2]![col(column)] = value;
    return dataDirWith(toCsv(header, bad));
  };

  it('a repeated column name (it would silently replace the first)', () => {
    const dup = [...header];
    dup[col('e_Fs')] = 'Fs';
    expectRejected(
      runOn(dataDirWith(toCsv(dup, rows))),
      new RegExp(
        `^xclass: step ingest failed: ${FILE}, row 1, column 'Fs': column name repeated in the header \\(columns 6 and 7\\)$`,
      ),
    );
  });

  it.each([
    [
      'a negative magnitude error',
      4,
      'e_Gmag',
      '-0.02',
      /row 4, column 'e_Gmag': expected a magnitude error > 0 and <= 10/,
    ],
    ['a probability above 1', 3, 'P_intra', '1.3', /row 3, column 'P_intra': expected a probability between 0 and 1/],
    ['an absurd parallax', 5, 'Plx', '5000', /row 5, column 'Plx': expected a parallax in mas between -1000 and 1000/],
    ['a hexadecimal number', 2, 'Fb', '0x1F', /row 2, column 'Fb': expected a number, got "0x1F"$/],
    [
      'a competitor probability above 1',
      6,
      'P_AGN',
      '1.2',
      /row 6, column 'P_AGN': expected a probability between 0 and 1/,
    ],
    [
      'an unknown competitor class',
      7,
      'Class',
      'QSO',
      /row 7, column 'Class': unknown label, expected one of AGN, .* \(config labels\.map\), got "QSO"$/,
    ],
  ] as const)('%s', (_name, line, column, value, message) => {
    expectRejected(runOn(withCell(line, column, value)), message);
  });

  it('a missing data folder is named as such, not as an unknown filter', () => {
    const r = runOn(join(tempDir(), 'nowhere'));
    expectRejected(
      r,
      /^xclass: data folder .*nowhere \(from \$XCLASS_DATA\) does not exist; set \$XCLASS_DATA or config data\.dir/,
    );
  });

  it.each([
    ['evaluation.folds=5000', /key 'evaluation\.folds': Too big: expected number to be <=20, got 5000$/],
    [
      'model.forest.n_estimators=1e12',
      /key 'model\.forest\.n_estimators': Too big: expected number to be <=10000, got 1000000000000$/,
    ],
    ['retry.maximum_attempts=1000', /key 'retry\.maximum_attempts': Too big/],
    ['sed.extinction.a_v_step=0.001', /key 'sed\.extinction': at most 100 A_V grid steps/],
  ])('a setting that sizes work beyond its bound: %s', (set, message) => {
    expectRejected(runOn(dataDirWith(toCsv(header, rows)), ['--set', set]), message);
  });

  it('a bad config value', () => {
    const r = runOn(dataDirWith(toCsv(header, rows)), ['--set', 'engine.concurrency=many']);
    expectRejected(r, /^xclass: config: key 'engine\.concurrency': expected number, received string, got "many"$/);
  });
});
