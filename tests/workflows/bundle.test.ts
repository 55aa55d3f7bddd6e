import { describe, expect, it } from 'vitest';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowsPath } from '../../engine/temporal-worker.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

describe('Temporal workflow bundle', () => {
  it("builds the workflow code inside Temporal's sandbox rules (no Node imports)", async () => {
    // the worker loads the compiled workflows; `make test` builds dist/ first
    const source = fileURLToPath(new URL('../../dist/workflows/index.js', import.meta.url));
    expect(existsSync(source), `${source} (run npm run build)`).toBe(true);
    const { code } = await bundleWorkflowCode({
      workflowsPath: source,
      logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} },
    });
    expect(code).toContain('xclassPipeline');
    expect(code.length).toBeGreaterThan(10_000);
    expect(workflowsPath()).toMatch(/workflows[/\\]index\.js$/);
  }, 120_000);
});
