import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../config/paths.js';

const root = packageRoot();
const cli = resolve(root, 'bin', 'xclass.js');
const temporal = join(root, '.tools', 'bin', 'temporal');

const freePort = () =>
  new Promise<number>((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => ok(p));
    });
  });

/** A Temporal dev server for a benchmark (`make temporal` builds the CLI), its database in `dir`. */
export async function startDevServer(dir: string): Promise<{ address: string; stop: () => void }> {
  const port = await freePort();
  const server = spawn(
    temporal,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      String(await freePort()),
      '--metrics-port',
      String(await freePort()),
      '--db-filename',
      join(dir, 'temporal.db'),
      '--headless',
      '--log-level',
      'error',
    ],
    { stdio: 'ignore' },
  );
  const address = `127.0.0.1:${port}`;
  for (
    let i = 0;
    i < 150 &&
    spawnSync(temporal, ['operator', 'cluster', 'health', '--address', address], { stdio: 'ignore' }).status !== 0;
    i++
  )
    await sleep(200);
  return { address, stop: () => server.kill('SIGTERM') };
}

/** `n` XClass worker processes on a store and task queue; give them a few seconds to bundle their workflow code. */
export function startWorkers(n: number, store: string, queue: string, address: string): ChildProcess[] {
  return Array.from({ length: n }, () => {
    const w = spawn(
      process.execPath,
      [
        cli,
        '--set',
        `store.path=${JSON.stringify(store)}`,
        '--set',
        `temporal.task_queue=${JSON.stringify(queue)}`,
        'worker',
        '--address',
        address,
      ],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    w.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    logs.set(w, () => log);
    return w;
  });
}

const logs = new WeakMap<ChildProcess, () => string>();

/** The steps a worker started by startWorkers has finished, by stage (its log's `worker PID: STAGE KEY done` lines). */
export function stepsDone(worker: ChildProcess, stage: string): number {
  const log = logs.get(worker)?.() ?? '';
  return [...log.matchAll(/^worker \d+: (\w+) \S+ done$/gm)].filter((m) => m[1] === stage).length;
}

/** A live process's peak resident memory in MB (Linux /proc VmHWM), null where unknown. */
export function peakRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
