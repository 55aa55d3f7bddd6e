import type { TableSchema } from './table.js';
import { referencePredictionsTable, sourcesTable } from './tables.js';
import { sedDiagnosticsTable, sedDrawsTable, sedFitsTable, sedMagsTable, sedRedshiftTable } from './sed.js';
import { featureDroppedTable, featureValuesTable } from './features.js';
import { modelFeaturesTable, predictionsTable, probabilitiesTable } from './model.js';
import { calibrationTable, confusionTable, metricsTable } from './evaluation.js';
import { fetchColumnsTable } from './fetch.js';
import {
  labelAgreementTable,
  labelProvenanceTable,
  labelRowsTable,
  labelStatusTable,
  labelMatchesTable,
  skippedRowsTable,
} from './labels.js';

/** Every artifact table by name: meta.json names its schema, and reads validate against it. */
export const TABLES: Record<string, TableSchema> = Object.fromEntries(
  [
    sourcesTable,
    referencePredictionsTable,
    sedFitsTable,
    sedMagsTable,
    sedDrawsTable,
    sedDiagnosticsTable,
    sedRedshiftTable,
    featureValuesTable,
    featureDroppedTable,
    modelFeaturesTable,
    predictionsTable,
    probabilitiesTable,
    metricsTable,
    confusionTable,
    calibrationTable,
    labelRowsTable,
    skippedRowsTable,
    labelMatchesTable,
    labelProvenanceTable,
    labelStatusTable,
    labelAgreementTable,
    fetchColumnsTable,
  ].map((t) => [t.name, t]),
);
