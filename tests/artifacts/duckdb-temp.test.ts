import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers.js';

// A process whose DuckDB spills (a sort larger than its memory limit) reports its spill
// folder while it runs, in the main thread and in a worker thread; the worker is
// terminated (as a pool ends its threads) and the process ends by process.exit (as the
// bench child does), neither of which lets DuckDB remove its folder itself. After each
// the folder must be gone. Runs the built module (dist/: `make test` builds first).
const SCRIPT = `
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
const url = ${JSON.stringify(join(ROOT, 'dist', 'artifacts', 'duckdb.js'))};
const spill = (out) =>
  "COPY (SELECT i, md5(i::VARCHAR) h FROM range(2500000) t(i) ORDER BY h) TO '" + out + "' (FORMAT parquet)";
const { withConnection, duckdbTempDir } = await import(url);
await withConnection((c) => c.run(spill(process.env.OUT + '/main.parquet')));
const main = { dir: duckdbTempDir, existed: existsSync(duckdbTempDir) };
const worker = new Worker(
  "const { parentPort } = require('node:worker_threads'); import(" + JSON.stringify(url) + ").then(async (m) => {" +
    " await m.withConnection((c) => c.run(" + JSON.stringify(spill(process.env.OUT + '/worker.parquet')) + "));" +
    " parentPort.postMessage({ dir: m.duckdbTempDir, existed: require('node:fs').existsSync(m.duckdbTempDir) });" +
    " setInterval(() => {}, 1000); });",
  { eval: true, execArgv: [] },
);
const inWorker = await new Promise((resolve) => worker.once('message', resolve));
await worker.terminate();
console.log(JSON.stringify({ main, inWorker, workerDirAfterExit: existsSync(inWorker.dir) }));
process.exit(0);
`;

describe('DuckDB spill folders', () => {
  it('are one per thread and removed when the thread or the process exits', () => {
    const out = tempDir();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      env: { ...process.env, OUT: out, XCLASS_DUCKDB_MEMORY: '128MB' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const seen = JSON.parse(r.stdout.trim()) as {
      main: { dir: string; existed: boolean };
      inWorker: { dir: string; existed: boolean };
      workerDirAfterExit: boolean;
    };
    // both spilled (so the check below can fail), each into its own folder
    expect(seen.main.existed).toBe(true);
    expect(seen.inWorker.existed).toBe(true);
    expect(seen.main.dir).toMatch(new RegExp(`xclass-duckdb-${r.pid}-0$`));
    expect(seen.inWorker.dir).not.toBe(seen.main.dir);
    expect(seen.workerDirAfterExit).toBe(false);
    expect(existsSync(seen.main.dir)).toBe(false);
  });

  it("are removed when Ctrl-C ends the CLI's process while a step thread holds one", () => {
    const out = tempDir();
    const script = `
import { Worker } from 'node:worker_threads';
const url = ${JSON.stringify(join(ROOT, 'dist', 'artifacts', 'duckdb.js'))};
const { exitOnSignals } = await import(${JSON.stringify(join(ROOT, 'dist', 'cli', 'signals.js'))});
exitOnSignals();
const worker = new Worker(
  "const { parentPort } = require('node:worker_threads'); import(" + JSON.stringify(url) + ").then(async (m) => {" +
    " await m.withConnection((c) => c.run(\\"COPY (SELECT i, md5(i::VARCHAR) h FROM range(2500000) t(i) ORDER BY h) TO '" + process.env.OUT + "/w.parquet' (FORMAT parquet)\\"));" +
    " parentPort.postMessage({ dir: m.duckdbTempDir, existed: require('node:fs').existsSync(m.duckdbTempDir) });" +
    " setInterval(() => {}, 1000); });",
  { eval: true, execArgv: [] },
);
const seen = await new Promise((resolve) => worker.once('message', resolve));
console.log(JSON.stringify(seen));
process.kill(process.pid, 'SIGINT');
setInterval(() => {}, 1000);
`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, OUT: out, XCLASS_DUCKDB_MEMORY: '128MB' },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('xclass: interrupted (SIGINT)\n');
    expect(r.status).toBe(130);
    const seen = JSON.parse(r.stdout.trim()) as { dir: string; existed: boolean };
    expect(seen.existed).toBe(true);
    expect(seen.dir).toMatch(new RegExp(`xclass-duckdb-${r.pid}-[1-9]\\d*$`));
    expect(existsSync(seen.dir)).toBe(false);
  });
});
