import type { TargetTable } from '../table.js';
import { checkHeader } from '../validate.js';
import type { ZonedTable } from './csv.js';

/**
 * One table format XClass reads (astropy's unified I/O registry is the model): how it
 * recognises a file from its first bytes and name, how it reads the table, and, where the
 * format allows, how it reads the column names alone (planning a classification needs only
 * the header, and a photometry catalog may have millions of rows). The formats are listed,
 * in the order they are tried, in registry.ts.
 */
export interface TableFormatReader {
  name: string;
  /** the first 256 bytes of the file, as bytes and as latin1 text, and the file's name */
  identify(head: Buffer, text: string, file: string): boolean;
  read(path: string, file: string): Promise<TargetTable>;
  /**
   * the table a band of declinations at a time, each band cut inside DuckDB's scan so the
   * other rows never reach JavaScript (`dir`: a temporary folder the reader may use until
   * the caller removes it); absent: read whole once and cut (registry.ts openTableZones)
   */
  zones?(path: string, file: string, column: string, scale: number, dir: string): Promise<ZonedTable>;
  /** the column names without the rows; absent: read the table */
  header?(path: string, file: string): Promise<string[]>;
  /** whether the format's header declares units (honoured by the classify plan) */
  declaresUnits: boolean;
}

/** A table whose header passed the shared checks (no empty or repeated column name). */
export function checked(t: TargetTable): TargetTable {
  checkHeader(t.header, t.file, 1);
  return t;
}
