import { createHash, randomBytes } from 'node:crypto';
import { issueLine } from '../schemas/issues.js';
import { createReadStream, promises as fs, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ArtifactMeta, type ArtifactFile } from '../schemas/artifact.js';
import type { Row, TableSchema } from '../schemas/table.js';
import { InputError } from '../lib/errors.js';
import { PromiseCache } from '../lib/memo.js';
import { artifactId, canonicalJson, sha256Hex } from './hash.js';
import { parquetLayoutCheck, readParquet, validateRows, writeParquet, writeParquetSelect } from './parquet.js';

export const META_FILE = 'meta.json';
const TMP_DIR = '_tmp';
const RUNS_DIR = '_runs';
const QUARANTINE_DIR = '_quarantine';
const STALE_TMP_MS = 24 * 3600 * 1000;

/** Stage folder names and artifact ids as they may appear in a path: never `..`, `/` or a pattern. */
const STAGE_NAME = /^[a-z][a-z0-9_]*$/;
const ARTIFACT_ID = /^[0-9a-f]{64}$/;

export function isArtifactId(name: string): boolean {
  return ARTIFACT_ID.test(name);
}

export const NOT_AN_ARTIFACT_DIR = 'not an artifact directory (name is not a 64-digit hex id)';

export type NewArtifact = Omit<
  ArtifactMeta,
  'row_count' | 'tables' | 'table_rows' | 'files' | 'created_at' | 'host' | 'meta_sha256'
>;

/** The digest meta.json carries of its other keys (ArtifactMeta.meta_sha256). */
function metaDigest(json: Record<string, unknown>): string {
  const { meta_sha256: _, ...rest } = json;
  return sha256Hex(canonicalJson(rest));
}

export interface TablePayload {
  table: TableSchema;
  rows: readonly Record<string, unknown>[];
}

/**
 * A side table written by DuckDB from a SELECT over other artifacts' Parquet files (their
 * digests checked by the caller, their rows checked when those were written): a merge of
 * millions of rows that never reach JavaScript (parquet.ts writeParquetSelect).
 */
export interface SelectPayload {
  table: TableSchema;
  /** a relation `x` with the table's columns, and the rows' order */
  query: { from: string; order: string };
}

/** An artifact's content: its main table (`data.parquet`), optional named side tables (`<name>.parquet`) and files. */
export type ArtifactPayload = (TablePayload | SelectPayload) & {
  extraTables?: Record<string, TablePayload | SelectPayload>;
  /** extra files (name -> bytes) written beside data.parquet, e.g. a binary model */
  extraFiles?: Record<string, Uint8Array>;
};

/** A payload's main table alone (its rows, or its query), without what is beside it (side tables, files, notes). */
export function mainTable(p: TablePayload | SelectPayload): TablePayload | SelectPayload {
  return 'rows' in p ? { table: p.table, rows: p.rows } : { table: p.table, query: p.query };
}

/** Writes a payload's table to a Parquet file: its rows (checked by the caller), or its SELECT. */
export function writePayload(t: TablePayload | SelectPayload, file: string): Promise<void> {
  return 'rows' in t ? writeParquet(t.table, t.rows, file) : writeParquetSelect(t.table, t.query, file);
}

/**
 * How much a cache hit or a read checks of an artifact's files: `checksum` (default)
 * recomputes each file's SHA-256; `size` compares sizes only (a truncated or extended
 * file is still caught, a same-size bit flip is not).
 */
export type VerifyMode = 'checksum' | 'size';

/**
 * A stored file that cannot be trusted: an artifact file that does not match its
 * meta.json, a missing or garbled meta.json, an unreadable run record.
 */
export class DamagedFileError extends Error {
  override readonly name = 'DamagedFileError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
  }
}

export type ArtifactState =
  { state: 'absent' } | { state: 'ok'; meta: ArtifactMeta } | { state: 'damaged'; path: string; reason: string };

export interface DamagedEntry {
  path: string;
  reason: string;
}

/** Values derived from artifacts, per process (ArtifactStore.derived). */
const DERIVED_CACHE_SIZE = 16;
const derivedCache = new PromiseCache<unknown>(DERIVED_CACHE_SIZE);

