import type { ArtifactStore } from '../artifacts/store.js';
import type { XClassConfig } from '../config/schema.js';
import { checkDataFolder, dataIntegrityWarnings } from '../config/data-integrity.js';
import { dataDir } from '../engine/plan.js';
import { markActive, newRunId, recordInterruptedRuns, saveRunRecord } from '../engine/runs.js';
import type { DataIntegrity, RunRecord } from '../schemas/run.js';
import type { DagResult } from '../workflows/dag.js';

/** Runs killed mid-way get their record, marked interrupted, with one line each. */
async function noteInterruptedRuns(store: ArtifactStore): Promise<void> {
  for (const id of await recordInterruptedRuns(store))
    process.stderr.write(
      `xclass: run ${id} was interrupted (its process is gone); recorded as interrupted in ${store.runsDir}\n`,
    );
}

/** The data folder checked against its SHA256SUMS, one warning line per file that differs; recorded in the run record. */
async function checkData(config: XClassConfig): Promise<DataIntegrity> {
  const data = await checkDataFolder(dataDir(config));
  for (const line of dataIntegrityWarnings(data)) process.stderr.write(`${line}\n`);
  return data;
}

/**
 * The sequence `run` and `classify` share: runs killed earlier get their record, the data
 * folder is checked, a run id is made and marked active (`_active/`, so gc keeps what the
 * run writes), the work runs, temp folders left by writers that died are swept, and the
 * run record is saved with the data folder's digests; the marker goes whatever happens.
 */
export async function runRecorded(
  store: ArtifactStore,
  config: XClassConfig,
  workflow: string,
  work: (runId: string) => Promise<DagResult>,
): Promise<{ runId: string; record: RunRecord; result: DagResult }> {
  await noteInterruptedRuns(store);
  const data = await checkData(config);
  const runId = newRunId();
  const active = await markActive(store, runId, { workflow, engine: config.engine.kind, config });
  try {
    const startedAt = new Date();
    const result = await work(runId);
    // a writer that died during the run (a killed worker) left its temp dir: gone now, not at the next run
    await store.sweepTemp();
    const record = await saveRunRecord(store, { runId, engine: config.engine.kind, config, startedAt, result, data });
    return { runId, record, result };
  } finally {
    await active.release();
  }
}
