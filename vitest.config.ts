import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // the CLI and Temporal tests each use both cores; running files one at a time keeps timings honest
    fileParallelism: false,
  },
});