/**
 * Tables read as rows, per process (a thread), kept apart from the derived values so that
 * reads do not push models out, up to ROWS_CACHED rows in all (a table of more is read
 * each time): a cold default run read the sources table 63 times and the predictions'
 * probabilities 290 times, 10 s of its steps' time spent turning the same Parquet files
 * into the same objects.
 */
const ROWS_CACHED = 200_000;
const rowsCache = new PromiseCache<unknown>(ROWS_CACHED);

/**
 * The artifact store: `<root>/<stage>/<id>/{data.parquet, meta.json}`.
 *
 * A directory is built under `<root>/_tmp/` and renamed into place, so a reader sees
 * either nothing or a complete artifact; a crash leaves only a temp directory, which
 * `sweepTemp` removes. Two processes writing the same id both succeed: the second
 * rename fails because the target exists, and that writer drops its copy.
 *
 * meta.json records each file's size and SHA-256. A cache hit (`check`) and every read
 * verify them; an artifact that fails is moved to `<root>/_quarantine/` (never deleted)
 * and the step that made it recomputes it.
 */
export class ArtifactStore {
  constructor(
    readonly root: string,
    readonly verify: VerifyMode = 'checksum',
  ) {}

  dir(stage: string, id: string): string {
    if (!STAGE_NAME.test(stage))
      throw new InputError(
        { file: this.root, column: 'stage', value: stage },
        'expected a stage name of lower-case letters, digits and _',
      );
    if (!isArtifactId(id))
      throw new InputError(
        { file: this.root, column: 'artifact id', value: id },
        'expected a 64-digit hexadecimal artifact id',
      );
    return join(this.root, stage, id);
  }

  /**
   * Makes a folder of the store (`_runs`, `_reports`, a stage's folder...) and returns
   * it after checking that its real path stays under the store's real path: a folder
   * that is a symlink out of the store is refused before anything is written into it.
   */
  async ensureDirInside(dir: string): Promise<string> {
    await fs.mkdir(dir, { recursive: true });
    const [root, real] = await Promise.all([fs.realpath(this.root), fs.realpath(dir)]);
    if (real !== root && !real.startsWith(`${root}/`))
      throw new InputError(
        { file: dir },
        `resolves to ${real}, outside the store ${root}; nothing written (replace the symlink with a folder)`,
      );
    return dir;
  }

  get runsDir(): string {
    return join(this.root, RUNS_DIR);
  }

  get quarantineDir(): string {
    return join(this.root, QUARANTINE_DIR);
  }

