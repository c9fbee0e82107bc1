import {Counter} from 'prom-client'
import type {Registry} from 'prom-client'

import type {Histogram} from 'hdr-histogram-js'

import type {Snapshot} from './tally.js'
import {decode, noErrors} from './tally.js'
import type {Tally} from './tally.js'

const BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/**
 * loadtest's figures for Prometheus. Fed from the progress ticks by differences, never per request, so the hot
 * path pays nothing; the latency histogram is read from the HDR histogram of the final tally.
 */
export class LoadMetrics {
  private readonly requests: Counter<'status'>
  private readonly errors: Counter<'kind'>
  private latency: {buckets: number[]; sum: number; count: number} | undefined
  private last: Snapshot | undefined

  constructor(registry: Registry) {
    const registers = [registry]
    this.requests = new Counter({name: 'fanout_http_requests_total', help: 'HTTP responses received, by status code.', labelNames: ['status'], registers})
    this.errors = new Counter({name: 'fanout_http_request_errors_total', help: 'Requests that got no response, by kind (refused, connect, tls, reset, timeout, parse, other).', labelNames: ['kind'], registers})
    registry.registerMetric(this.histogram() as never)
  }

  tick(snapshot: Snapshot): void {
    for (const [status, count] of Object.entries(snapshot.statuses)) {
      const delta = count - (this.last?.statuses[status] ?? 0)
      if (delta > 0) this.requests.inc({status}, delta)
    }
    for (const [kind, count] of Object.entries(snapshot.errorsByKind)) {
      const delta = count - (this.last?.errorsByKind[kind as keyof Snapshot['errorsByKind']] ?? 0)
      if (delta > 0) this.errors.inc({kind}, delta)
    }
    this.last = snapshot
  }

  /** The final figures: counters brought to the tally's totals, the latency histogram from its HDR histogram. */
  end(tally: Tally): void {
    const errorsByKind = noErrors()
    for (const [kind, entry] of Object.entries(tally.errors)) errorsByKind[kind as keyof typeof errorsByKind] = entry!.count
    this.tick({elapsedMs: tally.measuredMs, completed: tally.completed, errors: 0, inFlight: 0, p99Us: 0, statuses: tally.statuses, errorsByKind})
    const histogram = decode(tally.histograms.latency)
    this.latency = {buckets: cumulativeCounts(histogram, BUCKETS_SECONDS), sum: (histogram.mean * histogram.totalCount) / 1_000_000, count: histogram.totalCount}
  }

  /** A histogram metric built from HDR counts: prom-client's Histogram only takes one observation at a time. */
  private histogram() {
    const name = 'fanout_http_request_duration_seconds'
    const help = 'Latency of answered requests, from the actual send (final figures, at the end of the run).'
    return {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      get: async () => {
        const latency = this.latency ?? {buckets: BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0}
        return {
          name,
          help,
          type: 'histogram',
          aggregator: 'sum',
          values: [
            ...BUCKETS_SECONDS.map((le, i) => ({metricName: `${name}_bucket`, labels: {le}, value: latency.buckets[i]!})),
            {metricName: `${name}_bucket`, labels: {le: '+Inf'}, value: latency.count},
            {metricName: `${name}_sum`, labels: {}, value: latency.sum},
            {metricName: `${name}_count`, labels: {}, value: latency.count},
          ],
        }
      },
    }
  }
}

interface CountsArray {
  countsArrayLength: number
  countsArrayIndex(value: number): number
  getCountAtIndex(index: number): number
}

/** Responses at or below each bucket's edge (seconds), in one pass over the HDR counts (at HDR's precision). */
function cumulativeCounts(histogram: Histogram, edges: number[]): number[] {
  const counts = histogram as unknown as CountsArray
  const result: number[] = []
  let index = 0
  let total = 0
  for (const edge of edges) {
    const last = Math.min(counts.countsArrayIndex(edge * 1_000_000), counts.countsArrayLength - 1)
    for (; index <= last; index++) total += counts.getCountAtIndex(index)
    result.push(total)
  }
  return result
}
