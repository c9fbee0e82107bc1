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
