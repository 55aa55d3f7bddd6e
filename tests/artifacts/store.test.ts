import { TABLES } from '../../activities/registry.js';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import parquet from '@dsnp/parquetjs';
import { ArtifactStore } from '../../artifacts/store.js';
import { withConnection, sqlString } from '../../artifacts/duckdb.js';
import { parquetLayoutCheck, readParquet } from '../../artifacts/parquet.js';
import { sourcesTable, referencePredictionsTable, type ReferencePredictionRow } from '../../schemas/tables.js';
import { prediction, referenceMeta } from './fixtures.js';
import { tempDir } from '../helpers.js';

const meta = referenceMeta;

const rows = [prediction('a', 0.25), prediction('b', null), prediction('c', 1)];

describe('artifact store', () => {
  it('round-trips rows through Parquet and meta.json', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    expect((await store.check('reference', m.id)).state).toBe('absent');
    expect(await store.write(m, { table: referencePredictionsTable, rows })).toBe(true);
    expect((await store.check('reference', m.id)).state).toBe('ok');
    expect(await store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id })).toEqual(rows);
    const stored = await store.readMeta('reference', m.id);
    expect(stored.row_count).toBe(3);
    expect(stored.files.map((f) => f.name)).toEqual(['data.parquet']);
    expect(stored.files[0]!.bytes).toBe(statSync(join(store.dir('reference', m.id), 'data.parquet')).size);
    expect(readdirSync(join(store.root, 'reference', m.id)).sort()).toEqual(['data.parquet', 'meta.json']);
    expect(await store.tempEntries()).toEqual([]);
  });

  it('writes a main table from a SELECT over stored files: the rows in its order, counted in meta.json', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    await store.write(m, { table: referencePredictionsTable, rows });
    const file = await store.verifiedPath(await store.readMeta('reference', m.id), 'data.parquet');
    const merged = meta({ n: 2 });
    const query = { from: `read_parquet(${sqlString(file)}) x`, order: 'x.id DESC' };
    expect(await store.write(merged, { table: referencePredictionsTable, query })).toBe(true);
    expect(await store.readTable(referencePredictionsTable, { stage: 'reference', id: merged.id })).toEqual(
      [...rows].reverse(),
    );
    expect((await store.readMeta('reference', merged.id)).row_count).toBe(3);
    expect(await store.tempEntries()).toEqual([]);
  });

  it('never overwrites a stored artifact: a second write of the same id is a no-op', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    await store.write(m, { table: referencePredictionsTable, rows });
    const before = readFileSync(join(store.dir('reference', m.id), 'meta.json'), 'utf8');
    expect(await store.write(m, { table: referencePredictionsTable, rows: [prediction('zzz', 0.5)] })).toBe(false);
    expect(readFileSync(join(store.dir('reference', m.id), 'meta.json'), 'utf8')).toBe(before);
    expect(await store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id })).toEqual(rows);
  });

  it('lets concurrent writers of one id both succeed with one intact copy', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => store.write(m, { table: referencePredictionsTable, rows })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id })).toEqual(rows);
    expect(await store.tempEntries()).toEqual([]);
  });

  it('rejects a row that breaks the schema, naming artifact, row, column and value, and writes nothing', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    const bad = [prediction('a', 0.25), { ...prediction('b', 0.5), p_cv: 'high' }];
    await expect(
      store.write(m, { table: referencePredictionsTable, rows: bad as ReferencePredictionRow[] }),
    ).rejects.toThrow(/^artifact reference\/[0-9a-f]{12}, row 1, column 'p_cv': .*expected number.*got "high"$/);
    expect(existsSync(store.dir('reference', m.id))).toBe(false);
    expect(await store.tempEntries()).toEqual([]);
  });

  it('validates on read: a tampered Parquet file is reported with row, column and value', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    await store.write(m, { table: referencePredictionsTable, rows });
    const file = join(store.dir('reference', m.id), 'data.parquet');
    await withConnection(async (conn) => {
      await conn.run(
        `COPY (SELECT * REPLACE (CASE WHEN id = 'c' THEN NULL ELSE pipeline END AS pipeline) FROM read_parquet(${sqlString(file)})) TO ${sqlString(`${file}.x`)} (FORMAT parquet)`,
      );
    });
    const { renameSync } = await import('node:fs');
    renameSync(`${file}.x`, file);
    // the checksum catches the swap before any row is read
    await expect(store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id })).rejects.toThrow(
      /data\.parquet: (size \d+ bytes|sha256 [0-9a-f]{12}), meta\.json says/,
    );
    // and the schema catches a bad row in any Parquet file read as this table
    await expect(readParquet(referencePredictionsTable, file, 'swapped')).rejects.toThrow(
      /^swapped, row 2, column 'pipeline'.*got null/,
    );
  });

  it("reads back a written Parquet file's layout in SQL: columns, types, row count, NULLs where none may be", async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    await store.write(m, { table: referencePredictionsTable, rows });
    const file = join(store.dir('reference', m.id), 'data.parquet');
    expect(await parquetLayoutCheck(referencePredictionsTable, file, 'f')).toBe(3);
    // another table's layout
    await expect(parquetLayoutCheck(sourcesTable, file, 'f')).rejects.toThrow(
      /^f: Parquet file has columns \(id VARCHAR, .*\), the schema sources declares \(id VARCHAR, ra_deg DOUBLE, /,
    );
    // a column of another type, and a NULL in a column declared NOT NULL
    const rewrite = async (select: string) => {
      const out = join(tempDir(), 'x.parquet');
      await withConnection((conn) =>
        conn.run(`COPY (SELECT ${select} FROM read_parquet(${sqlString(file)})) TO ${sqlString(out)} (FORMAT parquet)`),
      );
      return out;
    };
    await expect(
      parquetLayoutCheck(
        referencePredictionsTable,
        await rewrite('* REPLACE (CAST(predicted_prob AS VARCHAR) AS predicted_prob)'),
        'f',
      ),
    ).rejects.toThrow(/predicted_prob VARCHAR/);
    await expect(
      parquetLayoutCheck(
        referencePredictionsTable,
        await rewrite("* REPLACE (CASE WHEN id = 'b' THEN NULL ELSE pipeline END AS pipeline)"),
        'f',
      ),
    ).rejects.toThrow(/^f, column 'pipeline': NULL in a column declared NOT NULL/);
  });

  it('writes standard Parquet: an independent reader (parquetjs) sees the same values', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    await store.write(m, { table: referencePredictionsTable, rows });
    const reader = await parquet.ParquetReader.openFile(join(store.dir('reference', m.id), 'data.parquet'));
    const cursor = reader.getCursor();
    const seen: Record<string, unknown>[] = [];
    for (let rec = await cursor.next(); rec; rec = await cursor.next()) seen.push(rec as Record<string, unknown>);
    await reader.close();
    expect(seen.map((r) => r['id'])).toEqual(['a', 'b', 'c']);
    expect(seen.map((r) => r['predicted_prob'] ?? null)).toEqual([0.25, null, 1]);
    expect(seen[0]!['confidence_threshold']).toBe(1.5);
  });

  it('sweeps temp directories of dead writers and keeps live ones', async () => {
    const store = new ArtifactStore(tempDir());
    const { hostname } = await import('node:os');
    const dead = `ingest-0123456789ab-${hostname()}-999999-deadbeef`;
    const live = `ingest-0123456789ab-${hostname()}-${process.pid}-cafebabe`;
    mkdirSync(join(store.root, '_tmp', dead), { recursive: true });
    mkdirSync(join(store.root, '_tmp', live), { recursive: true });
    expect(await store.sweepTemp()).toEqual([dead]);
    expect(await store.tempEntries()).toEqual([live]);
  });

  it('stores named side tables beside the main one and reads each back', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta({ n: 2 });
    await store.write(m, {
      table: referencePredictionsTable,
      rows,
      extraTables: { top: { table: referencePredictionsTable, rows: [rows[2]!] } },
    });
    const stored = await store.readMeta('reference', m.id);
    expect(stored.tables).toEqual({ data: 'reference_predictions', top: 'reference_predictions' });
    expect(stored.table_rows).toEqual({ data: 3, top: 1 });
    expect(stored.files.map((f) => f.name)).toEqual(['data.parquet', 'top.parquet']);
    expect(await store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id }, 'top')).toEqual([
      rows[2],
    ]);
    await expect(store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id }, 'nope')).rejects.toThrow(
      /has no table 'nope' \(tables: data, top\)/,
    );
    // a table is read only under its own schema; tools that take any artifact read it by the schema its meta.json names
    await expect(store.readTable(sourcesTable, { stage: 'reference', id: m.id })).rejects.toThrow(
      /table 'data' has schema reference_predictions, read as sources/,
    );
    expect(await store.readAnyTable(TABLES, 'reference', m.id, 'top')).toEqual([rows[2]]);
  });

  it('keeps a value derived from an artifact while its files are unchanged, and checks them on every call', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta({ derived: 1 });
    await store.write(m, { table: referencePredictionsTable, rows });
    const ref = { stage: 'reference', id: m.id };
    let computed = 0;
    const compute = async () => ({ n: ++computed });
    const a = await store.derived(ref, 'count', ['data.parquet'], compute);
    const b = await store.derived(ref, 'count', ['data.parquet'], compute);
    expect(b).toBe(a);
    expect(computed).toBe(1);
    // another kind of value is another entry
    expect(await store.derived(ref, 'other', ['data.parquet'], compute)).toEqual({ n: 2 });
    // a damaged file is refused, not served from the cache
    const file = join(store.dir('reference', m.id), 'data.parquet');
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(store.derived(ref, 'count', ['data.parquet'], compute)).rejects.toThrow(
      /data\.parquet: sha256 [0-9a-f]{12}, meta\.json says/,
    );
  });

  it('reads a table once while its file is unchanged: the same frozen rows, its file still checked on every read', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta({ cachedRead: 1 });
    await store.write(m, { table: referencePredictionsTable, rows });
    const ref = { stage: 'reference', id: m.id };
    const first = await store.readTable(referencePredictionsTable, ref);
    expect(first).toEqual(rows);
    expect(await store.readTable(referencePredictionsTable, ref)).toBe(first);
    // shared rows cannot be changed by one reader under another
    expect(Object.isFrozen(first)).toBe(true);
    expect(Reflect.set(first[0]!, 'id', 'changed')).toBe(false);
    expect(first[0]!.id).toBe('a');
    // a damaged file is refused, not served from memory
    const file = join(store.dir('reference', m.id), 'data.parquet');
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    writeFileSync(file, bytes);
    await expect(store.readTable(referencePredictionsTable, ref)).rejects.toThrow(
      /data\.parquet: sha256 [0-9a-f]{12}, meta\.json says/,
    );
  });

  it('finds an artifact by id prefix across stages', async () => {
    const store = new ArtifactStore(tempDir());
    const m = meta();
    await store.write(m, { table: referencePredictionsTable, rows });
    expect((await store.findById(m.id.slice(0, 10)))?.id).toBe(m.id);
    expect(await store.findById('ffffffffffff0000')).toBeUndefined();
  });
});
