import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { tempDir } from '../helpers.js';

describe('config', () => {
  it('loads and validates the default file', () => {
    const c = loadConfig();
    expect(c.engine.kind).toBe('embedded');
    expect(c.store.path).toBe('.xclass/store');
    expect(c.labels.map['YSO']).toBeNull();
    expect(c.labels.map['LMXB']).toBe('LMXB');
  });

  it('applies --set values as JSON when they parse, else as strings', () => {
    const c = loadConfig({ sets: ['engine.concurrency=4', 'temporal.task_queue=gpu-queue', 'engine.threads=false'] });
    expect(c.engine.concurrency).toBe(4);
    expect(c.temporal.task_queue).toBe('gpu-queue');
    expect(c.engine.threads).toBe(false);
  });

  it('names the key and what was expected for a bad value, in one line', () => {
    expect(() => loadConfig({ sets: ['engine.concurrency=abc'] })).toThrow(
      /^config: key 'engine\.concurrency': expected number, received string, got "abc"$/,
    );
    expect(() => loadConfig({ sets: ['engine.concurrency=0'] })).toThrow(
      /key 'engine\.concurrency': Too small: expected number to be >=1, got 0/,
    );
    expect(() => loadConfig({ sets: ['engine.kind=cloud'] })).toThrow(
      /key 'engine\.kind': expected one of "embedded"\|"temporal", got "cloud"/,
    );
    expect(() => loadConfig({ sets: ['temporal.address=localhost'] })).toThrow(
      /key 'temporal\.address': expected HOST:PORT/,
    );
    expect(() => loadConfig({ sets: ['labels.map.QSO=quasar'] })).toThrow(/key 'labels\.map\.QSO'/);
  });

  it('refuses unknown keys so a typo never silently does nothing', () => {
    expect(() => loadConfig({ sets: ['engine.concurency=4'] })).toThrow(/unknown key 'engine\.concurency'/);
    expect(() => loadConfig({ sets: ['nonsense'] })).toThrow(/expected key=value/);
  });

  it('merges a --config file over the defaults, and label maps may gain entries', () => {
    const file = join(tempDir(), 'my.json');
    writeFileSync(file, JSON.stringify({ engine: { concurrency: 3 }, labels: { map: { QSO: 'AGN' } } }));
    const c = loadConfig({ file, sets: ['engine.concurrency=5'] });
    expect(c.engine.concurrency).toBe(5);
    expect(c.engine.kind).toBe('embedded');
    expect(c.labels.map['QSO']).toBe('AGN');
    expect(c.labels.map['AGN']).toBe('AGN');
  });

  it("changes an existing ablation's overlay through --set and --config; a key the config lacks is named when its branch is planned", async () => {
    const viaSet = loadConfig({ sets: ['ablations.no_2mass.sed.err_floor_mag=0.05'] });
    expect(viaSet.ablations['no_2mass']!.sed).toEqual({
      ...loadConfig().ablations['no_2mass']!.sed,
      err_floor_mag: 0.05,
    });
    const file = join(tempDir(), 'c.json');
    writeFileSync(file, JSON.stringify({ ablations: { smote: { features: { distance_snr_min: 3 } } } }));
    const viaFile = loadConfig({ file });
    expect(viaFile.ablations['smote']).toEqual({
      ...loadConfig().ablations['smote'],
      features: { distance_snr_min: 3 },
    });
    const { planPipeline } = await import('../../engine/plan.js');
    await expect(
      planPipeline(loadConfig({ sets: ['ablations.no_2mass.sed.nope=1'] }), { ablations: ['no_2mass'] }),
    ).rejects.toThrow("config ablations.no_2mass: unknown key 'sed.nope'");
  });

  it('reports an unreadable or malformed config file by name', () => {
    expect(() => loadConfig({ file: '/nonexistent/x.json' })).toThrow(
      /config \/nonexistent\/x\.json: cannot read \(ENOENT\)/,
    );
    const file = join(tempDir(), 'bad.json');
    writeFileSync(file, '{ engine: ');
    expect(() => loadConfig({ file })).toThrow(/not valid JSON/);
  });
});
