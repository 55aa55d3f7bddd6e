import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import { packageRoot } from '../../config/paths.js';
import type { FetchSettings } from '../../schemas/fetch.js';
import { parseTapAnswer, type TapAnswer } from './formats/votable.js';

/**
 * A client of the IVOA Table Access Protocol (TAP 1.1; DALI 1.1; UWS 1.1 for asynchronous
 * jobs) over Node's fetch. Synchronous queries POST to `/sync`; asynchronous ones create a
 * job on `/async`, run it, poll its phase with a doubling wait, read `results/result` and
 * delete the job. Every request names XClass and its version, has a timeout, and is tried
 * again (a bounded number of times, waiting longer each time) on a connection error, a
 * timeout, an answer cut short or a 5xx status; a DALI error answer is never retried.
 * Written here because no maintained Node library speaks TAP (pyvo and astroquery are Python).
 */

/** One line: the service, its URL and what went wrong. */
export class TapError extends Error {
  override readonly name = 'TapError';
}

/** `XClass/<version> (TAP client)`, as politeness asks: a service can see who queries it. */
function userAgent(): string {
  if (agent === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
    agent = `XClass/${pkg.version} (TAP client; IVOA TAP 1.1)`;
  }
  return agent;
}
/** read from package.json once per process, not on every request */
let agent: string | undefined;

export type TapSettings = Pick<
  FetchSettings,
  'timeout_s' | 'attempts' | 'backoff_s' | 'poll_max_s' | 'job_timeout_s' | 'max_concurrent_per_service'
>;

export interface TapService {
  /** the service's name in the config, for messages */
  name: string;
  /** the TAP base URL */
  url: string;
}

export interface TapResult {
  /** the answer's bytes, exactly as received */
  bytes: Buffer;
  answer: TapAnswer;
  mode: 'sync' | 'async';
}

/** Something to say while a query runs (a retry, an asynchronous job's phase). */
export type TapEvent = { kind: 'retry'; attempt: number; reason: string } | { kind: 'job'; url: string; phase: string };

const limits = new Map<string, LimitFunction>();

/** At most `max_concurrent_per_service` queries in flight per service URL in this process. */
function limiterOf(url: string, n: number): LimitFunction {
  const key = `${url} ${n}`;
  let l = limits.get(key);
  if (!l) limits.set(key, (l = pLimit(n)));
  return l;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Why a request failed in words: the connection error's code, the timeout, the status. */
function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    // undici's code for a socket the other side closed while the answer was being read
    if (cause?.code === 'UND_ERR_SOCKET') return `the connection closed mid-answer (${cause.code})`;
    if (cause?.code) return cause.code;
    if (cause?.message) return cause.message;
    return err.message;
  }
  return String(err);
}

interface HttpAnswer {
  status: number;
  location: string | null;
  body: Buffer;
  contentType: string;
}

/** A 5xx answer: retried, unless it carries a DALI error document (the server's verdict). */
class ServerError extends Error {}

/**
 * One HTTP request with the timeout and bounded retries; the whole body is read inside the
 * attempt, so an answer cut short is retried like a refused connection.
 */
async function request(
  service: TapService,
  settings: TapSettings,
  method: 'GET' | 'POST' | 'DELETE',
  url: string,
  form: Record<string, string> | null,
  redirect: 'follow' | 'manual',
  onEvent: (e: TapEvent) => void,
): Promise<HttpAnswer> {
  let wait = settings.backoff_s * 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(url, {
        method,
        headers: {
          'User-Agent': userAgent(),
          ...(form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        },
        ...(form ? { body: new URLSearchParams(form).toString() } : {}),
        redirect,
        signal: AbortSignal.timeout(settings.timeout_s * 1000),
      });
      const body = Buffer.from(await res.arrayBuffer());
      const answer = {
        status: res.status,
        location: res.headers.get('location'),
        body,
        contentType: res.headers.get('content-type') ?? '',
      };
      if (res.status >= 500 && !isDaliError(body)) throw new ServerError(`HTTP ${res.status} ${res.statusText}`.trim());
      return answer;
    } catch (err) {
      const reason = reasonOf(err);
      if (attempt >= settings.attempts)
        throw new TapError(
          `fetch: service ${service.name} (${service.url}): ${method} ${url} failed after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${reason}`,
        );
      onEvent({ kind: 'retry', attempt, reason });
      await sleep(wait);
      wait = Math.min(wait * 2, settings.poll_max_s * 1000);
    }
  }
}

