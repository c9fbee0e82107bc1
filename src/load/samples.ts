import * as hdr from 'hdr-histogram-js'
import type {Histogram} from 'hdr-histogram-js'

import type {LoadState} from './load-state.js'
import {ERROR_KINDS} from './recorder.js'
import {decode} from './tally.js'

/**
 * About one second of the measured phase as it crosses threads and files: what completed and failed in it and the
 * latency histogram of its responses. Rows are cut by the thread's existing progress tick (every 250 ms or less),
 * never per request: a row ends at the first tick after each whole second, so it spans 1 s to 1.25 s, and says so.
 */
export interface Second {
  /** Measured time at the row's end, in ms since the measured phase began. */
  endMs: number
  /** The row's span in ms. */
  ms: number
  completed: number
  errors: number
  statuses: Record<string, number>
  errorKinds: Record<string, number>
  /** The row's responses' latency (from the intended send time under --rate), HdrHistogram's compressed base64. */
  latency: string
}

/**
 * A row's histogram: 2 significant digits (1% buckets) rather than the run's 3 — p50/p99 over time need no more, and a
 * row encodes in about a third of the bytes (an hour of rows is ~1.5 MB, not ~4). Bucketing is linear, so the
 * difference of two bucketed cumulative histograms is exactly the bucketed interval.
 */
function rowHistogram(): Histogram {
  return hdr.build({bitBucketSize: 32, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2})
}

/** Cuts a thread's cumulative counts into per-second rows by difference with the previous cut. */
export class Sampler {
  readonly seconds: Second[] = []
  private readonly previous = rowHistogram()
  private readonly interval = rowHistogram()
  private readonly statuses: Float64Array
  private readonly errorKinds = new Float64Array(ERROR_KINDS.length)
  private endMs = 0
  private completed = 0

  constructor(private readonly state: LoadState) {
    this.statuses = new Float64Array(state.recorder.statuses.length)
  }

  /** At every tick: a row once another whole second has been measured; `last`: the rest of the run, however short. */
  tick(last = false): void {
    const at = this.state.measuredMs
    if (last ? at <= this.endMs : at < (this.seconds.length + 1) * 1000) return
    const {recorder} = this.state
    const cumulative = this.state.plan.rate ? recorder.corrected : recorder.latency
    this.interval.reset()
    this.interval.add(cumulative)
    this.interval.subtract(this.previous)
    this.previous.add(this.interval)
    const statuses: Record<string, number> = {}
    for (let status = 0; status < this.statuses.length; status++) {
      const count = recorder.statuses[status]! - this.statuses[status]!
      if (count > 0) statuses[String(status)] = count
      this.statuses[status] = recorder.statuses[status]!
    }
    const errorKinds: Record<string, number> = {}
    let errors = 0
    ERROR_KINDS.forEach((kind, i) => {
      const count = recorder.errors[kind].count - this.errorKinds[i]!
      if (count > 0) errorKinds[kind] = count
      errors += count
      this.errorKinds[i] = recorder.errors[kind].count
    })
    this.seconds.push({endMs: at, ms: at - this.endMs, completed: recorder.completed - this.completed, errors, statuses, errorKinds, latency: hdr.encodeIntoCompressedBase64(this.interval)})
    this.endMs = at
    this.completed = recorder.completed
  }
}

/** Rows of runs side by side (threads, shards), second by second: counts add up, histograms merge, spans are the longest. */
export function mergeSeconds(runs: (Second[] | undefined)[]): Second[] {
  const length = Math.max(0, ...runs.map((seconds) => seconds?.length ?? 0))
  const histogram = rowHistogram()
  return Array.from({length}, (_, i) => {
    histogram.reset()
    const merged: Second = {endMs: 0, ms: 0, completed: 0, errors: 0, statuses: {}, errorKinds: {}, latency: ''}
    for (const seconds of runs) {
      const row = seconds?.[i]
      if (!row) continue
      merged.endMs = Math.max(merged.endMs, row.endMs)
      merged.ms = Math.max(merged.ms, row.ms)
      merged.completed += row.completed
      merged.errors += row.errors
      for (const [status, count] of Object.entries(row.statuses)) merged.statuses[status] = (merged.statuses[status] ?? 0) + count
      for (const [kind, count] of Object.entries(row.errorKinds)) merged.errorKinds[kind] = (merged.errorKinds[kind] ?? 0) + count
      histogram.add(decode(row.latency))
    }
    merged.latency = hdr.encodeIntoCompressedBase64(histogram)
    return merged
  })
}
