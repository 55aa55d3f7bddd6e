import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryStore } from '../../artifacts/query.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { referencePredictionsTable } from '../../schemas/tables.js';
import { prediction, referenceMeta } from './fixtures.js';
import { tempDir } from '../helpers.js';

async function storeWithOne(): Promise<{ store: ArtifactStore; data: string }> {
  const store = new ArtifactStore(join(tempDir(), 'store'));
  const meta = referenceMeta();
  const row = { ...prediction('a', 0.9, 'T'), confidence_threshold: 1, p_yso: 0.1 };
  await store.write(meta, { table: referencePredictionsTable, rows: [row] });
  const id = meta.id;
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

  it('interrupts a statement that outlives query.timeout_s, in one line', async () => {
    const { store } = await storeWithOne();
    // 10^10 products: minutes on any machine, so the 1 s limit always comes first
    await expect(
      queryStore(store, 'select sum(a.range * b.range) from range(100000) a, range(100000) b', { memory_limit: '1GB', timeout_s: 1 }),
    ).rejects.toThrow(/^query: interrupted after 1 s \(config query\.timeout_s\)$/);
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
    // the sandbox is in place before the SQL is parsed and bound: nothing of a file outside the store reaches an error
    [
      'a line of /etc/passwd through a binder error',
      () => "select *, count(*) from read_csv('/etc/passwd', header=true, delim='\\x01')",
      /^query: Permission Error: Cannot access file "\/etc\/passwd"/,
    ],
    // IMPORT is expanded while the SQL is parsed: it reads the folder's schema.sql, which the sandbox already refuses
    [
      'IMPORT DATABASE',
      (d: string) => `import database '${d}'`,
      /^query: not valid SQL: .*Permission Error: Cannot access file ".*schema\.sql" - file system operations are disabled/,
    ],
    [
      'EXPORT DATABASE into an artifact',
      (_: string, data: string) => `export database '${data}.export'`,
      /^query: only a read-only SELECT is allowed, got a statement of type EXPORT$/,
    ],
    ['CREATE SECRET', () => "create secret s (type s3, key_id 'x', secret 'y')", /^query: only a read-only SELECT is allowed, got a statement of type CREATE$/],
    ['a URL', () => "select * from read_parquet('https://example.invalid/x.parquet')", /Permission Error: Cannot access file "https:\/\/example\.invalid/],
    ['INSTALL', () => 'install httpfs', /^query: only a read-only SELECT is allowed, got a statement of type INSTALL$/],
  ])('refuses %s in one line and changes no file', async (_name, sql, message) => {
    const { store, data } = await storeWithOne();
    const dir = tempDir();
    const before = statSync(data).mtimeMs;
    await expect(queryStore(store, sql(dir, data))).rejects.toThrow(message);
    expect(readdirSync(dir)).toEqual([]);
    expect(statSync(data).mtimeMs).toBe(before);
    expect(existsSync('t')).toBe(false);
    expect((await store.check('reference', readdirSync(join(store.root, 'reference'))[0]!)).state).toBe('ok');
    // no folder made beside the artifact, none in the store's root but the store's own
    expect(readdirSync(join(store.root, 'reference'))).toHaveLength(1);
    expect(
      readdirSync(store.root)
        .filter((n) => !n.startsWith('_'))
        .sort(),
    ).toEqual(['reference']);
    expect(existsSync(`${data}.export`)).toBe(false);
  });
});
