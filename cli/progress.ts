import { performance } from 'node:perf_hooks';
import cliProgress from 'cli-progress';
import type { RunProgress } from '../schemas/step.js';
import type { DagEvent } from '../workflows/dag.js';

export type Reporter = {
  onEvent(e: DagEvent): void;
  onRetry(key: string, attempt: number, err: unknown, delayMs: number): void;
  /** a whole-run snapshot, for engines that report progress by polling (Temporal) */
  onSnapshot(p: RunProgress): void;
  /** progress inside one step (the steps that report it: sed, classify, ...) */
  onStepProgress(key: string, done: number, total: number, note?: string): void;
  stop(): void;
};

/**
 * Progress of a run. On a terminal: a bar with steps done/total, cache hits, elapsed
 * time and the step now running. With --json: one JSON object per event on stdout.
 * Otherwise (a pipe, CI): quiet.
 */
export function createReporter(mode: 'tty' | 'json' | 'quiet', stream: NodeJS.WriteStream = process.stderr): Reporter {
  const t0 = performance.now();
  const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1);
  let hits = 0;
  if (mode === 'json') {
    return {
      onEvent(e) {
        const { key: step, stage, cacheHit: cache_hit, artifactId: artifact_id, error } = e.step;
        const event = {
          event: `step_${e.type}`,
          step,
          stage,
          done: e.done,
          total: e.total,
          cache_hit,
          artifact_id,
          error,
          elapsed_s: Number(elapsed()),
        };
        process.stdout.write(`${JSON.stringify(event)}\n`);
      },
      onRetry(key, attempt, err, delayMs) {
        process.stdout.write(
          `${JSON.stringify({ event: 'step_retry', step: key, attempt, delay_ms: delayMs, error: String(err) })}\n`,
        );
      },
      onSnapshot(p) {
        process.stdout.write(
          `${JSON.stringify({ event: 'progress', done: p.done, total: p.total, cache_hits: p.cacheHits, running: p.running, elapsed_s: Number(elapsed()) })}\n`,
        );
      },
      onStepProgress(key, done, total, note) {
        process.stdout.write(
          `${JSON.stringify({ event: 'step_progress', step: key, done, total, note, elapsed_s: Number(elapsed()) })}\n`,
        );
      },
      stop() {},
    };
  }
  if (mode === 'quiet') return { onEvent() {}, onRetry() {}, onSnapshot() {}, onStepProgress() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      format: ' {bar} {value}/{total} steps | {hits} cached | {elapsed}s | {current}',
      stream,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const running = new Set<string>();
  return {
    onEvent(e) {
      if (!started) {
        bar.start(e.total, 0, { hits: 0, elapsed: elapsed(), current: '' });
        started = true;
      }
      if (e.type === 'start') running.add(e.step.key);
      else running.delete(e.step.key);
      if (e.type === 'done' && e.step.cacheHit) hits++;
      bar.update(e.done, { hits, elapsed: elapsed(), current: [...running].join(', ') });
    },
    onSnapshot(p) {
      if (!started) {
        bar.start(p.total, 0, { hits: 0, elapsed: elapsed(), current: '' });
        started = true;
      }
      bar.update(p.done, { hits: p.cacheHits, elapsed: elapsed(), current: p.running.join(', ') });
    },
    onStepProgress(key, done, total, note) {
      if (started) bar.update({ elapsed: elapsed(), current: `${key}: ${note ?? `${done}/${total}`}` });
    },
    onRetry(key, attempt, err, delayMs) {
      stream.write(
        `\n  retry ${key} after attempt ${attempt} in ${delayMs} ms: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
