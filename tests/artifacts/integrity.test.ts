import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DamagedFileError, ArtifactStore } from '../../artifacts/store.js';
import { verifyStore, collectGarbage } from '../../artifacts/maintenance.js';
import { referencePredictionsTable } from '../../schemas/tables.js';
import { artifactMeta, prediction, referenceMeta, writeRunRecord } from './fixtures.js';
import { runCli, tempDir } from '../helpers.js';

const meta = (n: number) => referenceMeta({ n });

const rows = [prediction('a', 0.25), prediction('b', 0.5), prediction('c', 1)];

/** A store holding one artifact; returns it and the artifact's data file. */
async function oneArtifact(n = 1, verify: 'checksum' | 'size' = 'checksum') {
  const store = new ArtifactStore(tempDir(), verify);
  const m = meta(n);
  await store.write(m, { table: referencePredictionsTable, rows });
  return { store, m, dir: store.dir('reference', m.id), data: join(store.dir('reference', m.id), 'data.parquet') };
}

/** Damage, then: check says damaged naming the file; a rewrite quarantines the copy and puts an intact one in place. */
async function expectDetectedAndRepaired(
  damage: (a: Awaited<ReturnType<typeof oneArtifact>>) => void,
  reason: RegExp,
  verify: 'checksum' | 'size' = 'checksum',
) {
  const a = await oneArtifact(1, verify);
  damage(a);
  const state = await a.store.check('reference', a.m.id);
  expect(state.state).toBe('damaged');
  if (state.state === 'damaged') expect(`${state.path}: ${state.reason}`).toMatch(reason);
  expect((await a.store.check('reference', a.m.id)).state).toBe('damaged');
  expect(await a.store.write(a.m, { table: referencePredictionsTable, rows })).toBe(true);
  expect(await a.store.readTable(referencePredictionsTable, { stage: 'reference', id: a.m.id })).toEqual(rows);
  const quarantined = readdirSync(a.store.quarantineDir);
  expect(quarantined).toHaveLength(1);
  expect(readFileSync(join(a.store.quarantineDir, quarantined[0]!, 'QUARANTINED.txt'), 'utf8')).toMatch(
    new RegExp(reason.source, 'm'),
  );
}

