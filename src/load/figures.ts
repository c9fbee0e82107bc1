import type {Histogram} from 'hdr-histogram-js'

import {round} from '../report/envelope.js'
import {decode} from './tally.js'
import type {Tally} from './tally.js'
import type {Second} from './samples.js'

/** The percentiles reported, as autocannon and k6 users compare them (README "Figures"). */
export const PERCENTILES = [2.5, 25, 50, 75, 90, 95, 97.5, 99, 99.9, 99.99] as const
type PercentileKey = `p${(typeof PERCENTILES)[number]}`
/** Every latency figure, in the order tables show them. */
export const LATENCY_KEYS = ['min', ...PERCENTILES.map((p) => `p${p}` as PercentileKey), 'max', 'mean', 'stdev'] as const

/** Latency in milliseconds, to the microsecond. */
export type Latency = Record<(typeof LATENCY_KEYS)[number], number>

export interface Figures {
  requests: number
  completed: number
  errors: number
  inFlight: number
  durationMs: number
  rps: number
  late: number
  missed: number
  /** The measured phase, ISO 8601 (absent when merged from files that lack it). */
  startedAt?: string
  endedAt?: string
  /** On the wire in the measured phase: request bytes written, response bytes read, and each per second. */
  bytes: {sent: number; received: number; sentPerSecond: number; receivedPerSecond: number}
  /** Latency from the actual send. */
  latency: Latency
  /** With --rate: latency from each request's intended send time (coordinated omission corrected). */
  corrected?: Latency
  /** Over TLS: connections' handshakes (TCP connected to secure), apart from request latency. */
  tls?: {handshakes: number; resumed: number; latency: Latency}
}

/** One row per second of the measured phase (latency from the intended send time under --rate). */
export interface Sample {
  /** Seconds since the measured phase began, at the row's end. */
  second: number
  /** The row's span in ms (rows are cut at a progress tick, every 250 ms or less). */
  ms: number
  completed: number
  rps: number
  errors: number
  p50: number
  p99: number
  status: Record<string, number>
  errorKinds: Record<string, number>
}

export function figuresOf(tally: Tally, paced: boolean): Figures {
  const errors = Object.values(tally.errors).reduce((sum, entry) => sum + entry.count, 0)
  const perSecond = (count: number) => (tally.measuredMs > 0 ? Math.round((count / tally.measuredMs) * 1000 * 10) / 10 : 0)
  const bytesSent = tally.bytesSent ?? 0
  const bytesReceived = tally.bytesReceived ?? 0
  const handshake = tally.histograms.handshake ? decode(tally.histograms.handshake) : undefined
  return {
    requests: tally.sent,
    completed: tally.completed,
    errors,
    inFlight: tally.inFlight,
    durationMs: round(tally.measuredMs),
    rps: perSecond(tally.completed),
    late: tally.late,
    missed: tally.missed,
    ...(tally.startedAt === undefined ? {} : {startedAt: new Date(tally.startedAt).toISOString()}),
    ...(tally.endedAt === undefined ? {} : {endedAt: new Date(tally.endedAt).toISOString()}),
    bytes: {sent: bytesSent, received: bytesReceived, sentPerSecond: perSecond(bytesSent), receivedPerSecond: perSecond(bytesReceived)},
    latency: latencyOf(decode(tally.histograms.latency)),
    ...(paced ? {corrected: latencyOf(decode(tally.histograms.corrected))} : {}),
    ...(handshake && handshake.totalCount > 0 ? {tls: {handshakes: handshake.totalCount, resumed: tally.resumed ?? 0, latency: latencyOf(handshake)}} : {}),
  }
}

export function samplesOf(seconds: Second[] | undefined): Sample[] {
  return (seconds ?? []).map((row) => {
    const histogram = decode(row.latency)
    const ms = (us: number) => (histogram.totalCount === 0 ? 0 : us / 1000)
    return {
      second: round(row.endMs / 1000),
      ms: round(row.ms),
      completed: row.completed,
      rps: row.ms > 0 ? Math.round((row.completed / row.ms) * 1000 * 10) / 10 : 0,
      errors: row.errors,
      p50: ms(histogram.getValueAtPercentile(50)),
      p99: ms(histogram.getValueAtPercentile(99)),
      status: row.statuses,
      errorKinds: row.errorKinds,
    }
  })
}

export function latencyOf(histogram: Histogram): Latency {
  const ms = (us: number) => (histogram.totalCount === 0 ? 0 : us / 1000)
  const latency = {min: ms(histogram.minNonZeroValue)} as Latency
  for (const p of PERCENTILES) latency[`p${p}`] = ms(histogram.getValueAtPercentile(p))
  latency.max = ms(histogram.maxValue)
  latency.mean = round(ms(histogram.mean))
  latency.stdev = round(ms(histogram.stdDeviation))
  return latency
}

/** `182µs`, `20.41ms`, `1.204s`: sub-millisecond latency is never "0 ms". */
export function formatLatency(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 3 : 2)}ms`
  return `${(ms / 1000).toFixed(3)}s`
}

/** `512 B`, `1.4 MiB`: bytes as people read them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}