function isDaliError(body: Buffer): boolean {
  const head = body.subarray(0, 4096).toString('utf8');
  return head.includes('QUERY_STATUS') && /value\s*=\s*["']ERROR["']/.test(head);
}

/** The DALI answer of a query, or a one-line error with the server's message. */
function answerOf(service: TapService, http: HttpAnswer, what: string): TapAnswer {
  let answer: TapAnswer;
  try {
    answer = parseTapAnswer(http.body.toString('utf8'), `${service.name} answer`);
  } catch (err) {
    const text = http.body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
    throw new TapError(
      `fetch: service ${service.name} (${service.url}): ${what} answered HTTP ${http.status} with no VOTable (${(err as Error).message}): ${text}`,
    );
  }
  if (answer.status === 'ERROR')
    throw new TapError(
      `fetch: service ${service.name} (${service.url}) refused the query: ${answer.message.replace(/\s+/g, ' ') || 'QUERY_STATUS ERROR without a message'}`,
    );
  if (http.status >= 400)
    throw new TapError(`fetch: service ${service.name} (${service.url}): ${what} answered HTTP ${http.status}`);
  if (!answer.table)
    throw new TapError(`fetch: service ${service.name} (${service.url}): ${what} answered a VOTable without a table`);
  return answer;
}

function queryForm(adql: string, maxrec: number): Record<string, string> {
  // FORMAT is TAP 1.0's name of RESPONSEFORMAT; a service ignores the one it does not know (DALI 1.1 section 3)
  return {
    REQUEST: 'doQuery',
    LANG: 'ADQL',
    QUERY: adql,
    MAXREC: String(maxrec),
    RESPONSEFORMAT: 'votable',
    FORMAT: 'votable',
  };
}

/** A synchronous query: POST {url}/sync. */
export async function tapSync(
  service: TapService,
  settings: TapSettings,
  adql: string,
  maxrec: number,
  onEvent: (e: TapEvent) => void = () => {},
): Promise<TapResult> {
  return limiterOf(
    service.url,
    settings.max_concurrent_per_service,
  )(async () => {
    const http = await request(
      service,
      settings,
      'POST',
      `${base(service.url)}/sync`,
      queryForm(adql, maxrec),
      'follow',
      onEvent,
    );
    return { bytes: http.body, answer: answerOf(service, http, 'the synchronous query'), mode: 'sync' as const };
  });
}

/** The phase of a UWS job from `{job}/phase` (plain text) or the job document. */
function phaseOf(body: Buffer): string {
  const text = body.toString('utf8').trim();
  const m = /<(?:\w+:)?phase>\s*([A-Z]+)\s*<\/(?:\w+:)?phase>/.exec(text);
  return (m ? m[1]! : text).toUpperCase();
}

/**
 * An asynchronous job (UWS 1.1): create it, set PHASE=RUN, poll `{job}/phase` with a
 * doubling wait (backoff_s up to poll_max_s) until COMPLETED, ERROR or ABORTED or
 * job_timeout_s, read `{job}/results/result`, and delete the job whatever happened.
 */
export async function tapAsync(
  service: TapService,
  settings: TapSettings,
  adql: string,
  maxrec: number,
  onEvent: (e: TapEvent) => void = () => {},
): Promise<TapResult> {
  return limiterOf(
    service.url,
    settings.max_concurrent_per_service,
  )(async () => {
    const created = await request(
      service,
      settings,
      'POST',
      `${base(service.url)}/async`,
      queryForm(adql, maxrec),
      'manual',
      onEvent,
    );
    if (created.status >= 400) answerOf(service, created, 'creating an asynchronous job');
    if (!created.location)
      throw new TapError(
        `fetch: service ${service.name} (${service.url}): creating an asynchronous job answered HTTP ${created.status} without a job URL`,
      );
    const job = base(new URL(created.location, `${base(service.url)}/async`).toString());
    try {
      await request(service, settings, 'POST', `${job}/phase`, { PHASE: 'RUN' }, 'manual', onEvent);
      const started = Date.now();
      let wait = settings.backoff_s * 1000;
      for (;;) {
        const phase = phaseOf((await request(service, settings, 'GET', `${job}/phase`, null, 'follow', onEvent)).body);
        onEvent({ kind: 'job', url: job, phase });
        if (phase === 'COMPLETED') break;
        if (phase === 'ERROR') {
          const error = await request(service, settings, 'GET', `${job}/error`, null, 'follow', onEvent);
          answerOf(service, error, 'the asynchronous job');
          throw new TapError(
            `fetch: service ${service.name} (${service.url}): the asynchronous job ${job} ended in ERROR`,
          );
        }
        if (phase === 'ABORTED')
          throw new TapError(
            `fetch: service ${service.name} (${service.url}): the asynchronous job ${job} was aborted by the service`,
          );
        if (Date.now() - started > settings.job_timeout_s * 1000)
          throw new TapError(
            `fetch: service ${service.name} (${service.url}): the asynchronous job ${job} did not finish in ${settings.job_timeout_s} s (phase ${phase}); deleted`,
          );
        await sleep(wait);
        wait = Math.min(wait * 2, settings.poll_max_s * 1000);
      }
      const result = await request(service, settings, 'GET', `${job}/results/result`, null, 'follow', onEvent);
      return { bytes: result.body, answer: answerOf(service, result, 'the asynchronous job'), mode: 'async' as const };
    } finally {
      // UWS: DELETE on the job; a service that has already gone keeps its job until its own destruction time
      await request(service, { ...settings, attempts: 1 }, 'DELETE', job, null, 'manual', () => {}).catch(
        () => undefined,
      );
    }
  });
}