  /**
   * The artifact's state: absent, ok (meta.json valid, every listed file present with
   * its recorded size and, in checksum mode, SHA-256, and no other file), or damaged
   * with the first problem found.
   */
  async check(stage: string, id: string, mode: VerifyMode = this.verify): Promise<ArtifactState> {
    const dir = this.dir(stage, id);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' };
      throw err;
    }
    let meta: ArtifactMeta;
    try {
      meta = await this.readMeta(stage, id);
    } catch (err) {
      if (err instanceof DamagedFileError) return { state: 'damaged', path: err.path, reason: err.reason };
      throw err;
    }
    if (meta.files.some((f) => f.bytes === null || f.sha256 === null))
      return { state: 'damaged', path: join(dir, META_FILE), reason: UNVERIFIABLE };
    const listed = new Set(meta.files.map((f) => f.name));
    const extra = names.filter((n) => n !== META_FILE && !listed.has(n));
    if (extra.length > 0)
      return { state: 'damaged', path: join(dir, extra[0]!), reason: 'file not listed in meta.json' };
    for (const f of meta.files) {
      const problem = await fileProblem(join(dir, f.name), f, mode);
      if (problem) return { state: 'damaged', path: join(dir, f.name), reason: problem };
    }
    return { state: 'ok', meta };
  }

  /**
   * Moves a damaged artifact's directory into `_quarantine/` with a note of why, and
   * returns where it went (undefined when it was already gone: another process moved it).
   */
  async quarantine(stage: string, id: string, reason: string): Promise<string | undefined> {
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const dest = join(this.quarantineDir, `${stage}-${id.slice(0, 12)}-${stamp}-${randomBytes(3).toString('hex')}`);
    await this.ensureDirInside(this.quarantineDir);
    try {
      await fs.rename(this.dir(stage, id), dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    await fs.writeFile(join(dest, 'QUARANTINED.txt'), `${stage}/${id}\n${reason}\n${new Date().toISOString()}\n`);
    return dest;
  }

  /**
   * The artifact's meta.json, parsed and authenticated: a DamagedFileError when it is
   * missing or garbled, names another artifact, its stage, version, params and inputs
   * do not hash to the folder's id, or its other keys do not hash to its meta_sha256.
   */
  async readMeta(stage: string, id: string): Promise<ArtifactMeta> {
    const path = join(this.dir(stage, id), META_FILE);
    const { meta, digest } = await this.readMetaAt(path);
    if (meta.stage !== stage || meta.id !== id)
      throw new DamagedFileError(path, `meta.json names ${meta.stage}/${meta.id}, not the folder it is in`);
    // the id is the hash of what made the artifact: meta.json must still describe that (a copied or edited one does not)
    const made = artifactId(meta.stage, meta.stage_version, meta.params, meta.inputs);
    if (made !== id)
      throw new DamagedFileError(
        path,
        `meta.json's stage, version, params and inputs hash to ${made.slice(0, 12)}, not to the folder's id ${id.slice(0, 12)}`,
      );
    // the rest (file digests, row counts, facts, notes) is sealed by meta_sha256
    if (digest !== undefined && digest !== meta.meta_sha256)
      throw new DamagedFileError(
        path,
        `meta.json was edited after it was written (its keys hash to ${digest.slice(0, 12)}, meta_sha256 says ${String(meta.meta_sha256).slice(0, 12)})`,
      );
    return meta;
  }

  /** meta.json parsed, and what its keys hash to when it carries meta_sha256 (checked by readMeta, after the id). */
  private async readMetaAt(path: string): Promise<{ meta: ArtifactMeta; digest: string | undefined }> {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new DamagedFileError(path, 'meta.json is missing');
      throw new DamagedFileError(path, `cannot read meta.json (${code ?? String(err)})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new DamagedFileError(path, `meta.json is not valid JSON (${(err as Error).message})`);
    }
    const sealed =
      json !== null && typeof json === 'object' && 'meta_sha256' in json
        ? String((json as { meta_sha256: unknown }).meta_sha256)
        : undefined;
    const digest = sealed === undefined ? undefined : metaDigest(json as Record<string, unknown>);
    // meta.json of older XClass lists file names only: read as files of unknown size and checksum
    const files = (json as { files?: unknown } | null)?.files;
    if (Array.isArray(files))
      (json as { files: unknown[] }).files = files.map((f) =>
        typeof f === 'string' ? { name: f, bytes: null, sha256: null } : f,
      );
    const parsed = ArtifactMeta.safeParse(json);
    if (!parsed.success) {
      throw new DamagedFileError(path, `meta.json ${issueLine(parsed.error)}`);
    }
    return { meta: parsed.data, digest };
  }

  /**
   * Every artifact (whose id starts with `idPrefix`) whose meta.json is readable, and
   * every directory whose meta.json is missing or garbled (named, not thrown: readers go
   * on with the rest). Files are not hashed here; `check` and `xclass verify` do that.
   */
  async scan(idPrefix = ''): Promise<{ metas: ArtifactMeta[]; damaged: DamagedEntry[] }> {
    const metas: ArtifactMeta[] = [];
    const damaged: DamagedEntry[] = [];
    for (const stage of await this.stages()) {
      for (const id of await readdirOrEmpty(join(this.root, stage))) {
        if (!id.startsWith(idPrefix)) continue;
        if (!isArtifactId(id)) {
          damaged.push({ path: join(this.root, stage, id), reason: NOT_AN_ARTIFACT_DIR });
          continue;
        }
        try {
          metas.push(await this.readMeta(stage, id));
        } catch (err) {
          if (!(err instanceof DamagedFileError)) throw err;
          damaged.push({ path: err.path, reason: err.reason });
        }
      }
    }
    return { metas: metas.sort((a, b) => a.created_at.localeCompare(b.created_at)), damaged };
  }

  /** Finds an artifact by full id or unique prefix, in any stage (damaged ones are passed to onDamaged and skipped). */
  async findById(
    idOrPrefix: string,
    onDamaged: (d: DamagedEntry) => void = () => {},
  ): Promise<ArtifactMeta | undefined> {
    if (!/^[0-9a-f]{1,64}$/.test(idOrPrefix))
      throw new InputError(
        { column: 'artifact id', value: idOrPrefix },
        'expected an artifact id or its prefix (hexadecimal digits)',
      );
    // only the directories the prefix names are read: lineage walks call this once per node
    const { metas: matches, damaged } = await this.scan(idOrPrefix);
    damaged.forEach(onDamaged);
    if (matches.length > 1)
      throw new InputError(
        { column: 'artifact id', value: idOrPrefix },
        `prefix is ambiguous: ${matches.map((m) => `${m.stage}/${m.id.slice(0, 16)}`).join(', ')}`,
      );
    return matches[0];
  }

  async stages(): Promise<string[]> {
    return (await readdirOrEmpty(this.root)).filter((d) => !d.startsWith('_') && STAGE_NAME.test(d)).sort();
  }

  /** Every readable artifact's meta, oldest first; damaged ones go to onDamaged. */
  async list(onDamaged: (d: DamagedEntry) => void = () => {}): Promise<ArtifactMeta[]> {
    const { metas, damaged } = await this.scan();
    damaged.forEach(onDamaged);
    return metas;
  }

  /**
   * The rows of one table of an artifact (`data` is the main one), validated against
   * `table` and typed by it: reading a table under another schema is an error.
   */
  async readTable<T extends TableSchema>(
    table: T,
    ref: { stage: string; id: string },
    name = 'data',
  ): Promise<readonly Readonly<Row<T>>[]> {
    const meta = await this.metaOfTable(table, ref, name);
    return this.readRowsOf(meta, name, table) as Promise<readonly Readonly<Row<T>>[]>;
  }

  /**
   * The path of one table of an artifact, checked like a read (schema, size and
   * checksum), for a reader that lets DuckDB aggregate the file rather than turning every
   * row into a JavaScript object; that reader validates what it takes out.
   */
  async verifiedTablePath(
    table: TableSchema,
    ref: { stage: string; id: string },
    name = 'data',
  ): Promise<{ path: string; rows: number }> {
    const meta = await this.metaOfTable(table, ref, name);
    return { path: await this.verifiedPath(meta, `${name}.parquet`), rows: meta.table_rows[name] ?? 0 };
  }

  private async metaOfTable(
    table: TableSchema,
    ref: { stage: string; id: string },
    name: string,
  ): Promise<ArtifactMeta> {
    const { stage, id } = ref;
    const meta = await this.readMeta(stage, id);
    const schema = meta.tables[name];
    if (!schema)
      throw new Error(
        `artifact ${stage}/${id.slice(0, 12)} has no table '${name}' (tables: ${Object.keys(meta.tables).join(', ')})`,
      );
    if (schema !== table.name)
      throw new Error(
        `artifact ${stage}/${id.slice(0, 12)} table '${name}' has schema ${schema}, read as ${table.name}`,
      );
    return meta;
  }

  /**
   * An artifact's facts (meta.json `facts`), validated by the stage's facts schema
   * (schemas/facts.ts). Artifacts written before facts existed kept them in `notes`
   * under the same keys, and are read from there.
   */
  async readFacts<S extends z.ZodRawShape>(
    schema: z.ZodObject<S>,
    ref: { stage: string; id: string },
  ): Promise<z.infer<z.ZodObject<S>>> {
    const meta = await this.readMeta(ref.stage, ref.id);
    // legacy notes hold audit counts besides the facts: only the facts' keys are read there
    const parsed = meta.facts ? schema.safeParse(meta.facts) : z.object(schema.shape).safeParse(meta.notes);
    if (!parsed.success) {
      throw new Error(
        `artifact ${ref.stage}/${ref.id.slice(0, 12)} lacks what later stages need: facts ${issueLine(parsed.error)} ` +
          `(made by an older ${ref.stage} stage? run the pipeline again)`,
      );
    }
    return parsed.data;
  }

  /**
   * A value computed from an artifact's files (a decoded model, a pivoted feature
   * matrix), kept in this process: each call still checks the files against meta.json
   * (size and checksum, hashed again only when a file changed on disk), so the value
   * always comes from the content meta.json records, whose digests are part of the key.
   * The value is shared between callers, who must not change it. At most
   * DERIVED_CACHE_SIZE values are kept, the least recently used going first.
   */
  async derived<T>(
    ref: { stage: string; id: string },
    kind: string,
    files: readonly string[],
    compute: () => Promise<T>,
  ): Promise<T> {
    return this.keptFrom(derivedCache, await this.readMeta(ref.stage, ref.id), kind, files, compute);
  }

  /** `compute` kept in `cache` under the artifact, `kind` and the digests of `files`, each checked against meta.json first (derived). */
  private async keptFrom<T>(
    cache: PromiseCache<unknown>,
    meta: ArtifactMeta,
    kind: string,
    files: readonly string[],
    compute: () => Promise<T>,
    weight = 1,
  ): Promise<T> {
    for (const name of files) await this.verifiedPath(meta, name);
    const digests = files.map((name) => `${name}:${meta.files.find((f) => f.name === name)!.sha256}`);
    const key = `${this.root}\u0000${meta.stage}/${meta.id}\u0000${kind}\u0000${digests.join('|')}`;
    return cache.get(key, compute, weight) as Promise<T>;
  }

  /**
   * The rows of a table whose schema only its meta.json names (generic tools: every artifact
   * of a store), read against `tables` by schema name (activities/registry.ts TABLES: the
   * tables every stage declares).
   */
  async readAnyTable(
    tables: Readonly<Record<string, TableSchema>>,
    stage: string,
    id: string,
    name = 'data',
  ): Promise<readonly Readonly<Record<string, unknown>>[]> {
    const meta = await this.readMeta(stage, id);
    const schema = meta.tables[name];
    const table = schema === undefined ? undefined : tables[schema];
    if (!table)
      throw new Error(
        `artifact ${stage}/${id.slice(0, 12)}: no table '${name}' of a known schema (tables: ${Object.entries(
          meta.tables,
        )
          .map(([t, s]) => `${t}=${s}`)
          .join(', ')})`,
      );
    return this.readRowsOf(meta, name, table);
  }

  private async readRowsOf(
    meta: ArtifactMeta,
    name: string,
    table: TableSchema,
  ): Promise<readonly Readonly<Record<string, unknown>>[]> {
    const { stage, id } = meta;
    const file = `${name}.parquet`;
    const read = async () => {
      const rows = await readParquet(
        table,
        join(this.dir(stage, id), file),
        `artifact ${stage}/${id.slice(0, 12)}${name === 'data' ? '' : ` table ${name}`}`,
      );
      const expected = meta.table_rows[name];
      if (rows.length !== expected)
        throw new Error(
          `artifact ${stage}/${id}: table ${name} has ${rows.length} rows on disk, meta.json says ${expected}`,
        );
      // shared by every later read of the same file in this thread: frozen, so no reader can change another's rows
      for (const row of rows) Object.freeze(row);
      return Object.freeze(rows);
    };
    const rows = meta.table_rows[name] ?? Infinity;
    if (rows > ROWS_CACHED) {
      await this.verifiedPath(meta, file);
      return read();
    }
    return this.keptFrom(rowsCache, meta, `rows ${name} ${table.name}`, [file], read, Math.max(1, rows));
  }

  async readFile(stage: string, id: string, name: string): Promise<Uint8Array> {
    return fs.readFile(await this.verifiedPath(await this.readMeta(stage, id), name));
  }

  /** The path of one of an artifact's files, after checking it against meta.json (a DamagedFileError when it fails). */
  async verifiedPath(meta: ArtifactMeta, name: string): Promise<string> {
    const path = join(this.dir(meta.stage, meta.id), name);
    const recorded = meta.files.find((f) => f.name === name);
    if (!recorded) throw new DamagedFileError(path, 'file not listed in meta.json');
    const problem = await fileProblem(path, recorded, this.verify);
    if (problem)
      throw new DamagedFileError(
        path,
        `${problem} (xclass verify --repair quarantines it; the next run recomputes it)`,
      );
    return path;
  }

  /**
   * Writes an artifact atomically. Returns false when another writer already put the
   * same id in place (the stored copy is kept: nothing stored is ever overwritten). A
   * damaged copy in the way is quarantined first.
   */
  async write(meta: NewArtifact, payload: ArtifactPayload): Promise<boolean> {
    const where = `artifact ${meta.stage}/${meta.id.slice(0, 12)}`;
    if (artifactId(meta.stage, meta.stage_version, meta.params, meta.inputs) !== meta.id)
      throw new Error(
        `${where}: the id is not the hash of its stage, version, params and inputs (a bug in the caller)`,
      );
    const tables: Record<string, TablePayload | SelectPayload> = {
      data: mainTable(payload),
      ...(payload.extraTables ?? {}),
    };
    for (const [name, t] of Object.entries(tables)) {
      if (!/^[a-z][a-z0-9_]*$/.test(name))
        throw new Error(`${where}: table name '${name}' must be lower case letters, digits and _`);
      if ('rows' in t) validateRows(t.table, t.rows, name === 'data' ? where : `${where} table ${name}`);
    }
    const counts: Record<string, number> = {};
    const final = this.dir(meta.stage, meta.id);
    if (await this.existingIsIntact(meta.stage, meta.id)) return false;

    const tmp = await this.tempDir(meta.stage, meta.id);
    try {
      const files: ArtifactFile[] = [];
      for (const [name, t] of Object.entries(tables)) {
        const file = join(tmp, `${name}.parquet`);
        await writePayload(t, file);
        // read-back: the file on disk must hold the declared columns and every row we meant to write
        const back = await parquetLayoutCheck(t.table, file, where);
        if ('rows' in t && back !== t.rows.length)
          throw new Error(`${where}: table ${name}: wrote ${t.rows.length} rows, read back ${back}`);
        counts[name] = back;
        await fsyncPath(file);
        files.push(await digestFile(file, `${name}.parquet`));
      }
      const extra = payload.extraFiles ?? {};
      for (const [name, bytes] of Object.entries(extra)) {
        await writeDurably(join(tmp, name), bytes);
        files.push({ name, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
      }
      const full: ArtifactMeta = ArtifactMeta.parse({
        ...meta,
        schema: payload.table.name,
        row_count: counts['data']!,
        tables: Object.fromEntries(Object.entries(tables).map(([n, t]) => [n, t.table.name])),
        table_rows: Object.fromEntries(Object.keys(tables).map((n) => [n, counts[n]!])),
        files,
        created_at: new Date().toISOString(),
        host: hostname(),
      });
      const sealed = { ...full, meta_sha256: metaDigest(full) };
      await writeDurably(join(tmp, META_FILE), new TextEncoder().encode(`${JSON.stringify(sealed, null, 2)}\n`));
      await fsyncPath(tmp);
      await this.ensureDirInside(join(this.root, meta.stage));
      // a damaged copy that appeared meanwhile is quarantined and the rename tried once more
      for (let attempt = 0; ; attempt++) {
        try {
          await fs.rename(tmp, final);
          break;
        } catch (err) {
          if (!isExistsError(err)) throw err;
          if (attempt > 0 || (await this.existingIsIntact(meta.stage, meta.id))) return false; // another writer won; its copy is intact
        }
      }
      await fsyncPath(join(this.root, meta.stage));
      return true;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * A new folder in the store's temporary area for an artifact being made (`stage`, `id`),
   * named so that `sweepTemp` removes it once its process is dead: the caller removes it
   * when done.
   */
  async tempDir(stage: string, id: string): Promise<string> {
    const dir = join(
      await this.ensureDirInside(join(this.root, TMP_DIR)),
      `${stage}-${id.slice(0, 12)}-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    await fs.mkdir(dir);
    return dir;
  }

  /** True when an intact copy is in place; a damaged one is quarantined (with a warning) and false returned. */
  private async existingIsIntact(stage: string, id: string): Promise<boolean> {
    const state = await this.check(stage, id);
    if (state.state === 'ok') return true;
    if (state.state === 'damaged') await this.quarantineWithWarning(stage, id, state);
    return false;
  }

  /** Quarantines a damaged artifact and says so in one line on stderr. */
  async quarantineWithWarning(stage: string, id: string, state: { path: string; reason: string }): Promise<void> {
    const dest = await this.quarantine(stage, id, `${state.path}: ${state.reason}`);
    if (dest)
      process.stderr.write(
        `xclass: warning: ${state.path}: ${state.reason}; artifact moved to ${dest} and recomputed\n`,
      );
  }

  /**
   * Removes temp directories left by crashed writers: those of a dead process on this
   * host, and any older than a day (a writer on another host never takes that long).
   */
  async sweepTemp(): Promise<string[]> {
    const removed: string[] = [];
    const base = join(this.root, TMP_DIR);
    const host = hostname();
    for (const name of await readdirOrEmpty(base)) {
      const path = join(base, name);
      const m = /^[a-z0-9_]+-[0-9a-f]{12}-(?<host>.+)-(?<pid>\d+)-[0-9a-f]{8}$/.exec(name);
      let stale = false;
      if (m?.groups && m.groups['host'] === host && !processAlive(Number(m.groups['pid']))) stale = true;
      else {
        const st = await fs.stat(path).catch(() => undefined);
        stale = st !== undefined && Date.now() - st.mtimeMs > STALE_TMP_MS;
      }
      if (stale) {
        await fs.rm(path, { recursive: true, force: true });
        removed.push(name);
      }
    }
    return removed;
  }

  async tempEntries(): Promise<string[]> {
    return readdirOrEmpty(join(this.root, TMP_DIR));
  }
}

/** The bytes an artifact's files take (files of unknown size count 0). */
export function artifactBytes(meta: ArtifactMeta): number {
  return meta.files.reduce((t, f) => t + (f.bytes ?? 0), 0);
}

/** Why an artifact of older XClass is never a cache hit (it stays readable for audits of old runs). */
export const UNVERIFIABLE = 'written before file sizes and checksums were recorded, so it cannot be verified';

/** What is wrong with one artifact file, or undefined when it matches its record (a file of unknown size and checksum is read unchecked). */
async function fileProblem(path: string, recorded: ArtifactFile, mode: VerifyMode): Promise<string | undefined> {
  let st: Stats;
  try {
    st = await fs.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'file listed in meta.json is missing';
    return `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
  }
  if (recorded.bytes === null || recorded.sha256 === null) return undefined;
  if (st.size !== recorded.bytes) return `size ${st.size} bytes, meta.json says ${recorded.bytes}`;
  if (mode === 'checksum') {
    // a file read many times in one process (the feature table by every predict step) is
    // hashed once while its inode, size and mtime stay the same
    const key = `${path}\u0000${st.ino}\u0000${st.size}\u0000${st.mtimeMs}`;
    let sha = verifiedDigests.get(key);
    if (sha === undefined) sha = (await digestFile(path, recorded.name)).sha256;
    if (sha !== recorded.sha256) return `sha256 ${sha.slice(0, 12)}, meta.json says ${recorded.sha256.slice(0, 12)}`;
    verifiedDigests.set(key, sha);
  }
  return undefined;
}

const verifiedDigests = new Map<string, string>();

async function digestFile(path: string, name: string): Promise<{ name: string; bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { name, bytes, sha256: hash.digest('hex') };
}

export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isExistsError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EISDIR';
}

export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Writes a new or truncated file and syncs it to disk before returning. */
export async function writeDurably(path: string, content: string | Uint8Array): Promise<void> {
  const fh = await fs.open(path, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await fs.open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes a JSON file atomically (temp file + rename) without overwriting an existing one. */
export async function writeJsonOnce(path: string, value: unknown): Promise<void> {
  await writeFileOnce(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes a file durably and atomically. Without `overwrite` an existing file is never
 * replaced (EEXIST is thrown); with it the file is replaced in one rename.
 */
export async function writeFileOnce(
  path: string,
  content: string | Uint8Array,
  opts: { overwrite?: boolean } = {},
): Promise<void> {
  await writeFileOnceWith(path, (tmp) => writeDurably(tmp, content), opts);
}

/** writeFileOnce for content written by `write` into a temporary file beside `path` (which it must create and sync). */
export async function writeFileOnceWith(
  path: string,
  write: (tmp: string) => Promise<void>,
  opts: { overwrite?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await write(tmp);
    if (opts.overwrite) await fs.rename(tmp, path);
    else await fs.link(tmp, path); // fails with EEXIST instead of replacing
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
