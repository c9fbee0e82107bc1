import {forkJoin} from '../engine/index.js'
import type {Rate} from '../cli/values.js'
import type {Outcome, Workers} from '../engine/index.js'
import {envelope} from '../report/envelope.js'
import type {Envelope} from '../report/envelope.js'
import type {Check} from './check.js'
import {healthResult} from './result.js'
import type {HealthResult, Try} from './result.js'
import {CheckFailed, runCheck} from './run-check.js'
import type {Observation} from './run-check.js'

export interface CheckAllOptions {
  workers: Workers
  mode: 'fail-fast' | 'settle'
  /** First backoff delay between tries of a failing check. */
  retryDelayMs: number
  rate?: Rate
  maxRedirects: number
  maxBodyBytes: number
  /** Where [DOMAIN_EXPIRATION] asks (RDAP). */
  rdapUrl?: string
  /** Ctrl-C. */
  signal: AbortSignal
  onLimit?: (limit: number) => void
  onStart?: (index: number) => void
  onSettle?: (index: number, outcome: Outcome<unknown>) => void
}

/**
 * Tries beyond a check's own retries, with --workers auto, after the checker itself could not make one (out of file
 * descriptors: EMFILE): such a try says nothing of the backend, and the limit has halved meanwhile. (With a fixed
 * pool the try fails as `local`, saying to lower --workers: the same pool would run out again.)
 */
const LOCAL_RETRIES = 3

/** One round: every check through the engine, each with its own timeout and retries; the report in input order. */
export async function checkAll(checks: Check[], options: CheckAllOptions): Promise<Envelope<HealthResult>> {
  // Sparse: only checks that retry and failed a try have an entry.
  const history: Try[][] = []
  const adaptive = typeof options.workers !== 'number'
  const report = await forkJoin<Check, Observation>(
    checks,
    (check, ctx) =>
      runCheck(check, {
        signal: ctx.signal,
        maxRedirects: options.maxRedirects,
        maxBodyBytes: options.maxBodyBytes,
        rdapUrl: options.rdapUrl,
        overloaded: () => ctx.overloaded(),
        failed: check.retries > 0 || adaptive ? ({code, message}) => (history[ctx.index] ??= []).push({attempt: ctx.attempt, error: {code, message}}) : undefined,
      }),
    {
      workers: options.workers,
      mode: options.mode,
      timeoutMs: (check) => check.timeoutMs,
      // A probe stops on its signal and says what it saw (connected, no answer…): give it a moment to say it.
      abortGraceMs: 250,
      retries: (check) => check.retries + (adaptive ? LOCAL_RETRIES : 0),
      shouldRetry: (error, attempt, check) => attempt <= check.retries || (error instanceof CheckFailed && error.overload),
      backoff: {initialMs: options.retryDelayMs},
      rate: options.rate,
      signal: options.signal,
      onLimit: options.onLimit,
      onStart: options.onStart,
      onSettle: options.onSettle,
    },
  )
  const results = report.outcomes.map((outcome, index) => healthResult(checks[index]!, outcome, history[index]))
  return envelope('healthcheck', results, report.durationMs, options.signal.aborted, report.workers)
}
