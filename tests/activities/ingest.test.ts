import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStep } from '../../activities/run-step.js';
import { resolveRawFile } from '../../activities/io/raw-file.js';
import { ArtifactStore } from '../../artifacts/store.js';
import { withRetry } from '../../engine/retry.js';
import { loadConfig } from '../../config/load.js';
import { InputError } from '../../lib/errors.js';
import { muwclassHead, toCsv } from '../cli/fixtures.js';
import { tempDir } from '../helpers.js';
import { sourcesTable } from '../../schemas/tables.js';

describe('ingest: no-data sentinels', () => {
  it('reads 99 (and the other configured markers) in magnitude columns as missing, counted in the notes', async () => {
    const { header, rows } = muwclassHead(6);
    const col = (name: string) => header.indexOf(name);
    const bad = rows.map((r) => [...r]);
    bad[0]![col('Gmag')] = '99';
    bad[1]![col('Gmag')] = '99.99';
    bad[2]![col('e_Jmag')] = '-99';
    const dir = tempDir();
    const path = join(dir, 'td.csv');
    writeFileSync(path, toCsv(header, bad));
    const { path: _p, ...catalog } = await resolveRawFile(dir, 'td.csv');
    const config = loadConfig();
    const store = new ArtifactStore(join(dir, 'store'));
    const out = await runStep(store, {
      key: 'ingest',
      stage: 'ingest',
      params: { catalog, label_map: config.labels.map, no_data: config.input.no_data },
      inputs: {},
      context: { path },
    });
    const sources = await store.readTable(sourcesTable, { stage: 'ingest', id: out.artifactId });
    expect(sources.slice(0, 3).map((s) => [s['gaia_g_mag'], s['tmass_j_err_mag']])).toEqual([
      [null, sources[0]!['tmass_j_err_mag']],
      [null, sources[1]!['tmass_j_err_mag']],
      [sources[2]!['gaia_g_mag'], null],
    ]);
    expect(sources[3]!['gaia_g_mag']).toBe(Number(rows[3]![col('Gmag')]));
    expect((await store.readMeta('ingest', out.artifactId)).notes['no_data_by_column']).toEqual({ Gmag: 2, e_Jmag: 1 });
  });
});

describe('retries', () => {
  it('never retries a failure the same step would meet again', async () => {
    const policy = { initial_interval_ms: 1, backoff_coefficient: 1, maximum_interval_ms: 1, maximum_attempts: 3 };
    for (const err of [
      new RangeError('Invalid array length'),
      new TypeError('x is not a function'),
      new InputError({ file: 'f' }, 'bad'),
    ]) {
      let attempts = 0;
      await expect(
        withRetry(
          async () => {
            attempts++;
            throw err;
          },
          policy,
          () => {},
          async () => {},
        ),
      ).rejects.toBe(err);
      expect(attempts, err.name).toBe(1);
    }
    let attempts = 0;
    await expect(
      withRetry(
        async () => {
          attempts++;
          throw new Error('EIO: disk hiccup');
        },
        policy,
        () => {},
        async () => {},
      ),
    ).rejects.toThrow(/EIO/);
    expect(attempts).toBe(3);
  });
});
