/**
 * The headline figures of a benchmark, one machine-readable line each
 * (`@figure {...}`), beside its human-readable output; `make bench` collects them into
 * one table at the end (bench/support/summarise.ts).
 */
export interface Figure {
  bench: string;
  figure: string;
  value: number;
  unit: string;
  /** what the issue asks, e.g. "<= 1.0" */
  target?: string;
}

export function figure(f: Figure): void {
  console.log(`@figure ${JSON.stringify(f)}`);
}
