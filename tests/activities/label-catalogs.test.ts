import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTaggedValue, readLabelCatalog } from '../../activities/io/label-catalogs.js';
import type { LabelCatalog } from '../../schemas/labels.js';
import { DATA, tempDir } from '../helpers.js';

const cat = (format: LabelCatalog['format'], name: string): LabelCatalog => ({ name, file: name, format, class: null, reference: 'ref' });
const file = (text: string) => {
  const p = join(tempDir(), 'c.txt');
  writeFileSync(p, text);
  return p;
};

describe('label catalogs', () => {
  it('reads the bundled catalogs: 187 LMXBs, 114 HMXBs, 29 magnetars', async () => {
    const lmxb = await readLabelCatalog(join(DATA, 'catalogs/liu2007_lmxb_heasarc.psv'), cat('liu2007_lmxb', 'liu2007_lmxb'), 'liu2007');
    expect(lmxb.labels).toHaveLength(187);
    expect(lmxb.labels[1]).toMatchObject({ name: '2A 0521-720', alt_names: ['LMC X-2'], line: 3 });
    expect(lmxb.labels[1]!.ra_deg).toBeCloseTo(15 * (5 + 20 / 60 + 28.04 / 3600), 9);
    const hmxb = await readLabelCatalog(join(DATA, 'catalogs/liu2006_hmxb_heasarc.tsv'), cat('liu2006_hmxb', 'liu2006_hmxb'), 'liu2006');
    expect(hmxb.labels).toHaveLength(114);
    expect(hmxb.labels[0]).toMatchObject({ name: '1H 1253-761', alt_names: ['HD 109857'], line: 3 });
    expect(hmxb.skipped).toEqual([{ catalog: 'liu2006_hmxb', line: 1, reason: 'web-export line before the header: "Service"' }]);
    const mag = await readLabelCatalog(join(DATA, 'catalogs/mcgill_magnetar_heasarc_2015.tsv'), cat('mcgill_magnetar', 'mcgill'), 'mcgill');
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
    await expect(readLabelCatalog(file('\n\n'), cat('liu2006_hmxb', 'x'), 'x.tsv')).rejects.toThrow('x.tsv: file is empty');
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
