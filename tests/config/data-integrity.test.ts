import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataFolder, dataIntegrityWarnings } from '../../config/data-integrity.js';
import { knownFilterNames, loadFilter } from '../../activities/io/sed-data.js';
import { sha256Hex } from '../../artifacts/hash.js';
import { DATA, tempDir } from '../helpers.js';

/** A data folder with the real filters/ copied (so one can be damaged) and the real SHA256SUMS. */
function dataCopy(): string {
  const dir = tempDir('xclass-data-');
  mkdirSync(join(dir, 'filters'));
  for (const f of ['HST_ACS_WFC.F475W.dat', '2MASS.J.dat'])
    copyFileSync(join(DATA, 'filters', f), join(dir, 'filters', f));
  const sums = readFileSync(join(DATA, 'SHA256SUMS'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('./filters/HST_ACS_WFC.F475W.dat') || l.includes('./filters/2MASS.J.dat'));
  writeFileSync(join(dir, 'SHA256SUMS'), `${sums.join('\n')}\n`);
  return dir;
}

/** The filter file cut to its header and the first `keep` fraction of its data rows. */
function cutCurve(dir: string, name: string, keep: number): void {
  const path = join(dir, 'filters', `${name}.dat`);
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  const header = lines.filter((l) => l.startsWith('#'));
  const data = lines.filter((l) => !l.startsWith('#'));
  writeFileSync(path, `${[...header, ...data.slice(0, Math.round(data.length * keep))].join('\n')}\n`);
}

describe('the data folder is checked', () => {
  it('the bundle matches its SHA256SUMS: every listed file hashed, none differing', async () => {
    const d = await checkDataFolder(DATA);
    const listed = readFileSync(join(DATA, 'SHA256SUMS'), 'utf8').trim().split('\n');
    expect(d).toEqual({
      dir: DATA,
      sha256sums: sha256Hex(readFileSync(join(DATA, 'SHA256SUMS'))),
      files: listed.length,
      differing: [],
    });
    expect(dataIntegrityWarnings(d)).toEqual([]);
  });

  it('a file that differs, or is missing, gives one warning line naming it', async () => {
    const dir = dataCopy();
    cutCurve(dir, 'HST_ACS_WFC.F475W', 0.5);
    const d = await checkDataFolder(dir);
    expect(d.files).toBe(2);
    expect(d.differing.map((f) => f.name)).toEqual(['filters/HST_ACS_WFC.F475W.dat']);
    expect(dataIntegrityWarnings(d)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^xclass: warning: data file ${dir}/filters/HST_ACS_WFC\\.F475W\\.dat differs from ${dir}/SHA256SUMS \\(sha256 [0-9a-f]{12}, listed [0-9a-f]{12}\\)$`,
        ),
      ),
    ]);
    const gone = dataCopy();
    writeFileSync(
      join(gone, 'SHA256SUMS'),
      `${readFileSync(join(gone, 'SHA256SUMS'), 'utf8')}${'0'.repeat(64)}  ./filters/none.dat\n`,
    );
    expect(dataIntegrityWarnings(await checkDataFolder(gone))).toEqual([
      `xclass: warning: data file ${gone}/filters/none.dat is missing or unreadable (listed in ${gone}/SHA256SUMS)`,
    ]);
    // a folder without SHA256SUMS (a user's own) is recorded as unchecked, without a warning
    const own = tempDir('xclass-data-');
    symlinkSync(join(DATA, 'filters'), join(own, 'filters'));
    expect(await checkDataFolder(own)).toEqual({ dir: own, sha256sums: null, files: 0, differing: [] });
  });

  it('every bundled filter curve passes the curve checks', async () => {
    const names = await knownFilterNames(DATA);
    expect(names).toHaveLength(90);
    for (const n of names) await loadFilter(DATA, n);
  });

  it('a curve cut to half its rows, one too short, a negative throughput, a shifted curve: one line naming file and row', async () => {
    const dir = dataCopy();
    const path = join(dir, 'filters', '2MASS.J.dat');
    const original = readFileSync(path, 'utf8');
    cutCurve(dir, '2MASS.J', 0.5);
    await expect(loadFilter(dir, '2MASS.J')).rejects.toThrow(
      /^filters\/2MASS\.J\.dat, row \d+: the curve stops at \d+% of its peak at \d+(\.\d+)? A: it does not cover its band \(cut short\?\)$/,
    );
    // F475W's file runs 3510-10500 A around a 3877-5539 A band: its first half still holds the whole band and passes
    // the curve checks (so do 19 other curves with long zero tails); only SHA256SUMS tells (the test above)
    cutCurve(dir, 'HST_ACS_WFC.F475W', 0.5);
    await loadFilter(dir, 'HST_ACS_WFC.F475W');
    writeFileSync(path, '# a\n1000 0\n1100 1\n1200 0\n');
    await expect(loadFilter(dir, '2MASS.J')).rejects.toThrow(
      /^filters\/2MASS\.J\.dat: expected at least 10 rows of a filter curve, found 3$/,
    );
    const rows = original.split('\n');
    const firstData = rows.findIndex((l) => l !== '' && !l.startsWith('#'));
    rows[firstData + 3] = `${rows[firstData + 3]!.split(/\s+/)[0]} -0.5`;
    writeFileSync(path, rows.join('\n'));
    await expect(loadFilter(dir, '2MASS.J')).rejects.toThrow(
      new RegExp(
        `^filters/2MASS\\.J\\.dat, row ${firstData + 4}: throughput -0\\.5 is below -1% of the curve's peak 1$`,
      ),
    );
    // F475W's curve moved 2000 A to the red: it no longer transmits at 4750 A, the wavelength its name gives
    const f475 = readFileSync(join(DATA, 'filters', 'HST_ACS_WFC.F475W.dat'), 'utf8')
      .split('\n')
      .map((l) => (l === '' || l.startsWith('#') ? l : l.replace(/^(\S+)/, (w) => String(Number(w) + 2000))))
      .join('\n');
    writeFileSync(join(dir, 'filters', 'HST_ACS_WFC.F475W.dat'), f475);
    await expect(loadFilter(dir, 'HST_ACS_WFC.F475W')).rejects.toThrow(
      /^filters\/HST_ACS_WFC\.F475W\.dat: the curve transmits \d+% of its peak at 4750 A, the wavelength its name gives \(expected >= 10%\)$/,
    );
  });
});
