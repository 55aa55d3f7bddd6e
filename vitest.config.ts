import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // removes each file's temporary folders after it
    setupFiles: ['tests/setup.ts'],
    // Generous guards, not speed checks: two files run at once on two cores, so a heavy CLI or
    // Temporal case can take twice its time alone. A test that hangs still fails.
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Two files at a time on two cores (half the cores, at least two, on a larger machine): the
    // CLI and Temporal tests spend much of their time in child processes, servers and waits, so a
    // second file uses what one leaves.
    // No verdict depends on wall-clock speed (slow paths are driven by events), which running
    // files side by side also keeps honest.
    fileParallelism: true,
    maxWorkers: Math.max(2, Math.ceil(availableParallelism() / 2)),
  },
});
