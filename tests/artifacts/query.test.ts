import { existsSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queryStore } from '../../artifacts/query.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { referencePredictionsTable } from '../../schemas/tables.js';
import { prediction, referenceMeta } from './fixtures.js';
import { runCli, tempDir } from '../helpers.js';

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
    expect((await queryStore(store, 'select stage, row_count from artifacts')).rows).toEqual([
      { stage: 'reference', row_count: '1' },
    ]);
    expect(
      (await queryStore(store, `with p as (select * from read_parquet('${data}')) select predicted_class from p`)).rows,
    ).toEqual([{ predicted_class: 'AGN' }]);
  });

  it('interrupts a statement that outlives query.timeout_s, in one line', async () => {
    const { store } = await storeWithOne();
    // 10^10 products: minutes on any machine, so the 1 s limit always comes first
    await expect(
      queryStore(store, 'select sum(a.range * b.range) from range(100000) a, range(100000) b', {
        memory_limit: '1GB',
        timeout_s: 1,
      }),
    ).rejects.toThrow(/^query: interrupted after 1 s \(config query\.timeout_s\)$/);
  });

  it.each([
    [
      'COPY',
      (d: string) => `copy (select 1) to '${d}/out.csv'`,
      /only a read-only SELECT is allowed, got a statement of type COPY/,
    ],
    [
      'COPY over an artifact',
      (_: string, data: string) => `copy (select 0.999 as x) to '${data}' (format parquet)`,
      /got a statement of type COPY/,
    ],
    ['ATTACH', (d: string) => `attach '${d}/new.db'`, /got a statement of type ATTACH/],
    ['CREATE', () => 'create table t as select 1', /got a statement of type CREATE/],
    ['INSERT', () => 'insert into artifacts select * from artifacts', /is not an table|statement of type INSERT/],
    ['SET', () => 'set enable_external_access = true', /got a statement of type SET/],
    [
      'read_text',
      () => "select * from read_text('/etc/hostname')",
      /^query: table function not allowed in a query .*, got "read_text"$/,
    ],
    [
      'a path escaping the store',
      (_: string, data: string) => `select * from read_parquet('${data}/../../../../etc/hostname')`,
      /^query: read_parquet\('.*\/\.\.\/etc\/hostname'\): names a path outside the store .* \(a query reads verified artifact files only\)$/,
    ],
    [
      'a file outside the store',
      () => "select * from read_json_objects('/etc/passwd')",
      /^query: read_json_objects\('\/etc\/passwd'\): names a path outside the store/,
    ],
    [
      'a file named as a table',
      () => "select * from '/etc/passwd'",
      /^query: name a file through read_parquet\('PATH'\), not as a table, got "\/etc\/passwd"$/,
    ],
    [
      'a computed file name',
      () => "select * from read_parquet('/etc/' || 'passwd')",
      /^query, column 'read_parquet': the files a reader takes must be a string literal/,
    ],
    [
      'the query table function',
      () => "select * from query('select * from read_text(''/etc/passwd'')')",
      /^query: table function not allowed in a query .*, got "query"$/,
    ],
    ['two statements', () => 'select 1; select 2', /expected exactly one statement, got 2/],
    // the sandbox is in place before the SQL is parsed and bound: nothing of a file outside the store reaches an error
    [
      'a line of /etc/passwd through a binder error',
      () => "select *, count(*) from read_csv('/etc/passwd', header=true, delim='\\x01')",
      /^query: table function not allowed in a query .*, got "read_csv"$/,
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
    [
      'CREATE SECRET',
      () => "create secret s (type s3, key_id 'x', secret 'y')",
      /^query: only a read-only SELECT is allowed, got a statement of type CREATE$/,
    ],
    [
      'a URL',
      () => "select * from read_parquet('https://example.invalid/x.parquet')",
      /^query: read_parquet\('https:\/\/example\.invalid\/x\.parquet'\): names no file of the store .*$/,
    ],
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

describe('xclass query reads verified artifact files only', () => {
  async function storeWithTwo() {
    const store = new ArtifactStore(join(tempDir(), 'store'));
    const row = { ...prediction('a', 0.9, 'T'), confidence_threshold: 1, p_yso: 0.1 };
    const kept = referenceMeta({ n: 1 });
    const gone = referenceMeta({ n: 2 });
    await store.write(kept, { table: referencePredictionsTable, rows: [row] });
    await store.write(gone, { table: referencePredictionsTable, rows: [row, { ...row, id: 'b' }] });
    return { store, kept, gone, glob: join(store.root, 'reference', '*', 'data.parquet') };
  }

  it('a pattern leaves out a quarantined copy, in one line', async () => {
    const { store, gone, glob } = await storeWithTwo();
    const moved = await store.quarantine('reference', gone.id, 'test');
    const warnings: string[] = [];
    const everywhere = join(store.root, '*', '*', 'data.parquet');
    const res = await queryStore(store, `select count(*) as n from read_parquet('${everywhere}')`, undefined, (l) =>
      warnings.push(l),
    );
    expect(res.rows).toEqual([{ n: '1' }]);
    expect(warnings).toEqual([
      `xclass: query: read_parquet('${everywhere}'): 1 matching file(s) left out, e.g. ${moved}/data.parquet is in the quarantine, not an artifact file`,
    ]);
    expect((await queryStore(store, `select count(*) as n from read_parquet('${glob}')`)).rows).toEqual([{ n: '1' }]);
    await expect(queryStore(store, `select * from read_parquet('${moved}/data.parquet')`)).rejects.toThrow(
      /^query: .*\/_quarantine\/reference-.*\/data\.parquet: is in the quarantine, not an artifact file \(a query reads verified artifact files only\)$/,
    );
  });

  it('a damaged file the query touches is named in one line; one it does not touch is not read', async () => {
    const { store, kept, gone, glob } = await storeWithTwo();
    const data = join(store.dir('reference', gone.id), 'data.parquet');
    const bytes = readFileSync(data);
    bytes[bytes.length >> 1]! ^= 0xff; // a bit flip of the same size
    writeFileSync(data, bytes);
    await expect(queryStore(store, `select count(*) from read_parquet('${glob}')`)).rejects.toThrow(
      new RegExp(
        `^query: ${data.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: damaged artifact file: sha256 [0-9a-f]{12}, meta.json says [0-9a-f]{12} \\(xclass verify`,
      ),
    );
    const keptData = join(store.dir('reference', kept.id), 'data.parquet');
    expect((await queryStore(store, `select count(*) as n from read_parquet('${keptData}')`)).rows).toEqual([
      { n: '1' },
    ]);
  });

  it('a stray file beside an artifact, and a symlink out of the store, are not read', async () => {
    const { store, kept } = await storeWithTwo();
    const dir = store.dir('reference', kept.id);
    writeFileSync(join(dir, 'stray.parquet'), readFileSync(join(dir, 'data.parquet')));
    await expect(queryStore(store, `select * from read_parquet('${dir}/stray.parquet')`)).rejects.toThrow(
      /^query: .*\/stray\.parquet: is not a file of an artifact of the store \(a query reads verified artifact files only\)$/,
    );
    symlinkSync('/etc/passwd', join(store.root, 'link.json'));
    await expect(queryStore(store, `select * from read_json_objects('${store.root}/link.json')`)).rejects.toThrow(
      /^query: .*\/link\.json: is outside the store .*$/,
    );
  });

  it('a forged meta.json is not in the artifacts view, and its files are not read', async () => {
    const { store, kept, gone } = await storeWithTwo();
    const metaPath = join(store.dir('reference', gone.id), 'meta.json');
    const forged = JSON.parse(readFileSync(metaPath, 'utf8')) as { params: { n: number } };
    forged.params.n = 7;
    writeFileSync(metaPath, JSON.stringify(forged));
    expect((await queryStore(store, 'select id from artifacts')).rows).toEqual([{ id: kept.id }]);
    await expect(
      queryStore(store, `select * from read_parquet('${store.dir('reference', gone.id)}/data.parquet')`),
    ).rejects.toThrow(/is not a file of an artifact of the store/);
  });
});

describe('xclass query through the CLI', () => {
  it('a file outside the store, and a quarantined one, are one line each with exit 2; a verified one answers', async () => {
    const { store } = await storeWithOne();
    const at = ['--set', `store.path=${JSON.stringify(store.root)}`];
    const outside = runCli([...at, 'query', "select * from read_parquet('/etc/passwd')"]);
    expect([outside.code, outside.stderr]).toEqual([
      2,
      `xclass: query: read_parquet('/etc/passwd'): names a path outside the store ${realpathSync(store.root)} (a query reads verified artifact files only)\n`,
    ]);
    const id = readdirSync(join(store.root, 'reference'))[0]!;
    const moved = await store.quarantine('reference', id, 'test');
    const quarantined = runCli([...at, 'query', `select * from read_parquet('${moved}/data.parquet')`]);
    expect([quarantined.code, quarantined.stderr]).toEqual([
      2,
      `xclass: query: ${moved}/data.parquet: is in the quarantine, not an artifact file (a query reads verified artifact files only)\n`,
    ]);
    expect(runCli([...at, 'query', 'select count(*) as n from artifacts']).stdout).toBe('n\n0\n');
  });
});
