import type { TableSchema } from './table.js';
import { referencePredictionsTable, sourcesTable } from './tables.js';
import { sedDiagnosticsTable, sedFitsTable, sedMagsTable } from './sed.js';

/** Every artifact table by name: meta.json names its schema, and reads validate against it. */
export const TABLES: Record<string, TableSchema> = Object.fromEntries(
  [sourcesTable, referencePredictionsTable, sedFitsTable, sedMagsTable, sedDiagnosticsTable].map((t) => [t.name, t]),
);
