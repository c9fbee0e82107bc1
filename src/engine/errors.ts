/** An attempt ran past `timeoutMs`. `code` lets reports group it with other timeouts. */
export class TimeoutError extends Error {
  readonly code = 'timeout'
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`)
    this.name = 'TimeoutError'
  }
}

/** Why items after a failed wave were never started. */
export class WaveHaltedError extends Error {
  readonly code = 'wave-halted'
  constructor(
    readonly wave: number,
    readonly failures: number,
  ) {
    super(`wave ${wave} had ${failures} failure${failures === 1 ? '' : 's'}; later waves were not started`)
    this.name = 'WaveHaltedError'
  }
}

/** A thrown non-Error (a string, undefined…) made readable, keeping the original value. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown
  const error = new Error(`task threw a non-Error value: ${describe(thrown)}`)
  ;(error as Error & {thrown: unknown}).thrown = thrown
  return error
}

function describe(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * How a domain tells the engine that a task failed because the other side is overloaded (too many connections, a
 * 503, EMFILE…), not because the target is wrong: `overload: true`, and/or `retryAfterMs` when the other side said
 * how long to wait. An adaptive limit halves on it; a `retryAfterMs` pauses every new start for that long, with
 * a fixed pool too, and is the least backoff before that task's retry.
 */
export interface OverloadMark {
  overload?: boolean
  retryAfterMs?: number
}

/** Marks `error` as an overload signal (see OverloadMark) and returns it. */
export function markOverload<E extends object>(error: E, retryAfterMs?: number): E & OverloadMark {
  const marked = error as E & OverloadMark
  marked.overload = true
  if (retryAfterMs !== undefined && retryAfterMs > 0) marked.retryAfterMs = retryAfterMs
  return marked
}

/** The overload signal a thrown value carries, if any: `retryAfterMs` is 0 when it names no wait. */
export function overloadOf(thrown: unknown): {retryAfterMs: number} | undefined {
  if (typeof thrown !== 'object' || thrown === null) return undefined
  const {overload, retryAfterMs} = thrown as OverloadMark
  const wait = typeof retryAfterMs === 'number' && retryAfterMs > 0 ? retryAfterMs : 0
  return overload === true || wait > 0 ? {retryAfterMs: wait} : undefined
}
