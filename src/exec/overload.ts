import {UsageError} from '../cli/errors.js'
import {markOverload} from '../engine/index.js'
import {ChildFailed} from './child.js'

/** Which failed commands tell of overload rather than of a bad target, and whether their stderr may say when to come back. */
export interface OverloadPolicy {
  exitCodes: ReadonlySet<number>
  retryAfterFromStderr: boolean
}

/** `75` or `75,22`: exit codes 1-255 that mean "overloaded, try later" (75 is EX_TEMPFAIL). */
export function parseExitCodes(input: string): Set<number> {
  const codes = input.split(',').map((part) => part.trim())
  if (codes.every((code) => /^\d{1,3}$/.test(code) && Number(code) >= 1 && Number(code) <= 255)) return new Set(codes.map(Number))
  throw new UsageError(`--overload-exit-codes expects exit codes from 1 to 255, comma-separated, like 75 or 75,22; got "${input}"`)
}

/** `Retry-After: 5` (seconds, as in HTTP) on a line of its own. */
const RETRY_AFTER = /^retry-after:\s*(\d+(?:\.\d+)?)\s*$/i

/**
 * Marks a failed command's error as overload for the engine when its exit code is one of the policy's, or (when
 * allowed) when its last stderr lines hold a `Retry-After: N` line, which also says how long every start waits.
 * Off by default: a command's stderr is not trusted to steer the run unless the user says so.
 */
export function markIfOverloaded(error: unknown, policy: OverloadPolicy): unknown {
  if (!(error instanceof ChildFailed)) return error
  const {exitCode, stderr} = error.result
  let retryAfterMs: number | undefined
  if (policy.retryAfterFromStderr) {
    for (const line of stderr) {
      const said = RETRY_AFTER.exec(line.trim())
      if (said) retryAfterMs = Number(said[1]) * 1000
    }
  }
  const listed = exitCode !== null && policy.exitCodes.has(exitCode)
  return listed || retryAfterMs !== undefined ? markOverload(error, retryAfterMs) : error
}
