import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTaggedValue, readLabelCatalog, readMeColumns } from '../../activities/io/label-catalogs.js';
import type { LabelCatalog } from '../../schemas/labels.js';
import { DATA, tempDir } from '../helpers.js';

const cat = (format: LabelCatalog['format'], name: string): LabelCatalog => ({
  name,
  file: name,
  format,
  class: null,
  reference: 'ref',
});
const file = (text: string) => {
  const p = join(tempDir(), 'c.txt');
  writeFileSync(p, text);
  return p;
};

describe('label catalogs', () => {
  it('reads the bundled catalogs: 187 LMXBs, 114 HMXBs, 29 magnetars', async () => {
    const lmxb = await readLabelCatalog(
      join(DATA, 'catalogs/liu2007_lmxb_heasarc.psv'),
      cat('liu2007_lmxb', 'liu2007_lmxb'),
      'liu2007',
    );
    expect(lmxb.labels).toHaveLength(187);
    expect(lmxb.labels[1]).toMatchObject({ name: '2A 0521-720', alt_names: ['LMC X-2'], line: 3 });
    expect(lmxb.labels[1]!.ra_deg).toBeCloseTo(15 * (5 + 20 / 60 + 28.04 / 3600), 9);
    const hmxb = await readLabelCatalog(
      join(DATA, 'catalogs/liu2006_hmxb_heasarc.tsv'),
      cat('liu2006_hmxb', 'liu2006_hmxb'),
      'liu2006',
    );
    expect(hmxb.labels).toHaveLength(114);
    expect(hmxb.labels[0]).toMatchObject({ name: '1H 1253-761', alt_names: ['HD 109857'], line: 3 });
    expect(hmxb.skipped).toEqual([
      { catalog: 'liu2006_hmxb', line: 1, reason: 'web-export line before the header: "Service"' },
    ]);
    const mag = await readLabelCatalog(
      join(DATA, 'catalogs/mcgill_magnetar_heasarc_2015.tsv'),
      cat('mcgill_magnetar', 'mcgill'),
      'mcgill',
    );
    expect(mag.labels).toHaveLength(29);
    expect(mag.labels[0]).toMatchObject({ name: 'CXOU J010043.1-721134', period_s: 8.020392, class_raw: 'NS' });
    expect(mag.labels[0]!.dec_deg).toBeCloseTo(-(72 + 11 / 60 + 33.8 / 3600), 9);
    expect(mag.labels.some((l) => l.name === 'PSR J1846-0258')).toBe(true); // footnote mark dropped
    expect(mag.skipped.every((s) => s.reason === 'repeated header or units line')).toBe(true);
  });

  it('reports each malformed line with its catalog and line number', async () => {
    const psv = file('|name |ra |dec |\n|A |16 03 54.00|-77 53 06.0|\n|B |99 99 99|+10 00 00|\n|C |01 00 00|\n');
    const r = await readLabelCatalog(psv, cat('liu2007_lmxb', 'lmxb'), 'lmxb.psv');
    expect(r.labels.map((l) => l.name)).toEqual(['A']);
    expect(r.skipped).toEqual([
      { catalog: 'lmxb', line: 3, reason: 'unreadable position: ra "99 99 99", dec "+10 00 00"' },
      { catalog: 'lmxb', line: 4, reason: "expected 5 '|'-separated fields, found 4" },
    ]);
    await expect(readLabelCatalog(file('|nom |ra |dec |\n'), cat('liu2007_lmxb', 'x'), 'x.psv')).rejects.toThrow(
      "x.psv, row 1, column 'name': required column is missing from the header",
    );
    await expect(readLabelCatalog(file('\n\n'), cat('liu2006_hmxb', 'x'), 'x.tsv')).rejects.toThrow(
      'x.tsv: file is empty',
    );
  });

  it('parses values with uncertainties and reference tags', () => {
    expect(parseTaggedValue('8.020392(9) [mgr+05]')).toBe(8.020392);
    expect(parseTaggedValue('0.063+0.020-0.016 [tem08]')).toBe(0.063);
    expect(parseTaggedValue('~65')).toBe(65);
    expect(parseTaggedValue('67.9*')).toBe(67.9);
    expect(parseTaggedValue('...')).toBeNull();
    expect(parseTaggedValue('')).toBeNull();
  });
});

