import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers.js';

/**
 * A real TAP server for the tests: GAVO DaCHS (Debian's gavodachs2-server, which `make test`
 * installs and whose PostgreSQL cluster it starts) serving the tables of
 * tests/fixtures/tap (q.rd: the bundled NGC 3532 CSC cone, and simulated Gaia DR3 and 2MASS
 * tables around it) from a free local port. The resource is imported into DaCHS's own
 * database under the schema `xctap` (dropped and re-imported at each start).
 */

export const DACHS = '/usr/bin/dachs';
export const TAP_FIXTURES = join(ROOT, 'tests', 'fixtures', 'tap');
const INPUTS = '/var/gavo/inputs/xctap';

export interface Dachs {
  /** the TAP base URL */
  tap: string;
  /** the server's log (requests as DaCHS logs them) */
  log: string;
  process: ChildProcess;
  /** ends the server (SIGKILL with `kill`, else SIGTERM) and waits for it to exit */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Imports the test resource (once per process) and starts `dachs serve debug` on a free port; resolves when it answers. */
let imported = false;
export async function startDachs(): Promise<Dachs> {
  if (!existsSync(DACHS))
    throw new Error(`${DACHS} not found: make test installs gavodachs2-server (Makefile target dachs)`);
  if (!imported) {
    rmSync(INPUTS, { recursive: true, force: true });
    mkdirSync(INPUTS, { recursive: true });
    for (const f of readdirSync(TAP_FIXTURES))
      if (f.endsWith('.rd') || f.endsWith('.csv')) cpSync(join(TAP_FIXTURES, f), join(INPUTS, f));
    execFileSync(DACHS, ['--suppress-log', 'imp', 'xctap/q'], { cwd: '/var/gavo/inputs', stdio: 'pipe' });
    imported = true;
  }
  const port = await freePort();
  const dir = tempDir('xclass-dachs-');
  const rc = join(dir, 'gavo.rc');
  writeFileSync(rc, `[web]\nserverPort: ${port}\nserverURL: http://127.0.0.1:${port}\nbindAddress: 127.0.0.1\n`);
  const log = join(dir, 'serve.log');
  const fd = openSync(log, 'a');
  const child = spawn(DACHS, ['serve', 'debug'], {
    env: { ...process.env, GAVOSETTINGS: rc },
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const tap = `http://127.0.0.1:${port}/tap`;
  // ready when the TAP capabilities answer; a generous guard for a busy machine, never a verdict
  const guard = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dachs serve exited with ${child.exitCode}; its log: ${log}`);
    const ok = await fetch(`${tap}/capabilities`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ok) break;
    if (Date.now() > guard) {
      process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`dachs serve did not answer on ${tap} in 180 s; its log: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    tap,
    log,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
      await exited;
    },
  };
}

/** Config assignments (`--set` values) pointing the fetch config at a local server: services xcsc, xgaia, x2mass, and the defaults. */
export function dachsServices(tap: string): string[] {
  const svc = (table: string, preset: string) => ({
    url: tap,
    table: `xctap.${table}`,
    preset,
    doc: 'the tests local DaCHS (tests/tap/dachs.ts)',
  });
  const services = {
    xcsc: svc('master_source', 'csc2'),
    xgaia: svc('gaia_source', 'gaia_dr3'),
    x2mass: svc('fp_psc', '2mass'),
  };
  return [`fetch.services=${JSON.stringify(services)}`, 'fetch.default_services=["xcsc","xgaia","x2mass"]'];
}

/** The same as `--set` arguments of the CLI. */
export function asSetArgs(assignments: readonly string[]): string[] {
  return assignments.flatMap((a) => ['--set', a]);
}
