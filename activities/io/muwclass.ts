import { readCsv, requireColumns, type CsvTable } from './csv.js';
import { InputError } from '../../lib/errors.js';

/** The MUWCLASS training table's identifier column (Yang et al. 2022, td.dat). */
export const MUWCLASS_ID = 'CSCv2_name';

/**
 * Reads the MUWCLASS table and checks what every consumer relies on: the required
 * columns exist and source ids are present and unique.
 */
export async function readMuwclass(path: string, displayName: string, requiredColumns: readonly string[]): Promise<CsvTable> {
  const table = await readCsv(path, displayName);
  requireColumns(table, [MUWCLASS_ID, ...requiredColumns]);
  const seen = new Map<string, number>();
  table.records.forEach((r, i) => {
    const id = r[MUWCLASS_ID];
    const line = table.lines[i]!;
    if (id === null || id === undefined) throw new InputError({ file: displayName, row: line, column: MUWCLASS_ID, value: '' }, 'expected a source id');
    const before = seen.get(id);
    if (before !== undefined) throw new InputError({ file: displayName, row: line, column: MUWCLASS_ID, value: id }, `duplicate source id (first on line ${before})`);
    seen.set(id, line);
  });
  return table;
}
