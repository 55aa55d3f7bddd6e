#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (the Makefile does it).
import { main } from '../dist/cli/main.js';

// `xclass query ... | head` closes the pipe early: that is not an error
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`xclass: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
