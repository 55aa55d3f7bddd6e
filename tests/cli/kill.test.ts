import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { artifactDirs, lastJsonLine, MUWCLASS, runCli, spawnCli, tempDir } from '../helpers.js';
import { dataDirWith } from './fixtures.js';

/** The MUWCLASS table repeated `copies` times with distinct ids: each step writes for longer, more time in which to be caught mid-write. */
function bigCatalog(copies: number): string {
  const [header, ...body] = readFileSync(MUWCLASS, 'utf8').trimEnd().split('\n');
  const out = [header!];
  for (let c = 0; c < copies; c++) for (const line of body) out.push(line.replace(/^2CXO J/, `COPY${c} J`));
  return `${out.join('\n')}\n`;
}

describe('crash safety', () => {
  it('SIGKILL in the middle of a step leaves no partial artifact, and the rerun completes with the same ids', async () => {
    const data = dataDirWith(bigCatalog(2));
    const store = join(tempDir(), 'store');
    const env = { XCLASS_DATA: data };
    // fewer trees, no extinction grid, no Monte-Carlo draws: the crash safety under test does not depend on them, the test time does
    const cheap = [
      '--set',
      'model.forest.n_estimators=50',
      '--set',
      'sed.extinction.a_v_max=0',
      '--set',
      'uncertainty.mc.draws=0',
    ];
    const args = ['--set', `store.path=${JSON.stringify(store)}`, ...cheap, '--json', 'run', '--no-ablations'];

    const child = spawnCli(args, env);
    // wait until a step is writing its artifact (its temp directory exists), then kill: driven by
    // that event, however long the machine takes to get there (the test's timeout is the only guard)
    const tmp = join(store, '_tmp');
    let killedMidWrite = false;
    while (child.exitCode === null) {
      if (existsSync(tmp) && readdirSync(tmp).length > 0) {
        child.kill('SIGKILL');
        killedMidWrite = true;
        break;
      }
      await sleep(10);
    }
    await new Promise((r) => child.once('exit', r));
    expect(killedMidWrite).toBe(true);
    expect(child.signalCode).toBe('SIGKILL');
    expect(artifactDirs(store)).toEqual([]); // nothing half-written is visible
    expect(readdirSync(tmp).length).toBeGreaterThan(0); // the dead writer's temp dir

    const rerun = runCli(args, env);
    expect(rerun.code, rerun.stderr).toBe(0);
    // the killed run gets its record at the next start, marked interrupted, with one line
    expect(rerun.stderr).toMatch(
      /^xclass: run run-\d{8}T\d{6}Z-[0-9a-f]{6} was interrupted \(its process is gone\); recorded as interrupted in /m,
    );
    const records = readdirSync(join(store, '_runs')).map(
      (f) => JSON.parse(readFileSync(join(store, '_runs', f), 'utf8')) as { status: string; steps: unknown[] },
    );
    expect(records.map((r) => r.status).sort()).toEqual(['interrupted', 'succeeded']);
    expect(readdirSync(join(store, '_active'))).toEqual([]);
    const steps = (lastJsonLine(rerun.stdout) as { steps: { key: string; artifactId: string }[] }).steps;
    expect(readdirSync(tmp)).toEqual([]); // swept
    for (const dir of artifactDirs(store)) {
      const meta = JSON.parse(readFileSync(join(store, dir, 'meta.json'), 'utf8')) as { files: { name: string }[] };
      expect(meta.files.map((f) => f.name)).toContain('data.parquet');
      expect(readdirSync(join(store, dir)).sort()).toEqual([...meta.files.map((f) => f.name), 'meta.json'].sort());
    }

    // the same ids as an uninterrupted run into a fresh store
    const clean = runCli(
      ['--set', `store.path=${JSON.stringify(join(tempDir(), 'store'))}`, ...cheap, '--json', 'run', '--no-ablations'],
      env,
    );
    const cleanSteps = (lastJsonLine(clean.stdout) as { steps: { key: string; artifactId: string }[] }).steps;
    expect(steps.map((s) => s.artifactId)).toEqual(cleanSteps.map((s) => s.artifactId));
  }, 300_000);
});
