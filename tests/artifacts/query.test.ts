import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryStore } from '../../artifacts/query.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { artifactId } from '../../artifacts/hash.js';
import { referencePredictionsTable } from '../../schemas/tables.js';
import { tempDir } from '../helpers.js';

async function storeWithOne(): Promise<{ store: ArtifactStore; data: string }> {
  const store = new ArtifactStore(join(tempDir(), 'store'));
  const params = { n: 1 };
  const id = artifactId('reference', 1, params, {});
  const row = {
    id: 'a',
    pipeline: 'T',
    predicted_class: 'AGN',
    predicted_prob: 0.9,
    predicted_prob_err: null,
    confidence_threshold: 1,
    p_agn: 0.9,
    p_cv: 0,
    p_hm_star: 0,
    p_hmxb: 0,
    p_lm_star: 0,
    p_lmxb: 0,
    p_ns: 0,
    p_yso: 0.1,
  };
  await store.write(
    {
      id,
      stage: 'reference',
      stage_version: 1,
      schema: referencePredictionsTable.name,
      params,
      inputs: {},
      raw_files: [],
      code_version: null,
      wall_ms: 1,
      notes: {},
    },
    { table: referencePredictionsTable, rows: [row] },
  );
  return { store, data: join(store.dir('reference', id), 'data.parquet') };
}

describe('xclass query is read-only', () => {
  it('answers a SELECT (and WITH ... SELECT) over the views and the store files', async () => {
    const { store, data } = await storeWithOne();
    expect((await queryStore(store, 'select stage, row_count from artifacts')).rows).toEqual([{ stage: 'reference', row_count: '1' }]);
    expect((await queryStore(store, `with p as (select * from read_parquet('${data}')) select predicted_class from p`)).rows).toEqual([
      { predicted_class: 'AGN' },
    ]);
  });

  it.each([
    ['COPY', (d: string) => `copy (select 1) to '${d}/out.csv'`, /only a read-only SELECT is allowed, got a statement of type COPY/],
    ['COPY over an artifact', (_: string, data: string) => `copy (select 0.999 as x) to '${data}' (format parquet)`, /got a statement of type COPY/],
    ['ATTACH', (d: string) => `attach '${d}/new.db'`, /got a statement of type ATTACH/],
    ['CREATE', () => 'create table t as select 1', /got a statement of type CREATE/],
    ['INSERT', () => 'insert into artifacts select * from artifacts', /is not an table|statement of type INSERT/],
    ['SET', () => 'set enable_external_access = true', /got a statement of type SET/],
    ['read_text outside the store', () => "select * from read_text('/etc/hostname')", /Permission Error: Cannot access file "\/etc\/hostname"/],
    ['a path escaping the store', (_: string, data: string) => `select * from read_text('${data}/../../../../etc/hostname')`, /Permission Error/],
    ['two statements', () => 'select 1; select 2', /expected exactly one statement, got 2/],
  ])('refuses %s in one line and changes no file', async (_name, sql, message) => {
    const { store, data } = await storeWithOne();
    const dir = tempDir();
    const before = statSync(data).mtimeMs;
    await expect(queryStore(store, sql(dir, data))).rejects.toThrow(message);
    expect(readdirSync(dir)).toEqual([]);
    expect(statSync(data).mtimeMs).toBe(before);
    expect(existsSync('t')).toBe(false);
    expect((await store.check('reference', readdirSync(join(store.root, 'reference'))[0]!)).state).toBe('ok');
  });
});
