import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled entry file of a worker-thread pool in engine/ (`step-worker`,
 * `tree-worker`): beside this module in dist/, or in dist/ when this module runs from
 * the TypeScript sources (tests). Worker threads load JavaScript, so the build must
 * have run.
 */
export function engineWorkerFile(name: string): string {
  const here = fileURLToPath(new URL(`./${name}.js`, import.meta.url));
  if (existsSync(here)) return here;
  const built = fileURLToPath(new URL(`../dist/engine/${name}.js`, import.meta.url));
  if (existsSync(built)) return built;
  throw new Error(`worker ${here} not found; build first (npm run build)`);
}
