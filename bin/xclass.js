#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (the Makefile does it).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`xclass: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
