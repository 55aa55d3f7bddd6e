import { randomBytes } from 'node:crypto';
import { constants as fsc, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ArtifactMeta } from '../schemas/artifact.js';
import { TABLES } from '../schemas/registry.js';
import type { TableSchema } from '../schemas/table.js';
import { InputError } from '../lib/errors.js';
import { readParquet, validateRows, writeParquet } from './parquet.js';

export const META_FILE = 'meta.json';
const TMP_DIR = '_tmp';
const RUNS_DIR = '_runs';
const STALE_TMP_MS = 24 * 3600 * 1000;

export type NewArtifact = Omit<ArtifactMeta, 'row_count' | 'tables' | 'table_rows' | 'files' | 'created_at' | 'host'>;

export interface TablePayload {
  table: TableSchema;
  rows: readonly Record<string, unknown>[];
}

/** An artifact's content: its main table (`data.parquet`), optional named side tables (`<name>.parquet`) and files. */
export interface ArtifactPayload extends TablePayload {
  extraTables?: Record<string, TablePayload>;
  /** extra files (name -> bytes) written beside data.parquet, e.g. a binary model */
  extraFiles?: Record<string, Uint8Array>;
}

/**
 * The artifact store: `<root>/<stage>/<id>/{data.parquet, meta.json}`.
 *
 * A directory is built under `<root>/_tmp/` and renamed into place, so a reader sees
 * either nothing or a complete artifact; a crash leaves only a temp directory, which
 * `sweepTemp` removes. Two processes writing the same id both succeed: the second
 * rename fails because the target exists, and that writer drops its copy.
 */
export class ArtifactStore {
  constructor(readonly root: string) {}

  dir(stage: string, id: string): string {
    return join(this.root, stage, id);
  }

  get runsDir(): string {
    return join(this.root, RUNS_DIR);
  }

  async has(stage: string, id: string): Promise<boolean> {
    try {
      await fs.access(join(this.dir(stage, id), META_FILE), fsc.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  async readMeta(stage: string, id: string): Promise<ArtifactMeta> {
    const path = join(this.dir(stage, id), META_FILE);
    const parsed = ArtifactMeta.safeParse(JSON.parse(await fs.readFile(path, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError({ file: path, column: issue.path.join('.') }, issue.message);
    }
    return parsed.data;
  }

  /** Finds an artifact by full id or unique prefix, in any stage. */
  async findById(idOrPrefix: string): Promise<ArtifactMeta | undefined> {
    const matches: ArtifactMeta[] = [];
    for (const stage of await this.stages()) {
      for (const id of await readdirOrEmpty(join(this.root, stage))) {
        if (id.startsWith(idOrPrefix)) matches.push(await this.readMeta(stage, id));
      }
    }
    if (matches.length > 1) throw new Error(`artifact id prefix ${idOrPrefix} is ambiguous: ${matches.map((m) => `${m.stage}/${m.id.slice(0, 16)}`).join(', ')}`);
    return matches[0];
  }

  async stages(): Promise<string[]> {
    return (await readdirOrEmpty(this.root)).filter((d) => !d.startsWith('_')).sort();
  }

  async list(): Promise<ArtifactMeta[]> {
    const out: ArtifactMeta[] = [];
    for (const stage of await this.stages()) {
      for (const id of await readdirOrEmpty(join(this.root, stage))) out.push(await this.readMeta(stage, id));
    }
    return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  /** Reads and validates a table of an artifact: `data` (the main table) or a side table's name. */
  async readTable(stage: string, id: string, name = 'data'): Promise<Record<string, unknown>[]> {
    const meta = await this.readMeta(stage, id);
    const schema = meta.tables[name];
    if (!schema) throw new Error(`artifact ${stage}/${id.slice(0, 12)} has no table '${name}' (tables: ${Object.keys(meta.tables).join(', ')})`);
    const table = TABLES[schema];
    if (!table) throw new Error(`artifact ${stage}/${id}: unknown schema ${schema}`);
    const rows = await readParquet(table, join(this.dir(stage, id), `${name}.parquet`), `artifact ${stage}/${id.slice(0, 12)}${name === 'data' ? '' : ` table ${name}`}`);
    const expected = meta.table_rows[name];
    if (rows.length !== expected) throw new Error(`artifact ${stage}/${id}: table ${name} has ${rows.length} rows on disk, meta.json says ${expected}`);
    return rows;
  }

  async readFile(stage: string, id: string, name: string): Promise<Uint8Array> {
    return fs.readFile(join(this.dir(stage, id), name));
  }

  /**
   * Writes an artifact atomically. Returns false when another writer already put the
   * same id in place (the stored copy is kept: nothing stored is ever overwritten).
   */
  async write(meta: NewArtifact, payload: ArtifactPayload): Promise<boolean> {
    const where = `artifact ${meta.stage}/${meta.id.slice(0, 12)}`;
    const tables: Record<string, TablePayload> = { data: payload, ...(payload.extraTables ?? {}) };
    for (const [name, t] of Object.entries(tables)) {
      if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`${where}: table name '${name}' must be lower case letters, digits and _`);
      validateRows(t.table, t.rows, name === 'data' ? where : `${where} table ${name}`);
    }
    const final = this.dir(meta.stage, meta.id);
    if (await this.has(meta.stage, meta.id)) return false;

    const tmp = join(this.root, TMP_DIR, `${meta.stage}-${meta.id.slice(0, 12)}-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
    await fs.mkdir(tmp, { recursive: true });
    try {
      for (const [name, t] of Object.entries(tables)) {
        const file = join(tmp, `${name}.parquet`);
        await writeParquet(t.table, t.rows, file);
        // read-back: the file on disk must hold exactly what we meant to write
        const back = await readParquet(t.table, file, where);
        if (back.length !== t.rows.length) throw new Error(`${where}: table ${name}: wrote ${t.rows.length} rows, read back ${back.length}`);
        await fsyncPath(file);
      }
      const extra = payload.extraFiles ?? {};
      for (const [name, bytes] of Object.entries(extra)) await writeDurably(join(tmp, name), bytes);
      const full: ArtifactMeta = ArtifactMeta.parse({
        ...meta,
        schema: payload.table.name,
        row_count: payload.rows.length,
        tables: Object.fromEntries(Object.entries(tables).map(([n, t]) => [n, t.table.name])),
        table_rows: Object.fromEntries(Object.entries(tables).map(([n, t]) => [n, t.rows.length])),
        files: [...Object.keys(tables).map((n) => `${n}.parquet`), ...Object.keys(extra)],
        created_at: new Date().toISOString(),
        host: hostname(),
      });
      await writeDurably(join(tmp, META_FILE), new TextEncoder().encode(`${JSON.stringify(full, null, 2)}\n`));
      await fsyncPath(tmp);
      await fs.mkdir(join(this.root, meta.stage), { recursive: true });
      try {
        await fs.rename(tmp, final);
      } catch (err) {
        if (isExistsError(err)) return false; // another writer won; its copy is intact
        throw err;
      }
      await fsyncPath(join(this.root, meta.stage));
      return true;
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
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

function processAlive(pid: number): boolean {
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

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await fs.open(path, 'w');
  try {
    await fh.writeFile(bytes);
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
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeDurably(tmp, new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
  try {
    await fs.link(tmp, path); // fails with EEXIST instead of replacing
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
