import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from '../helpers.js';

export const TEMPORAL_BIN = join(ROOT, '.tools', 'bin', 'temporal');

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A real Temporal dev server (`temporal server start-dev`, SQLite persistence) on a
 * loopback port with its own database file. `make test` builds the CLI from Go modules.
 */
export class DevServer {
  private proc: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dbFile: string,
  ) {}

  static async start(dbFile: string): Promise<DevServer> {
    if (!existsSync(TEMPORAL_BIN)) throw new Error(`${TEMPORAL_BIN} missing: run make temporal (make test does)`);
    const s = new DevServer(await freePort(), dbFile);
    await s.up();
    return s;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const [http, metrics] = [await freePort(), await freePort()];
    this.proc = spawn(
      TEMPORAL_BIN,
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        String(this.port),
        '--http-port',
        String(http),
        '--metrics-port',
        String(metrics),
        '--db-filename',
        this.dbFile,
        '--headless',
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 150; i++) {
      const ok =
        spawnSync(TEMPORAL_BIN, ['operator', 'cluster', 'health', '--address', this.address], {
          stdio: 'ignore',
          timeout: 5000,
        }).status === 0;
      if (ok) return;
      await sleep(200);
    }
    throw new Error(`temporal dev server on ${this.address} did not become healthy`);
  }

  async down(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await Promise.race([exited, sleep(10_000)]);
    if (p.exitCode === null) p.kill('SIGKILL');
    await exited;
  }
}
