/**
 * A target table as every reader returns it (CSV, ECSV, IPAC, Parquet, VOTable, FITS):
 * column names, each record by name, and where each record is in the file. Its own
 * module, so the format readers and target-table.ts (which picks among them) import it
 * without importing each other.
 */
export interface TargetTable {
  file: string;
  header: string[];
  records: Record<string, unknown>[];
  /** the 1-based line of each record in a text file; the 1-based row in a Parquet file */
  lines: number[];
  /** column -> the unit its file declares (VOTable, FITS, ECSV, IPAC headers), where it declares one */
  units?: Record<string, string>;
}
