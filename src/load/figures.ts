import type {Histogram} from 'hdr-histogram-js'

import {round} from '../report/envelope.js'
import {decode} from './tally.js'
import type {Tally} from './tally.js'

/** Latency percentiles in milliseconds, to the microsecond. */
export interface Latency {
  p50: number
  p90: number
  p99: number
  'p99.9': number
  'p99.99': number
  max: number
  mean: number
  stdev: number
}

export interface Figures {
  requests: number
  completed: number
  errors: number
  inFlight: number
  durationMs: number
  rps: number
  late: number
  missed: number
  /** Latency from the actual send. */
  latency: Latency
  /** With --rate: latency from each request's intended send time (coordinated omission corrected). */
  corrected?: Latency
}

export function figuresOf(tally: Tally, paced: boolean): Figures {
  const errors = Object.values(tally.errors).reduce((sum, entry) => sum + entry.count, 0)
  return {
    requests: tally.sent,
    completed: tally.completed,
    errors,
    inFlight: tally.inFlight,
    durationMs: round(tally.measuredMs),
    rps: tally.measuredMs > 0 ? Math.round((tally.completed / tally.measuredMs) * 1000 * 10) / 10 : 0,
    late: tally.late,
    missed: tally.missed,
    latency: latencyOf(decode(tally.histograms.latency)),
    ...(paced ? {corrected: latencyOf(decode(tally.histograms.corrected))} : {}),
  }
}

function latencyOf(histogram: Histogram): Latency {
  const ms = (us: number) => (histogram.totalCount === 0 ? 0 : us / 1000)
  return {
    p50: ms(histogram.getValueAtPercentile(50)),
    p90: ms(histogram.getValueAtPercentile(90)),
    p99: ms(histogram.getValueAtPercentile(99)),
    'p99.9': ms(histogram.getValueAtPercentile(99.9)),
    'p99.99': ms(histogram.getValueAtPercentile(99.99)),
    max: ms(histogram.maxValue),
    mean: round(ms(histogram.mean)),
    stdev: round(ms(histogram.stdDeviation)),
  }
}

/** `182µs`, `20.41ms`, `1.204s`: sub-millisecond latency is never "0 ms". */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 3 : 2)}ms`
  return `${(ms / 1000).toFixed(3)}s`
}
