import { z } from 'zod';

/**
 * An artifact table: a zod schema for one row. The Parquet column types are derived
 * from the same schema (number -> DOUBLE, int -> INTEGER, string -> VARCHAR,
 * boolean -> BOOLEAN; `.nullable()` allows NULL), so a column is declared once.
 */
export type RowShape = Record<string, z.ZodType>;

export interface TableSchema<S extends RowShape = RowShape> {
  name: string;
  row: z.ZodObject<S>;
}

export type Row<T extends TableSchema> = z.infer<T['row']>;

export function defineTable<S extends RowShape>(name: string, shape: S): TableSchema<S> {
  const row = z.strictObject(shape);
  columnTypes({ name, row }); // fail at import time on a column kind Parquet cannot hold
  return { name, row };
}

export type DuckType = 'DOUBLE' | 'INTEGER' | 'VARCHAR' | 'BOOLEAN';

export interface ColumnType {
  name: string;
  type: DuckType;
  nullable: boolean;
}

interface ZodInternals {
  _zod: { def: { type: string; innerType?: unknown } };
  format?: string | null;
}

export function columnTypes(table: TableSchema): ColumnType[] {
  return Object.entries(table.row.shape).map(([name, schema]) => {
    let s = schema as unknown as ZodInternals;
    let nullable = false;
    if (s._zod.def.type === 'nullable') {
      nullable = true;
      s = s._zod.def.innerType as ZodInternals;
    }
    const kind = s._zod.def.type;
    let type: DuckType;
    if (kind === 'number') type = s.format === 'safeint' ? 'INTEGER' : 'DOUBLE';
    else if (kind === 'string' || kind === 'enum') type = 'VARCHAR';
    else if (kind === 'boolean') type = 'BOOLEAN';
    else throw new Error(`table ${table.name}: column ${name} has zod type ${kind}, which has no Parquet mapping`);
    return { name, type, nullable };
  });
}

/** A nullable finite double: missing measurements are NULL, never NaN. */
export const optionalNumber = () => z.number().nullable();