describe('the current label catalogues (Fortin et al. 2023/2024, Abril et al. 2020)', () => {
  it('reads Fortin et al. 2023: 164 HMXBs with their subtypes, CSC 2.0 names and Gaia DR3 ids', async () => {
    const r = await readLabelCatalog(
      join(DATA, 'catalogs/fortin2023_hmxbcat.csv'),
      cat('fortin2023_hmxb', 'fortin_hmxb'),
      'fortin2023_hmxbcat.csv',
    );
    expect(r.labels).toHaveLength(164);
    expect(r.skipped).toEqual([]);
    // the first row, checked by hand against the file
    expect(r.labels[0]).toMatchObject({
      name: 'IGR J00370+6122',
      class_raw: 'HMXB',
      subclass: 'sg',
      line: 2,
      period_s: 674,
    });
    expect(r.labels[0]!.ra_deg).toBeCloseTo(9.290132580203235, 12);
    expect(r.labels[0]!.ids.gaia).toBe('427234969757165952');
    expect(r.labels.find((l) => l.name === 'gam Cas')).toMatchObject({ subclass: 'Be' });
    // Chandra_ID is filled for 81 rows (MANIFEST), but 4 of them name another mission's source: 77 CSC 2.0 names
    const csc = r.labels.filter((l) => l.ids.csc !== null);
    expect(csc).toHaveLength(77);
    expect(csc.every((l) => /^2CXO J\d{6}\.\d[+-]\d{6}/.test(l.ids.csc!))).toBe(true);
    expect(r.labels.filter((l) => l.alt_names.some((a) => /^(2SXPS|CXOU|GRO|4U) /.test(a)))).toHaveLength(4);
    // an extended CSC source keeps its X suffix
    expect(csc.some((l) => l.ids.csc === '2CXO J035523.1+310244X')).toBe(true);
    // the quirks: LaTeX in a subtype, a detached question mark, empty subtypes
    const subs = new Set(r.labels.map((l) => l.subclass));
    expect(subs.has('gamma Be')).toBe(true);
    expect(subs.has('Be?')).toBe(true);
    expect([...subs].some((x) => x !== null && /[$\\]| \?/.test(x))).toBe(false);
    expect(r.labels.filter((l) => l.subclass === null)).toHaveLength(23);
    expect(r.labels.filter((l) => l.subclass === 'Be')).toHaveLength(67);
  });

  it('reads Fortin et al. 2024: 339 rows, 338 LMXBs with a position, NS/BH and confirmed/candidate', async () => {
    const r = await readLabelCatalog(
      join(DATA, 'catalogs/fortin2024_lmxbcat.csv'),
      cat('fortin2024_lmxb', 'fortin_lmxb'),
      'fortin2024_lmxbcat.csv',
    );
    // 339 rows; MXB 1743-29 (line 189) has no position and is skipped with its reason
    expect(r.labels).toHaveLength(338);
    expect(r.skipped).toEqual([{ catalog: 'fortin_lmxb', line: 189, reason: 'unreadable position: ra "", dec ""' }]);
    expect(r.labels[0]).toMatchObject({
      name: 'CXOGlb J002353.9-720350',
      alt_names: ['NGC 104 125'],
      class_raw: 'LMXB',
      subclass: 'NS confirmed',
    });
    expect(r.labels[0]!.dec_deg).toBeCloseTo(-72.0639, 12);
    expect(r.labels.filter((l) => l.subclass?.endsWith('candidate'))).toHaveLength(74);
    expect(r.labels.filter((l) => l.subclass?.startsWith('BH '))).toHaveLength(75);
    expect(r.labels.filter((l) => l.subclass === 'NS confirmed')).toHaveLength(173);
    // Chandra_ID for 163 rows, one of them a globular-cluster catalogue name (CXOGlb J182432.8-245208), not CSC 2.0
    expect(r.labels.filter((l) => l.ids.csc !== null)).toHaveLength(162);
    expect(r.labels.some((l) => l.alt_names.includes('CXOGlb J182432.8-245208'))).toBe(true);
    expect(r.labels[0]!.ids.csc).toBe('2CXO J002353.9-720350');
  });

  it('reads Abril et al. 2020 from its fixed-width table through the VizieR ReadMe: 1,198 CVs with subtypes and Gaia DR2 ids', async () => {
    const cols = readMeColumns(readFileSync(join(DATA, 'catalogs/abril2020_cv_ReadMe.txt'), 'utf8'), 'catalog.dat');
    expect(cols.slice(0, 4)).toEqual([
      { from: 1, to: 12, format: 'A12', label: 'Name' },
      { from: 14, to: 33, format: 'A20', label: 'AltName' },
      { from: 35, to: 51, format: 'F17.13', label: 'RAdeg' },
      { from: 53, to: 69, format: 'F17.13', label: 'DEdeg' },
    ]);
    const r = await readLabelCatalog(
      join(DATA, 'catalogs/abril2020_cv_catalog.dat'),
      cat('abril2020_cv', 'abril_cv'),
      'abril2020_cv_catalog.dat',
      join(DATA, 'catalogs/abril2020_cv_ReadMe.txt'),
    );
    expect(r.labels).toHaveLength(1198);
    expect(r.skipped).toEqual([]);
    expect(r.labels[0]).toMatchObject({
      name: 'J2052-0239',
      alt_names: [],
      class_raw: 'CV',
      subclass: 'DN SU',
      line: 1,
    });
    expect(r.labels[0]!.ra_deg).toBe(313.2196851961664);
    expect(r.labels[0]!.dec_deg).toBe(-2.6646887231578);
    expect(r.labels[0]!.ids.gaia).toBe('6916720061963174016');
    // subtypes as Ritter & Kolb and Downes write them: dwarf novae 720, nova-likes 341, polars (AM) 138, intermediate polars 70
    const count = (t: string) => r.labels.filter((l) => l.subclass?.split(' ').includes(t)).length;
    expect([count('DN'), count('NL'), count('AM'), count('IP')]).toEqual([720, 341, 138, 70]);
  });

  it('refuses a fixed-width table without its ReadMe, and a ReadMe that does not describe the table', async () => {
    await expect(
      readLabelCatalog(join(DATA, 'catalogs/abril2020_cv_catalog.dat'), cat('abril2020_cv', 'abril_cv'), 'abril.dat'),
    ).rejects.toThrow(/abril\.dat: a fixed-width VizieR table is read through its ReadMe/);
    expect(() => readMeColumns('Byte-by-byte Description of file: other.dat\n---\n', 'catalog.dat')).toThrow(
      /no "Byte-by-byte Description"/,
    );
  });
});
