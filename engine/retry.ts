import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from '../schemas/engine.js';
import { NON_RETRYABLE_ERROR_TYPES } from '../lib/errors.js';

/** Delay before attempt `attempt + 1` (attempt counts from 1), as Temporal computes it. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.initial_interval_ms * policy.backoff_coefficient ** (attempt - 1), policy.maximum_interval_ms);
}

export function isNonRetryable(err: unknown): boolean {
  return err instanceof Error && (NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(err.name);
}

/**
 * The embedded engine's retry loop, with Temporal's semantics: up to
 * `maximum_attempts` tries, exponential backoff capped at `maximum_interval_ms`, and
 * failures a retry cannot fix (NON_RETRYABLE_ERROR_TYPES) never retried.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry: (attempt: number, err: unknown, delayMs: number) => void = () => {},
  wait: (ms: number) => Promise<unknown> = (ms) => sleep(ms),
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (isNonRetryable(err) || attempt >= policy.maximum_attempts) throw err;
      const delay = retryDelayMs(policy, attempt);
      onRetry(attempt, err, delay);
      await wait(delay);
    }
  }
}
