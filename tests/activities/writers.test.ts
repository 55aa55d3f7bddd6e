import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readTableLayout, readTargetTable } from '../../activities/io/formats/registry.js';
import {
  formatOfPath,
  toCsv,
  toEcsv,
  toFits,
  toVotable,
  writeParquetTable,
  writeTableFile,
  type OutTable,
  type OutTableSource,
  type OutputFormat,
} from '../../report/table-writers.js';
import { tempDir } from '../helpers.js';

/** A hand-checkable table: a string with a space, a quote and a comma, missing values of every type, a 7-decimal position. */
const T: OutTable = {
  name: 'demo',
  columns: [
    { name: 'id', type: 'string', ucd: 'meta.id;meta.main', description: 'source id' },
    { name: 'ra', type: 'double', unit: 'deg', ucd: 'pos.eq.ra;meta.main', digits: 7, description: 'right ascension' },
    { name: 'p', type: 'double', ucd: 'stat.probability', digits: 4, description: 'a probability' },
    { name: 'n', type: 'int', description: 'a count' },
    { name: 'flag', type: 'bool', description: 'a flag' },
  ],
  rows: [
    ['2CXO J110507.4-585105', 166.28104166666667, 0.557260789812237, 100, true],
    ['a "b", c', null, null, null, false],
  ],
};

describe('result tables in every output format', () => {
  it('CSV: floats at their decimals, quoting where needed, empty for missing', () => {
    expect(toCsv(T)).toBe('id,ra,p,n,flag\n2CXO J110507.4-585105,166.2810417,0.5573,100,true\n"a ""b"", c",,,,false\n');
  });

  it('ECSV, VOTable and FITS read back by XClass with their units; Parquet by DuckDB with units in its metadata', async () => {
    const dir = tempDir();
    const files = { 'demo.ecsv': toEcsv(T), 'demo.vot': toVotable(T), 'demo.fits': toFits(T) };
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(join(dir, name), content);
      const t = await readTargetTable(join(dir, name), name);
      expect(t.header, name).toEqual(['id', 'ra', 'p', 'n', 'flag']);
      expect((await readTableLayout(join(dir, name), name)).units['ra'], name).toBe('deg');
      const [a, b] = t.records;
      expect(String(a!['id']).trim(), name).toBe('2CXO J110507.4-585105');
      expect(Number(a!['ra']), name).toBeCloseTo(166.2810417, 7);
      expect(String(a!['flag']).toLowerCase(), name).toBe('true');
      expect(String(b!['id']).trim(), name).toBe('a "b", c');
      expect([b!['ra'], b!['p'], b!['n']], name).toEqual([null, null, null]);
    }
    // FITS at full precision, the text formats at the column's decimals
    expect((await readTargetTable(join(dir, 'demo.fits'), 'demo.fits')).records[0]!['p']).toBe(0.557260789812237);
    expect(Number((await readTargetTable(join(dir, 'demo.vot'), 'demo.vot')).records[0]!['p'])).toBe(0.5573);
    writeFileSync(join(dir, 'demo.csv'), toCsv(T));
    await writeParquetTable(T, join(dir, 'demo.csv'), join(dir, 'demo.parquet'));
    const pq = await readTargetTable(join(dir, 'demo.parquet'), 'demo.parquet');
    expect(pq.records.map((r) => [r['id'], r['p'], r['flag']])).toEqual([
      ['2CXO J110507.4-585105', 0.5573, true],
      ['a "b", c', null, false],
    ]);
    const { withConnection, sqlString } = await import('../../artifacts/duckdb.js');
    const kv = await withConnection(async (c) =>
      (
        await c.runAndReadAll(
          `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(join(dir, 'demo.parquet'))})`,
        )
      ).getRowObjectsJson(),
    );
    expect(kv).toContainEqual({ k: 'units', v: '{"ra":"deg"}' });
  });

  it('a table written a part at a time is byte for byte the table written whole, in every format', async () => {
    const dir = tempDir();
    // 5 rows in parts of 2, 0, 2 and 1; the longest string (for FITS's width) in the last part
    const rows = [
      ...T.rows,
      ['c', 1.5, 0.25, 3, null],
      ['d', 2, 1, 4, true],
      ['a much longer id, quoted', 3, 0, 5, false],
    ];
    const cut = [rows.slice(0, 2), [], rows.slice(2, 4), rows.slice(4)];
    const source = (n = rows.length): OutTableSource => ({
      name: T.name,
      columns: T.columns,
      rows: n,
      async *parts() {
        for (const part of cut) yield part;
      },
    });
    const t: OutTable = { ...T, rows };
    const whole: Record<string, string | Uint8Array> = {
      csv: toCsv(t),
      ecsv: toEcsv(t),
      votable: toVotable(t),
      fits: toFits(t),
    };
    for (const [format, bytes] of Object.entries(whole)) {
      const path = join(dir, `t.${format}`);
      await writeTableFile(source(), format as OutputFormat, path);
      expect(readFileSync(path), format).toEqual(Buffer.from(bytes));
    }
    // FITS: 5 rows of 24 (the longest id, in the last part) + 8 + 8 + 8 + 1 bytes, one 2880-byte record after two header records
    expect(readFileSync(join(dir, 't.fits')).length).toBe(3 * 2880);
    await writeTableFile(source(), 'parquet', join(dir, 't.parquet'));
    const pq = await readTargetTable(join(dir, 't.parquet'), 't.parquet');
    expect(pq.records.map((r) => r['id'])).toEqual(rows.map((r) => r[0]));
    // a source that yields fewer rows than it announced is refused, not written short
    await expect(writeTableFile(source(6), 'csv', join(dir, 'short.csv'))).rejects.toThrow('5 rows read, 6 expected');
    // and a file already there is never replaced
    await expect(writeTableFile(source(), 'csv', join(dir, 't.csv'))).rejects.toThrow(/EEXIST/);
  });

  it('the format from the --out extension', () => {
    expect(['a.csv', 'a.ecsv', 'a.vot', 'a.xml', 'a.fits', 'a.fit', 'a.parquet', 'a.txt'].map(formatOfPath)).toEqual([
      'csv',
      'ecsv',
      'votable',
      'votable',
      'fits',
      'fits',
      'parquet',
      undefined,
    ]);
  });
});
