import { promises as fs } from 'node:fs';
import { issueLine } from '../schemas/issues.js';
import { join } from 'node:path';
import { InputError } from '../lib/errors.js';
import { RunRecord } from '../schemas/run.js';
import { DamagedFileError, readdirOrEmpty, type ArtifactStore } from './store.js';

/** Reading run records (`<store>/_runs/<run_id>.json`); engine/runs.ts writes them. */

const RUN_ID = /^run-\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** True for an id newRunId could have made (so it is safe to join into a path). */
export function isRunId(id: string): boolean {
  return RUN_ID.test(id);
}

/**
 * The record of one run, or undefined when there is none. A run id that newRunId could
 * not have made is refused before it touches the file system; a record that does not
 * parse is a DamagedFileError naming its file.
 */
export async function loadRunRecord(store: ArtifactStore, runId: string): Promise<RunRecord | undefined> {
  if (!isRunId(runId))
    throw new InputError(
      { column: 'run id', value: runId },
      'expected a run id like run-20261125T033024Z-155e05 (xclass runs lists them)',
    );
  const path = join(store.runsDir, `${runId}.json`);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DamagedFileError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DamagedFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  const parsed = RunRecord.safeParse(json);
  if (!parsed.success) {
    throw new DamagedFileError(path, issueLine(parsed.error));
  }
  // the id in the content is joined into paths (the report's): it must be the file's own, already checked
  if (parsed.data.run_id !== runId)
    throw new DamagedFileError(
      path,
      `key 'run_id': names run ${JSON.stringify(parsed.data.run_id)}, not the file it is in`,
    );
  return parsed.data;
}

async function listRunIds(store: ArtifactStore): Promise<string[]> {
  return (await readdirOrEmpty(store.runsDir))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .filter(isRunId)
    .sort();
}

/** Every readable run record, oldest first; unreadable ones go to onDamaged (named, not thrown). */
export async function loadRunRecords(
  store: ArtifactStore,
  onDamaged: (d: DamagedFileError) => void = () => {},
): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const id of await listRunIds(store)) {
    try {
      const r = await loadRunRecord(store, id);
      if (r) out.push(r);
    } catch (err) {
      if (!(err instanceof DamagedFileError)) throw err;
      onDamaged(err);
    }
  }
  return out;
}
