import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sqlString, withConnection } from '../../artifacts/duckdb.js';
import { validateRows, writeColumns, writeParquet, writeParquetSelect } from '../../artifacts/parquet.js';
import {
  checkFeatureBlocks,
  FEATURE_PROVENANCE,
  featureBlocksQuery,
  type FeatureBlock,
} from '../../activities/io/target-features.js';
import { targetFeaturesTable, type TargetFeatureRow } from '../../schemas/catalog.js';
import { tempDir } from '../helpers.js';

/** A block of n sources and the given feature names, every value distinct; `missing(i, k)` makes a value null (imputed). */
function block(prefix: string, n: number, names: string[], missing: (i: number, k: number) => boolean): FeatureBlock {
  const nf = names.length;
  const b: FeatureBlock = {
    ids: Array.from({ length: n }, (_, i) => `${prefix} J${1000 + i}`),
    names,
    value: new Float64Array(n * nf),
    known: new Uint8Array(n * nf),
    used: new Float64Array(n * nf),
    provenance: new Uint8Array(n * nf),
  };
  for (let i = 0; i < n; i++)
    for (let k = 0; k < nf; k++) {
      const j = i * nf + k;
      if (missing(i, k)) {
        b.used[j] = -0.25 * k;
        b.provenance[j] = 2;
      } else {
        b.value[j] = Math.sin(j + 1) * 10 ** (k % 5);
        b.known[j] = 1;
        b.used[j] = b.value[j]!;
        b.provenance[j] = j % 2;
      }
    }
  return b;
}

/** The blocks' rows as the table holds them, the blocks in order, each source's features in order. */
function rowsOf(blocks: FeatureBlock[]): TargetFeatureRow[] {
  return blocks.flatMap((b) =>
    b.ids.flatMap((id, i) =>
      b.names.map((feature, k) => {
        const j = i * b.names.length + k;
        return {
          id,
          feature,
          value: b.known[j] ? b.value[j]! : null,
          used: b.used[j]!,
          provenance: FEATURE_PROVENANCE[b.provenance[j]!]!,
        };
      }),
    ),
  );
}

describe('writeColumns', () => {
  it('writes numbers, NULLs and text across data chunks exactly', async () => {
    const dir = tempDir();
    const n = 5000; // three chunks of at most 2,048 rows
    const x = Float64Array.from({ length: n }, (_, i) => [-0, 5e-324, 1e308, 0.1 + 0.2][i % 4]! * (i + 1));
    const known = Uint8Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : 1));
    const code = Uint8Array.from({ length: n }, (_, i) => i % 3);
    const text = Array.from({ length: n }, (_, i) => `s'${i}`);
    const file = join(dir, 'c.parquet');
    await writeColumns(
      [
        { name: 'x', type: 'DOUBLE', values: x, known },
        { name: 'c', type: 'INTEGER', values: code },
        { name: 't', type: 'VARCHAR', values: text },
      ],
      n,
      file,
    );
    const back = await withConnection(async (conn) =>
      (await conn.runAndReadAll(`SELECT x, c, t FROM read_parquet(${sqlString(file)})`)).getRows(),
    );
    expect(back).toHaveLength(n);
    back.forEach(([bx, bc, bt], i) => {
      expect(bx).toBe(known[i] ? x[i] : null); // toBe is Object.is: -0 stays -0
      expect(bc).toBe(code[i]);
      expect(bt).toBe(text[i]);
    });
    await expect(
      writeColumns([{ name: 'x', type: 'DOUBLE', values: x }], n + 1, join(dir, 'd.parquet')),
    ).rejects.toThrow(/column x has 5000 values, not 5001/);
  });
});

describe('feature blocks', () => {
  const names28 = Array.from({ length: 28 }, (_, k) => `f${k}`);
  const names12 = Array.from({ length: 12 }, (_, k) => `x${k}`);

  it('unfold into the very file the rows make, row for row and byte for byte', async () => {
    const dir = tempDir();
    const blocks = [
      block('full', 300, names28, (i, k) => (i * 7 + k) % 11 === 0),
      block('empty', 0, names12, () => false),
      block('xray', 90, names12, (i) => i % 5 === 0),
    ];
    const rows = rowsOf(blocks);
    expect(rows).toHaveLength(300 * 28 + 90 * 12);
    checkFeatureBlocks(blocks, 'here');
    validateRows(targetFeaturesTable, rows, 'here');
    const fromRows = join(dir, 'rows.parquet');
    const fromBlocks = join(dir, 'blocks.parquet');
    await writeParquet(targetFeaturesTable, rows, fromRows);
    await writeParquetSelect(targetFeaturesTable, await featureBlocksQuery(blocks, dir, 'wide'), fromBlocks);
    expect(readFileSync(fromBlocks).equals(readFileSync(fromRows))).toBe(true);
  });

  it('of no source make the table with no row', async () => {
    const dir = tempDir();
    const file = join(dir, 'none.parquet');
    await writeParquetSelect(targetFeaturesTable, await featureBlocksQuery([], dir, 'wide'), file);
    const [n] = await withConnection(async (conn) =>
      (await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${sqlString(file)})`)).getRows(),
    );
    expect(n![0]).toBe(0n);
  });

  it('are checked as the store checks rows: the first bad value, its row over the blocks, column and value', () => {
    const blocks = [block('full', 4, names28, () => false), block('xray', 5, names12, () => false)];
    blocks[1]!.used[2 * 12 + 3] = Number.NaN;
    blocks[1]!.value[3 * 12 + 1] = Number.POSITIVE_INFINITY;
    // the row the rows' check names, counted over both blocks
    expect(() => validateRows(targetFeaturesTable, rowsOf(blocks), 'zone 1')).toThrow(
      /^zone 1, row 139, column 'used': expected number, received NaN/,
    );
    expect(() => checkFeatureBlocks(blocks, 'zone 1')).toThrow(
      /^zone 1, row 139, column 'used': expected number, received NaN/,
    );
    blocks[1]!.used[2 * 12 + 3] = 0;
    expect(() => checkFeatureBlocks(blocks, 'zone 1')).toThrow(/^zone 1, row 149, column 'value'/);
    // a missing value is not read
    blocks[1]!.known[3 * 12 + 1] = 0;
    expect(() => checkFeatureBlocks(blocks, 'zone 1')).not.toThrow();
    blocks[0]!.ids[2] = '';
    expect(() => checkFeatureBlocks(blocks, 'zone 1')).toThrow(/^zone 1, row 56, column 'id'/);
  });
});
