import * as hdr from 'hdr-histogram-js'
import type {Histogram} from 'hdr-histogram-js'

import type {LoadState} from './load-state.js'
import {ERROR_KINDS, newHistogram} from './recorder.js'
import type {ErrorKind} from './recorder.js'
import {mergeSeconds} from './samples.js'
import type {Second} from './samples.js'

/**
 * A run's figures in a form that crosses threads and files: counts, and histograms in HdrHistogram's compressed
 * base64. Tallies of threads, shards or machines merge into one (`fanout loadtest merge`).
 */
export interface Tally {
  measuredMs: number
  sent: number
  completed: number
  /** Sent and neither answered nor failed when the run ended. */
  inFlight: number
  /** --rate: sent more than 2 ms after their intended time. */
  late: number
  /** --rate: planned by the schedule and never sent (the workers could not keep up). */
  missed: number
  statuses: Record<string, number>
  errors: Partial<Record<ErrorKind, {count: number; first?: string}>>
  /** Connections opened; of the TLS ones, how many resumed a session. */
  connections: number
  resumed: number
  bytesSent: number
  bytesReceived: number
  /** `handshake`: TLS handshakes in microseconds (empty over plain TCP). */
  histograms: {latency: string; corrected: string; handshake: string}
  /** When the measured phase began and ended, in ms since the epoch (files of older versions lack them). */
  startedAt?: number
  endedAt?: number
  /** One row per second of the measured phase. */
  seconds?: Second[]
}

/** The figures so far, for progress lines and live metrics. */
export interface Snapshot {
  elapsedMs: number
  completed: number
  errors: number
  /** Sent and not yet answered or failed. */
  inFlight: number
  p99Us: number
  statuses: Record<string, number>
  errorsByKind: Record<ErrorKind, number>
}

export function tallyOf(state: LoadState, seconds: Second[]): Tally {
  const {recorder} = state
  const startedAt = performance.timeOrigin + state.measureFrom
  return {
    measuredMs: state.measuredMs,
    sent: recorder.sent,
    completed: recorder.completed,
    inFlight: state.inFlight,
    late: recorder.late,
    missed: state.missed,
    statuses: statusCounts(recorder.statuses),
    errors: Object.fromEntries(ERROR_KINDS.filter((kind) => recorder.errors[kind].count > 0).map((kind) => [kind, recorder.errors[kind]])),
    connections: recorder.connections,
    resumed: recorder.resumed,
    bytesSent: recorder.bytesSent,
    bytesReceived: recorder.bytesReceived,
    histograms: {
      latency: hdr.encodeIntoCompressedBase64(recorder.latency),
      corrected: hdr.encodeIntoCompressedBase64(recorder.corrected),
      handshake: hdr.encodeIntoCompressedBase64(recorder.handshake),
    },
    startedAt: Math.round(startedAt),
    endedAt: Math.round(startedAt + state.measuredMs),
    seconds,
  }
}

export function snapshotOf(state: LoadState): Snapshot {
  const {recorder} = state
  return {
    elapsedMs: state.measuredMs,
    completed: recorder.completed,
    errors: recorder.errorCount,
    inFlight: state.inFlight,
    p99Us: recorder.latency.totalCount > 0 ? recorder.latency.getValueAtPercentile(99) : 0,
    statuses: statusCounts(recorder.statuses),
    errorsByKind: Object.fromEntries(ERROR_KINDS.map((kind) => [kind, recorder.errors[kind].count])) as Record<ErrorKind, number>,
  }
}

/** A count of 0 for every error kind. */
export function noErrors(): Record<ErrorKind, number> {
  return Object.fromEntries(ERROR_KINDS.map((kind) => [kind, 0])) as Record<ErrorKind, number>
}

function statusCounts(statuses: Float64Array): Record<string, number> {
  const counts: Record<string, number> = {}
  for (let status = 0; status < statuses.length; status++) if (statuses[status]! > 0) counts[String(status)] = statuses[status]!
  return counts
}

/** Tallies of runs side by side (threads, shards, machines): counts add up, the measured span is the longest. */
export function mergeTallies(tallies: Tally[]): Tally {
  const latency = newHistogram()
  const corrected = newHistogram()
  const handshake = newHistogram()
  const merged: Tally = {measuredMs: 0, sent: 0, completed: 0, inFlight: 0, late: 0, missed: 0, statuses: {}, errors: {}, connections: 0, resumed: 0, bytesSent: 0, bytesReceived: 0, histograms: {latency: '', corrected: '', handshake: ''}}
  for (const tally of tallies) {
    merged.measuredMs = Math.max(merged.measuredMs, tally.measuredMs)
    // Files written before these counts existed merge as zeros.
    for (const key of ['sent', 'completed', 'inFlight', 'late', 'missed', 'connections', 'resumed', 'bytesSent', 'bytesReceived'] as const) merged[key] += tally[key] ?? 0
    for (const [status, count] of Object.entries(tally.statuses)) merged.statuses[status] = (merged.statuses[status] ?? 0) + count
    for (const [kind, entry] of Object.entries(tally.errors) as [ErrorKind, {count: number; first?: string}][]) {
      const into = (merged.errors[kind] ??= {count: 0})
      into.count += entry.count
      into.first ??= entry.first
    }
    latency.add(decode(tally.histograms.latency))
    corrected.add(decode(tally.histograms.corrected))
    if (tally.histograms.handshake) handshake.add(decode(tally.histograms.handshake))
  }
  merged.histograms = {latency: hdr.encodeIntoCompressedBase64(latency), corrected: hdr.encodeIntoCompressedBase64(corrected), handshake: hdr.encodeIntoCompressedBase64(handshake)}
  const starts = tallies.flatMap((tally) => (tally.startedAt === undefined ? [] : [tally.startedAt]))
  const ends = tallies.flatMap((tally) => (tally.endedAt === undefined ? [] : [tally.endedAt]))
  if (starts.length > 0) merged.startedAt = Math.min(...starts)
  if (ends.length > 0) merged.endedAt = Math.max(...ends)
  merged.seconds = mergeSeconds(tallies.map((tally) => tally.seconds))
  return merged
}

export function decode(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32)
}
