import * as hdr from 'hdr-histogram-js'
import type {Histogram} from 'hdr-histogram-js'

export const ERROR_KINDS = ['refused', 'reset', 'timeout', 'parse', 'other'] as const
export type ErrorKind = (typeof ERROR_KINDS)[number]

/** Microseconds, up to an hour, 3 significant digits: a few tens of kB whatever the run's length. */
export function newHistogram(): Histogram {
  return hdr.build({bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3})
}

/** What one thread saw: counts that reconcile, status codes, errors by kind with the first message of each. */
export class Recorder {
  /** Latency from the actual send. */
  readonly latency = newHistogram()
  /** Latency from the intended send time (--rate): what a user arriving on schedule would have waited. */
  readonly corrected = newHistogram()
  sent = 0
  completed = 0
  /** Sends that went out more than LATE_MS after their intended time (--rate). */
  late = 0
  readonly statuses = new Float64Array(600)
  readonly errors: Record<ErrorKind, {count: number; first?: string}> = {
    refused: {count: 0},
    reset: {count: 0},
    timeout: {count: 0},
    parse: {count: 0},
    other: {count: 0},
  }

  /** `correctedUs` is -1 without --rate: there is no schedule to be late for, and one histogram says it all. */
  response(status: number, latencyUs: number, correctedUs: number): void {
    this.completed++
    this.statuses[status < 600 ? status : 0]!++
    this.latency.recordValue(latencyUs < 1 ? 1 : latencyUs)
    if (correctedUs >= 0) this.corrected.recordValue(correctedUs < 1 ? 1 : correctedUs)
  }

  error(kind: ErrorKind, message: string, count = 1): void {
    const entry = this.errors[kind]
    entry.count += count
    entry.first ??= message
  }

  get errorCount(): number {
    let total = 0
    for (const kind of ERROR_KINDS) total += this.errors[kind].count
    return total
  }
}

export const LATE_MS = 2

/** Node's error codes as the kinds a load test reports. */
export function errorKindOf(error: unknown): ErrorKind {
  const code = (error as {code?: string})?.code
  if (code === 'ECONNREFUSED') return 'refused'
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return 'reset'
  if (code === 'ETIMEDOUT' || code === 'timeout') return 'timeout'
  if (code === 'parse') return 'parse'
  return 'other'
}
