/**
 * Ctrl-C (SIGINT) or SIGTERM ends the command through process.exit, with the shell's code
 * for the signal (130, 143), so that the 'exit' handlers run: they remove this process's
 * temporary folders (a catalog converted into declination zones, DuckDB's spill files),
 * which a process killed by the signal's default action leaves in the system's temporary
 * directory (a step thread's DuckDB spill folder goes with its instance as the process
 * ends: tests/artifacts/duckdb-temp). Nothing half-written is visible: an artifact appears
 * by one rename, and a run left active is recorded as interrupted by the next run
 * (cli/recorded.ts).
 */
export function exitOnSignals(): void {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    process.once(signal, () => {
      process.stderr.write(`xclass: interrupted (${signal})\n`);
      process.exit(code);
    });
}