describe('artifact integrity', () => {
  it('records each file with its size and SHA-256 in meta.json', async () => {
    const { store, m, data } = await oneArtifact();
    const stored = await store.readMeta('reference', m.id);
    const { createHash } = await import('node:crypto');
    const bytes = readFileSync(data);
    expect(stored.files).toEqual([
      { name: 'data.parquet', bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
    ]);
    expect((await store.check('reference', m.id)).state).toBe('ok');
  });

  it('detects a truncated file', () =>
    expectDetectedAndRepaired(
      ({ data }) => truncateSync(data, 100),
      /data\.parquet: size 100 bytes, meta\.json says \d+$/,
    ));
  it('detects a zero-byte file', () =>
    expectDetectedAndRepaired(({ data }) => writeFileSync(data, ''), /data\.parquet: size 0 bytes/));
  it('detects a file grown by a byte, even when only sizes are checked', () =>
    expectDetectedAndRepaired(({ data }) => appendFileSync(data, 'x'), /size \d+ bytes, meta\.json says/, 'size'));
  it('detects a flipped bit (same size)', () =>
    expectDetectedAndRepaired(({ data }) => {
      const b = readFileSync(data);
      b[200] = b[200]! ^ 1;
      writeFileSync(data, b);
    }, /data\.parquet: sha256 [0-9a-f]{12}, meta\.json says [0-9a-f]{12}$/));

  it('detects a data file swapped for another artifact of the same shape', async () => {
    const other = await oneArtifact(2);
    await other.store.write(meta(3), {
      table: referencePredictionsTable,
      rows: [prediction('x', 0.1), prediction('y', 0.2), prediction('z', 0.3)],
    });
    const swapFrom = join(other.store.dir('reference', meta(3).id), 'data.parquet');
    await expectDetectedAndRepaired(
      ({ data }) => writeFileSync(data, readFileSync(swapFrom)),
      /data\.parquet: (size|sha256) /,
    );
  });

  it('detects a deleted, a garbled and a foreign meta.json, and a file meta.json does not list', async () => {
    await expectDetectedAndRepaired(({ dir }) => rmSync(join(dir, 'meta.json')), /meta\.json: meta\.json is missing$/);
    await expectDetectedAndRepaired(
      ({ dir }) => writeFileSync(join(dir, 'meta.json'), '{"id": '),
      /meta\.json: meta\.json is not valid JSON/,
    );
    await expectDetectedAndRepaired(
      ({ dir }) => writeFileSync(join(dir, 'meta.json'), '{"id": "x"}'),
      /meta\.json: meta\.json key 'id'/,
    );
    await expectDetectedAndRepaired(
      ({ dir }) => writeFileSync(join(dir, 'extra.parquet'), 'x'),
      /extra\.parquet: file not listed in meta\.json$/,
    );
  });

  it('authenticates meta.json: edited params, inputs or version, or one copied from another artifact, are damage', async () => {
    const edit = (change: (m: Record<string, unknown>) => void) => (a: Awaited<ReturnType<typeof oneArtifact>>) => {
      const path = join(a.dir, 'meta.json');
      const m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      change(m);
      writeFileSync(path, JSON.stringify(m));
    };
    const forged =
      /meta\.json: meta\.json's stage, version, params and inputs hash to [0-9a-f]{12}, not to the folder's id [0-9a-f]{12}$/;
    await expectDetectedAndRepaired(
      edit((m) => (m['params'] = { n: 2 })),
      forged,
    );
    await expectDetectedAndRepaired(
      edit((m) => (m['inputs'] = { upstream: 'f'.repeat(64) })),
      forged,
    );
    await expectDetectedAndRepaired(
      edit((m) => (m['stage_version'] = 2)),
      forged,
    );
    // another artifact's meta.json and files copied in, its id set to the folder's: the params still hash to the other id
    const other = await oneArtifact(2);
    await expectDetectedAndRepaired((a) => {
      const m = JSON.parse(readFileSync(join(other.dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(a.dir, 'meta.json'), JSON.stringify({ ...m, id: a.m.id }));
      writeFileSync(a.data, readFileSync(other.data));
    }, forged);
  });

  it('xclass verify --repair names a forged meta.json in one line and quarantines it', async () => {
    const { store, m, dir } = await oneArtifact();
    const path = join(dir, 'meta.json');
    writeFileSync(path, JSON.stringify({ ...(JSON.parse(readFileSync(path, 'utf8')) as object), params: { n: 9 } }));
    const at = ['--set', `store.path=${JSON.stringify(store.root)}`];
    expect(runCli([...at, 'verify']).code).toBe(1); // found, not repaired
    const res = runCli([...at, 'verify', '--repair']);
    expect(res.code).toBe(0); // found and quarantined
    const line = res.stdout.split('\n').find((l) => l.startsWith('damaged'));
    expect(line).toMatch(
      new RegExp(
        `^damaged  ${path}: meta\\.json's stage, version, params and inputs hash to [0-9a-f]{12}, not to the folder's id ${m.id.slice(0, 12)} -> moved to ${store.quarantineDir}/reference-`,
      ),
    );
    expect((await store.check('reference', m.id)).state).toBe('absent');
  });

  it('refuses to read a damaged table, naming the file', async () => {
    const { store, m, data } = await oneArtifact();
    truncateSync(data, 10);
    const err = await store
      .readTable(referencePredictionsTable, { stage: 'reference', id: m.id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DamagedFileError);
    expect((err as Error).message).toMatch(
      new RegExp(`^${data}: size 10 bytes, meta\\.json says \\d+ \\(xclass verify --repair`),
    );
  });

  it('reads an artifact of older XClass (file names only) but never takes it as a cache hit', async () => {
    const { store, m, dir } = await oneArtifact();
    // as older XClass wrote it: file names only, no meta_sha256
    const { meta_sha256: _, ...old } = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as {
      files: { name: string }[];
      meta_sha256: string;
    };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...old, files: old.files.map((f) => f.name) }));
    expect(await store.readTable(referencePredictionsTable, { stage: 'reference', id: m.id })).toEqual(rows);
    expect((await store.check('reference', m.id)).state).toBe('damaged');
    const report = await verifyStore(store, { repair: false });
    expect([report.unverifiable, report.damaged.length]).toEqual([1, 0]);
  });

  it('lists the rest when one meta.json is garbled, naming it', async () => {
    const { store, m, dir } = await oneArtifact();
    await store.write(meta(2), { table: referencePredictionsTable, rows });
    writeFileSync(join(dir, 'meta.json'), 'not json');
    const damaged: string[] = [];
    const metas = await store.list((d) => damaged.push(d.path));
    expect(metas.map((x) => x.id)).toEqual([meta(2).id]);
    expect(damaged).toEqual([join(dir, 'meta.json')]);
    expect(await store.findById(m.id.slice(0, 12))).toBeUndefined();
  });

  it('verify reports every damaged artifact and --repair quarantines them, keeping the intact ones', async () => {
    const { store, data } = await oneArtifact();
    await store.write(meta(2), { table: referencePredictionsTable, rows });
    truncateSync(data, 5);
    const dry = await verifyStore(store, { repair: false });
    expect([dry.artifacts, dry.ok, dry.damaged.length]).toEqual([2, 1, 1]);
    expect(dry.damaged[0]!.path).toBe(data);
    expect(existsSync(data)).toBe(true); // a dry run moves nothing
    const fixed = await verifyStore(store, { repair: true });
    expect(fixed.damaged[0]!.quarantined_to).toMatch(/_quarantine\/reference-[0-9a-f]{12}-/);
    expect(existsSync(data)).toBe(false);
    expect((await verifyStore(store, { repair: false })).ok).toBe(1);
  });

  it('gc lists artifacts no run reaches, deletes them only when asked, and never while a run is active', async () => {
    const { store, m } = await oneArtifact();
    const kept = artifactMeta('reference', referencePredictionsTable, { n: 2 }, { inputs: { upstream: m.id } });
    await store.write(kept, { table: referencePredictionsTable, rows });
    const orphan = meta(3);
    await store.write(orphan, { table: referencePredictionsTable, rows });
    writeRunRecord(store.runsDir, kept.id);
    // the listing is made after the artifacts were written, so none is "newer than this gc"
    await new Promise((r) => setTimeout(r, 5));
    const listed = await collectGarbage(store, { delete: false, activeRuns: async () => [] });
    expect(listed.unreachable.map((a) => a.id)).toEqual([orphan.id]); // `kept` is reached, and `m` through its input
    expect((await store.check('reference', orphan.id)).state).toBe('ok');
    await expect(collectGarbage(store, { delete: true, activeRuns: async () => ['run-x'] })).rejects.toThrow(
      /run run-x is in progress on this store; nothing deleted/,
    );
    expect((await store.check('reference', orphan.id)).state).toBe('ok');
    await collectGarbage(store, { delete: true, activeRuns: async () => [] });
    expect((await store.check('reference', orphan.id)).state).toBe('absent');
    expect((await store.check('reference', kept.id)).state).toBe('ok');
    expect((await store.check('reference', m.id)).state).toBe('ok');
  });

  it('gc cannot wipe: a store without run records, or a removal of more than the configured share, is refused', async () => {
    const { store, m } = await oneArtifact();
    const other = meta(2);
    await store.write(other, { table: referencePredictionsTable, rows });
    await new Promise((r) => setTimeout(r, 5));
    const at = ['--set', `store.path=${JSON.stringify(store.root)}`];
    // no run record (a store copied without _runs/): nothing can be shown reachable
    const refused = runCli([...at, 'gc', '--delete']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim()).toBe(
      `xclass: gc: ${store.runsDir} holds no run record, so no artifact can be shown reachable; nothing deleted (xclass gc --delete --all removes all 2)`,
    );
    expect([(await store.check('reference', m.id)).state, (await store.check('reference', other.id)).state]).toEqual([
      'ok',
      'ok',
    ]);
    // listing stays the default and deletes nothing
    expect(runCli([...at, 'gc']).stdout).toMatch(/0 artifacts reached by 0 run records; 2 unreachable/);
    // with a record reaching one of the two, removing the other is half the store: above a share of 0.4, refused
    writeRunRecord(store.runsDir, m.id);
    await expect(collectGarbage(store, { delete: true, activeRuns: async () => [], maxShare: 0.4 })).rejects.toThrow(
      /^gc: it would remove 1 of 2 artifacts \(50%, more than config store\.gc_max_share 0\.4\); nothing deleted \(xclass gc --delete --all removes them\)$/,
    );
    expect((await store.check('reference', other.id)).state).toBe('ok');
    // the default share (0.5) allows it; --all would have too
    expect(runCli([...at, 'gc', '--delete']).code).toBe(0);
    expect([(await store.check('reference', m.id)).state, (await store.check('reference', other.id)).state]).toEqual([
      'ok',
      'absent',
    ]);
  });

  it('refuses ids that are not hex before they touch the file system', async () => {
    const store = new ArtifactStore(tempDir());
    expect(() => store.dir('reference', '../../etc')).toThrow(
      /column 'artifact id': expected a 64-digit hexadecimal artifact id, got "\.\.\/\.\.\/etc"/,
    );
    expect(() => store.dir('../x', 'a'.repeat(64))).toThrow(/expected a stage name/);
    await expect(store.findById('../x')).rejects.toThrow(/expected an artifact id or its prefix/);
  });
});
