import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sqlString, withConnection } from '../../artifacts/duckdb.js';
import { openTableZones, readTargetTable } from '../../activities/io/formats/registry.js';
import { declinationZones, inZone, nearZone, sourcesPerZone } from '../../lib/sky/zones.js';
import { tempDir } from '../helpers.js';

describe('declination zones', () => {
  it('cut at the sources’ own declinations into equal counts, covering the sphere', () => {
    const decs = [-30, -10, 0, 5, 10, 20, 40, 60];
    const zones = declinationZones(decs, 3);
    expect(zones.map((z) => [z.lo, z.hi, z.last])).toEqual([
      [-90, 5, false],
      [5, 20, false],
      [20, 90, true],
    ]);
    expect(zones.map((z) => decs.filter((d) => inZone(z, d)).length)).toEqual([3, 2, 3]);
    // every declination, the poles and the cuts included, in exactly one zone
    for (const d of [-90, -89.999, 5, 19.999999, 20, 89.5, 90])
      expect(zones.filter((z) => inZone(z, d)).length, `${d}`).toBe(1);
    expect(nearZone(zones[1]!, 4.5, 0.5)).toBe(true);
    expect(nearZone(zones[1]!, 4.4, 0.5)).toBe(false);
  });

  it('one zone for a small field; sources at one declination never split', () => {
    expect(declinationZones([1, 2, 3], 3)).toEqual([{ index: 0, lo: -90, hi: 90, last: true }]);
    expect(declinationZones([], 3)).toHaveLength(1);
    // the cuts would both fall at 7: one cut there, and the zone north of it holds all six
    const same = declinationZones([7, 7, 7, 7, 7, 8], 2);
    expect(same.map((z) => [z.lo, z.hi])).toEqual([
      [-90, 7],
      [7, 90],
    ]);
  });
});

describe('how many sources a zone holds', () => {
  it('at most zone_sources, and fewer where the catalogs are large', () => {
    const MB = 2 ** 20;
    // 300,000 sources, 73 MB of catalog, zones of 20,000 and 64 MB: 15 zones of 20,000
    expect(sourcesPerZone(300_000, 73 * MB, 20_000, 64 * MB)).toBe(20_000);
    // 10,000 sources against 750 MB: 12 zones of 834
    expect(sourcesPerZone(10_000, 750 * MB, 20_000, 64 * MB)).toBe(834);
    // a small field and catalog: one zone
    expect(sourcesPerZone(25, 30_000, 20_000, 64 * MB)).toBe(25);
    expect(sourcesPerZone(0, 0, 20_000, 64 * MB)).toBe(1);
    expect(sourcesPerZone(25, 0, Infinity, Infinity)).toBe(25);
  });
});

describe('a catalog read a band of declinations at a time', () => {
  // comments above and among the rows, a quoted field across two lines, a sexagesimal, an empty and an
  // impossible declination (kept by every band, so the caller parses and refuses them as it would whole)
  const csv = [
    '# a comment above the header',
    'id,ra,dec,note',
    's1,10.0,-30.5,plain',
    '# a comment among the rows',
    's2,10.1,-30.0,"two',
    'lines"',
    's3,10.2,-29.0,x',
    's4,10.3,-12 30 00,sexagesimal',
    's5,10.4,,empty',
    's6,10.5,95,impossible',
    's7,10.6,-29.5,last',
    '',
  ].join('\n');

  /** The whole table cut in JavaScript by the same rule: what a band must give, records and lines. */
  async function expected(path: string, name: string, lo: number, hi: number) {
    const t = await readTargetTable(path, name);
    const keep = t.records.map((r) => {
      const v = Number(r['dec']);
      return r['dec'] === null || r['dec'] === '' || Number.isNaN(v) || v < -90 || v > 90 || (v >= lo && v <= hi);
    });
    return { records: t.records.filter((_, i) => keep[i]), lines: t.lines.filter((_, i) => keep[i]) };
  }

  it('CSV, TSV, Parquet, gzip and VOTable: the rows and lines of the whole read in the band', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'c.csv'), csv);
    writeFileSync(join(dir, 'c.tsv'), csv.replace(/,/g, '\t'));
    writeFileSync(join(dir, 'c.csv.gz'), gzipSync(csv));
    await withConnection((conn) =>
      conn.run(
        `COPY (SELECT * FROM (VALUES ('p1', 1.5, -30.5), ('p2', 2.5, 10.0), ('p3', 3.5, -29.9)) t(id, ra, dec)) TO ${sqlString(join(dir, 'c.parquet'))} (FORMAT parquet)`,
      ),
    );
    writeFileSync(
      join(dir, 'c.vot'),
      `<?xml version="1.0"?><VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE><TABLE>
<FIELD name="id" datatype="char" arraysize="*"/><FIELD name="ra" datatype="double"/><FIELD name="dec" datatype="double"/>
<DATA><TABLEDATA><TR><TD>v1</TD><TD>1</TD><TD>-30.5</TD></TR><TR><TD>v2</TD><TD>2</TD><TD>45</TD></TR><TR><TD>v3</TD><TD>3</TD><TD>-29.2</TD></TR></TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>\n`,
    );
    for (const name of ['c.csv', 'c.tsv', 'c.csv.gz', 'c.parquet', 'c.vot']) {
      const zoned = await openTableZones(join(dir, name), name, 'dec', 1);
      for (const [lo, hi] of [
        [-31, -30],
        [-29.6, -28],
        [0, 20],
      ] as const) {
        const got = await zoned.read(lo, hi);
        const want = await expected(join(dir, name), name, lo, hi);
        expect(got.records, `${name} ${lo}..${hi}`).toEqual(want.records);
        expect(got.lines, `${name} ${lo}..${hi}`).toEqual(want.lines);
      }
    }
    const band = await (await openTableZones(join(dir, 'c.csv'), 'c.csv', 'dec', 1)).read(-30.2, -29.8);
    // s2 (its quoted field across lines 5-6), then every row whose dec is not a plain number in [-90, 90]
    expect(band.records.map((r) => r['id'])).toEqual(['s2', 's4', 's5', 's6']);
    expect(band.lines).toEqual([5, 8, 9, 10]);
  });

  it('a scale to degrees applies to the band (a column in radians)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'r.csv'), 'id,ra,dec\na,0.1,-0.5\nb,0.1,0.2\n');
    const zoned = await openTableZones(join(dir, 'r.csv'), 'r.csv', 'dec', 180 / Math.PI);
    expect((await zoned.read(-30, -28)).records.map((r) => r['id'])).toEqual(['a']);
    expect((await zoned.read(10, 12)).records.map((r) => r['id'])).toEqual(['b']);
  });
});
