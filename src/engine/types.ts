import type {AutoWorkers, LimitReport} from './adaptive-limit.js'

/** What became of one input item. Every outcome says how many attempts it took and how long, start to settle. */
export type Outcome<R> =
  | {readonly status: 'fulfilled'; readonly value: R; readonly attempts: number; readonly durationMs: number}
  | {readonly status: 'rejected'; readonly error: unknown; readonly attempts: number; readonly durationMs: number}
  | {
      readonly status: 'cancelled'
      /** Why the run stopped: the first error (fail-fast), the caller's abort reason, or a halted wave. */
      readonly reason: unknown
      /** What the task itself threw when it was stopped mid-flight, if it was running. */
      readonly error?: unknown
      readonly attempts: number
      readonly durationMs: number
    }

export interface TaskContext {
  readonly index: number
  /** 1 for the first try, 2 for the first retry… */
  readonly attempt: number
  /**
   * Aborts on fail-fast, on the caller's signal (Ctrl-C) and, when `timeoutMs` is set, on this attempt's timeout.
   * Read it only if the task can stop early: reading it is what creates a per-task signal.
   */
  readonly signal: AbortSignal
  /**
   * Tells the engine this attempt met overload that did not make it fail (the checker's own saturation, seen while
   * it worked): with auto workers the limit halves, as on an error marked overload; a fixed pool takes no notice.
   */
  overloaded(): void
}

export type Task<T, R> = (item: T, ctx: TaskContext) => R | PromiseLike<R>

export interface Backoff {
  /** Delay before the first retry. Default 100 ms. */
  initialMs?: number
  /** Each later delay is multiplied by this. Default 2. */
  factor?: number
  /** Upper bound of a delay. Default 30 s. */
  maxMs?: number
  /** Fraction of each delay taken off at random, 0..1, so that retries of many tasks do not march in step. Default 0.5. */
  jitter?: number
}

/** A fixed pool size (>= 1), or a limit that adapts while the run goes, within bounds (see adaptive-limit.ts). */
export type Workers = number | {auto: AutoWorkers}

export interface ForkJoinOptions<T, R> {
  /** Most tasks in flight at once: a number (>= 1), or `{auto: {min, max, initial}}` for a limit that adapts. */
  workers: Workers
  /**
   * `fail-fast` (default, like Go's errgroup): the first rejection aborts the run; queued items never start and are
   * reported `cancelled`, in-flight tasks see `ctx.signal` abort. `settle`: every item runs and every error is recorded.
   */
  mode?: 'fail-fast' | 'settle'
  /** Per-attempt time limit, for all items or each its own (0 = none); the attempt's signal aborts with a TimeoutError. */
  timeoutMs?: number | ((item: T) => number)
  /**
   * How long a timed-out attempt may still take to settle after its signal aborted, so that a task which stops on
   * the signal can report what it saw (connected but no answer…). Past it the attempt is recorded as a TimeoutError
   * and its worker moves on. Default 0.
   */
  abortGraceMs?: number
  /** Extra attempts after a failed one (0 = try once), for all items or each its own. */
  retries?: number | ((item: T) => number)
  backoff?: Backoff
  /** Whether a failed attempt (the `attempt`th) of `item` is worth another, within `retries`. Default: every error is. */
  shouldRetry?: (error: unknown, attempt: number, item: T) => boolean
  /** Outer cancellation (Ctrl-C): stops the run as fail-fast does. */
  signal?: AbortSignal
  /**
   * Batched fan-out: `[1, 10]` runs 1 item, then 10, then the rest, with a barrier between waves. A wave with a
   * failure halts the run (a canary): later items are reported `cancelled`.
   */
  waves?: readonly number[]
  /** At most `limit` task starts (attempts) per `intervalMs`. */
  rate?: {limit: number; intervalMs: number}
  /** With auto workers: called with each new limit (not for the initial one, which is `initial`). */
  onLimit?: (limit: number) => void
  onStart?: (index: number, item: T) => void
  onSettle?: (index: number, outcome: Outcome<R>, item: T) => void
}

export interface Summary {
  /** Items seen: the input's length, or for a stream the items pulled from it. */
  total: number
  fulfilled: number
  rejected: number
  cancelled: number
  /** The first rejection's error, in settle mode too. */
  firstError: unknown
  /** Set when the run was stopped early: the first error (fail-fast), the caller's abort reason, or a halted wave. */
  stopReason: unknown
  stopped: boolean
  durationMs: number
  /** With auto workers only: where the limit went. */
  workers?: LimitReport
}

export interface Report<R> extends Summary {
  /** One outcome per input item, in input order. */
  outcomes: Outcome<R>[]
}
