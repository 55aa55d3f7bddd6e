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

/** The parts of a zod 4 schema's definition a column check reads (zod keeps them on `_zod.def`). */
interface CheckDef {
  check?: string;
  format?: string;
  value?: unknown;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  pattern?: RegExp;
}
interface SchemaDef {
  type: string;
  innerType?: unknown;
  checks?: { _zod: { def: CheckDef } }[];
  entries?: Record<string, unknown>;
  values?: unknown[];
}

/** A number check zod applies, as a plain predicate; null for one this does not know. */
function numberCheck(def: CheckDef): ((v: number) => boolean) | null {
  const bound = def.value;
  if (def.check === 'number_format' && def.format === 'safeint') return (v) => Number.isSafeInteger(v);
  if (def.check === 'greater_than' && typeof bound === 'number')
    return def.inclusive ? (v) => v >= bound : (v) => v > bound;
  if (def.check === 'less_than' && typeof bound === 'number')
    return def.inclusive ? (v) => v <= bound : (v) => v < bound;
  return null;
}

/** A string check zod applies, as a plain predicate; null for one this does not know. */
function stringCheck(def: CheckDef): ((v: string) => boolean) | null {
  const { minimum, maximum, pattern } = def;
  if (def.check === 'min_length' && minimum !== undefined) return (v) => v.length >= minimum;
  if (def.check === 'max_length' && maximum !== undefined) return (v) => v.length <= maximum;
  if (def.check === 'string_format' && def.format === 'regex' && pattern instanceof RegExp)
    return (v) => {
      pattern.lastIndex = 0;
      return pattern.test(v);
    };
  return null;
}

/**
 * One column's schema as a predicate that accepts exactly the values zod accepts: the
 * column kinds and checks tables use (finite numbers, safe integers, bounds, string
 * lengths and patterns, enums, booleans, nullable) written out, anything else handed to
 * the column's own zod schema. A table of 10^5 rows is then checked a column at a time
 * at a few nanoseconds a value, not by parsing each row as an object (zod's per-row
 * cost dominated the writing of classify's long tables).
 */
function columnPredicate(schema: z.ZodType): (v: unknown) => boolean {
  const exact = (v: unknown) => schema.safeParse(v).success;
  const def = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const checks = def.checks ?? [];
  switch (def.type) {
    case 'nullable': {
      const inner = columnPredicate(def.innerType as z.ZodType);
      return checks.length ? exact : (v) => v === null || inner(v);
    }
    case 'number': {
      const preds = checks.map((c) => numberCheck(c._zod.def));
      if (preds.some((p) => p === null)) return exact;
      const all = preds as ((v: number) => boolean)[];
      return (v) => typeof v === 'number' && Number.isFinite(v) && all.every((p) => p(v));
    }
    case 'string': {
      const preds = checks.map((c) => stringCheck(c._zod.def));
      if (preds.some((p) => p === null)) return exact;
      const all = preds as ((v: string) => boolean)[];
      return (v) => typeof v === 'string' && all.every((p) => p(v));
    }
    case 'enum': {
      if (checks.length || !def.entries) return exact;
      const allowed = new Set(Object.values(def.entries));
      return (v) => allowed.has(v);
    }
    case 'boolean':
      return checks.length ? exact : (v) => typeof v === 'boolean';
    default:
      return exact;
  }
}

const predicates = new WeakMap<TableSchema, { name: string; accepts: (v: unknown) => boolean }[]>();

/** Per column of a table, a predicate true exactly where zod accepts the value (built once per table). */
export function columnPredicates(table: TableSchema): readonly { name: string; accepts: (v: unknown) => boolean }[] {
  let p = predicates.get(table);
  if (!p) {
    p = Object.entries(table.row.shape).map(([name, s]) => ({ name, accepts: columnPredicate(s) }));
    predicates.set(table, p);
  }
  return p;
}
